"""Approved recommendations as an Amazon Ads bulk-operations file (XLSX, Sponsored Products sheet).

One upload applies them all in the Ads console (Bulk operations > Upload). Rows follow Amazon's
"Sponsored Products Campaigns" layout: each row is one entity (Entity) and what to do with it
(Operation); columns an entity does not use stay blank, and blank means "unchanged" on Update.
IDs are written as text: as numbers, Excel would round 15+ digit IDs.

Every text cell is stored as text, exactly as Amazon must read it, never as a formula
(spreadsheet_safety.keep_text_as_text). A keyword to create whose text starts a formula (`=`,
`+`, `-`, `@`, tab, CR, LF: hostile shopper search terms such as `=HYPERLINK(...)`) is left out:
Amazon refuses it anyway, since a keyword may not start or end with a space, `-` and `+` may only
join two words, and `=` and `@` are not keyword characters (Amazon Ads API, "Keyword character
constraints", advertising.amazon.com/API/docs/en-us/reference/concepts/limits). So every keyword
Amazon accepts reaches the sheet unchanged.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import polars as pl
from openpyxl import Workbook

from amzinsight.bidding.evidence import Evidence, NegateIn
from amzinsight.errors import ConfigError
from amzinsight.spreadsheet_safety import FORMULA_TRIGGERS, keep_text_as_text

logger = logging.getLogger(__name__)

SHEET_NAME = "Sponsored Products Campaigns"
PRODUCT = "Sponsored Products"
BULK_COLUMNS = (
    "Product",
    "Entity",
    "Operation",
    "Campaign ID",
    "Ad Group ID",
    "Portfolio ID",
    "Ad ID",
    "Keyword ID",
    "Product Targeting ID",
    "Campaign Name",
    "Ad Group Name",
    "Start Date",
    "End Date",
    "Targeting Type",
    "State",
    "Daily Budget",
    "SKU",
    "Ad Group Default Bid",
    "Bid",
    "Keyword Text",
    "Match Type",
    "Bidding Strategy",
    "Placement",
    "Percentage",
    "Product Targeting Expression",
)
_BULK_MATCH_TYPES = {
    "EXACT": "exact",
    "PHRASE": "phrase",
    "BROAD": "broad",
    "NEGATIVE_EXACT": "negativeExact",
    "NEGATIVEEXACT": "negativeExact",
    "NEGATIVE_PHRASE": "negativePhrase",
    "NEGATIVEPHRASE": "negativePhrase",
}


def bulk_sheet(recommendations: pl.DataFrame | Iterable[Mapping[str, Any]], currency: str) -> bytes:
    """An XLSX with one "Sponsored Products Campaigns" sheet holding the approved recommendations.

    - bid: Keyword (or Product Targeting) Update with the new Bid;
    - harvest: Keyword Create (exact, starting Bid) in the destination ad group
      (evidence.destination_*), and Negative Keyword Create (negativeExact) in every source ad
      group (evidence.negate_in); a harvest without a destination is left out whole, since
      negating the source alone would lose the converting term;
    - negative: Negative Keyword Create (ad group) or Campaign Negative Keyword Create, with
      negativeExact or negativePhrase.
    Rows must be one Ads profile in `currency` (one upload is one advertiser account).
    """
    rows = _as_rows(recommendations)
    approved = [row for row in rows if row.get("status") == "approved"]
    _check_one_account(approved, currency)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_NAME
    sheet.append(list(BULK_COLUMNS))
    bid_column = BULK_COLUMNS.index("Bid") + 1
    for row in approved:
        for cells in _bulk_rows(row):
            sheet.append([cells.get(column) for column in BULK_COLUMNS])
            bid_cell = sheet.cell(row=sheet.max_row, column=bid_column)
            if bid_cell.value is not None:
                bid_cell.number_format = "0.00"
    keep_text_as_text(sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _as_rows(recommendations: pl.DataFrame | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = (
        recommendations.to_dicts()
        if isinstance(recommendations, pl.DataFrame)
        else [dict(row) for row in recommendations]
    )
    for row in rows:
        row["evidence"] = Evidence.from_json(row.get("evidence"))
    return rows


def check_bulk_sheet(recommendations: pl.DataFrame, currency: str) -> None:
    """What would stop `bulk_sheet` (rows of several accounts or currencies), checked before the
    page offers the download: the file itself is built only when it is clicked."""
    _check_one_account(recommendations.filter(pl.col("status") == "approved").to_dicts(), currency)


def _check_one_account(rows: list[dict[str, Any]], currency: str) -> None:
    currencies = {row["currency"] for row in rows if row.get("currency")}
    if currencies - {currency}:
        raise ConfigError(
            f"The recommendations are in {', '.join(sorted(currencies))}, not {currency}: "
            "export one Ads profile at a time."
        )
    profiles = {row["profile_id"] for row in rows if row.get("profile_id")}
    if len(profiles) > 1:
        raise ConfigError(
            f"The recommendations span Ads profiles {', '.join(sorted(profiles))}: "
            "a bulk file is for one advertiser account; export one profile at a time."
        )


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _bid(value: Any) -> float | None:
    """Bids as numbers with two decimals, the cell type Amazon's sheet uses."""
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(Decimal("0.01")))


def _bulk_rows(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    kind = row.get("kind")
    evidence = row.get("evidence") or Evidence()
    if kind == "bid":
        return [_bid_update(row, evidence)]
    if kind == "harvest":
        return _harvest(row, evidence)
    if kind == "negative":
        return _negative(row, evidence)
    logger.warning("bulk sheet: recommendation kind %r is not exported", kind)
    return []


def _common(entity: str, operation: str) -> dict[str, Any]:
    return {"Product": PRODUCT, "Entity": entity, "Operation": operation}


def _bid_update(row: Mapping[str, Any], evidence: Evidence) -> dict[str, Any]:
    is_product_target = evidence.entity_type == "product_target"
    cells = _common("Product Targeting" if is_product_target else "Keyword", "Update")
    cells |= {
        "Campaign ID": _text(row.get("campaign_id")),
        "Ad Group ID": _text(row.get("ad_group_id")),
        "Campaign Name": _text(evidence.campaign_name),
        "Ad Group Name": _text(evidence.ad_group_name),
        "Bid": _bid(row.get("recommended_bid")),
    }
    if is_product_target:
        cells["Product Targeting ID"] = _text(row.get("target_id"))
        cells["Product Targeting Expression"] = _text(evidence.expression)
    else:
        cells["Keyword ID"] = _text(row.get("target_id"))
        cells["Keyword Text"] = _text(evidence.keyword_text)
        cells["Match Type"] = _BULK_MATCH_TYPES.get(str(row.get("match_type") or "").upper())
    return cells


def _refused_keyword(term: str | None, kind: str) -> bool:
    """Whether Amazon would refuse this keyword text because it starts like a formula (logged);
    even `-5`, which a spreadsheet reads as a number: Amazon allows `-` only between words."""
    if term is None or not term.startswith(FORMULA_TRIGGERS):
        return False
    logger.warning(
        "bulk sheet: %s of %r left out: Amazon accepts no keyword that starts with %r",
        kind,
        term,
        term[0],
    )
    return True


def _harvest(row: Mapping[str, Any], evidence: Evidence) -> list[dict[str, Any]]:
    term = _text(row.get("search_term"))
    if _refused_keyword(term, "harvest"):
        return []
    campaign_id = evidence.destination_campaign_id
    ad_group_id = evidence.destination_ad_group_id
    if not campaign_id or not ad_group_id:
        logger.warning(
            "bulk sheet: harvest of %r has no destination ad group; left out (create a manual "
            "ad group for the product first)",
            term,
        )
        return []
    keyword = _common("Keyword", "Create") | {
        "Campaign ID": _text(campaign_id),
        "Ad Group ID": _text(ad_group_id),
        "Campaign Name": _text(evidence.destination_campaign_name),
        "Ad Group Name": _text(evidence.destination_ad_group_name),
        "State": "enabled",
        "Bid": _bid(row.get("recommended_bid")),
        "Keyword Text": term,
        "Match Type": "exact",
    }
    negatives = [
        _common("Negative Keyword", "Create")
        | {
            "Campaign ID": _text(source.campaign_id),
            "Ad Group ID": _text(source.ad_group_id),
            "Campaign Name": _text(source.campaign_name),
            "Ad Group Name": _text(source.ad_group_name),
            "State": "enabled",
            "Keyword Text": term,
            "Match Type": "negativeExact",
        }
        for source in evidence.negate_in
        or (NegateIn(campaign_id=row.get("campaign_id"), ad_group_id=row.get("ad_group_id")),)
    ]
    return [keyword, *negatives]


def _negative(row: Mapping[str, Any], evidence: Evidence) -> list[dict[str, Any]]:
    if _refused_keyword(_text(row.get("search_term")), "negative"):
        return []
    in_ad_group = bool(row.get("ad_group_id"))
    entity = "Negative Keyword" if in_ad_group else "Campaign Negative Keyword"
    cells = _common(entity, "Create") | {
        "Campaign ID": _text(row.get("campaign_id")),
        "Ad Group ID": _text(row.get("ad_group_id")) if in_ad_group else None,
        "Campaign Name": _text(evidence.campaign_name),
        "Ad Group Name": _text(evidence.ad_group_name) if in_ad_group else None,
        "State": "enabled",
        "Keyword Text": _text(row.get("search_term")),
        "Match Type": _BULK_MATCH_TYPES.get(str(row.get("match_type") or "").upper()),
    }
    return [cells]

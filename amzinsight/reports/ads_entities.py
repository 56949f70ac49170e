"""Sponsored Products campaign management v3 (docs/amazon-formats.md 4.3): the latest state of one
Ads profile's campaigns, ad groups, keywords, product targets and negatives, loaded into
`ads_campaigns`, `ads_ad_groups` and `ads_targets`.

Document: ONE JSON object the client assembles per profile from the SP v3 list calls,
{"source": "spEntities", "profileId", "snapshotDate", "currency", "campaigns": [...],
"adGroups": [...], "keywords": [...], "targets": [...], "negativeKeywords": [...],
"campaignNegativeKeywords": [...], "negativeTargets": [...]}, each list holding the objects exactly
as Amazon returns them (ids are strings there; numbers are accepted too).

ads_targets holds every list but campaigns and ad groups, by `kind`: keyword, product_target,
negative_keyword, campaign_negative_keyword (no ad group) and negative_product_target. A target's
expression [{type, value}] is stored as readable text in the report's own notation: close-match,
loose-match, substitutes, complements, asin="B0...", category="...", price<25 (predicates joined
by a space; the notation beyond asin= and the auto types is UNVERIFIED). Bids and budgets are in the
document's currency. updated_at is Amazon's extendedData.lastUpdateDateTime when the client asked
for extended data, else null; target_acos is a user's setting and never part of these rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from amzinsight.db import tables
from amzinsight.errors import ReportParseError
from amzinsight.reports.ads_campaigns import check_ids
from amzinsight.reports.base import ParseContext, ParsedReport, ReportSpec, TableRows
from amzinsight.reports.flatfile import (
    ROW,
    Field,
    ValueKind,
    json_frame,
    json_head_declares,
    parse_values,
    read_json_document,
    require_unique,
)

SOURCE = "spEntities"
CAMPAIGNS_KEY = ("profile_id", "campaign_id")
AD_GROUPS_KEY = ("profile_id", "ad_group_id")
TARGETS_KEY = ("profile_id", "target_id")

Getter = Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class _Column:
    label: str
    """How errors name the value: Amazon's field, or its path (budget.budget)."""
    get: Getter
    kind: ValueKind | None = "text"
    """None: an Amazon Ads id (text of digits)."""
    required: bool = False


def _at(*path: str) -> Getter:
    def get(entry: Mapping[str, Any]) -> Any:
        value: Any = entry
        for key in path:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value

    return get


def _first_of(*names: str) -> Getter:
    """The first field present: v3 list calls name a negative's id keywordId or targetId, the
    create answers negativeKeywordId, campaignNegativeKeywordId, negativeTargetId."""

    def get(entry: Mapping[str, Any]) -> Any:
        for name in names:
            if entry.get(name) is not None:
                return entry[name]
        return None

    return get


def _constant(value: str | None) -> Getter:
    return lambda _entry: value


def _day(name: str) -> Getter:
    """A date; v2's YYYYMMDD is read too."""

    def get(entry: Mapping[str, Any]) -> Any:
        value = entry.get(name)
        if isinstance(value, str) and re.fullmatch(r"\d{8}", value):
            return f"{value[:4]}-{value[4:6]}-{value[6:]}"
        return value

    return get


def _id(label: str, getter: Getter | None = None, required: bool = False) -> _Column:
    return _Column(label, getter or _at(label), None, required)


def _text(label: str, getter: Getter | None = None) -> _Column:
    return _Column(label, getter or _at(label))


_UPDATED = _Column(
    "extendedData.lastUpdateDateTime", _at("extendedData", "lastUpdateDateTime"), "timestamp"
)

CAMPAIGN_COLUMNS: dict[str, _Column] = {
    "campaign_id": _id("campaignId", required=True),
    "name": _text("name"),
    "state": _text("state"),
    "targeting_type": _text("targetingType"),
    "budget": _Column("budget.budget", _at("budget", "budget"), "money"),
    "budget_type": _text("budget.budgetType", _at("budget", "budgetType")),
    "bidding_strategy": _text("dynamicBidding.strategy", _at("dynamicBidding", "strategy")),
    "portfolio_id": _id("portfolioId"),
    "start_date": _Column("startDate", _day("startDate"), "date"),
    "end_date": _Column("endDate", _day("endDate"), "date"),
    "updated_at": _UPDATED,
}
AD_GROUP_COLUMNS: dict[str, _Column] = {
    "ad_group_id": _id("adGroupId", required=True),
    "campaign_id": _id("campaignId", required=True),
    "name": _text("name"),
    "state": _text("state"),
    "default_bid": _Column("defaultBid", _at("defaultBid"), "ratio"),  # BID scale: 4 places
    "updated_at": _UPDATED,
}


def _expression(name: str) -> Getter:
    return lambda entry: readable_expression(entry.get(name))


def _target_columns(
    kind: str,
    id_label: str,
    target_id: Getter,
    *,
    ad_group: bool = True,
    keyword: bool = False,
    bid: bool = True,
) -> dict[str, _Column]:
    return {
        "target_id": _id(id_label, target_id, required=True),
        "kind": _text("kind", _constant(kind)),
        "campaign_id": _id("campaignId", required=True),
        "ad_group_id": _id("adGroupId", required=True) if ad_group else _id("adGroupId"),
        "keyword_text": _text("keywordText") if keyword else _text("keywordText", _constant(None)),
        "expression": _text(
            "expression", _constant(None) if keyword else _expression("expression")
        ),
        "match_type": _text("matchType") if keyword else _text("expressionType"),
        "state": _text("state"),
        "bid": _Column("bid", _at("bid") if bid else _constant(None), "ratio"),
        "updated_at": _UPDATED,
    }


# list in the document -> its ads_targets columns
TARGET_LISTS: dict[str, dict[str, _Column]] = {
    "keywords": _target_columns("keyword", "keywordId", _at("keywordId"), keyword=True),
    "targets": _target_columns("product_target", "targetId", _at("targetId")),
    "negativeKeywords": _target_columns(
        "negative_keyword",
        "keywordId",
        _first_of("keywordId", "negativeKeywordId"),
        keyword=True,
        bid=False,
    ),
    "campaignNegativeKeywords": _target_columns(
        "campaign_negative_keyword",
        "keywordId",
        _first_of("keywordId", "campaignNegativeKeywordId"),
        ad_group=False,
        keyword=True,
        bid=False,
    ),
    "negativeTargets": _target_columns(
        "negative_product_target",
        "targetId",
        _first_of("targetId", "negativeTargetId"),
        bid=False,
    ),
}

# Amazon's predicate types -> the notation the spTargeting report writes
# (docs/amazon-formats.md 4.2)
_AUTO = {
    "QUERY_HIGH_REL_MATCHES": "close-match",
    "QUERY_BROAD_REL_MATCHES": "loose-match",
    "ASIN_SUBSTITUTE_RELATED": "substitutes",
    "ASIN_ACCESSORY_RELATED": "complements",
}
_REFINEMENTS = {
    "ASIN_SAME_AS": 'asin="{}"',
    "ASIN_EXPANDED_FROM": 'asin-expanded="{}"',
    "ASIN_CATEGORY_SAME_AS": 'category="{}"',
    "ASIN_BRAND_SAME_AS": 'brand="{}"',
    "ASIN_PRICE_LESS_THAN": "price<{}",
    "ASIN_PRICE_GREATER_THAN": "price>{}",
    "ASIN_PRICE_BETWEEN": 'price="{}"',
    "ASIN_REVIEW_RATING_LESS_THAN": "rating<{}",
    "ASIN_REVIEW_RATING_GREATER_THAN": "rating>{}",
    "ASIN_REVIEW_RATING_BETWEEN": 'rating="{}"',
    "ASIN_IS_PRIME_SHIPPING_ELIGIBLE": 'prime-shipping-eligible="{}"',
    "ASIN_AGE_RANGE_SAME_AS": 'age-range="{}"',
    "ASIN_GENRE_SAME_AS": 'genre="{}"',
}


def readable_expression(expression: Any) -> str | None:
    """[{"type": "ASIN_SAME_AS", "value": "B0..."}] -> 'asin="B0..."'; auto types by their name."""
    if expression is None or isinstance(expression, str):
        return expression
    if not isinstance(expression, list) or not all(isinstance(p, Mapping) for p in expression):
        raise ValueError(f"expression {expression!r} is not a list of {{type, value}} objects")
    parts = []
    for predicate in expression:
        kind = str(predicate.get("type") or "")
        value = predicate.get("value")
        text = "" if value is None else _plain(value)
        if kind in _AUTO:
            parts.append(_AUTO[kind])
        elif kind in _REFINEMENTS:
            parts.append(_REFINEMENTS[kind].format(text))
        else:  # a type Amazon adds later stays readable
            name = kind.lower().replace("_", "-")
            parts.append(f'{name}="{text}"' if value is not None else name)
    return " ".join(parts) or None


def _number_as_digits(value: Any) -> Any:
    """A Decimal as plain digits (1E+2 -> 100), the form the value parsers read."""
    return format(value, "f") if isinstance(value, Decimal) else value


def _plain(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """Campaigns, ad groups and every kind of target of one profile, as Amazon lists them now."""
    document = read_json_document(path, SOURCE)
    if not isinstance(document, dict) or document.get("source") != SOURCE:
        raise ReportParseError(
            f"{SOURCE}: not a Sponsored Products entities document (its source is not {SOURCE!r})"
        )
    profile_id = _profile_id(document, context)
    currency = document.get("currency") or context.currency
    _snapshot_date(document.get("snapshotDate"))
    campaigns = _frame(_entries(document, "campaigns"), "campaigns", CAMPAIGN_COLUMNS)
    ad_groups = _frame(_entries(document, "adGroups"), "adGroups", AD_GROUP_COLUMNS)
    labels: list[str] = []
    target_frames = []
    for name, columns in TARGET_LISTS.items():
        entries = _entries(document, name)
        frame = _frame(entries, name, columns)
        target_frames.append(frame.with_columns(pl.col(ROW) + len(labels)))
        labels.extend(f"{name}[{index}]" for index in range(len(entries)))
    targets = pl.concat(target_frames, how="vertical")

    def finish(
        frame: pl.DataFrame, table: sa.Table, key: tuple[str, ...], where: Callable[[int], str]
    ) -> TableRows:
        frame = frame.with_columns(
            pl.lit(profile_id, pl.String).alias("profile_id"),
            pl.lit(currency, pl.String).alias("currency"),
        )
        require_unique(frame, key, report_type=SOURCE, where=where)
        names = [column.name for column in table.columns if column.name in frame.columns]
        return TableRows(table, frame.select(names), key)

    return ParsedReport(
        [
            finish(campaigns, tables.ads_campaigns, CAMPAIGNS_KEY, _where("campaigns")),
            finish(ad_groups, tables.ads_ad_groups, AD_GROUPS_KEY, _where("adGroups")),
            finish(targets, tables.ads_targets, TARGETS_KEY, labels.__getitem__),
        ]
    )


def detect(head: bytes) -> bool:
    return json_head_declares(head, "source", SOURCE)


def _profile_id(document: Mapping[str, Any], context: ParseContext) -> str:
    named = document.get("profileId")
    profile_id = str(named) if named not in (None, "") else context.profile_id
    if not profile_id:
        raise ReportParseError(
            f"{SOURCE}: the document names no profileId and no Amazon Ads profile was given"
        )
    if context.profile_id and profile_id != context.profile_id:
        raise ReportParseError(
            f"{SOURCE}: the document is profile {profile_id}'s, not profile {context.profile_id}'s"
        )
    return profile_id


def _snapshot_date(value: Any) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ReportParseError(f"{SOURCE}: snapshotDate {value!r} is not a date") from None


def _entries(document: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    entries = document.get(name) or []
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise ReportParseError(f"{SOURCE} {name}: expected a list of objects")
    return entries


def _where(name: str) -> Callable[[int], str]:
    return lambda index: f"{name}[{index}]"


def _frame(
    entries: Sequence[Mapping[str, Any]], name: str, columns: Mapping[str, _Column]
) -> pl.DataFrame:
    values: dict[str, list[Any]] = {}
    for column in columns.values():
        try:
            values[column.label] = [_number_as_digits(column.get(entry)) for entry in entries]
        except ValueError as error:  # an expression that is not [{type, value}]
            index = next(i for i, entry in enumerate(entries) if _fails(column.get, entry))
            raise ReportParseError(f"{SOURCE} {name}[{index}]: {error}") from None
    fields = {
        column_name: Field(column.label, column.kind or "text", column.required)
        for column_name, column in columns.items()
    }
    parsed = parse_values(
        json_frame(values, len(entries)), fields, report_type=SOURCE, where=_where(name)
    )
    ids = {
        column_name: column.label for column_name, column in columns.items() if column.kind is None
    }
    check_ids(parsed, ids, SOURCE, _where(name))
    return parsed


def _fails(get: Getter, entry: Mapping[str, Any]) -> bool:
    try:
        get(entry)
    except ValueError:
        return True
    return False


SPEC = ReportSpec(
    key="sp_entities",
    amazon_report_type=None,
    description="Sponsored Products campaigns, ad groups, keywords, targets and negatives now",
    parse=parse,
    detect=detect,
    acquisition="api",
    window="snapshot",
    extension="json",
    api_operation=SOURCE,
    per_marketplace=True,  # one document per Ads profile
)

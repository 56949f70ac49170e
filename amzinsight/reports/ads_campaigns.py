"""Amazon Ads reporting v3 `spCampaigns` grouped by campaign (docs/amazon-formats.md 4.2): one row
per Sponsored Products campaign and day, loaded into `ads_campaign_daily` with ad_group_id ''.

This module also holds what every Sponsored Products daily report shares; ads_ad_groups,
ads_targeting, ads_search_terms, ads_advertised_products and ads_purchased_products import it:

- the document is the decompressed GZIP_JSON download, a JSON array of flat objects whose keys
  come in any order; a column may be missing or null (costPerClick on a row without clicks);
- ids (campaignId, adGroupId, keywordId, adId) are JSON numbers and are stored as text;
- money is Decimal at its column's scale (cost, sales and budgets 2 places, bids 4), never float;
- `date` (timeUnit DAILY) is report_date; a SUMMARY document (startDate, endDate) is accepted when
  it covers one day and refused when it sums several;
- currency is campaignBudgetCurrencyCode, else the marketplace's; profile_id comes from
  ParseContext.profile_id (required); whether a day is still settling is decided when it is read
  (rules/settling.py), never stored;
- every attribution window present is kept (sellers' Sponsored Products attribute over 7 days);
  ACoS and ROAS are computed at query time, not here.

Reading is vectorised and bounded in memory: the array is cut into blocks of whole objects without
parsing it, polars reads each block as NDJSON, and each block is typed before the next is read
(1,000,000 spSearchTerm rows with every requested column, 620 MB, parse in about 3 s with a peak of
about 1 GB on two cores; `json.loads` alone would hold 2.8 GB). Counts are read straight into
Int64 and amounts into float64, which becomes Decimal at the column's scale with no text in
between: a float64 is within 2**-52 of the number written, so its scaled value rounds to the same
cents as the written digits unless it sits on a tie (12.345 to cents). A block where that
shortcut does not hold (a tie, a count written 3.0, an amount written as a string, a value that is
not a number) is read again with every column as text and parsed by `parse_values`, which rounds
ties half-even and names a bad value; amounts still pass through a float64 there, keeping their
written digits up to 15 significant digits: every value the tables can hold. A document the block
cutter cannot read (a search term holding "},{", or a broken document) is read again with `json`
and Decimal, which is exact and says where a broken document goes wrong.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Generator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import polars as pl
import sqlalchemy as sa

from amzinsight.db import tables
from amzinsight.errors import ReportParseError
from amzinsight.reports.base import (
    AdsReportRequest,
    ParseContext,
    ParsedReport,
    ReportSpec,
    TableRows,
)
from amzinsight.reports.flatfile import (
    MONEY_SCALE,
    RATIO_SCALE,
    ROW,
    Field,
    ValueKind,
    fail,
    json_frame,
    parse_values,
    read_json_document,
    require_unique,
)

REPORT_TYPE = "spCampaigns"
KEY = ("profile_id", "report_date", "campaign_id", "ad_group_id")

ADS_LOOKBACK_DAYS = 14
"""Days pulled again on every sync (AMZ_ADS_LOOKBACK_DAYS overrides it at run time): Amazon
restates conversions 1, 7 and 28 days after they happen (docs/amazon-formats.md 4.1)."""
ADS_MAX_WINDOW_DAYS = 31
"""The longest date range one Sponsored Products report may cover."""
CURRENCY_SOURCE = "campaignBudgetCurrencyCode"

AdsKind = Literal["id", "text", "money", "bid", "ratio", "integer"]
"""id: an Amazon Ads id, a JSON number stored as text; money: 2 places; bid and ratio: 4 places."""
_VALUE_KIND: dict[AdsKind, ValueKind] = {
    "id": "text",
    "text": "text",
    "money": "money",
    "bid": "ratio",  # RATIO_SCALE is 4, the scale of BID columns
    "ratio": "ratio",
    "integer": "integer",
}
_ID = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class AdsColumn:
    """Where a table column comes from in a report row, and how to read it."""

    source: str
    kind: AdsKind = "text"
    required: bool = False
    """Part of the natural key: a missing or null value refuses the document."""


def performance() -> dict[str, AdsColumn]:
    """The metrics every daily ads table shares (tables._ads_performance), by Amazon column."""
    columns = {
        "impressions": AdsColumn("impressions", "integer"),
        "clicks": AdsColumn("clicks", "integer"),
        "cost": AdsColumn("cost", "money"),
    }
    for window in ("1d", "7d", "14d", "30d"):
        columns[f"purchases_{window}"] = AdsColumn(f"purchases{window}", "integer")
    for window in ("1d", "7d", "14d", "30d"):
        columns[f"sales_{window}"] = AdsColumn(f"sales{window}", "money")
    for window in ("1d", "7d", "14d", "30d"):
        columns[f"units_sold_clicks_{window}"] = AdsColumn(f"unitsSoldClicks{window}", "integer")
    for window in ("7d", "14d"):
        columns[f"purchases_same_sku_{window}"] = AdsColumn(f"purchasesSameSku{window}", "integer")
    for window in ("7d", "14d"):
        columns[f"sales_same_sku_{window}"] = AdsColumn(f"attributedSalesSameSku{window}", "money")
    for window in ("7d", "14d"):
        columns[f"units_sold_same_sku_{window}"] = AdsColumn(f"unitsSoldSameSku{window}", "integer")
    return columns


def other_sku_7d() -> dict[str, AdsColumn]:
    """Sales of other products than the advertised one (spTargeting, spSearchTerm, ads)."""
    return {
        "sales_other_sku_7d": AdsColumn("salesOtherSku7d", "money"),
        "units_sold_other_sku_7d": AdsColumn("unitsSoldOtherSku7d", "integer"),
    }


@dataclass(frozen=True)
class DailyAdsReport:
    """One Sponsored Products daily report type: which Amazon columns fill which table columns.

    Besides `columns`, every table gets profile_id, report_date and currency.
    """

    spec_key: str
    """Our key for it (sp_campaigns), as daily_report_key names documents."""
    report_type: str
    table: sa.Table
    key: tuple[str, ...]
    columns: Mapping[str, AdsColumn]
    constants: Mapping[str, str] = field(default_factory=dict)
    """Key columns the report has no column for (ad_group_id '' in campaign rows)."""
    blank_when_missing: tuple[str, ...] = ()
    """Key columns that may be absent from a row: '' stands for absent (keyword_id)."""

    @property
    def request_columns(self) -> tuple[str, ...]:
        """The `columns` of the report request: exactly what the parser reads."""
        return ("date", *(column.source for column in self.columns.values()), CURRENCY_SOURCE)

    def parse(self, path: Path, context: ParseContext) -> ParsedReport:
        if not context.profile_id:
            raise ReportParseError(
                f"{self.report_type}: no Amazon Ads profile given; an ads report belongs to one "
                "profile, and its rows are keyed by it"
            )
        with path.open("rb") as document:
            found = daily_report_key(document.read(_DETECT_BYTES))
        if found not in (None, self.spec_key):
            raise ReportParseError(
                f"{self.report_type}: the document is a {found} report (judged by its columns), "
                f"not {self.spec_key}"
            )
        blocks = _plain_frames(path, self.report_type, self._sources, self._numbers)
        try:  # each block is typed before the next is read: memory stays near the typed rows
            with closing(blocks):
                chunks = [self._typed(block, context) for block in blocks]
        except _NotPlain:
            exact = _exact_strings(path, self.report_type, self._sources)
            chunks = [self._typed(exact, context)]
        if not chunks:  # an empty array
            chunks = [self._typed(_empty_strings(self._sources), context)]
        # No rechunk: the blocks stay separate (aligned) buffers, so nothing is copied here.
        frame = pl.concat(chunks, how="vertical", rechunk=False)
        # Only rows whose 64-bit key hash repeats are compared in full: a million rows would
        # otherwise build a hash table of every key.
        suspects = frame.get_column(_KEY_HASH).is_duplicated()
        if suspects.any():
            require_unique(
                frame.filter(suspects), self.key, report_type=self.report_type, where=row_label
            )
        names = [name for name in frame.columns if name not in (ROW, _KEY_HASH)]
        return ParsedReport([TableRows(self.table, frame.select(names), self.key)])

    @property
    def _fields(self) -> dict[str, Field]:
        fields = {
            name: Field(column.source, _VALUE_KIND[column.kind], column.required)
            for name, column in self.columns.items()
        }
        return {**fields, **_DATE_FIELDS, "currency": Field(CURRENCY_SOURCE)}

    @property
    def _sources(self) -> list[str]:
        return list(dict.fromkeys(field.source for field in self._fields.values()))

    @property
    def _numbers(self) -> dict[str, ValueKind]:
        """Sources read as numbers (integer, money or ratio): those whose fields all want the same
        kind of number and none is required (parse_values checks required cells)."""
        kinds: dict[str, set[ValueKind]] = {}
        for wanted in self._fields.values():
            kinds.setdefault(wanted.source, set()).add("text" if wanted.required else wanted.kind)
        numbers: dict[str, ValueKind] = {}
        for source, found in kinds.items():
            if len(found) == 1 and (kind := next(iter(found))) in _READ_AS:
                numbers[source] = kind
        return numbers

    def _typed(self, block: pl.DataFrame, context: ParseContext) -> pl.DataFrame:
        """One block of rows in its final form: values parsed, ids checked, report_date resolved,
        profile and currency added, columns in table order (plus ROW). Columns the
        reader already typed (numbers) are taken as they are; text columns are parsed."""
        schema = block.schema
        read = {name: f for name, f in self._fields.items() if schema[f.source] != pl.String}
        text = {name: f for name, f in self._fields.items() if name not in read}
        parsed = parse_values(block, text, report_type=self.report_type, where=row_label)
        parsed = parsed.with_columns(block.get_column(f.source).alias(n) for n, f in read.items())
        ids = {name: column.source for name, column in self.columns.items() if column.kind == "id"}
        check_ids(parsed, ids, self.report_type)
        parsed = parsed.with_columns(
            pl.coalesce(
                pl.col("_date"),
                pl.when(pl.col("_start_date") == pl.col("_end_date")).then(pl.col("_start_date")),
            ).alias("report_date")
        )
        undated = parsed.filter(pl.col("report_date").is_null())
        if undated.height:
            row = undated.row(0, named=True)
            if row["_start_date"] is None:
                problem = "date is empty (a DAILY report row has one)"
            else:
                problem = (
                    f"the row sums {row['_start_date']} to {row['_end_date']} (timeUnit SUMMARY "
                    "over several days); AmzInsight stores days, so request timeUnit DAILY"
                )
            raise fail(self.report_type, row_label(row[ROW]), problem)
        parsed = parsed.with_columns(
            pl.lit(context.profile_id, pl.String).alias("profile_id"),
            *[pl.lit(value, pl.String).alias(name) for name, value in self.constants.items()],
            *[pl.col(name).fill_null("") for name in self.blank_when_missing],
            pl.col("currency").fill_null(pl.lit(context.currency, pl.String)),
        )
        names = [column.name for column in self.table.columns if column.name in parsed.columns]
        # One chunk per column and block: concatenated blocks then stay aligned, and selecting
        # columns later never has to copy (rechunk) the whole frame.
        return parsed.select(
            ROW, *names, pl.struct(list(self.key)).hash().alias(_KEY_HASH)
        ).rechunk()


_KEY_HASH = "_key_hash"
_DATE_FIELDS = {
    "_date": Field("date", "date"),
    "_start_date": Field("startDate", "date"),
    "_end_date": Field("endDate", "date"),
}


def row_label(index: int) -> str:
    """Where a report row is: its index in the JSON array, counted from 0."""
    return f"row {index}"


def check_ids(
    parsed: pl.DataFrame,
    ids: Mapping[str, str],
    report_type: str,
    where: Callable[[int], str] = row_label,
) -> None:
    """Refuse the first id (column -> Amazon name) that is not a whole number."""
    if not ids or not parsed.height:
        return
    first_bad = parsed.select(
        pl.col(ROW)
        .filter(pl.col(name).is_not_null() & ~pl.col(name).str.contains(_ID.pattern))
        .min()
        .alias(name)
        for name in ids
    ).row(0, named=True)
    bad = [(row, name) for name, row in first_bad.items() if row is not None]
    if bad:
        row, name = min(bad)
        value = parsed.filter(pl.col(ROW) == row)[name][0]
        raise fail(report_type, where(row), f"{ids[name]} {value!r} is not an Amazon Ads id")


# --- reading the array --------------------------------------------------------------------------

_BLOCK_BYTES = 16 * 1024 * 1024
_DETECT_BYTES = 64 * 1024
_WHITESPACE = b" \t\r\n"
# Raw line breaks and tabs cannot occur inside JSON strings, so they are always layout.
_LAYOUT_TO_SPACE = bytes.maketrans(b"\r\n\t", b"   ")
_SEPARATOR = re.compile(rb"\}[ ]*,[ ]*\{")


class _NotPlain(Exception):
    """The block cutter cannot read this document; the exact reader takes over."""


_READ_AS: dict[ValueKind, pl.DataType] = {
    "integer": pl.Int64(),
    "money": pl.Float64(),
    "ratio": pl.Float64(),
}
_SCALE: dict[ValueKind, int] = {"money": MONEY_SCALE, "ratio": RATIO_SCALE}
_TIE_MARGIN = 2.0**-50
"""How close to a tie a scaled float64 may come before its cents are read from text instead: four
times the furthest it can sit from the scaled written number (2**-52 of it)."""


def _plain_frames(
    path: Path, report_type: str, sources: list[str], numbers: Mapping[str, ValueKind]
) -> Generator[pl.DataFrame, None, None]:
    """The wanted columns, block by block (ROW = array index): `numbers` typed (Int64, Decimal)
    when the whole block reads as such, else every column as text; _NotPlain when the block
    cutter cannot read the document, possibly after some blocks."""
    offset = 0
    with closing(_cut_ahead(_blocks(path, report_type))) as blocks:
        for block in blocks:
            frame = _read_block(block, sources, numbers, offset)
            offset += frame.height
            yield frame


def _cut_ahead(blocks: Generator[bytes, None, None]) -> Generator[bytes, None, None]:
    """blocks, the next one cut in a worker thread while polars reads and types this one: the
    cutter's byte work and polars' parsing share the two cores (about 1 s of 3 on a million rows).
    Errors (_NotPlain, ReportParseError) reach the caller as they are."""
    done = b""  # _blocks never yields an empty block
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="amz-ads-cut") as cutter:
            pending = cutter.submit(next, blocks, done)
            while block := pending.result():
                pending = cutter.submit(next, blocks, done)
                yield block
    finally:
        blocks.close()


def _read_block(
    block: bytes, sources: list[str], numbers: Mapping[str, ValueKind], offset: int
) -> pl.DataFrame:
    frame = _read_numbers(block, sources, numbers)
    if frame is None:
        try:
            frame = pl.read_ndjson(io.BytesIO(block), schema=dict.fromkeys(sources, pl.String))
        except (pl.exceptions.PolarsError, ValueError) as error:
            raise _NotPlain from error
    return frame.select((pl.int_range(pl.len(), dtype=pl.Int64) + offset).alias(ROW), *sources)


def _read_numbers(
    block: bytes, sources: list[str], numbers: Mapping[str, ValueKind]
) -> pl.DataFrame | None:
    """The block with `numbers` typed: counts as Int64, amounts as Decimal at their scale; None
    when a value does not fit that reading (not a JSON number of that kind, or an amount on a
    rounding tie), so the block is read as text and parse_values decides, as it always did."""
    if not numbers:
        return None
    schema = {source: _READ_AS.get(numbers.get(source, "text"), pl.String()) for source in sources}
    try:
        frame = pl.read_ndjson(io.BytesIO(block), schema=schema)
    except (pl.exceptions.PolarsError, ValueError):
        return None
    amounts = {source: _SCALE[kind] for source, kind in numbers.items() if kind in _SCALE}
    if not amounts or not frame.height:
        return frame.with_columns(
            pl.col(source).cast(pl.Decimal(38, scale)) for source, scale in amounts.items()
        )
    scaled = {source: pl.col(source) * 10**scale for source, scale in amounts.items()}
    ties = frame.select(
        ((value - value.floor() - 0.5).abs() <= value.abs() * _TIE_MARGIN).any().alias(source)
        for source, value in scaled.items()
    )
    if any(ties.row(0)):
        return None
    return frame.with_columns(
        (
            value.round().cast(pl.Int64).cast(pl.Decimal(38, 0))
            * pl.lit(Decimal(1).scaleb(-amounts[source]))
        )
        .cast(pl.Decimal(38, amounts[source]))
        .alias(source)
        for source, value in scaled.items()
    )


def _blocks(path: Path, report_type: str) -> Generator[bytes, None, None]:
    """NDJSON blocks of whole objects cut out of the array: `[{..},{..}]` -> `{..}\\n{..}`.

    A separator found inside a string value (a search term holding "},{") leaves a line with an
    unterminated string, which polars refuses, so the exact reader then takes over: a document is
    never read wrongly, only more slowly.
    """
    with path.open("rb") as document:
        text = document.read(_BLOCK_BYTES).removeprefix(b"\xef\xbb\xbf").lstrip(_WHITESPACE)
        if not text:
            raise ReportParseError(
                f"{report_type}: empty document; Amazon sent nothing, or the file is not the report"
            )
        if not text.startswith(b"["):
            raise _NotPlain
        pending = _layout_to_spaces(text[1:])
        while more := document.read(_BLOCK_BYTES):
            # Only the tail after the last separator is carried over, so each byte is copied
            # about once (carrying everything made the cutter quadratic-ish on big documents).
            pending += _layout_to_spaces(more)
            cut = _last_separator(pending)
            if cut is not None:
                yield _one_object_per_line(pending[: cut[0]])
                pending = pending[cut[1] :]
    pending = _one_object_per_line(pending).rstrip(b" ")
    if not pending.endswith(b"]"):
        raise _NotPlain
    pending = pending[:-1]
    if pending.strip(b" "):
        yield pending


def _layout_to_spaces(text: bytes) -> bytes:
    if b"\n" in text or b"\r" in text or b"\t" in text:
        return text.translate(_LAYOUT_TO_SPACE)
    return text


def _last_separator(text: bytes) -> tuple[int, int] | None:
    """(end of the last complete object, start of the next) at the last `},{` between objects,
    or None when the text holds no separator yet."""
    cut = text.rfind(b"},{")
    if cut >= 0:
        return cut + 1, cut + 2
    matches = list(_SEPARATOR.finditer(text))  # separators with spaces: pretty-printed documents
    return (matches[-1].start() + 1, matches[-1].end() - 1) if matches else None


def _one_object_per_line(text: bytes) -> bytes:
    if b"\n" in text or b"\r" in text or b"\t" in text:
        text = text.translate(_LAYOUT_TO_SPACE)
    # Amazon's own compact layout, `},{` between objects, is the fast case: a plain replace, then
    # a count to see that every `{` now starts a line (single-byte counts are cheap).
    lines = text.replace(b"},{", b"}\n{")
    if lines.startswith(b"{") and lines.count(b"{") == lines.count(b"\n") + 1:
        return lines
    return _SEPARATOR.sub(b"}\n{", text)  # spaces around separators, or a `{` inside a string


def _exact_strings(path: Path, report_type: str, sources: list[str]) -> pl.DataFrame:
    """The same text frame, from `json` with Decimal: slower, exact, and names what is wrong."""
    document = read_json_document(path, report_type)
    if not isinstance(document, list):
        found = _JSON_KIND.get(type(document), "number")
        hint = ""
        if isinstance(document, dict) and ({"code", "message", "details"} & set(document)):
            hint = f" (it looks like an error answer: {json.dumps(document, default=str)[:200]})"
        raise fail(
            report_type,
            "document",
            f"expected a JSON array of report rows, found a JSON {found}{hint}",
        )
    for index, row in enumerate(document):
        if not isinstance(row, dict):
            shown = json.dumps(row, default=str)[:80]
            raise fail(report_type, row_label(index), f"expected an object, found {shown}")
    columns = {source: [_exact_text(row.get(source)) for row in document] for source in sources}
    return json_frame(columns, len(document))


_JSON_KIND = {dict: "object", str: "string", bool: "true/false", type(None): "null"}


def _exact_text(value: Any) -> Any:
    """Decimals as their shortest plain digits (1E-5 -> 0.00001, 3.0 -> 3), as the fast reader
    writes them."""
    return format(value.normalize(), "f") if isinstance(value, Decimal) else value


def _empty_strings(sources: list[str]) -> pl.DataFrame:
    return pl.DataFrame(schema={ROW: pl.Int64, **dict.fromkeys(sources, pl.String)})


# --- detection ----------------------------------------------------------------------------------


def daily_report_key(head: bytes) -> str | None:
    """Which daily ads report a document is, from the columns of its first row (or None).

    The rows carry no report type, so the columns decide; the rules are exclusive, so exactly one
    ads spec claims a document. SP-API documents are JSON objects or flat files, never arrays.
    """
    first = _first_row(head)
    if first is None or "campaignId" not in first:
        return None
    if not {"date", "startDate"} & set(first):
        return None
    if "searchTerm" in first:
        return "sp_search_term"
    if "purchasedAsin" in first:
        return "sp_purchased_product"
    if "adId" in first or "advertisedAsin" in first:
        return "sp_advertised_product"
    if "keywordId" in first or "targeting" in first:
        return "sp_targeting"
    if "adGroupId" in first:
        return "sp_ad_groups"
    return "sp_campaigns"


def _first_row(head: bytes) -> dict[str, Any] | None:
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    if not text.startswith("["):
        return None
    start = len(text) - len(text[1:].lstrip(" \t\r\n"))
    try:
        row, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError:
        return None
    return row if isinstance(row, dict) else None


# --- this report --------------------------------------------------------------------------------

CAMPAIGN_COLUMNS: dict[str, AdsColumn] = {
    "campaign_id": AdsColumn("campaignId", "id", required=True),
    "campaign_name": AdsColumn("campaignName"),
    "campaign_status": AdsColumn("campaignStatus"),
    "campaign_budget_amount": AdsColumn("campaignBudgetAmount", "money"),
    "campaign_budget_type": AdsColumn("campaignBudgetType"),
    "campaign_bidding_strategy": AdsColumn("campaignBiddingStrategy"),
    "top_of_search_impression_share": AdsColumn("topOfSearchImpressionShare", "ratio"),
}

REPORT = DailyAdsReport(
    spec_key="sp_campaigns",
    report_type=REPORT_TYPE,
    table=tables.ads_campaign_daily,
    key=KEY,
    columns={**CAMPAIGN_COLUMNS, **performance()},
    constants={"ad_group_id": ""},
)


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """One row per campaign and day; ad_group_id '' marks the campaign level."""
    return REPORT.parse(path, context)


def detect(head: bytes) -> bool:
    return daily_report_key(head) == REPORT.spec_key


SPEC = ReportSpec(
    key=REPORT.spec_key,
    amazon_report_type=REPORT_TYPE,
    description="Sponsored Products campaigns per day (Amazon Ads spCampaigns by campaign)",
    parse=parse,
    detect=detect,
    acquisition="ads",
    window="range",
    extension="json",
    lookback_days=ADS_LOOKBACK_DAYS,
    max_window_days=ADS_MAX_WINDOW_DAYS,
    ads_report=AdsReportRequest(
        report_type_id=REPORT_TYPE,
        group_by=("campaign",),
        columns=REPORT.request_columns,
    ),
    per_marketplace=True,  # one report per Ads profile (one profile per marketplace)
)

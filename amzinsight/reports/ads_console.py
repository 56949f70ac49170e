"""Sponsored Products reports downloaded from the Amazon Ads console (CSV, or XLSX read by
amzinsight/ingest/spreadsheets.py), loaded into the same daily tables as the Ads API's reports.

The console keeps history the API no longer serves (the API keeps about 95 days). Its files differ
from the API's documents (docs/amazon-console-exports.md):

- display headers ("Campaign Name", "7 Day Total Sales ", "14 Day Total Sales (₹)", "Spend"):
  compared trimmed, case-folded and without bracketed parts, whose content may name the currency;
- values as people read them per marketplace ("$1,234.56", "Rs.201.68", "1.234,56 €", "¥1,234",
  "12.34%", "-" or empty for nothing): the decimal separator is decided once per file, by its
  money cells when one of them shows it, else by the marketplace (noted on the run);
- names, never ids: campaigns, ad groups, targets and product ads take the ids the profile's API
  data already gave them, else a stable id derived from the names (amzinsight/reports/ads_names.py);
- the report kind is judged by the columns: Customer Search Term (search term), Purchased ASIN
  (purchased product), Placement (placement: summed to campaign days, the placement split is
  not kept), Advertised SKU/ASIN (advertised product), Targeting or Keyword (targeting), else
  campaign;
- time unit Daily gives a Date column (or Start Date = End Date per row); Summary rows span
  several days and are refused, because a day-by-day store cannot split them;
- every attribution window present is stored in its own column (seller Sponsored Products use 7
  days; older and some marketplaces' files carry only 14-day columns, stored as 14-day figures and
  noted); ratios the console computes (CTR, CPC, ACOS, ROAS, conversion rate) are not stored.

Sponsored Brands and Sponsored Display exports are recognised and refused by name.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl
import sqlalchemy as sa

from amzinsight.db import tables
from amzinsight.errors import ReportParseError
from amzinsight.marketplaces import MARKETPLACES
from amzinsight.reports.ads_names import KEYWORD_MATCH_TYPES, AdsNames
from amzinsight.reports.base import ParseContext, ParsedReport, ReportSpec, TableRows
from amzinsight.reports.flatfile import (
    MONEY_SCALE,
    RATIO_SCALE,
    ROW,
    fail,
    flat_file_line,
    local_date,
    require_unique,
    slash_dates_day_first,
)

KEY = "sp_console"
TITLE = "Sponsored Products report from the advertising console"

Kind = Literal[
    "search_term",
    "targeting",
    "campaign",
    "ad_group",
    "placement",
    "advertised_product",
    "purchased_product",
]
KIND_TITLES: dict[Kind, str] = {
    "search_term": "Search term report",
    "targeting": "Targeting report",
    "campaign": "Campaign report",
    "ad_group": "Ad group report",
    "placement": "Placement report",
    "advertised_product": "Advertised product report",
    "purchased_product": "Purchased product report",
}

# Display header (normalised) -> our column. Headers not named here or below are not stored:
# ratios the console computes, portfolio, retailer and country.
_TEXT_HEADERS = {
    "date": "_date",
    "start date": "_start_date",
    "end date": "_end_date",
    "currency": "_currency",
    "campaign name": "campaign_name",
    "ad group name": "ad_group_name",
    "targeting": "targeting",
    "keyword": "targeting",
    "match type": "match_type",
    "customer search term": "search_term",
    "advertised sku": "advertised_sku",
    "advertised asin": "advertised_asin",
    "purchased asin": "purchased_asin",
    "placement": "_placement",
    "campaign type": "_campaign_type",
    "ad type": "_campaign_type",
    "status": "campaign_status",
    "campaign status": "campaign_status",
    "bidding strategy": "campaign_bidding_strategy",
    "campaign bidding strategy": "campaign_bidding_strategy",
}
_COUNT_HEADERS = {"impressions": "impressions", "clicks": "clicks"}
_MONEY_HEADERS = {"spend": "cost", "cost": "cost", "budget": "campaign_budget_amount"}
_PERCENT_HEADERS = {"top-of-search impression share": "top_of_search_impression_share"}
# "7 Day Total Sales" -> sales_7d: the metric after "<n> Day", by what the API calls it.
_WINDOW_METRICS: dict[str, tuple[str, Literal["money", "count"]]] = {
    "total sales": ("sales", "money"),
    "total orders": ("purchases", "count"),
    "total units": ("units_sold_clicks", "count"),
    "advertised sku sales": ("sales_same_sku", "money"),
    "advertised sku units": ("units_sold_same_sku", "count"),
    "advertised sku orders": ("purchases_same_sku", "count"),
    "other sku sales": ("sales_other_sku", "money"),
    "other sku units": ("units_sold_other_sku", "count"),
    "other sku orders": ("purchases_other_sku", "count"),
}
_WINDOW_HEADER = re.compile(r"^(\d+) day (.+)$")
# Headers only Sponsored Brands or Sponsored Display exports have (both report vCPM, viewable
# impressions and new-to-brand figures, so these tell the two apart from Sponsored Products only).
_OTHER_AD_PRODUCT_MARKERS = (
    "viewable impressions",
    "cost type",
    "new-to-brand",
    "branded searches",
    "video complete views",
    "5 second views",
    "vcpm",
)
# Headers in the console's interface language -> the English header (normalised). Sources:
# docs/amazon-console-exports.md section 4 (Japanese in full; German and Spanish in part).
_LOCALISED_HEADERS = {
    "日付": "date",
    "開始日": "start date",
    "終了日": "end date",
    "ポートフォリオ名": "portfolio name",
    "通貨": "currency",
    "キャンペーン名": "campaign name",
    "広告グループ名": "ad group name",
    "ターゲティング": "targeting",
    "マッチタイプ": "match type",
    "カスタマーの検索キーワード": "customer search term",
    "インプレッション": "impressions",
    "クリック": "clicks",
    "費用": "spend",
    "広告がクリックされてから7日間の総売上高": "7 day total sales",
    "広告がクリックされてから7日間の合計注文数": "7 day total orders",
    "広告がクリックされてから7日間の合計販売数": "7 day total units",
    "suchbegriff des kunden": "customer search term",
    "kampagnen-name": "campaign name",
    "impressionen": "impressions",
    "klicks": "clicks",
    "ausgaben": "spend",
    "7 tage, umsatz gesamt": "7 day total sales",
    "término de búsqueda de cliente": "customer search term",
    "ventas totales de 7 días": "7 day total sales",
}
_CURRENCY_SIGNS = {
    "£": "GBP",
    "€": "EUR",
    "¥": "JPY",
    "￥": "JPY",
    "₹": "INR",
    "rs.": "INR",
    "rs": "INR",
    "r$": "BRL",
    "zł": "PLN",
    "kr": "SEK",
    "aed": "AED",
    "sar": "SAR",
}
_DOLLAR_CURRENCIES = frozenset({"USD", "CAD", "MXN", "AUD", "SGD"})
_NOTHING = ["-", "–", "—", "n/a", "N/A", "--"]
# Countries whose console writes decimal commas (1.234,56 €); the rest write decimal points.
_DECIMAL_COMMA_COUNTRIES = frozenset({"DE", "FR", "IT", "ES", "NL", "SE", "PL", "BE", "TR", "BR"})
_DECIMAL_COMMA_MARKETS = frozenset(
    market.marketplace_id
    for code, market in MARKETPLACES.items()
    if code in _DECIMAL_COMMA_COUNTRIES
)
_AUTO_TARGETS = frozenset({"close-match", "loose-match", "substitutes", "complements"})
_MONTH_NAME_FORMATS = ("%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%d-%b-%Y")


@dataclass(frozen=True)
class Header:
    """A console file's columns: which raw header fills which of our columns."""

    columns: dict[str, str]
    """our column -> raw header"""
    money: tuple[str, ...]
    counts: tuple[str, ...]
    percents: tuple[str, ...]
    currency_hint: str | None
    """A currency named in a header's brackets ("14 Day Total Sales (₹)")."""
    other_product: str | None
    """A header only Sponsored Brands or Display reports have, when the file has one."""
    separator: str


def normalise_header(raw: str) -> tuple[str, str | None]:
    """("7 day total sales", "₹") from "14 Day Total Sales (₹) ": case-folded, trimmed, without
    bracketed parts; the last bracketed part is returned when it may name a currency."""
    text = unicodedata.normalize("NFC", raw).replace("\ufeff", "").strip().strip('"')
    brackets = re.findall(r"[(（]([^)）]*)[)）]", text)
    name = re.sub(r"\s+", " ", re.sub(r"[(（][^)）]*[)）]", " ", text)).strip().lower()
    hint = brackets[-1].strip() if brackets and brackets[-1].strip() not in ("#", "%") else None
    return _LOCALISED_HEADERS.get(name, name), hint


def read_header(first_line: str) -> Header | None:
    """The console header in a file's first line, or None when it is not one."""
    separator = max((",", ";", "\t"), key=lambda sep: len(_split(first_line, sep)))
    columns: dict[str, str] = {}
    money: list[str] = []
    counts: list[str] = []
    percents: list[str] = []
    hint: str | None = None
    other: str | None = None
    for raw in _split(first_line, separator):
        name, bracket = normalise_header(raw)
        target: str | None = None
        if name in _TEXT_HEADERS:
            target = _TEXT_HEADERS[name]
        elif name in _COUNT_HEADERS:
            target = _COUNT_HEADERS[name]
            counts.append(target)
        elif name in _MONEY_HEADERS:
            target = _MONEY_HEADERS[name]
            money.append(target)
        elif name in _PERCENT_HEADERS:
            target = _PERCENT_HEADERS[name]
            percents.append(target)
        elif (window := _WINDOW_HEADER.match(name)) and window.group(2) in _WINDOW_METRICS:
            metric, kind = _WINDOW_METRICS[window.group(2)]
            target = f"{metric}_{window.group(1)}d"
            (money if kind == "money" else counts).append(target)
        if any(marker in name for marker in _OTHER_AD_PRODUCT_MARKERS):
            other = other or raw.strip()
        if target is not None and target not in columns:
            columns[target] = raw
            if bracket and target in money and _currency_of_sign(bracket):
                hint = hint or _currency_of_sign(bracket)
    # Purchased product reports have no impressions, clicks or spend: their ASIN column tells.
    if "campaign_name" not in columns or not (
        {"cost", "impressions", "clicks", "purchased_asin"} & set(columns)
    ):
        return None
    return Header(columns, tuple(money), tuple(counts), tuple(percents), hint, other, separator)


def detect(head: bytes) -> bool:
    first_line = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")
    return read_header(first_line) is not None


def kind_of(columns: Mapping[str, str]) -> Kind:
    """Which console report a header is (the rules are exclusive; order matters)."""
    if "search_term" in columns:
        return "search_term"
    if "purchased_asin" in columns:
        return "purchased_product"
    if "_placement" in columns:
        return "placement"
    if "advertised_sku" in columns or "advertised_asin" in columns:
        return "advertised_product"
    if "targeting" in columns:
        return "targeting"
    if "ad_group_name" in columns:
        return "ad_group"
    return "campaign"


# What each kind loads: its table, natural key and the names its rows must carry.
_TABLES: dict[Kind, tuple[sa.Table, tuple[str, ...], tuple[str, ...]]] = {
    "search_term": (
        tables.ads_search_term_daily,
        ("profile_id", "report_date", "campaign_id", "ad_group_id", "target_id", "search_term"),
        ("campaign_name", "ad_group_name", "targeting", "search_term"),
    ),
    "targeting": (
        tables.ads_target_daily,
        ("profile_id", "report_date", "target_id"),
        ("campaign_name", "ad_group_name", "targeting"),
    ),
    "campaign": (
        tables.ads_campaign_daily,
        ("profile_id", "report_date", "campaign_id", "ad_group_id"),
        ("campaign_name",),
    ),
    "ad_group": (
        tables.ads_campaign_daily,
        ("profile_id", "report_date", "campaign_id", "ad_group_id"),
        ("campaign_name", "ad_group_name"),
    ),
    "placement": (
        tables.ads_campaign_daily,
        ("profile_id", "report_date", "campaign_id", "ad_group_id"),
        ("campaign_name",),
    ),
    "advertised_product": (
        tables.ads_advertised_product_daily,
        ("profile_id", "report_date", "campaign_id", "ad_group_id", "ad_id"),
        ("campaign_name", "ad_group_name"),
    ),
    "purchased_product": (
        tables.ads_purchased_product_daily,
        (
            "profile_id",
            "report_date",
            "campaign_id",
            "ad_group_id",
            "keyword_id",
            "advertised_asin",
            "purchased_asin",
        ),
        ("campaign_name", "ad_group_name", "advertised_asin", "purchased_asin"),
    ),
}


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """The file's rows as daily rows of the table its kind fills, ids resolved by name."""
    if not context.profile_id:
        raise ReportParseError(
            f"{TITLE}: no Amazon Ads profile given; its rows belong to one profile"
        )
    with path.open("rb") as document:
        first_line = document.readline().decode("utf-8-sig", errors="replace").rstrip("\r\n")
    if not first_line.strip():
        raise ReportParseError(f"{TITLE}: empty document (no header line)")
    header = read_header(first_line)
    if header is None:
        raise ReportParseError(
            f"{TITLE}: the first line is not a console report header (it needs Campaign Name "
            "and Impressions, Clicks or Spend)"
        )
    kind = kind_of(header.columns)
    label = f"Amazon Ads console {KIND_TITLES[kind]}"
    frame = _read(path, header)  # a header alone is a period without activity: no rows
    other_types = _campaign_types(frame) - {"sponsored products"}
    if header.other_product or other_types:
        product = (
            " and ".join(sorted(name.title() for name in other_types)) + " report"
            if other_types
            else "Sponsored Brands or Sponsored Display report "
            f'(it has a "{header.other_product}" column)'
        )
        raise ReportParseError(
            f"{label}: this is a {product}; AmzInsight imports Sponsored Products console "
            "reports only (download the Sponsored Products report of the same kind)"
        )
    if kind != "purchased_product" and "cost" not in header.columns:
        raise ReportParseError(
            f"{label}: the file has no Spend column, so it is not a Sponsored Products console "
            "layout AmzInsight knows; download the report again as CSV or XLSX from Sponsored "
            "ads reports"
        )
    table, key, required = _TABLES[kind]
    notes: list[str] = [f"Read as an Amazon Ads console {KIND_TITLES[kind]}, time unit Daily."]
    frame = _with_dates(frame, header, label, context, notes)
    currency = _file_currency(frame, header, label, context)
    frame = _with_numbers(frame, header, label, context, notes)
    _require_names(frame, required, label)
    frame = _with_ids(frame, kind, context.ads_names or AdsNames())
    frame = _with_target_types(frame)
    if kind == "placement":
        frame = _placements_to_campaigns(frame, header)
        notes.append("Placements were summed to campaign days; the split by placement is not kept.")
    frame = frame.with_columns(
        pl.lit(context.profile_id, pl.String).alias("profile_id"),
        pl.lit(currency, pl.String).alias("currency"),
    )
    if kind in ("campaign", "placement"):
        frame = frame.with_columns(pl.lit("", pl.String).alias("ad_group_id"))
    require_unique(frame, key, report_type=label, where=flat_file_line)
    names = [column.name for column in table.columns if column.name in frame.columns]
    notes.extend(_window_notes(header))
    days = frame.get_column("report_date").drop_nulls().to_list()
    return ParsedReport(
        [TableRows(table, frame.select(names), key)],
        notes=tuple(notes),
        covers=(min(days), max(days)) if days else None,
    )


# --- reading ------------------------------------------------------------------------------------


def _split(line: str, separator: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=separator), [])
    except csv.Error:
        return []


def _read(path: Path, header: Header) -> pl.DataFrame:
    """Our columns as text (blank and "-" cells null), plus ROW (the file line)."""
    raw_names = list(dict.fromkeys(header.columns.values()))
    try:
        frame = pl.read_csv(
            path,
            separator=header.separator,
            has_header=True,
            infer_schema=False,
            columns=raw_names,
            row_index_name=ROW,
            row_index_offset=2,
            encoding="utf8",
        )
    except pl.exceptions.PolarsError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
        raise ReportParseError(f"{TITLE}: cannot read the file as CSV ({first})") from None
    frame = frame.select(
        pl.col(ROW).cast(pl.Int64),
        *[_blank(pl.col(raw)).alias(ours) for ours, raw in header.columns.items()],
    )
    values = [name for name in frame.columns if name != ROW]
    return frame.filter(pl.any_horizontal(pl.col(values).is_not_null()))


def _blank(text: pl.Expr) -> pl.Expr:
    value = text.str.strip_chars()
    return (
        pl.when((value.str.len_bytes() > 0) & ~value.is_in(_NOTHING))
        .then(value)
        .otherwise(pl.lit(None, pl.String))
    )


def _campaign_types(frame: pl.DataFrame) -> set[str]:
    """The Campaign Type (or Ad type) values, lower case: a mixed export names every product."""
    if "_campaign_type" not in frame.columns:
        return set()
    values = frame.get_column("_campaign_type").drop_nulls().unique()
    return {str(value).strip().lower() for value in values}


# --- dates --------------------------------------------------------------------------------------


def _with_dates(
    frame: pl.DataFrame, header: Header, label: str, context: ParseContext, notes: list[str]
) -> pl.DataFrame:
    """report_date from Date, or from Start Date where End Date is the same day."""
    if "_date" not in header.columns and "_start_date" not in header.columns:
        raise ReportParseError(
            f"{label}: the file has no Date column; choose Time unit: Daily when you create the "
            "report in the advertising console"
        )
    default_day_first = slash_dates_day_first(context.marketplace_id, context.currency)
    parsed = frame.with_columns(
        _date(pl.col(name), default_day_first).alias(f"{name}_parsed")
        for name in ("_date", "_start_date", "_end_date")
        if name in frame.columns
    )
    for name in ("_date", "_start_date", "_end_date"):
        if name not in parsed.columns:
            continue
        bad = parsed.filter(pl.col(name).is_not_null() & pl.col(f"{name}_parsed").is_null())
        if bad.height:
            row = bad.row(0, named=True)
            raise fail(
                label,
                flat_file_line(row[ROW]),
                f"{header.columns[name].strip()} {row[name]!r} is not a date",
            )
    if _slash_dates_ambiguous(parsed, [n for n in ("_date", "_start_date") if n in frame.columns]):
        order = "day first" if default_day_first else "month first"
        notes.append(
            f"Dates such as 04/05/2026 were read {order}, as the marketplace writes them; "
            "no date in the file settled the order."
        )
    single_day = pl.lit(None, pl.Date)
    if "_start_date" in parsed.columns and "_end_date" in parsed.columns:
        single_day = pl.when(pl.col("_start_date_parsed") == pl.col("_end_date_parsed")).then(
            pl.col("_start_date_parsed")
        )
    report_date = pl.col("_date_parsed") if "_date" in parsed.columns else pl.lit(None, pl.Date)
    parsed = parsed.with_columns(pl.coalesce(report_date, single_day).alias("report_date"))
    undated = parsed.filter(pl.col("report_date").is_null())
    if undated.height:
        row = undated.row(0, named=True)
        if row.get("_start_date_parsed") is not None and row.get("_end_date_parsed") is not None:
            span = f"{row['_start_date_parsed']} to {row['_end_date_parsed']}"
            raise fail(
                label,
                flat_file_line(row[ROW]),
                f"the row sums {span} (time unit Summary); AmzInsight stores days, so choose "
                "Time unit: Daily when you create the report in the advertising console",
            )
        raise fail(label, flat_file_line(row[ROW]), "the row has no date")
    return parsed


def _date(text: pl.Expr, day_first: bool) -> pl.Expr:
    """ISO, dotted, slash (order by the values, else the marketplace) and English month names
    ("May 04, 2026", "04 May 2026")."""
    value = text.str.strip_chars()
    return pl.coalesce(
        local_date(value, day_first),
        *[value.str.strptime(pl.Date, form, strict=False) for form in _MONTH_NAME_FORMATS],
    )


def _slash_dates_ambiguous(frame: pl.DataFrame, columns: list[str]) -> bool:
    """True when a column holds dd/dd/yyyy dates and none has a part above 12."""
    for name in columns:
        parts = frame.get_column(name).str.extract_groups(r"^(\d{1,2})/(\d{1,2})/")
        first = parts.struct.field("1").cast(pl.Int32, strict=False).drop_nulls()
        second = parts.struct.field("2").cast(pl.Int32, strict=False).drop_nulls()
        if len(first) and first.max() <= 12 and second.max() <= 12:  # type: ignore[operator]
            return True
    return False


# --- money and numbers --------------------------------------------------------------------------


def _currency_of_sign(sign: str) -> str | None:
    text = sign.strip()
    if re.fullmatch(r"[A-Z]{3}", text):
        return text
    return _CURRENCY_SIGNS.get(text.lower())


def _file_currency(frame: pl.DataFrame, header: Header, label: str, context: ParseContext) -> str:
    """The currency the file's amounts are in: its Currency column, a currency in a header's
    brackets, or the signs around its amounts; it must be the profile's currency."""
    found: set[str] = set()
    if "_currency" in frame.columns:
        found |= {str(code).strip().upper() for code in frame["_currency"].drop_nulls().unique()}
    if header.currency_hint:
        found.add(header.currency_hint)
    dollars = False
    for name in header.money:
        signs = (
            frame.get_column(name)
            .drop_nulls()
            .str.replace_all(r"[\d.,\s\u00a0\u202f'+\-]", "")
            .unique()
        )
        for sign in signs:
            if not sign:
                continue
            if sign.endswith("$") and len(sign) <= 3 and sign.upper() != "R$":
                dollars = True
            elif code := _currency_of_sign(sign):
                found.add(code)
    expected = (context.currency or "").upper()
    if dollars and expected not in _DOLLAR_CURRENCIES:
        found.add("a dollar currency")
    if len(found) > 1:
        raise ReportParseError(f"{label}: the file mixes currencies ({', '.join(sorted(found))})")
    if found and expected and found != {expected}:
        (currency,) = found
        raise ReportParseError(
            f"{label}: the amounts are in {currency} but the Amazon Ads profile "
            f"{context.profile_id} ({context.marketplace_id}) is in {expected}: import the file "
            "for the marketplace it belongs to (--marketplace)"
        )
    return expected or next(iter(found), "")


def _with_numbers(
    frame: pl.DataFrame, header: Header, label: str, context: ParseContext, notes: list[str]
) -> pl.DataFrame:
    """Amounts as Decimal, counts as integers, percentages as fractions, by the file's decimal
    separator (its money cells show it, else the marketplace's convention decides)."""
    decimal = _decimal_separator(frame, header, label, context, notes)
    group = "." if decimal == "," else ","
    columns = {name: _amount(pl.col(name), decimal, group, MONEY_SCALE) for name in header.money}
    columns |= {name: _count(pl.col(name), group) for name in header.counts}
    columns |= {name: _percent(pl.col(name), decimal, group) for name in header.percents}
    parsed = frame.with_columns(expr.alias(f"{name}__n") for name, expr in columns.items())
    for name in [*header.money, *header.counts]:
        bad = parsed.filter(pl.col(name).is_not_null() & pl.col(f"{name}__n").is_null())
        if bad.height:
            row = bad.row(0, named=True)
            what = "an amount" if name in header.money else "a whole number"
            raise fail(
                label,
                flat_file_line(row[ROW]),
                f"{header.columns[name].strip()} {row[name]!r} is not {what}",
            )
    # A row reports every metric its file has: a blank or "-" there is none of it, as the API's 0.
    metrics = {*header.money, *header.counts} - {"campaign_budget_amount"}
    return parsed.with_columns(
        pl.col(f"{name}__n").fill_null(0).alias(name)
        if name in metrics
        else pl.col(f"{name}__n").alias(name)
        for name in columns
    ).drop([f"{name}__n" for name in columns])


def _digits(text: pl.Expr) -> pl.Expr:
    """The number inside a cell: currency signs, spaces and % around it removed."""
    return (
        text.str.replace_all(r"[\s\u00a0\u202f']", "")
        .str.replace(r"^[^\d\-−(]*", "")
        .str.replace(r"^[\-−(][^\d]*", "-")
        .str.replace(r"[^\d]+$", "")
    )


def _decimal_separator(
    frame: pl.DataFrame, header: Header, label: str, context: ParseContext, notes: list[str]
) -> str:
    cells = [
        _digits(pl.col(name)).alias(name)
        for name in (*header.money, *header.percents)
        if name in frame.columns
    ]
    if not cells:
        return "," if context.marketplace_id in _DECIMAL_COMMA_MARKETS else "."
    shown = frame.select(cells).unpivot().get_column("value").drop_nulls()
    comma = shown.str.contains(r",\d{1,2}$|,\d{4,}$|\.\d{3},\d+$").any()
    point = shown.str.contains(r"\.\d{1,2}$|\.\d{4,}$|,\d{3}\.\d+$").any()
    if comma and point:
        raise ReportParseError(
            f"{label}: amounts are written with both decimal commas and decimal points; "
            "download the report again without editing it"
        )
    if comma or point:
        return "," if comma else "."
    decimal = "," if context.marketplace_id in _DECIMAL_COMMA_MARKETS else "."
    if shown.str.contains(r"[.,]").any():
        notes.append(
            f"No amount showed its decimal separator; {decimal!r} was taken as the marketplace "
            "writes it."
        )
    return decimal


def _amount(text: pl.Expr, decimal: str, group: str, scale: int) -> pl.Expr:
    digits = _digits(text).str.replace_all(group, "", literal=True)
    if decimal == ",":
        digits = digits.str.replace(",", ".", literal=True)
    return digits.str.to_decimal(scale=scale)


def _count(text: pl.Expr, group: str) -> pl.Expr:
    digits = _digits(text).str.replace_all(group, "", literal=True)
    return digits.str.to_integer(strict=False).cast(pl.Int64)


def _percent(text: pl.Expr, decimal: str, group: str) -> pl.Expr:
    """ "12.34%" -> 0.1234; a bare number above 1 is a percentage too (XLSX cells hold
    fractions); "<5%" (a bound, not a figure) is null."""
    value = _amount(text, decimal, group, RATIO_SCALE + 2)
    as_fraction = (
        pl.when(text.str.contains("%", literal=True) | (value > 1))
        .then(value / 100)
        .otherwise(value)
    )
    return (
        pl.when(text.str.contains(r"^[<>]"))
        .then(pl.lit(None))
        .otherwise(as_fraction)
        .cast(pl.Decimal(38, RATIO_SCALE))
    )


def _window_notes(header: Header) -> list[str]:
    windows = {
        int(match.group(1))
        for name in header.columns
        if (match := re.search(r"_(\d+)d$", name)) and name.startswith(("sales", "purchases"))
    }
    if windows and 7 not in windows:
        shown = ", ".join(f"{window}-day" for window in sorted(windows))
        return [
            f"The file has {shown} attribution only; it is stored as such, while Sponsored "
            "Products figures elsewhere use 7 days."
        ]
    return []


# --- names and ids ------------------------------------------------------------------------------


def _require_names(frame: pl.DataFrame, required: tuple[str, ...], label: str) -> None:
    for name in required:
        if name not in frame.columns:
            raise fail(label, "line 1", f"missing column for {name.replace('_', ' ')}")
    blank = frame.filter(pl.any_horizontal(pl.col(list(required)).is_null()))
    if blank.height:
        row = blank.row(0, named=True)
        empty = next(name for name in required if row[name] is None)
        raise fail(label, flat_file_line(row[ROW]), f"{empty.replace('_', ' ')} is empty")


def _with_ids(frame: pl.DataFrame, kind: Kind, names: AdsNames) -> pl.DataFrame:
    """Amazon's ids where the profile's data knows the names, else ids derived from them; worked
    out once per distinct name combination."""
    parts = [
        name
        for name in (
            "campaign_name",
            "ad_group_name",
            "targeting",
            "match_type",
            "advertised_sku",
            "advertised_asin",
        )
        if name in frame.columns
    ]
    distinct = frame.select(parts).unique()
    ids: dict[str, list[str]] = {}
    for row in distinct.iter_rows(named=True):
        campaign = row["campaign_name"]
        ad_group = row.get("ad_group_name") or ""
        ids.setdefault("campaign_id", []).append(names.campaign_id(campaign))
        if kind in ("campaign", "placement"):
            continue
        ids.setdefault("ad_group_id", []).append(names.ad_group_id(campaign, ad_group))
        targeting = row.get("targeting")
        if kind in ("search_term", "targeting"):
            ids.setdefault("target_id", []).append(
                names.target_id(campaign, ad_group, targeting or "", row.get("match_type") or "")
            )
        if kind == "purchased_product":
            ids.setdefault("keyword_id", []).append(
                names.target_id(campaign, ad_group, targeting, row.get("match_type") or "")
                if targeting
                else ""
            )
        if kind == "advertised_product":
            ids.setdefault("ad_id", []).append(
                names.ad_id(
                    campaign, ad_group, row.get("advertised_sku"), row.get("advertised_asin")
                )
            )
    lookup = distinct.with_columns(
        pl.Series(name, values, pl.String) for name, values in ids.items()
    )
    return frame.join(lookup, on=parts, how="left", nulls_equal=True)


def _with_target_types(frame: pl.DataFrame) -> pl.DataFrame:
    """The console writes "-" as the match type of product and auto targets; the API writes
    TARGETING_EXPRESSION(_PREDEFINED) in matchType and keywordType: store what the API does."""
    if "match_type" not in frame.columns:
        return frame
    match = pl.col("match_type").str.to_uppercase()
    text = (
        pl.col("targeting").str.strip_chars().str.to_lowercase()
        if "targeting" in frame.columns
        else pl.lit(None, pl.String)
    )
    kind = (
        pl.when(match.is_in(list(KEYWORD_MATCH_TYPES)))
        .then(match)
        .when(text.is_in(list(_AUTO_TARGETS)))
        .then(pl.lit("TARGETING_EXPRESSION_PREDEFINED"))
        .when(text.is_not_null())
        .then(pl.lit("TARGETING_EXPRESSION"))
        .otherwise(match)
    )
    columns = [kind.alias("match_type"), kind.alias("keyword_type")]
    if "targeting" in frame.columns:
        columns.append(pl.col("targeting").alias("keyword_text"))
    return frame.with_columns(columns)


def _placements_to_campaigns(frame: pl.DataFrame, header: Header) -> pl.DataFrame:
    """One row per campaign and day: each placement's figures added up."""
    metrics = [name for name in (*header.money, *header.counts) if name in frame.columns]
    metrics = [name for name in metrics if name != "campaign_budget_amount"]
    kept = [
        name
        for name in ("campaign_name", "campaign_bidding_strategy", "_currency")
        if name in frame.columns
    ]
    return frame.group_by(["report_date", "campaign_id"], maintain_order=True).agg(
        pl.col(ROW).min(),
        *[pl.col(name).first() for name in kept],
        *[
            pl.when(pl.col(name).is_not_null().any()).then(pl.col(name).sum()).alias(name)
            for name in metrics
        ],
    )


SPEC = ReportSpec(
    key=KEY,
    amazon_report_type=None,
    description="Sponsored Products report downloaded from the Amazon Ads console (CSV or XLSX)",
    parse=parse,
    detect=detect,
    acquisition="file",
    window="none",
    extension="csv",
    ads_profile=True,
)

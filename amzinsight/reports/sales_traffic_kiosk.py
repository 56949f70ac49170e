"""Sales and Traffic history from Data Kiosk (dataset analytics_salesAndTraffic_2024_04_24): the
same figures as GET_SALES_AND_TRAFFIC_REPORT, loaded into the same tables, for backfills.

Why: since April 2026 GET_SALES_AND_TRAFFIC_REPORT may be requested once every 15 minutes and 96
times a day, so one report per day of history cannot backfill two years (docs/amazon-formats.md
8.1). Data Kiosk answers a GraphQL query with a JSONL document, one record per line:

- `salesAndTrafficByDate(aggregateBy: DAY, ...)`: one record per day with `sales` and `traffic`
  objects holding the report's salesByDate / trafficByDate fields -> sales_traffic_by_date;
- `salesAndTrafficTrends(asinAggregation: CHILD, dateAggregation: DAY, ..., filters:
  [{marketplaceId, asins: [up to 30]}])`: one record per child ASIN and day -> sales_traffic_by_asin
  (sku ''); ASINs without data that day are absent;
- `salesAndTrafficByAsin(aggregateBy: CHILD, ...)`: one total per child ASIN over the range, used
  only to learn which ASINs to ask the trends for, never loaded as days.

The sync sends one window's queries (totals per day, then the trends of its ASINs in batches)
and loads their documents, concatenated in the order received, as one document: one run, one
archived file, one transaction per window. Records are days only when startDate equals endDate;
WEEK, MONTH or range records are refused. Rows are keyed exactly as the report's (CHILD
granularity: sku ''), so a day loaded by both sources is one row, the later load's; the sync asks
Data Kiosk only for days older than the report's restatement window (docs/amazon-formats.md 8.1).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from amzinsight.db import tables
from amzinsight.errors import ReportParseError
from amzinsight.reports.base import ParseContext, ParsedReport, ReportSpec, TableRows
from amzinsight.reports.flatfile import Field, require_unique
from amzinsight.reports.sales_traffic import (
    BY_ASIN_KEY,
    BY_ASIN_METRICS,
    BY_DATE_KEY,
    BY_DATE_METRICS,
    metric_rows,
)

DATASET = "analytics_salesAndTraffic_2024_04_24"
TRENDS_MAX_ASINS = 30
"""Child ASINs one salesAndTrafficTrends query may name (the schema's limit)."""
HISTORY_DAYS = 729
"""Data Kiosk keeps two years (startDate at most 730 days back); a day less leaves room for the
marketplace's time zone against Amazon's clock."""

BY_DATE_SALES = (
    "orderedProductSales { amount currencyCode }",
    "orderedProductSalesB2B { amount currencyCode }",
    "unitsOrdered",
    "unitsOrderedB2B",
    "totalOrderItems",
    "totalOrderItemsB2B",
    "unitsRefunded",
    "refundRate",
    "unitsShipped",
    "ordersShipped",
    "shippedProductSales { amount currencyCode }",
    "claimsGranted",
    "claimsAmount { amount currencyCode }",
)
BY_DATE_TRAFFIC = (
    "pageViews",
    "pageViewsB2B",
    "browserPageViews",
    "mobileAppPageViews",
    "sessions",
    "sessionsB2B",
    "browserSessions",
    "mobileAppSessions",
    "buyBoxPercentage",
    "buyBoxPercentageB2B",
    "orderItemSessionPercentage",
    "orderItemSessionPercentageB2B",
    "unitSessionPercentage",
    "unitSessionPercentageB2B",
    "averageOfferCount",
    "averageParentItems",
    "feedbackReceived",
    "negativeFeedbackReceived",
    "receivedNegativeFeedbackRate",
)
BY_ASIN_SALES = (
    "orderedProductSales { amount currencyCode }",
    "orderedProductSalesB2B { amount currencyCode }",
    "unitsOrdered",
    "unitsOrderedB2B",
    "totalOrderItems",
    "totalOrderItemsB2B",
)
BY_ASIN_TRAFFIC = (
    "sessions",
    "sessionsB2B",
    "browserSessions",
    "mobileAppSessions",
    "sessionPercentage",
    "pageViews",
    "pageViewsB2B",
    "browserPageViews",
    "mobileAppPageViews",
    "pageViewsPercentage",
    "buyBoxPercentage",
    "buyBoxPercentageB2B",
    "unitSessionPercentage",
    "unitSessionPercentageB2B",
)


def by_date_query(marketplace_id: str, start: date, end: date) -> str:
    """The marketplace's totals per day over start..end."""
    return _query(
        "salesAndTrafficByDate",
        {
            "aggregateBy": "DAY",
            "startDate": start,
            "endDate": end,
            "marketplaceIds": [marketplace_id],
        },
        ("startDate", "endDate", "marketplaceId"),
        BY_DATE_SALES,
        BY_DATE_TRAFFIC,
    )


def asins_query(marketplace_id: str, start: date, end: date) -> str:
    """Every child ASIN with sales or traffic over start..end (one total each)."""
    return _query(
        "salesAndTrafficByAsin",
        {
            "aggregateBy": "CHILD",
            "startDate": start,
            "endDate": end,
            "marketplaceIds": [marketplace_id],
        },
        ("startDate", "endDate", "marketplaceId", "parentAsin", "childAsin"),
        ("unitsOrdered",),
        ("sessions",),
    )


def trends_query(marketplace_id: str, start: date, end: date, asins: Sequence[str]) -> str:
    """Per child ASIN and day over start..end, for at most TRENDS_MAX_ASINS ASINs."""
    if not 0 < len(asins) <= TRENDS_MAX_ASINS:
        raise ValueError(f"a trends query names 1 to {TRENDS_MAX_ASINS} ASINs, not {len(asins)}")
    return _query(
        "salesAndTrafficTrends",
        {
            "asinAggregation": "CHILD",
            "dateAggregation": "DAY",
            "startDate": start,
            "endDate": end,
            "filters": [{"marketplaceId": marketplace_id, "asins": list(asins)}],
        },
        ("startDate", "endDate", "marketplaceId", "parentAsin", "childAsin"),
        BY_ASIN_SALES,
        BY_ASIN_TRAFFIC,
    )


def _query(
    field: str,
    arguments: Mapping[str, object],
    plain: Iterable[str],
    sales: Iterable[str],
    traffic: Iterable[str],
) -> str:
    """One GraphQL query on the dataset, laid out as Amazon's examples are."""
    args = " ".join(f"{name}: {_literal(name, value)}" for name, value in arguments.items())
    selection = " ".join(
        (*plain, f"sales {{ {' '.join(sales)} }}", f"traffic {{ {' '.join(traffic)} }}")
    )
    return f"query {{ {DATASET} {{ {field}({args}) {{ {selection} }} }} }}"


_ENUM_ARGUMENTS = frozenset({"aggregateBy", "asinAggregation", "dateAggregation"})


def _literal(name: str, value: object) -> str:
    """A GraphQL literal: enums bare, dates and strings quoted, lists and input objects nested."""
    if name in _ENUM_ARGUMENTS:
        return str(value)
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_literal("", item) for item in value) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{key}: {_literal(key, item)}" for key, item in value.items())
        return "{" + inner + "}"
    raise TypeError(f"no GraphQL literal for {value!r}")


# --- reading a document --------------------------------------------------------------------------

KEY = "sales_traffic_history"
LABEL = f"Data Kiosk {DATASET}"
ROLE_MISSING = "Brand Analytics role"
"""Words of the sentence a refused query records (sources/sp_api.py): the sync then plans the
store's history report by report."""
RECENT_REPORT_DAYS = 3
"""The last days (through yesterday) that the Sales and Traffic report, not Data Kiosk, loads:
the days its 3-day lookback pulls again. The report is metered (3 of its 96 a day per
marketplace); Data Kiosk is not, so it loads every older day and re-pulls HISTORY_LOOKBACK_DAYS."""
HISTORY_LOOKBACK_DAYS = 7
"""Amazon may fill a day in for up to a week after it closes (SP-API docs issue 2303): each sync
asks Data Kiosk again for the last week before the report's days."""


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """Days from by-date records, child ASIN days from trends records; nothing else."""
    by_date: list[dict[str, Any]] = []
    by_asin: list[dict[str, Any]] = []
    by_date_lines: list[int] = []
    by_asin_lines: list[int] = []
    with path.open("rb") as document:
        for number, raw in enumerate(document, start=1):
            if not raw.strip():
                continue
            record = _record(raw, number)
            start, end = record.get("startDate"), record.get("endDate")
            if not start or start != end:
                raise ReportParseError(
                    f"{LABEL} line {number}: the record covers {start}..{end}, not one day "
                    "(AmzInsight stores days: query with aggregateBy/dateAggregation DAY)"
                )
            if record.get("childAsin") or record.get("parentAsin"):
                by_asin.append(record)
                by_asin_lines.append(number)
            else:
                by_date.append(record)
                by_date_lines.append(number)
    if not by_date and not by_asin:
        raise ReportParseError(f"{LABEL}: empty document (no records)")
    date_rows = _frame(by_date, by_date_lines, "sales_traffic_by_date", context)
    asin_rows = _frame(by_asin, by_asin_lines, "sales_traffic_by_asin", context)
    require_unique(date_rows, BY_DATE_KEY, report_type=LABEL, where=_line)
    require_unique(asin_rows, BY_ASIN_KEY, report_type=LABEL, where=_line)
    days = [*date_rows.get_column("report_date"), *asin_rows.get_column("report_date")]
    return ParsedReport(
        [
            TableRows(
                tables.sales_traffic_by_date,
                date_rows.select(*BY_DATE_KEY, "currency", *BY_DATE_METRICS),
                BY_DATE_KEY,
            ),
            TableRows(
                tables.sales_traffic_by_asin,
                asin_rows.select(*BY_ASIN_KEY, "currency", *BY_ASIN_METRICS),
                BY_ASIN_KEY,
            ),
        ],
        covers=(min(days), max(days)),
    )


def child_asins(path: Path) -> list[str]:
    """The child ASINs an asins_query document lists, sorted (a lookup for the trends)."""
    found: set[str] = set()
    with path.open("rb") as document:
        for number, line in enumerate(document, start=1):
            if line.strip() and (asin := _record(line, number).get("childAsin")):
                found.add(str(asin))
    return sorted(found)


def _record(line: bytes, number: int) -> dict[str, Any]:
    try:
        record = json.loads(line.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ReportParseError(f"{LABEL} line {number}: not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ReportParseError(f"{LABEL} line {number}: not JSON ({error.msg})") from None
    if not isinstance(record, dict):
        raise ReportParseError(f"{LABEL} line {number}: expected a JSON object")
    return record


def _frame(
    records: list[dict[str, Any]], lines: list[int], table: str, context: ParseContext
) -> pl.DataFrame:
    """The report's own reader, given the records' sales and traffic objects under the report's
    section names."""
    asin = table == "sales_traffic_by_asin"
    metrics = BY_ASIN_METRICS if asin else BY_DATE_METRICS
    sales, traffic = ("salesByAsin", "trafficByAsin") if asin else ("salesByDate", "trafficByDate")
    entries = [
        {sales: record.get("sales") or {}, traffic: record.get("traffic") or {}}
        for record in records
    ]
    identity: dict[str, Field] = {"report_date": Field("startDate", "date", required=True)}
    values: dict[str, list[Any]] = {"startDate": [r.get("startDate") for r in records]}
    if asin:
        identity |= {
            "parent_asin": Field("parentAsin", required=True),
            "child_asin": Field("childAsin", required=True),
        }
        values |= {name: [r.get(name) for r in records] for name in ("parentAsin", "childAsin")}
    where: Callable[[int], str] = lambda index: _line(lines[index])  # noqa: E731
    rows = metric_rows(entries, table, metrics, identity, values, context, LABEL, where)
    marketplace = [r.get("marketplaceId") or context.marketplace_id for r in records]
    rows = rows.with_columns(pl.Series("marketplace_id", marketplace, pl.String))
    if asin:
        rows = rows.with_columns(pl.lit("").alias("sku"))
    missing = rows.filter(pl.col("marketplace_id").is_null())
    if missing.height:
        raise ReportParseError(f"{LABEL}: a record names no marketplace")
    return rows


def _line(number: int) -> str:
    return f"line {number}"


def detect(head: bytes) -> bool:
    """A JSONL document whose first record is a Sales and Traffic record (dates, sales or
    traffic objects): SP-API documents are JSON objects or arrays, never lines of records."""
    first = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="ignore").strip()
    if not first.startswith("{"):
        return False
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        return False
    return (
        isinstance(record, dict)
        and "startDate" in record
        and ("sales" in record or "traffic" in record)
        and "reportSpecification" not in record
    )


SPEC = ReportSpec(
    key=KEY,
    amazon_report_type=None,
    description="Sales and Traffic history per day and child ASIN from Data Kiosk",
    parse=parse,
    detect=detect,
    acquisition="kiosk",
    window="range",
    extension="jsonl",
    lookback_days=HISTORY_LOOKBACK_DAYS,
    max_window_days=365,
)

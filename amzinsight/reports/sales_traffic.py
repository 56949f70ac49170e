"""GET_SALES_AND_TRAFFIC_REPORT (JSON): store totals per day (`sales_traffic_by_date`) and one row
per parent/child ASIN (and SKU) for the report's one day (`sales_traffic_by_asin`).

The by-ASIN section has no date: Amazon sums it over the whole requested range
(docs/amazon-formats.md 3.1), so per-ASIN-per-day data needs one report per day (the sync asks for
exactly that). A file over several days (one a person downloaded) still has one by-date entry per
day: those load, and the per-ASIN range total is left out with a note on the run. WEEK and MONTH
files have one by-date entry per week or month, which are not days: they are refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from amzinsight.db import tables
from amzinsight.errors import ReportParseError
from amzinsight.reports.base import ParseContext, ParsedReport, ReportSpec, TableRows
from amzinsight.reports.flatfile import (
    Field,
    ValueKind,
    json_frame,
    json_head_declares,
    parse_values,
    read_json_document,
    require_unique,
)

REPORT_TYPE = "GET_SALES_AND_TRAFFIC_REPORT"

BY_DATE_KEY = ("marketplace_id", "report_date")
BY_ASIN_KEY = ("marketplace_id", "report_date", "parent_asin", "child_asin", "sku")

# table column -> (section, Amazon key, kind). Amounts are {amount, currencyCode} objects.
BY_DATE_METRICS: dict[str, tuple[str, str, ValueKind]] = {
    "ordered_product_sales": ("salesByDate", "orderedProductSales", "money"),
    "ordered_product_sales_b2b": ("salesByDate", "orderedProductSalesB2B", "money"),
    "units_ordered": ("salesByDate", "unitsOrdered", "integer"),
    "units_ordered_b2b": ("salesByDate", "unitsOrderedB2B", "integer"),
    "total_order_items": ("salesByDate", "totalOrderItems", "integer"),
    "total_order_items_b2b": ("salesByDate", "totalOrderItemsB2B", "integer"),
    "units_refunded": ("salesByDate", "unitsRefunded", "integer"),
    "refund_rate": ("salesByDate", "refundRate", "ratio"),
    "units_shipped": ("salesByDate", "unitsShipped", "integer"),
    "orders_shipped": ("salesByDate", "ordersShipped", "integer"),
    "shipped_product_sales": ("salesByDate", "shippedProductSales", "money"),
    "claims_granted": ("salesByDate", "claimsGranted", "integer"),
    "claims_amount": ("salesByDate", "claimsAmount", "money"),
    "page_views": ("trafficByDate", "pageViews", "integer"),
    "page_views_b2b": ("trafficByDate", "pageViewsB2B", "integer"),
    "browser_page_views": ("trafficByDate", "browserPageViews", "integer"),
    "mobile_app_page_views": ("trafficByDate", "mobileAppPageViews", "integer"),
    "sessions": ("trafficByDate", "sessions", "integer"),
    "sessions_b2b": ("trafficByDate", "sessionsB2B", "integer"),
    "browser_sessions": ("trafficByDate", "browserSessions", "integer"),
    "mobile_app_sessions": ("trafficByDate", "mobileAppSessions", "integer"),
    "buy_box_percentage": ("trafficByDate", "buyBoxPercentage", "ratio"),
    "buy_box_percentage_b2b": ("trafficByDate", "buyBoxPercentageB2B", "ratio"),
    "order_item_session_percentage": ("trafficByDate", "orderItemSessionPercentage", "ratio"),
    "order_item_session_percentage_b2b": (
        "trafficByDate",
        "orderItemSessionPercentageB2B",
        "ratio",
    ),
    "unit_session_percentage": ("trafficByDate", "unitSessionPercentage", "ratio"),
    "unit_session_percentage_b2b": ("trafficByDate", "unitSessionPercentageB2B", "ratio"),
    "average_offer_count": ("trafficByDate", "averageOfferCount", "integer"),
    "average_parent_items": ("trafficByDate", "averageParentItems", "integer"),
    "feedback_received": ("trafficByDate", "feedbackReceived", "integer"),
    "negative_feedback_received": ("trafficByDate", "negativeFeedbackReceived", "integer"),
    "received_negative_feedback_rate": ("trafficByDate", "receivedNegativeFeedbackRate", "ratio"),
}
BY_ASIN_METRICS: dict[str, tuple[str, str, ValueKind]] = {
    "ordered_product_sales": ("salesByAsin", "orderedProductSales", "money"),
    "ordered_product_sales_b2b": ("salesByAsin", "orderedProductSalesB2B", "money"),
    "units_ordered": ("salesByAsin", "unitsOrdered", "integer"),
    "units_ordered_b2b": ("salesByAsin", "unitsOrderedB2B", "integer"),
    "total_order_items": ("salesByAsin", "totalOrderItems", "integer"),
    "total_order_items_b2b": ("salesByAsin", "totalOrderItemsB2B", "integer"),
    "sessions": ("trafficByAsin", "sessions", "integer"),
    "sessions_b2b": ("trafficByAsin", "sessionsB2B", "integer"),
    "browser_sessions": ("trafficByAsin", "browserSessions", "integer"),
    "mobile_app_sessions": ("trafficByAsin", "mobileAppSessions", "integer"),
    "session_percentage": ("trafficByAsin", "sessionPercentage", "ratio"),
    "page_views": ("trafficByAsin", "pageViews", "integer"),
    "page_views_b2b": ("trafficByAsin", "pageViewsB2B", "integer"),
    "browser_page_views": ("trafficByAsin", "browserPageViews", "integer"),
    "mobile_app_page_views": ("trafficByAsin", "mobileAppPageViews", "integer"),
    "page_views_percentage": ("trafficByAsin", "pageViewsPercentage", "ratio"),
    "buy_box_percentage": ("trafficByAsin", "buyBoxPercentage", "ratio"),
    "buy_box_percentage_b2b": ("trafficByAsin", "buyBoxPercentageB2B", "ratio"),
    "unit_session_percentage": ("trafficByAsin", "unitSessionPercentage", "ratio"),
    "unit_session_percentage_b2b": ("trafficByAsin", "unitSessionPercentageB2B", "ratio"),
}
# Amazon's own schema example spells browserPageViews "browerPageViews"
# (docs/amazon-formats.md 3.1).
_MISSPELLED = {"browserPageViews": "browerPageViews"}


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """Both sections; percentages stay 0-100 as Amazon gives them."""
    document = read_json_document(path, REPORT_TYPE)
    if not isinstance(document, dict) or "reportSpecification" not in document:
        raise ReportParseError(
            f"{REPORT_TYPE}: not a Sales and Traffic document (no reportSpecification)"
        )
    specification = document.get("reportSpecification") or {}
    if specification.get("reportType", REPORT_TYPE) != REPORT_TYPE:
        raise ReportParseError(
            f"{REPORT_TYPE}: the document is a {specification.get('reportType')} report"
        )
    granularity = (specification.get("reportOptions") or {}).get("dateGranularity", "DAY")
    if granularity != "DAY":
        period = {"WEEK": "week", "MONTH": "month"}.get(granularity, str(granularity))
        raise ReportParseError(
            f"This is a Sales and Traffic report by {period} ({REPORT_TYPE}, dateGranularity "
            f"{granularity}): its figures are {period} totals, not days, and AmzInsight stores "
            "days; request it with dateGranularity DAY."
        )
    marketplace_ids = specification.get("marketplaceIds") or [context.marketplace_id]
    marketplace_id = marketplace_ids[0]
    if not marketplace_id:
        raise ReportParseError(f"{REPORT_TYPE}: the document names no marketplace")
    by_date = _section(document, "salesAndTrafficByDate")
    by_asin = _section(document, "salesAndTrafficByAsin")
    by_date_rows = metric_rows(
        by_date,
        "salesAndTrafficByDate",
        BY_DATE_METRICS,
        {"report_date": Field("date", "date", required=True)},
        {"date": [entry.get("date") for entry in by_date]},
        context,
    ).with_columns(pl.lit(marketplace_id).alias("marketplace_id"))
    require_unique(
        by_date_rows, BY_DATE_KEY, report_type=REPORT_TYPE, where=_where("salesAndTrafficByDate")
    )
    start, end = _range(specification, context)
    notes: tuple[str, ...] = ()
    if by_asin and start is not None and end is not None and end != start:
        notes = (
            f"The per-ASIN figures of this file cover {start}..{end} as one total; they were not "
            "loaded as days (a sync of those days loads them per day).",
        )
        by_asin = []
    asin_day = _asin_day(start) if by_asin else None
    by_asin_rows = metric_rows(
        by_asin,
        "salesAndTrafficByAsin",
        BY_ASIN_METRICS,
        {
            "parent_asin": Field("parentAsin", required=True),
            "child_asin": Field("childAsin"),
            "sku": Field("sku"),
        },
        {
            name: [entry.get(name) for entry in by_asin]
            for name in ("parentAsin", "childAsin", "sku")
        },
        context,
    ).with_columns(
        pl.lit(marketplace_id).alias("marketplace_id"),
        pl.lit(asin_day, pl.Date).alias("report_date"),
        # childAsin is only in CHILD and SKU reports, sku only in SKU reports: '' keys the rest.
        pl.col("child_asin").fill_null(""),
        pl.col("sku").fill_null(""),
    )
    require_unique(
        by_asin_rows, BY_ASIN_KEY, report_type=REPORT_TYPE, where=_where("salesAndTrafficByAsin")
    )
    return ParsedReport(
        [
            TableRows(
                tables.sales_traffic_by_date,
                by_date_rows.select(*BY_DATE_KEY, "currency", *BY_DATE_METRICS),
                BY_DATE_KEY,
            ),
            TableRows(
                tables.sales_traffic_by_asin,
                by_asin_rows.select(*BY_ASIN_KEY, "currency", *BY_ASIN_METRICS),
                BY_ASIN_KEY,
            ),
        ],
        notes=notes,
        covers=(start, end or start) if start is not None else None,
    )


def detect(head: bytes) -> bool:
    return json_head_declares(head, "reportType", REPORT_TYPE)


def _section(document: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    entries = document.get(name) or []
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise ReportParseError(f"{REPORT_TYPE} {name}: expected a list of objects")
    return entries


def _range(
    specification: Mapping[str, Any], context: ParseContext
) -> tuple[date | None, date | None]:
    """The days the document covers: dataStartTime..dataEndTime, else the requested window."""
    start = _day(specification.get("dataStartTime")) or context.data_start
    end = _day(specification.get("dataEndTime")) or context.data_end or start
    if start is not None and end is not None and end < start:
        raise ReportParseError(
            f"{REPORT_TYPE} reportSpecification: dataEndTime {end} is before dataStartTime {start}"
        )
    return start, end


def _asin_day(start: date | None) -> date:
    """The one day a by-ASIN section covers (parse leaves out the sections of longer ranges)."""
    if start is None:
        raise ReportParseError(
            f"{REPORT_TYPE}: the document has no dataStartTime, so its per-ASIN rows have no date"
        )
    return start


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ReportParseError(
            f"{REPORT_TYPE} reportSpecification: {value!r} is not a date"
        ) from None


def metric_rows(
    entries: list[dict[str, Any]],
    section_name: str,
    metrics: Mapping[str, tuple[str, str, ValueKind]],
    identity: Mapping[str, Field],
    identity_values: Mapping[str, list[Any]],
    context: ParseContext,
    report_type: str = REPORT_TYPE,
    where: Callable[[int], str] | None = None,
) -> pl.DataFrame:
    """One typed row per entry, built column by column from the JSON (no per-row frames); also
    used for Data Kiosk records, whose sales and traffic objects hold the same keys."""
    sections = {section for section, _, _ in metrics.values()}
    by_section = {section: [entry.get(section) or {} for entry in entries] for section in sections}
    columns: dict[str, list[Any]] = dict(identity_values)
    fields: dict[str, Field] = dict(identity)
    currencies: list[Any] = [None] * len(entries)
    for name, (section, key, kind) in metrics.items():
        source = f"{section}.{key}"
        values = [_value(part, key) for part in by_section[section]]
        if kind == "money":
            currencies = [
                current or (value.get("currencyCode") if isinstance(value, dict) else None)
                for current, value in zip(currencies, values, strict=True)
            ]
            values = [value.get("amount") if isinstance(value, dict) else value for value in values]
        columns[source] = values
        fields[name] = Field(source, kind)
    columns["currencyCode"] = [currency or context.currency for currency in currencies]
    fields["currency"] = Field("currencyCode")
    return parse_values(
        json_frame(columns, len(entries)),
        fields,
        report_type=report_type,
        where=where or _where(section_name),
    )


def _value(part: Mapping[str, Any], key: str) -> Any:
    value = part.get(key)
    if value is None and key in _MISSPELLED:
        return part.get(_MISSPELLED[key])
    return value


def _where(section_name: str) -> Callable[[int], str]:
    return lambda index: f"{section_name}[{index}]"


SPEC = ReportSpec(
    key="sales_traffic",
    amazon_report_type=REPORT_TYPE,
    description="Sales and Traffic business report: daily totals and per child ASIN",
    parse=parse,
    detect=detect,
    acquisition="create",
    window="day",  # by-ASIN figures carry no date: one report per local day
    extension="json",
    lookback_days=3,  # Amazon restates the last days' sales and traffic
    max_window_days=1,
    report_options={"dateGranularity": "DAY", "asinGranularity": "CHILD"},
)

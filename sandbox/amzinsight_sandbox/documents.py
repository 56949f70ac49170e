"""The report types the sandbox can produce: how each is validated, whether it has data, and
how its document is rendered (lazily, at download time)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from amzinsight_sandbox.inventory import myi_document
from amzinsight_sandbox.listings import merchant_listings_document
from amzinsight_sandbox.orders_report import all_orders_document, has_orders
from amzinsight_sandbox.routing import ApiError
from amzinsight_sandbox.sales_traffic import (
    ASIN_GRANULARITIES,
    DATE_GRANULARITIES,
    MAX_LOOKBACK_DAYS,
    has_sales_and_traffic_data,
    sales_and_traffic_document,
    widen_range,
)
from amzinsight_sandbox.settlement_report import SETTLEMENT_REPORT_TYPE, settlement_document
from amzinsight_sandbox.state import AccountState, ReportRecord

JSON_UTF8 = "application/json; charset=UTF-8"
TEXT_UTF8 = "text/plain; charset=UTF-8"

SALES_AND_TRAFFIC = "GET_SALES_AND_TRAFFIC_REPORT"
ALL_ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
FBA_MYI = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"
MERCHANT_LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
# Settlement types Amazon schedules itself; only the V2 flat file has documents here.
SCHEDULED_ONLY = (
    SETTLEMENT_REPORT_TYPE,
    "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE",
    "GET_V2_SETTLEMENT_REPORT_DATA_XML",
)

Outcome = tuple[str, str | None]  # (DONE | FATAL | CANCELLED, why it failed)


@dataclass(frozen=True)
class ReportTypeSpec:
    report_type: str
    content_type: str
    check: Callable[[AccountState, ReportRecord], Outcome]
    render: Callable[[AccountState, ReportRecord], str]
    validate_options: Callable[[dict[str, str]], None] | None = None


def _country(state: AccountState, marketplace_id: str) -> str:
    for marketplace in state.account.marketplace_list:
        if marketplace.marketplace_id == marketplace_id:
            return marketplace.country_code
    raise ApiError(400, "InvalidInput", f"Invalid marketplaceId {marketplace_id}.")


def _report_dates(record: ReportRecord) -> tuple[date, date]:
    """Sales & Traffic ignores the time of day: the dates are taken as written."""
    return record.data_start.date(), record.data_end.date()


def _validate_sales_and_traffic_options(options: dict[str, str]) -> None:
    checks = (("dateGranularity", DATE_GRANULARITIES), ("asinGranularity", ASIN_GRANULARITIES))
    for name, allowed in checks:
        value = options.get(name)
        if value is not None and value not in allowed:
            raise ApiError(
                400,
                "InvalidInput",
                f"Invalid reportOptions {name} {value}: use one of {', '.join(allowed)}.",
            )


def _check_sales_and_traffic(state: AccountState, record: ReportRecord) -> Outcome:
    if len(record.marketplace_ids) != 1:
        return "FATAL", "GET_SALES_AND_TRAFFIC_REPORT accepts exactly one marketplaceId."
    start, end = _report_dates(record)
    if start < state.account.today - timedelta(days=MAX_LOOKBACK_DAYS):
        return "CANCELLED", None  # Amazon cancels requests starting more than two years back
    start, end = widen_range(start, end, record.options.get("dateGranularity", "DAY"))
    if not has_sales_and_traffic_data(state.truth, start, end):
        return "CANCELLED", None
    return "DONE", None


def _render_sales_and_traffic(state: AccountState, record: ReportRecord) -> str:
    start, end = _report_dates(record)
    document = sales_and_traffic_document(
        state.truth,
        _country(state, record.marketplace_ids[0]),
        start,
        end,
        record.options.get("dateGranularity", "DAY"),
        record.options.get("asinGranularity", "PARENT"),
    )
    return json.dumps(document)


def _window(record: ReportRecord) -> tuple[int, int]:
    return int(record.data_start.timestamp()), int(record.data_end.timestamp())


def _check_orders(state: AccountState, record: ReportRecord) -> Outcome:
    return ("DONE", None) if has_orders(state.truth, *_window(record)) else ("CANCELLED", None)


def _render_orders(state: AccountState, record: ReportRecord) -> str:
    return all_orders_document(state.truth, *_window(record))


def _always_done(_state: AccountState, _record: ReportRecord) -> Outcome:
    return "DONE", None


def _render_myi(state: AccountState, record: ReportRecord) -> str:
    return myi_document(state.truth, _country(state, record.marketplace_ids[0]))


def _render_listings(state: AccountState, record: ReportRecord) -> str:
    return merchant_listings_document(state.truth, _country(state, record.marketplace_ids[0]))


def _render_settlement(state: AccountState, record: ReportRecord) -> str:
    if record.settlement is None:
        raise ApiError(404, "NotFound", "Settlement reports are created by Amazon only.")
    return settlement_document(
        state.truth, record.settlement, state.previous_settlement(record.settlement)
    )


REPORT_TYPES = {
    spec.report_type: spec
    for spec in (
        ReportTypeSpec(
            SALES_AND_TRAFFIC,
            JSON_UTF8,
            _check_sales_and_traffic,
            _render_sales_and_traffic,
            _validate_sales_and_traffic_options,
        ),
        ReportTypeSpec(ALL_ORDERS, TEXT_UTF8, _check_orders, _render_orders),
        ReportTypeSpec(FBA_MYI, TEXT_UTF8, _always_done, _render_myi),
        ReportTypeSpec(MERCHANT_LISTINGS, TEXT_UTF8, _always_done, _render_listings),
        ReportTypeSpec(SETTLEMENT_REPORT_TYPE, TEXT_UTF8, _always_done, _render_settlement),
    )
}


def default_window_days(report_type: str) -> int:
    """How far back a request without dataStartTime reaches (Amazon's default is "now",
    which gives an empty window; the sandbox gives orders a month and the rest a day)."""
    return 30 if report_type == ALL_ORDERS else 0


def render_document(state: AccountState, record: ReportRecord) -> tuple[bytes, str]:
    """The uncompressed document and its Content-Type; FATAL reports get an error document."""
    if record.outcome == "FATAL":
        body = {"errorDetails": record.failure or "The report could not be generated."}
        return json.dumps(body).encode("utf-8"), JSON_UTF8
    spec = REPORT_TYPES[record.report_type]
    return spec.render(state, record).encode("utf-8"), spec.content_type

"""Reports API 2021-06-30: createReport, getReport, getReports, cancelReport, getReportDocument."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from typing import Any

from amzinsight_sandbox.config import REPORT_FAULT_KINDS
from amzinsight_sandbox.documents import (
    REPORT_TYPES,
    SALES_AND_TRAFFIC,
    SCHEDULED_ONLY,
    default_window_days,
)
from amzinsight_sandbox.downloads import signed_download_url
from amzinsight_sandbox.routing import ApiError, RateLimit, Request, Response, Router, json_response
from amzinsight_sandbox.selling_partner import SP_API, parse_time
from amzinsight_sandbox.settlement_report import SETTLEMENT_REPORT_TYPE
from amzinsight_sandbox.state import AccountState, ReportRecord, SandboxState

BASE = "/reports/2021-06-30"
# Amazon's default usage plans (SP-API Reports API model).
CREATE_REPORT = RateLimit(0.0167, 15)
GET_REPORT = RateLimit(2.0, 15)
GET_REPORTS = RateLimit(0.0222, 10)
CANCEL_REPORT = RateLimit(0.0222, 10)
GET_REPORT_DOCUMENT = RateLimit(0.0167, 15)

# Amazon keeps reports, settlements included, for 90 days (selling-partner-api-models#5101, #5285).
REPORT_RETENTION = timedelta(days=90)
QUOTA_EXCEEDED = "You exceeded your quota for the requested resource."

PROCESSING_STATUSES = ("IN_QUEUE", "IN_PROGRESS", "DONE", "FATAL", "CANCELLED")
_GET_REPORTS_FILTERS = (
    "reportTypes",
    "processingStatuses",
    "marketplaceIds",
    "pageSize",
    "createdSince",
    "createdUntil",
)


def _invalid(message: str) -> ApiError:
    return ApiError(400, "InvalidInput", message)


def _document_id(account: AccountState, report_id: str) -> str:
    digest = hashlib.sha256(f"{account.seller_id}:{report_id}".encode()).hexdigest()
    return (
        f"amzn1.spdoc.1.4.{account.account.region}.{digest[:8]}-{digest[8:12]}-{digest[12:16]}-"
        f"{digest[16:20]}-{digest[20:32]}.T{digest[32:38].upper()}.2110"
    )


def _retained(account: AccountState, record: ReportRecord) -> bool:
    """Amazon forgets a report 90 days after it was created."""
    return record.created >= account.clock() - REPORT_RETENTION


def _own_report(state: SandboxState, account: AccountState, report_id: str) -> ReportRecord:
    record = state.reports.get(report_id)
    if record is None or record.seller_id != account.seller_id or not _retained(account, record):
        raise ApiError(404, "NotFound", f"Report {report_id} was not found.")
    return record


def _meter_client(state: SandboxState, account: AccountState, request: Request) -> str:
    """The LWA app the caller's access token was issued for: Amazon's meter key."""
    token = request.header("x-amz-access-token") or ""
    return state.client_for_token(token) or account.account.lwa_client_id


def create_report(state: SandboxState, account: AccountState, request: Request) -> Response:
    try:
        body = request.json()
    except ValueError:
        raise _invalid("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise _invalid("The request body must be a CreateReportSpecification object.")
    report_type = body.get("reportType")
    if not isinstance(report_type, str) or not report_type:
        raise _invalid("reportType is required.")
    if report_type in SCHEDULED_ONLY:
        raise _invalid(
            f"Report type {report_type} cannot be requested: Amazon schedules settlement "
            "reports itself. Find them with getReports."
        )
    spec = REPORT_TYPES.get(report_type)
    if spec is None:
        raise _invalid(f"Invalid Report Type {report_type}.")
    marketplace_ids = body.get("marketplaceIds")
    if (
        not isinstance(marketplace_ids, list)
        or not 1 <= len(marketplace_ids) <= 25
        or not all(isinstance(m, str) for m in marketplace_ids)
    ):
        raise _invalid("marketplaceIds must list 1 to 25 marketplace ids.")
    for marketplace_id in marketplace_ids:
        if marketplace_id not in account.account.marketplace_ids:
            raise _invalid(
                f"Invalid marketplaceId {marketplace_id}: the seller is not registered there."
            )
    options = body.get("reportOptions") or {}
    if not isinstance(options, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in options.items()
    ):
        raise _invalid("reportOptions must map option names to string values.")
    if spec.validate_options is not None:
        spec.validate_options(options)
    now = account.clock()
    data_end = parse_time(body["dataEndTime"], "dataEndTime") if "dataEndTime" in body else now
    if "dataStartTime" in body:
        data_start = parse_time(body["dataStartTime"], "dataStartTime")
    else:
        data_start = data_end - timedelta(days=default_window_days(report_type))
    if data_start > data_end:
        raise _invalid("dataStartTime must not be later than dataEndTime.")

    if report_type == SALES_AND_TRAFFIC and not state.take_sales_traffic_slot(
        _meter_client(state, account, request)
    ):
        raise ApiError(429, "QuotaExceeded", QUOTA_EXCEEDED)

    report_id = state.new_report_id()
    record = ReportRecord(
        report_id=report_id,
        seller_id=account.seller_id,
        report_type=report_type,
        marketplace_ids=list(marketplace_ids),
        created=now,
        created_monotonic=time.monotonic(),
        processing_seconds=state.config.processing_delay_seconds,
        outcome="DONE",
        data_start=data_start,
        data_end=data_end,
        options=dict(options),
    )
    fault = state.take_fault(REPORT_FAULT_KINDS, "createReport", report_type, account.seller_id)
    if fault is not None and fault.kind == "fatal":
        record.outcome = "FATAL"
        record.failure = "The report could not be generated because of an internal error."
    elif fault is not None:
        record.outcome = "CANCELLED"
    else:
        record.outcome, record.failure = spec.check(account, record)
    if record.outcome in ("DONE", "FATAL"):
        record.document_id = _document_id(account, report_id)
    state.add_report(record)
    return json_response(202, {"reportId": report_id})


def get_report(state: SandboxState, account: AccountState, request: Request) -> Response:
    record = _own_report(state, account, request.path_params["reportId"])
    return json_response(200, record.as_json(time.monotonic()))


def cancel_report(state: SandboxState, account: AccountState, request: Request) -> Response:
    with state.lock:
        record = _own_report(state, account, request.path_params["reportId"])
        status = record.status(time.monotonic())
        if status not in ("IN_QUEUE", "IN_PROGRESS"):
            raise _invalid(
                f"Report {record.report_id} cannot be cancelled: its status is {status}. "
                "Only IN_QUEUE and IN_PROGRESS reports can be cancelled."
            )
        record.cancelled_at = time.monotonic()
    return Response(200, b"")


def _list_filters(request: Request, account: AccountState) -> dict[str, Any]:
    report_types = request.query_values("reportTypes")
    if not 1 <= len(report_types) <= 10:
        raise _invalid("reportTypes must list 1 to 10 report types, or send nextToken alone.")
    statuses = request.query_values("processingStatuses")
    for status in statuses:
        if status not in PROCESSING_STATUSES:
            raise _invalid(f"Invalid processingStatuses value {status}.")
    marketplace_ids = request.query_values("marketplaceIds")
    if len(marketplace_ids) > 10:
        raise _invalid("marketplaceIds must list at most 10 marketplace ids.")
    page_size_text = request.query_value("pageSize") or "10"
    try:
        page_size = int(page_size_text)
    except ValueError:
        raise _invalid(f"Invalid pageSize {page_size_text}.") from None
    if not 1 <= page_size <= 100:
        raise _invalid("pageSize must be between 1 and 100.")
    now = account.clock()
    since_text = request.query_value("createdSince")
    until_text = request.query_value("createdUntil")
    # An older createdSince is accepted; _retained() still hides what Amazon has forgotten.
    since = parse_time(since_text, "createdSince") if since_text else now - REPORT_RETENTION
    until = parse_time(until_text, "createdUntil") if until_text else now
    return {
        "reportTypes": report_types,
        "processingStatuses": statuses,
        "marketplaceIds": marketplace_ids,
        "pageSize": page_size,
        "createdSince": since.timestamp(),
        "createdUntil": until.timestamp(),
        "offset": 0,
    }


def _matches(record: ReportRecord, filters: dict[str, Any], status: str) -> bool:
    if record.report_type not in filters["reportTypes"]:
        return False
    if filters["processingStatuses"] and status not in filters["processingStatuses"]:
        return False
    # Settlement reports cover the whole region account: Amazon does not filter them by
    # marketplace (selling-partner-api-docs#778, selling-partner-api-models#1557).
    if (
        filters["marketplaceIds"]
        and record.report_type != SETTLEMENT_REPORT_TYPE
        and not set(filters["marketplaceIds"]) & set(record.marketplace_ids)
    ):
        return False
    created = record.created.timestamp()
    return bool(filters["createdSince"] <= created <= filters["createdUntil"])


def get_reports(state: SandboxState, account: AccountState, request: Request) -> Response:
    token = request.query_value("nextToken")
    if token is not None:
        if any(name in request.query for name in _GET_REPORTS_FILTERS):
            raise _invalid("nextToken must be sent as the only parameter.")
        stored = state.next_token(token)
        if stored is None or stored[1].get("seller_id") != account.seller_id:
            raise _invalid("Invalid nextToken.")
        filters = stored[1]
    else:
        filters = _list_filters(request, account)
        filters["seller_id"] = account.seller_id
    now = time.monotonic()
    clock = account.clock().timestamp()
    with state.lock:
        records = [
            r
            for r in state.reports.values()
            if r.seller_id == account.seller_id
            and r.created.timestamp() <= clock
            and _retained(account, r)
        ]
    found = [
        (record, status)
        for record in records
        if _matches(record, filters, status := record.status(now))
    ]
    found.sort(key=lambda pair: (pair[0].created, pair[0].report_id), reverse=True)
    offset, size = filters["offset"], filters["pageSize"]
    page = found[offset : offset + size]
    body: dict[str, Any] = {"reports": [record.as_json(now) for record, _ in page]}
    if offset + size < len(found):
        body["nextToken"] = state.store_next_token({**filters, "offset": offset + size})
    return json_response(200, body)


def get_report_document(state: SandboxState, account: AccountState, request: Request) -> Response:
    document_id = request.path_params["reportDocumentId"]
    with state.lock:
        report_id = state.documents.get(document_id)
        record = state.reports.get(report_id) if report_id else None
    if (
        record is None
        or record.seller_id != account.seller_id
        or not _retained(account, record)
        or record.status(time.monotonic()) not in ("DONE", "FATAL")
    ):
        raise ApiError(404, "NotFound", f"Report document {document_id} was not found.")
    return json_response(
        200,
        {
            "reportDocumentId": document_id,
            "url": signed_download_url(state, document_id),
            "compressionAlgorithm": "GZIP",
        },
    )


def register(router: Router) -> None:
    router.add("POST", f"{BASE}/reports", "createReport", create_report, SP_API, CREATE_REPORT)
    router.add("GET", f"{BASE}/reports", "getReports", get_reports, SP_API, GET_REPORTS)
    router.add("GET", f"{BASE}/reports/{{reportId}}", "getReport", get_report, SP_API, GET_REPORT)
    router.add(
        "DELETE",
        f"{BASE}/reports/{{reportId}}",
        "cancelReport",
        cancel_report,
        SP_API,
        CANCEL_REPORT,
    )
    router.add(
        "GET",
        f"{BASE}/documents/{{reportDocumentId}}",
        "getReportDocument",
        get_report_document,
        SP_API,
        GET_REPORT_DOCUMENT,
    )

"""Data Kiosk API 2023-11-15: createQuery, getQueries, getQuery, cancelQuery, getDocument, and
the dataset analytics_salesAndTraffic_2024_04_24 they answer from.

A query is GraphQL text; the sandbox parses the subset Amazon's examples use (one dataset, one of
salesAndTrafficByDate, salesAndTrafficByAsin or salesAndTrafficTrends, literal arguments) and
answers with a JSONL document, one record per line holding exactly the selected fields. The
figures are the Sales and Traffic report's (sales_traffic.py): a DAY record is that day's
one-day report entry, so the two sources never disagree. The sandbox's sellers have no business
customers, so every B2B figure is zero.

A query Amazon would reject (unknown dataset or field, bad arguments, more than 30 ASINs in a
trends filter, a start more than two years back) ends FATAL with a JSON error document; a query
that finds nothing ends DONE without a document.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from amzinsight_sandbox.config import REPORT_FAULT_KINDS
from amzinsight_sandbox.downloads import (
    DOCUMENT_STORE,
    break_download,
    signed_download_url,
    verify_download,
)
from amzinsight_sandbox.routing import ApiError, RateLimit, Request, Response, Router, json_response
from amzinsight_sandbox.sales_traffic import (
    MAX_LOOKBACK_DAYS,
    _by_asin,
    _by_date,
    _period_starts,
    widen_range,
)
from amzinsight_sandbox.selling_partner import DENIED, SP_API, parse_time
from amzinsight_sandbox.state import AccountState, SandboxState, iso_time

BASE = "/dataKiosk/2023-11-15"
DOWNLOAD_PATH = "/sandbox-s3/data-kiosk-documents"
# Amazon's usage plans (SP-API Data Kiosk API model).
CREATE_QUERY = RateLimit(0.0167, 15)
GET_QUERIES = RateLimit(0.0222, 10)
GET_QUERY = RateLimit(2.0, 15)
CANCEL_QUERY = RateLimit(0.0222, 10)
GET_DOCUMENT = RateLimit(0.0167, 15)

PROCESSING_STATUSES = ("IN_QUEUE", "IN_PROGRESS", "DONE", "FATAL", "CANCELLED")
MAX_QUERY_LENGTH = 8000
TRENDS_MAX_ASINS = 30
DATASET = "analytics_salesAndTraffic_2024_04_24"
JSONL = "application/x-ndjson"
JSON_UTF8 = "application/json; charset=UTF-8"

# --- the schema ------------------------------------------------------------------------------

MONEY = "money"
SCALAR = "scalar"


def _with_b2b(
    money: tuple[str, ...], scalars: tuple[str, ...], b2b: tuple[str, ...]
) -> dict[str, str]:
    kinds = {name: MONEY for name in money} | {name: SCALAR for name in scalars}
    return kinds | {f"{name}B2B": kinds[name] for name in b2b}


BY_DATE_SALES = _with_b2b(
    (
        "orderedProductSales",
        "averageSalesPerOrderItem",
        "averageSellingPrice",
        "claimsAmount",
        "shippedProductSales",
    ),
    (
        "unitsOrdered",
        "totalOrderItems",
        "averageUnitsPerOrderItem",
        "unitsRefunded",
        "refundRate",
        "claimsGranted",
        "unitsShipped",
        "ordersShipped",
    ),
    (
        "orderedProductSales",
        "averageSalesPerOrderItem",
        "averageSellingPrice",
        "claimsAmount",
        "unitsOrdered",
        "totalOrderItems",
        "averageUnitsPerOrderItem",
        "claimsGranted",
    ),
)
_DATE_TRAFFIC_WITH_B2B = (
    "browserPageViews",
    "mobileAppPageViews",
    "pageViews",
    "browserSessions",
    "mobileAppSessions",
    "sessions",
    "buyBoxPercentage",
    "orderItemSessionPercentage",
    "unitSessionPercentage",
)
BY_DATE_TRAFFIC = _with_b2b(
    (),
    (
        *_DATE_TRAFFIC_WITH_B2B,
        "averageOfferCount",
        "averageParentItems",
        "feedbackReceived",
        "negativeFeedbackReceived",
        "receivedNegativeFeedbackRate",
    ),
    _DATE_TRAFFIC_WITH_B2B,
)
BY_ASIN_SALES = _with_b2b(
    ("orderedProductSales",),
    ("unitsOrdered", "totalOrderItems"),
    ("orderedProductSales", "unitsOrdered", "totalOrderItems"),
)
_ASIN_TRAFFIC = (
    "browserSessions",
    "mobileAppSessions",
    "sessions",
    "browserSessionPercentage",
    "mobileAppSessionPercentage",
    "sessionPercentage",
    "browserPageViews",
    "mobileAppPageViews",
    "pageViews",
    "browserPageViewsPercentage",
    "mobileAppPageViewsPercentage",
    "pageViewsPercentage",
    "buyBoxPercentage",
    "unitSessionPercentage",
)
BY_ASIN_TRAFFIC = _with_b2b((), _ASIN_TRAFFIC, _ASIN_TRAFFIC)
MONEY_FIELDS = frozenset({"amount", "currencyCode"})


@dataclass(frozen=True)
class TableSchema:
    """One dataset field: its arguments, its record's plain fields and its sales/traffic."""

    arguments: dict[str, str]  # name -> kind (date, enum name, marketplaceIds, filters)
    required: frozenset[str]
    plain: frozenset[str]
    sales: dict[str, str]
    traffic: dict[str, str]


DATE_GRANULARITY = ("DAY", "WEEK", "MONTH")
ASIN_GRANULARITY = ("PARENT", "CHILD", "SKU")
ENUMS = {"DateGranularity": DATE_GRANULARITY, "AsinGranularity": ASIN_GRANULARITY}
_RANGE = {"startDate": "date", "endDate": "date"}
SCHEMA = {
    "salesAndTrafficByDate": TableSchema(
        {**_RANGE, "aggregateBy": "DateGranularity", "marketplaceIds": "marketplaceIds"},
        frozenset({"startDate", "endDate", "aggregateBy", "marketplaceIds"}),
        frozenset({"startDate", "endDate", "marketplaceId"}),
        BY_DATE_SALES,
        BY_DATE_TRAFFIC,
    ),
    "salesAndTrafficByAsin": TableSchema(
        {**_RANGE, "aggregateBy": "AsinGranularity", "marketplaceIds": "marketplaceIds"},
        frozenset({"startDate", "endDate", "aggregateBy", "marketplaceIds"}),
        frozenset({"startDate", "endDate", "marketplaceId", "parentAsin", "childAsin", "sku"}),
        BY_ASIN_SALES,
        BY_ASIN_TRAFFIC,
    ),
    "salesAndTrafficTrends": TableSchema(
        {
            **_RANGE,
            "asinAggregation": "AsinGranularity",
            "dateAggregation": "DateGranularity",
            "filters": "filters",
        },
        frozenset({"startDate", "endDate", "asinAggregation", "dateAggregation", "filters"}),
        frozenset(
            {
                "startDate",
                "endDate",
                "marketplaceId",
                "parentAsin",
                "childAsin",
                "sku",
                "asinAggregation",
            }
        ),
        BY_ASIN_SALES,
        BY_ASIN_TRAFFIC,
    ),
}

# --- GraphQL, the subset Amazon's examples use ---------------------------------------------------


class QueryError(Exception):
    """The query is valid GraphQL but not a valid query of the schema: it ends FATAL."""


class SyntaxProblem(Exception):
    """Not GraphQL at all: createQuery refuses it."""


@dataclass
class Enum:
    name: str


@dataclass
class Selection:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    fields: list[Selection] | None = None


_TOKEN = re.compile(
    r'\s+|,|#[^\n]*|(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?)'
    r"|(?P<name>[_A-Za-z][_0-9A-Za-z]*)|(?P<punct>[{}()\[\]:])"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens = []
    position = 0
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None:
            raise SyntaxProblem(f"Unexpected character {text[position]!r} at {position}.")
        position = found.end()
        kind = found.lastgroup
        if kind is not None:
            tokens.append((kind, found.group(kind)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        token = self.peek()
        if token is None:
            raise SyntaxProblem("The query ends too early.")
        if (value is not None and token[1] != value) or (kind is not None and token[0] != kind):
            raise SyntaxProblem(f"Expected {value or kind}, found {token[1]!r}.")
        self.index += 1
        return token[1]

    def document(self) -> list[Selection]:
        token = self.peek()
        if token is not None and token == ("name", "query"):
            self.take()
            if (next_token := self.peek()) is not None and next_token[0] == "name":
                self.take()
        selection = self.selection_set()
        if self.peek() is not None:
            raise SyntaxProblem("Only one operation is allowed.")
        return selection

    def selection_set(self) -> list[Selection]:
        self.take("{")
        selections = []
        while self.peek() != ("punct", "}"):
            selections.append(self.selection())
        self.take("}")
        if not selections:
            raise SyntaxProblem("A selection set cannot be empty.")
        return selections

    def selection(self) -> Selection:
        selection = Selection(self.take(kind="name"))
        if self.peek() == ("punct", "("):
            self.take("(")
            while self.peek() != ("punct", ")"):
                name = self.take(kind="name")
                self.take(":")
                if name in selection.arguments:
                    raise SyntaxProblem(f"Argument {name} is given twice.")
                selection.arguments[name] = self.value()
            self.take(")")
        if self.peek() == ("punct", "{"):
            selection.fields = self.selection_set()
        return selection

    def value(self) -> Any:
        kind, text = self.peek() or ("", "")
        if kind == "string":
            self.take()
            return json.loads(text)
        if kind == "number":
            self.take()
            return float(text) if "." in text else int(text)
        if kind == "name":
            self.take()
            return {"true": True, "false": False, "null": None}.get(text, Enum(text))
        if text == "[":
            self.take("[")
            items = []
            while self.peek() != ("punct", "]"):
                items.append(self.value())
            self.take("]")
            return items
        if text == "{":
            self.take("{")
            fields: dict[str, Any] = {}
            while self.peek() != ("punct", "}"):
                name = self.take(kind="name")
                self.take(":")
                fields[name] = self.value()
            self.take("}")
            return fields
        raise SyntaxProblem(f"Expected a value, found {text or 'the end'!r}.")


def parse_graphql(text: str) -> list[Selection]:
    return _Parser(text).document()


# --- what a query asks for ----------------------------------------------------------------------


@dataclass(frozen=True)
class TrendsFilter:
    marketplace_id: str
    asins: tuple[str, ...]


@dataclass(frozen=True)
class QuerySpec:
    table: str
    start: date
    end: date
    granularity: str  # DAY/WEEK/MONTH for by-date and trends, the ASIN level for by-ASIN
    asin_granularity: str
    marketplace_ids: tuple[str, ...]
    filters: tuple[TrendsFilter, ...]
    selection: tuple[Selection, ...]


def _argument_value(table: str, name: str, kind: str, value: Any) -> Any:
    where = f"{table} argument {name}"
    if kind == "date":
        if not isinstance(value, str):
            raise QueryError(f"{where} must be a date string (YYYY-MM-DD).")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise QueryError(f"{where}: {value!r} is not a date (YYYY-MM-DD).") from None
    if kind in ENUMS:
        if not isinstance(value, Enum) or value.name not in ENUMS[kind]:
            allowed = ", ".join(ENUMS[kind])
            raise QueryError(f"{where} must be one of the {kind} values {allowed}.")
        return value.name
    if kind == "marketplaceIds":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise QueryError(f"{where} must list at least one marketplace id.")
        return tuple(value)
    filters = value if isinstance(value, list) else [value]
    parsed = []
    for item in filters:
        if not isinstance(item, dict) or set(item) - {"marketplaceId", "asins"}:
            raise QueryError(f"{where} takes objects with marketplaceId and asins.")
        marketplace_id, asins = item.get("marketplaceId"), item.get("asins")
        if not isinstance(marketplace_id, str):
            raise QueryError(f"{where}: marketplaceId is required.")
        if isinstance(asins, str):
            asins = [asins]
        if not isinstance(asins, list) or not all(isinstance(a, str) for a in asins):
            raise QueryError(f"{where}: asins must be a list of ASINs.")
        if not 0 < len(asins) <= TRENDS_MAX_ASINS:
            raise QueryError(
                f"{where}: asins must name 1 to {TRENDS_MAX_ASINS} ASINs, not {len(asins)}."
            )
        parsed.append(TrendsFilter(marketplace_id, tuple(asins)))
    if not parsed:
        raise QueryError(f"{where} must hold at least one filter.")
    return tuple(parsed)


def _check_selection(table: str, schema: TableSchema, selection: list[Selection]) -> None:
    for item in selection:
        if item.arguments:
            raise QueryError(f"Field {item.name} of {table} takes no arguments.")
        if item.name in ("sales", "traffic"):
            fields = schema.sales if item.name == "sales" else schema.traffic
            if not item.fields:
                raise QueryError(f"Field {item.name} of {table} needs a selection of subfields.")
            for metric in item.fields:
                kind = fields.get(metric.name)
                if kind is None:
                    raise QueryError(
                        f"Cannot query field {metric.name!r} on the {item.name} of {table}."
                    )
                if metric.arguments:
                    raise QueryError(f"Field {metric.name} takes no arguments.")
                if kind == MONEY:
                    if not metric.fields or {m.name for m in metric.fields} - MONEY_FIELDS:
                        raise QueryError(
                            f"Field {metric.name} is an amount: select amount and currencyCode."
                        )
                elif metric.fields:
                    raise QueryError(f"Field {metric.name} is a scalar: it has no subfields.")
        elif item.name in schema.plain:
            if item.fields:
                raise QueryError(f"Field {item.name} of {table} is a scalar: it has no subfields.")
        else:
            raise QueryError(f"Cannot query field {item.name!r} on type {table}.")


def query_spec(text: str, today: date) -> QuerySpec:
    """What the query asks for; QueryError says why Amazon would end it FATAL."""
    roots = parse_graphql(text)
    if len(roots) != 1 or roots[0].name != DATASET:
        names = ", ".join(root.name for root in roots)
        raise QueryError(
            f"Query did not have a versioned domain field this seller can use: {names}."
        )
    dataset = roots[0]
    if dataset.arguments or not dataset.fields:
        raise QueryError(f"{DATASET} takes no arguments and needs a selection.")
    if len(dataset.fields) != 1:
        raise QueryError(f"Select one of {', '.join(SCHEMA)} per query.")
    table_field = dataset.fields[0]
    table = table_field.name
    schema = SCHEMA.get(table)
    if schema is None:
        raise QueryError(f"Cannot query field {table!r} on type {DATASET}.")
    unknown = set(table_field.arguments) - set(schema.arguments)
    if unknown:
        raise QueryError(f"Unknown argument {sorted(unknown)[0]!r} on field {table}.")
    missing = schema.required - set(table_field.arguments)
    if missing:
        raise QueryError(f"Field {table} argument {sorted(missing)[0]!r} is required.")
    values = {
        name: _argument_value(table, name, schema.arguments[name], value)
        for name, value in table_field.arguments.items()
    }
    if not table_field.fields:
        raise QueryError(f"Field {table} needs a selection of subfields.")
    _check_selection(table, schema, table_field.fields)
    start, end = values["startDate"], values["endDate"]
    if end < start:
        raise QueryError("endDate must not be earlier than startDate.")
    earliest = today - timedelta(days=MAX_LOOKBACK_DAYS)
    if start < earliest:
        raise QueryError(
            f"startDate {start} is more than two years ago: the earliest date is {earliest}."
        )
    if table == "salesAndTrafficTrends":
        granularity, asin_granularity = values["dateAggregation"], values["asinAggregation"]
        filters = values["filters"]
        marketplace_ids = tuple(dict.fromkeys(f.marketplace_id for f in filters))
    elif table == "salesAndTrafficByAsin":
        granularity, asin_granularity = "", values["aggregateBy"]
        filters, marketplace_ids = (), values["marketplaceIds"]
    else:
        granularity, asin_granularity = values["aggregateBy"], ""
        filters, marketplace_ids = (), values["marketplaceIds"]
    return QuerySpec(
        table,
        start,
        end,
        granularity,
        asin_granularity,
        marketplace_ids,
        filters,
        tuple(table_field.fields),
    )


# --- records ------------------------------------------------------------------------------------


def _zero_like(value: Any) -> Any:
    """A B2B figure: the sandbox's sellers sell to no businesses."""
    if isinstance(value, dict):
        return {"amount": 0.0, "currencyCode": value.get("currencyCode")}
    return 0.0 if isinstance(value, float) else 0


def _metric(section: dict[str, Any], name: str) -> Any:
    if name in section:
        return section[name]
    if name.endswith("B2B") and name[:-3] in section:
        return _zero_like(section[name[:-3]])
    return None


def _select(
    plain: dict[str, Any],
    sales: dict[str, Any],
    traffic: dict[str, Any],
    selection: tuple[Selection, ...],
) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for item in selection:
        if item.name in ("sales", "traffic"):
            section = sales if item.name == "sales" else traffic
            chosen: dict[str, Any] = {}
            for metric in item.fields or []:
                value = _metric(section, metric.name)
                if isinstance(value, dict) and metric.fields:
                    value = {m.name: value.get(m.name) for m in metric.fields}
                chosen[metric.name] = value
            record[item.name] = chosen
        else:
            record[item.name] = plain.get(item.name)
    return record


def _country(account: AccountState, marketplace_id: str) -> str:
    for marketplace in account.account.marketplace_list:
        if marketplace.marketplace_id == marketplace_id:
            return marketplace.country_code
    raise QueryError(f"The seller is not registered in marketplace {marketplace_id}.")


def _periods(start: date, end: date, granularity: str, last_day: date) -> list[tuple[date, date]]:
    """Amazon's periods over the range: widened for WEEK/MONTH, cut at today."""
    start, end = widen_range(start, end, granularity)
    end = min(end, last_day)
    starts = _period_starts(start, end, granularity)
    return [
        (first, starts[n + 1] - timedelta(days=1) if n + 1 < len(starts) else end)
        for n, first in enumerate(starts)
    ]


def _has_activity(entry: dict[str, Any]) -> bool:
    sales, traffic = entry["salesByDate"], entry["trafficByDate"]
    return bool(
        sales["unitsOrdered"]
        or sales["unitsShipped"]
        or sales["unitsRefunded"]
        or traffic["sessions"]
        or traffic["pageViews"]
    )


def query_records(account: AccountState, spec: QuerySpec) -> Iterator[dict[str, Any]]:
    """The document's records, in Amazon's order: marketplace, period, then ASIN."""
    truth = account.truth
    if spec.table == "salesAndTrafficByDate":
        for marketplace_id in spec.marketplace_ids:
            mt = truth.marketplaces[_country(account, marketplace_id)]
            periods = _periods(spec.start, spec.end, spec.granularity, truth.last_day)
            if not periods:
                continue
            entries = _by_date(truth, mt, [first for first, _ in periods], periods[-1][1])
            for (first, last), entry in zip(periods, entries, strict=True):
                if _has_activity(entry):
                    plain = {
                        "startDate": first.isoformat(),
                        "endDate": last.isoformat(),
                        "marketplaceId": marketplace_id,
                    }
                    yield _select(
                        plain, entry["salesByDate"], entry["trafficByDate"], spec.selection
                    )
        return
    if spec.table == "salesAndTrafficByAsin":
        ranges = [
            (m, None, [(spec.start, min(spec.end, truth.last_day))]) for m in spec.marketplace_ids
        ]
    else:
        ranges = [
            (
                f.marketplace_id,
                set(f.asins),
                _periods(spec.start, spec.end, spec.granularity, truth.last_day),
            )
            for f in spec.filters
        ]
    for marketplace_id, asins, periods in ranges:
        mt = truth.marketplaces[_country(account, marketplace_id)]
        for first, last in periods:
            if last < first:
                continue
            for entry in _by_asin(truth, mt, first, last, spec.asin_granularity, asins):
                plain = {
                    "startDate": first.isoformat(),
                    "endDate": last.isoformat(),
                    "marketplaceId": marketplace_id,
                    "parentAsin": entry["parentAsin"],
                    "childAsin": entry.get("childAsin"),
                    "sku": entry.get("sku"),
                    "asinAggregation": spec.asin_granularity,
                }
                yield _select(plain, entry["salesByAsin"], entry["trafficByAsin"], spec.selection)


def render_records(account: AccountState, spec: QuerySpec) -> bytes:
    return b"".join(
        json.dumps(record, separators=(",", ":")).encode("utf-8") + b"\n"
        for record in query_records(account, spec)
    )


# --- queries --------------------------------------------------------------------------------------


@dataclass
class QueryRecord:
    query_id: str
    seller_id: str
    query: str
    created: datetime
    created_monotonic: float
    processing_seconds: float
    outcome: str  # DONE, FATAL or CANCELLED, reached after processing_seconds
    spec: QuerySpec | None = None
    errors: list[str] = field(default_factory=list)
    data_document_id: str | None = None
    error_document_id: str | None = None
    cancelled_at: float | None = None

    def status(self, now: float) -> str:
        if self.cancelled_at is not None:
            return "CANCELLED"
        elapsed = now - self.created_monotonic
        if elapsed < self.processing_seconds / 3:
            return "IN_QUEUE"
        if elapsed < self.processing_seconds:
            return "IN_PROGRESS"
        return self.outcome

    def as_json(self, now: float) -> dict[str, Any]:
        """The `Query` object of getQuery and getQueries."""
        status = self.status(now)
        body: dict[str, Any] = {
            "queryId": self.query_id,
            "query": self.query,
            "createdTime": iso_time(self.created),
            "processingStatus": status,
        }
        seen_at = now if self.cancelled_at is None else min(now, self.cancelled_at)
        if seen_at - self.created_monotonic >= self.processing_seconds / 3:
            started = self.created + timedelta(seconds=self.processing_seconds / 3)
            body["processingStartTime"] = iso_time(started)
        if status in ("DONE", "FATAL", "CANCELLED"):
            ended = self.processing_seconds
            if self.cancelled_at is not None:
                ended = min(ended, self.cancelled_at - self.created_monotonic)
            body["processingEndTime"] = iso_time(self.created + timedelta(seconds=ended))
        if status == "DONE" and self.data_document_id:
            body["dataDocumentId"] = self.data_document_id
        if status == "FATAL" and self.error_document_id:
            body["errorDocumentId"] = self.error_document_id
        return body


def _invalid(message: str) -> ApiError:
    return ApiError(400, "InvalidInput", message)


def _queries(state: SandboxState) -> dict[str, QueryRecord]:
    return state.data_kiosk.setdefault("queries", {})  # type: ignore[no-any-return]


def _documents(state: SandboxState) -> dict[str, tuple[str, str]]:
    """Document id -> (query id, "data" or "error")."""
    return state.data_kiosk.setdefault("documents", {})  # type: ignore[no-any-return]


def _document_id(account: AccountState, query_id: str, kind: str) -> str:
    digest = hashlib.sha256(f"{account.seller_id}:{query_id}:{kind}".encode()).hexdigest()
    return (
        f"amzn1.tortuga.4.{account.account.region}.{digest[:8]}-{digest[8:12]}-{digest[12:16]}-"
        f"{digest[16:20]}-{digest[20:32]}.T{digest[32:44].upper()}"
    )


def _require_role(account: AccountState) -> None:
    if not account.data_kiosk:
        raise ApiError(403, "Unauthorized", DENIED)


def _own_query(state: SandboxState, account: AccountState, query_id: str) -> QueryRecord:
    record = _queries(state).get(query_id)
    if record is None or record.seller_id != account.seller_id:
        raise ApiError(404, "NotFound", f"Query {query_id} was not found.")
    return record


def _decide(state: SandboxState, account: AccountState, record: QueryRecord) -> None:
    """Settle the query's fate now (it shows only once processing_seconds have passed)."""
    fault = state.take_fault(REPORT_FAULT_KINDS, "createQuery", None, account.seller_id)
    if fault is not None and fault.kind == "cancelled":
        record.outcome = "CANCELLED"
        return
    if fault is not None:
        record.errors = ["The query could not be processed because of an internal error."]
    else:
        try:
            record.spec = query_spec(record.query, account.account.today)
            has_data = next(query_records(account, record.spec), None) is not None
        except QueryError as error:
            record.errors = [str(error)]
        else:
            if has_data:
                record.data_document_id = _document_id(account, record.query_id, "data")
    if record.errors:
        record.outcome = "FATAL"
        record.error_document_id = _document_id(account, record.query_id, "error")
    else:
        record.outcome = "DONE"


def create_query(state: SandboxState, account: AccountState, request: Request) -> Response:
    _require_role(account)
    try:
        body = request.json()
    except ValueError:
        raise _invalid("The request body is not valid JSON.") from None
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise _invalid("query is required.")
    query = body["query"]
    if not query.strip() or len(query) > MAX_QUERY_LENGTH:
        raise _invalid(f"query must be 1 to {MAX_QUERY_LENGTH} characters long.")
    try:
        parse_graphql(query)
    except SyntaxProblem as error:
        raise _invalid(f"The query is not valid GraphQL: {error}") from None
    record = QueryRecord(
        query_id=state.new_report_id(),
        seller_id=account.seller_id,
        query=query,
        created=account.clock(),
        created_monotonic=time.monotonic(),
        processing_seconds=state.config.processing_delay_seconds,
        outcome="DONE",
    )
    _decide(state, account, record)
    with state.lock:
        _queries(state)[record.query_id] = record
        for document_id, kind in (
            (record.data_document_id, "data"),
            (record.error_document_id, "error"),
        ):
            if document_id:
                _documents(state)[document_id] = (record.query_id, kind)
    return json_response(202, {"queryId": record.query_id})


def get_query(state: SandboxState, account: AccountState, request: Request) -> Response:
    _require_role(account)
    record = _own_query(state, account, request.path_params["queryId"])
    return json_response(200, record.as_json(time.monotonic()))


def cancel_query(state: SandboxState, account: AccountState, request: Request) -> Response:
    _require_role(account)
    with state.lock:
        record = _own_query(state, account, request.path_params["queryId"])
        status = record.status(time.monotonic())
        if status == "CANCELLED":
            return Response(204, b"")
        if status not in ("IN_QUEUE", "IN_PROGRESS"):
            raise _invalid(
                f"Query {record.query_id} cannot be cancelled: its status is {status}. "
                "Only IN_QUEUE and IN_PROGRESS queries can be cancelled."
            )
        record.cancelled_at = time.monotonic()
    return Response(204, b"")


def _list_filters(request: Request, account: AccountState) -> dict[str, Any]:
    statuses = request.query_values("processingStatuses")
    for status in statuses:
        if status not in PROCESSING_STATUSES:
            raise _invalid(f"Invalid processingStatuses value {status}.")
    now = account.clock()
    since_text = request.query_value("createdSince")
    until_text = request.query_value("createdUntil")
    since = parse_time(since_text, "createdSince") if since_text else now - timedelta(days=90)
    until = parse_time(until_text, "createdUntil") if until_text else now
    return {
        "processingStatuses": statuses,
        "createdSince": since.timestamp(),
        "createdUntil": until.timestamp(),
        "offset": 0,
        "seller_id": account.seller_id,
    }


def _page_size(request: Request) -> int:
    text = request.query_value("pageSize") or "10"
    try:
        size = int(text)
    except ValueError:
        raise _invalid(f"Invalid pageSize {text}.") from None
    if not 1 <= size <= 100:
        raise _invalid("pageSize must be between 1 and 100.")
    return size


def get_queries(state: SandboxState, account: AccountState, request: Request) -> Response:
    """Newest first; a paginationToken carries the first call's filters (pageSize may change)."""
    _require_role(account)
    size = _page_size(request)
    token = request.query_value("paginationToken")
    if token is not None:
        stored = state.next_token(token)
        if stored is None or stored[1].get("seller_id") != account.seller_id:
            raise _invalid("Invalid paginationToken.")
        filters = stored[1]
    else:
        filters = _list_filters(request, account)
    now = time.monotonic()
    with state.lock:
        records = [r for r in _queries(state).values() if r.seller_id == account.seller_id]
    found = [
        record
        for record in records
        if (
            not filters["processingStatuses"] or record.status(now) in filters["processingStatuses"]
        )
        and filters["createdSince"] <= record.created.timestamp() <= filters["createdUntil"]
    ]
    found.sort(key=lambda record: (record.created, int(record.query_id)), reverse=True)
    offset = filters["offset"]
    body: dict[str, Any] = {
        "queries": [record.as_json(now) for record in found[offset : offset + size]]
    }
    if offset + size < len(found):
        token = state.store_next_token({**filters, "offset": offset + size})
        body["pagination"] = {"nextToken": token}
    return json_response(200, body)


def _document_query(state: SandboxState, document_id: str) -> tuple[QueryRecord, str] | None:
    with state.lock:
        found = _documents(state).get(document_id)
        record = _queries(state).get(found[0]) if found else None
    if found is None or record is None:
        return None
    return record, found[1]


def get_document(state: SandboxState, account: AccountState, request: Request) -> Response:
    _require_role(account)
    document_id = request.path_params["documentId"]
    found = _document_query(state, document_id)
    if (
        found is None
        or found[0].seller_id != account.seller_id
        or found[0].status(time.monotonic()) not in ("DONE", "FATAL")
    ):
        raise ApiError(404, "NotFound", f"Document {document_id} was not found.")
    url = signed_download_url(state, document_id, DOWNLOAD_PATH)
    return json_response(200, {"documentId": document_id, "documentUrl": url})


def download(state: SandboxState, _account: object, request: Request) -> Response:
    """The signed URL's bytes: JSONL records, or the FATAL query's JSON errors. Not gzipped."""
    document_id = request.path_params["documentId"]
    verify_download(state, request, document_id)
    found = _document_query(state, document_id)
    if found is None:
        raise ApiError(404, "NoSuchKey", "The specified key does not exist.")
    record, kind = found
    if kind == "error":
        errors = {"errors": [{"message": message} for message in record.errors]}
        content, content_type = json.dumps(errors).encode("utf-8"), JSON_UTF8
    else:
        cached = state.cached_document(document_id)
        if cached is None:
            if record.spec is None:
                raise ApiError(404, "NoSuchKey", "The specified key does not exist.")
            content = render_records(state.accounts[record.seller_id], record.spec)
            # Kept compressed: a year of trends for 30 ASINs is about 7 MB of JSONL.
            state.cache_document(document_id, gzip.compress(content, mtime=0), JSONL)
        else:
            content = gzip.decompress(cached[0])
        content_type = JSONL
    response = Response(200, content, content_type=content_type)
    return break_download(state, response, None, record.seller_id)


def register(router: Router) -> None:
    router.add("POST", f"{BASE}/queries", "createQuery", create_query, SP_API, CREATE_QUERY)
    router.add("GET", f"{BASE}/queries", "getQueries", get_queries, SP_API, GET_QUERIES)
    router.add("GET", f"{BASE}/queries/{{queryId}}", "getQuery", get_query, SP_API, GET_QUERY)
    router.add(
        "DELETE", f"{BASE}/queries/{{queryId}}", "cancelQuery", cancel_query, SP_API, CANCEL_QUERY
    )
    router.add(
        "GET", f"{BASE}/documents/{{documentId}}", "getDocument", get_document, SP_API, GET_DOCUMENT
    )
    router.add("GET", f"{DOWNLOAD_PATH}/{{documentId}}", "download", download, DOCUMENT_STORE)

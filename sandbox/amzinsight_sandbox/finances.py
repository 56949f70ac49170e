"""Finances API 2024-06-19 listTransactions: the settlements' money as Amazon's transactions.

Every transaction is made from the same detail rows as the settlement flat files
(settlement_report.settlement_details), so the transactions carrying a settlement's
SETTLEMENT_ID add up to its total-amount to the cent. One Shipment per (order, shipment),
posted when its last line shipped; one Refund per (order, adjustment); one transaction per
other row (advertising, storage, reserves, inventory reimbursements). The periods still open
after the last settlement of a marketplace are made the same way: their transactions carry a
FINANCIAL_EVENT_GROUP_ID but no SETTLEMENT_ID until the settlement report exists, and their
Shipments stay DEFERRED (reason DD7) for 7 days after posting.

Amazon documents the query parameters, the 0.5 requests/s (burst 10) usage plan, that the last
48 hours may be missing (here each transaction appears after its own lag of 0 to 48 hours) and
that pages can be empty (here now and then, seeded, always with a nextToken). Amazon documents
no page size: the sandbox pages 100 transactions at a time. The sandbox's own choices, where
Amazon documents no name: the breakdowns Promotions > PromotionDiscount and TaxWithheld >
MarketplaceFacilitatorTax-Principal (both summed under Sales), the transaction type Reserve
with the settlement's amount-description as its description, and ProductAdsPayment and
ServiceFee (FBAStorageBilling) transactions without items or breakdowns.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from amzinsight.marketplaces import Marketplace
from amzinsight_sandbox.config import SandboxAccount
from amzinsight_sandbox.orders import sales_channel
from amzinsight_sandbox.routing import ApiError, RateLimit, Request, Response, Router, json_response
from amzinsight_sandbox.selling_partner import DENIED, SP_API, parse_time
from amzinsight_sandbox.settlement_report import (
    SettlementPeriod,
    marketplace_periods,
    settlement_details,
)
from amzinsight_sandbox.state import AccountState, SandboxState
from amzinsight_sandbox.truth import account_truth, local_midnight

BASE = "/finances/2024-06-19"
LIST_TRANSACTIONS = RateLimit(0.5, 10)  # Amazon's usage plan (finances_2024-06-19.json)
PAGE_SIZE = 100
EMPTY_PAGE_ODDS = 5  # about one page in five is empty (never two in a row)
MAX_RANGE = timedelta(days=180)
MIN_AGE = timedelta(minutes=2)
MAX_LAG_SECONDS = 48 * 3600
DEFERRAL_SECONDS = 7 * 86400
STATUSES = ("DEFERRED", "RELEASED", "DEFERRED_RELEASED")
RELATED_FILTERS = {"FINANCIAL_EVENT_GROUP_ID": "group_id", "ORDER_ID": "order_id"}
ACCOUNT_TYPE = "Standard Orders"

# Settlement (amount-type, amount-description) -> (item breakdown, its child). ItemFees keep
# their description as the child (Commission, FBAPerUnitFulfillmentFee, RefundCommission).
_ITEM_BREAKDOWNS = {
    ("ItemPrice", "Principal"): ("ProductCharges", "OurPricePrincipal"),
    ("ItemPrice", "Tax"): ("Tax", "OurPriceTax"),
    ("Promotion", "Principal"): ("Promotions", "PromotionDiscount"),
    ("ItemWithheldTax", "MarketplaceFacilitatorTax-Principal"): (
        "TaxWithheld",
        "MarketplaceFacilitatorTax-Principal",
    ),
}
_BREAKDOWN_ORDER = ("Tax", "ProductCharges", "Promotions", "TaxWithheld", "AmazonFees")
_SUMMARY = {
    "Tax": "Sales",
    "ProductCharges": "Sales",
    "Promotions": "Sales",
    "TaxWithheld": "Sales",
    "AmazonFees": "Expenses",
}


def _opaque_id(text: str) -> str:
    """43 URL-safe characters, like Amazon's transaction and event group ids."""
    digest = hashlib.sha256(text.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class OpenOrClosedPeriod:
    """A 14-day period of one marketplace and what its transactions carry."""

    period: SettlementPeriod
    previous: SettlementPeriod | None
    marketplace: Marketplace
    group_id: str
    settled: bool
    """Its settlement report exists (deposited within the history): SETTLEMENT_ID is known."""


@dataclass(frozen=True)
class PeriodTransactions:
    transactions: pl.DataFrame
    """One row per transaction; row_start/row_count point into `rows`."""
    rows: pl.DataFrame
    """The period's settlement detail rows, each transaction's rows together."""


_cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_ENTRIES = 512


def _cached(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    """Deterministic data per account, built once (under one lock: builds are CPU-bound)."""
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        value = build()
        _cache[key] = value
        while len(_cache) > _CACHE_ENTRIES:
            _cache.popitem(last=False)
        return value


def account_periods(account: SandboxAccount, account_number: int) -> list[OpenOrClosedPeriod]:
    """Every period with transactions: the settlements, then the periods begun before the end
    of the account's today (the last day the truth has)."""

    def build() -> list[OpenOrClosedPeriod]:
        periods = []
        for position, marketplace in enumerate(account.marketplace_list):
            as_of = local_midnight(marketplace.time_zone, account.today + timedelta(days=1))
            previous = None
            for period in marketplace_periods(account, account_number, position):
                if period.start_ts >= as_of:
                    break
                group_id = _opaque_id(f"{account.seller_id}:{period.country_code}:{period.number}")
                periods.append(
                    OpenOrClosedPeriod(
                        period, previous, marketplace, group_id, period.deposit_ts <= as_of
                    )
                )
                previous = period
        return periods

    result: list[OpenOrClosedPeriod] = _cached(("periods", account, account_number), build)
    return result


def _products(account: SandboxAccount) -> dict[str, tuple[str, str]]:
    """sku -> (asin, title)."""

    def build() -> dict[str, tuple[str, str]]:
        return {p.sku: (p.asin, p.title) for p in account_truth(account).catalogue.products}

    result: dict[str, tuple[str, str]] = _cached(("products", account), build)
    return result


def period_transactions(account: SandboxAccount, entry: OpenOrClosedPeriod) -> PeriodTransactions:
    def build() -> PeriodTransactions:
        return _build_period(account, entry)

    result: PeriodTransactions = _cached(("period", account, entry.group_id), build)
    return result


def _transaction_kind() -> tuple[pl.Expr, pl.Expr]:
    """(transactionType, description) of a row's transaction."""
    kind = pl.col("transaction-type")
    description = pl.col("amount-description")
    transaction_type = (
        pl.when(kind == "Order")
        .then(pl.lit("Shipment"))
        .when(kind == "Refund")
        .then(pl.lit("Refund"))
        .when(kind == "ServiceFee")
        .then(pl.lit("ProductAdsPayment"))
        .when(pl.col("amount-type") == "FBA Inventory Reimbursement")
        .then(pl.lit("FBAInventoryReimbursement"))
        .when(description == "Storage Fee")
        .then(pl.lit("ServiceFee"))
        .otherwise(pl.lit("Reserve"))
    )
    text = (
        pl.when(kind == "Order")
        .then(pl.lit("Order Payment"))
        .when(kind == "Refund")
        .then(pl.lit("Refund Order"))
        .when(kind == "ServiceFee")
        .then(pl.lit("Cost of Advertising"))
        .when(description == "Storage Fee")
        .then(pl.lit("FBAStorageBilling"))
        .otherwise(description)
    )
    return transaction_type, text


_ROW_COLUMNS = (
    "amount-type",
    "amount-description",
    "amount_cents",
    "order-item-code",
    "merchant-adjustment-item-id",
    "sku",
    "quantity-purchased",
)


def _build_period(account: SandboxAccount, entry: OpenOrClosedPeriod) -> PeriodTransactions:
    details = settlement_details(account_truth(account), entry.period, entry.previous)
    kind = pl.col("transaction-type")
    # A row without an order is a transaction of its own; equal ones differ by occurrence.
    other_key = pl.concat_str(
        [
            pl.lit("O"),
            pl.col("amount-type"),
            pl.col("amount-description"),
            pl.col("posted_ts").cast(pl.Utf8),
            pl.col("sku").fill_null(""),
        ],
        separator="|",
    )
    transaction_type, description = _transaction_kind()
    rows = (
        details.with_row_index("row")
        .with_columns(
            pl.when(kind == "Order")
            .then(pl.concat_str([pl.lit("S"), "order-id", "shipment-id"], separator="|"))
            .when(kind == "Refund")
            .then(pl.concat_str([pl.lit("R"), "order-id", "adjustment-id"], separator="|"))
            .otherwise(other_key)
            .alias("key")
        )
        .with_columns(
            pl.when(kind.is_in(["Order", "Refund"]))
            .then(pl.col("key"))
            .otherwise(
                pl.concat_str(
                    [pl.col("key"), pl.int_range(pl.len()).over("key").cast(pl.Utf8)],
                    separator="#",
                )
            )
            .alias("key"),
            transaction_type.alias("transaction_type"),
            description.alias("description"),
        )
    )
    transactions = (
        rows.group_by("key", maintain_order=True)
        .agg(
            pl.col("posted_ts").max(),
            pl.col("amount_cents").sum().alias("total_cents"),
            pl.len().alias("row_count"),
            *(
                pl.col(name).first()
                for name in ("transaction_type", "description", "order-id", "shipment-id")
            ),
        )
        .with_row_index("number")
    )
    ids = [_opaque_id(f"{account.seller_id}|{entry.group_id}|{key}") for key in transactions["key"]]
    lags = [
        int.from_bytes(base64.urlsafe_b64decode(t + "="), "big") % (MAX_LAG_SECONDS + 1)
        for t in ids
    ]
    marketplace = entry.marketplace
    numbers = transactions.select("key", "number")
    transactions = transactions.select(
        pl.Series("transaction_id", ids, pl.Utf8),
        "posted_ts",
        (pl.col("posted_ts") + pl.Series(lags, dtype=pl.Int64)).alias("visible_ts"),
        "total_cents",
        "transaction_type",
        "description",
        pl.col("order-id").alias("order_id"),
        pl.col("shipment-id").alias("shipment_id"),
        pl.lit(marketplace.country_code).alias("country"),
        pl.lit(marketplace.marketplace_id).alias("marketplace_id"),
        pl.lit(marketplace.currency).alias("currency"),
        pl.lit(entry.group_id).alias("group_id"),
        pl.lit(entry.period.settlement_id if entry.settled else None, pl.Utf8).alias(
            "settlement_id"
        ),
        (pl.col("row_count").cum_sum() - pl.col("row_count")).cast(pl.Int64).alias("row_start"),
        pl.col("row_count").cast(pl.Int64),
    )
    ordered_rows = (
        rows.join(numbers, on="key", how="left").sort("number", "row").select(*_ROW_COLUMNS)
    )
    return PeriodTransactions(transactions, ordered_rows)


# --- rendering ---------------------------------------------------------------------------------


def _money(cents: int, currency: str) -> dict[str, Any]:
    """Exact minor units as a JSON number with (at most) two decimals, as the flat file."""
    return {"currencyAmount": float(Decimal(cents).scaleb(-2)), "currencyCode": currency}


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _breakdown(kind: str, cents: int, currency: str, children: list[Any]) -> dict[str, Any]:
    return {
        "breakdownType": kind,
        "breakdownAmount": _money(cents, currency),
        "breakdowns": children,
    }


def _item_tree(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """breakdown -> child -> cents, in first-seen child order."""
    tree: dict[str, dict[str, int]] = {}
    for row in rows:
        pair = (row["amount-type"], row["amount-description"])
        if pair in _ITEM_BREAKDOWNS:
            group, child = _ITEM_BREAKDOWNS[pair]
        elif row["amount-type"] == "ItemFees":
            group, child = "AmazonFees", row["amount-description"]
        else:
            group, child = "Other", row["amount-description"]
        children = tree.setdefault(group, {})
        children[child] = children.get(child, 0) + row["amount_cents"]
    return tree


def _render_tree(tree: dict[str, dict[str, int]], currency: str) -> list[dict[str, Any]]:
    ordered = sorted(tree, key=lambda g: _BREAKDOWN_ORDER.index(g) if g in _BREAKDOWN_ORDER else 99)
    groups = []
    for group in ordered:
        children = []
        for child, cents in tree[group].items():
            leaf = [_breakdown("Base", cents, currency, [])] if group == "AmazonFees" else []
            children.append(_breakdown(child, cents, currency, leaf))
        groups.append(_breakdown(group, sum(tree[group].values()), currency, children))
    return groups


def _product_context(
    products: dict[str, tuple[str, str]], sku: str | None, quantity: str | None
) -> dict[str, Any]:
    asin = products.get(sku or "", ("", ""))[0]
    context: dict[str, Any] = {"contextType": "ProductContext", "asin": asin, "sku": sku}
    if quantity:
        context["quantityShipped"] = int(quantity)
    context["fulfillmentNetwork"] = "AFN"
    return context


def _order_items(
    products: dict[str, tuple[str, str]],
    rows: list[dict[str, Any]],
    currency: str,
    refund: bool,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(items, transaction breakdowns) of a Shipment or Refund: one item per order item."""
    by_item: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_item.setdefault(row["order-item-code"], []).append(row)
    items = []
    summary: dict[str, dict[str, dict[str, int]]] = {}
    for item_rows in by_item.values():
        first = item_rows[0]
        tree = _item_tree(item_rows)
        for group, children in tree.items():
            totals = summary.setdefault(_SUMMARY.get(group, "Other"), {}).setdefault(group, {})
            for child, cents in children.items():
                totals[child] = totals.get(child, 0) + cents
        quantity = next(
            (r["quantity-purchased"] for r in item_rows if r["quantity-purchased"]), None
        )
        identifiers = (
            [
                {
                    "itemRelatedIdentifierName": "ORDER_ADJUSTMENT_ITEM_ID",
                    "itemRelatedIdentifierValue": first["merchant-adjustment-item-id"],
                }
            ]
            if refund and first["merchant-adjustment-item-id"]
            else []
        )
        items.append(
            {
                "description": products.get(first["sku"] or "", ("", ""))[1],
                "totalAmount": _money(sum(r["amount_cents"] for r in item_rows), currency),
                "relatedIdentifiers": identifiers,
                "breakdowns": _render_tree(tree, currency),
                "contexts": [_product_context(products, first["sku"], quantity)],
            }
        )
    breakdowns = []
    for top in ("Sales", "Expenses", "Other"):
        if top in summary:
            cents = sum(sum(children.values()) for children in summary[top].values())
            breakdowns.append(
                _breakdown(top, cents, currency, _render_tree(summary[top], currency))
            )
    return items, breakdowns


def _render(
    products: dict[str, tuple[str, str]],
    seller_id: str,
    transaction: dict[str, Any],
    rows: list[dict[str, Any]],
    status: str,
) -> dict[str, Any]:
    currency = transaction["currency"]
    kind = transaction["transaction_type"]
    related = [
        {"relatedIdentifierName": name, "relatedIdentifierValue": transaction[column]}
        for name, column in (
            ("ORDER_ID", "order_id"),
            ("SHIPMENT_ID", "shipment_id"),
            ("FINANCIAL_EVENT_GROUP_ID", "group_id"),
            ("SETTLEMENT_ID", "settlement_id"),
        )
        if transaction[column]
    ]
    items: list[dict[str, Any]] = []
    breakdowns: list[dict[str, Any]] = []
    total = transaction["total_cents"]
    if kind in ("Shipment", "Refund"):
        items, breakdowns = _order_items(products, rows, currency, refund=kind == "Refund")
    elif kind == "FBAInventoryReimbursement":
        row = rows[0]
        items = [
            {
                "description": products.get(row["sku"] or "", ("", ""))[1],
                "totalAmount": _money(total, currency),
                "relatedIdentifiers": [],
                "breakdowns": None,  # the money sits in the transaction's breakdowns only
                "contexts": [_product_context(products, row["sku"], row["quantity-purchased"])],
            }
        ]
        breakdowns = [_breakdown("FBAInventoryReimbursement", total, currency, [])]
    contexts = None
    if status == "DEFERRED":
        contexts = [
            {
                "contextType": "DeferredContext",
                "deferralReason": "DD7",
                "maturityDate": _utc(transaction["posted_ts"] + DEFERRAL_SECONDS),
            }
        ]
    return {
        "sellingPartnerMetadata": {
            "sellingPartnerId": seller_id,
            "accountType": ACCOUNT_TYPE,
            "marketplaceId": transaction["marketplace_id"],
        },
        "relatedIdentifiers": related,
        "transactionType": kind,
        "transactionId": transaction["transaction_id"],
        "transactionStatus": status,
        "description": transaction["description"],
        "postedDate": _utc(transaction["posted_ts"]),
        "totalAmount": _money(total, currency),
        "marketplaceDetails": {
            "marketplaceId": transaction["marketplace_id"],
            "marketplaceName": sales_channel(transaction["country"]),
        },
        "items": items,
        "breakdowns": breakdowns,
        "contexts": contexts,
    }


# --- the operation -----------------------------------------------------------------------------


def _invalid(message: str) -> ApiError:
    return ApiError(400, "InvalidInput", message, message)


def _status(now_ts: int) -> pl.Expr:
    """Shipments are deferred 7 days (DD7) until their settlement closes; the rest released."""
    released = pl.col("settlement_id").is_not_null() | (
        pl.col("posted_ts") + DEFERRAL_SECONDS <= now_ts
    )
    return (
        pl.when(pl.col("transaction_type") != "Shipment")
        .then(pl.lit("RELEASED"))
        .when(released)
        .then(pl.lit("DEFERRED_RELEASED"))
        .otherwise(pl.lit("DEFERRED"))
    )


def _filters(account: AccountState, request: Request) -> dict[str, Any] | None:
    """The checked query; None when Amazon answers an empty list (a range over 180 days)."""
    now = account.clock()
    name = request.query_value("relatedIdentifierName")
    value = request.query_value("relatedIdentifierValue")
    if name is not None and name not in RELATED_FILTERS:
        raise _invalid(
            f"Invalid relatedIdentifierName {name}: use FINANCIAL_EVENT_GROUP_ID or ORDER_ID."
        )
    if (name is None) != (value is None):
        raise _invalid("relatedIdentifierName and relatedIdentifierValue go together.")
    after_text = request.query_value("postedAfter")
    before_text = request.query_value("postedBefore")
    if after_text is None and name is None:
        raise _invalid("Start date cannot be null")
    after = parse_time(after_text, "postedAfter") if after_text is not None else None
    before = parse_time(before_text, "postedBefore") if before_text is not None else None
    if after is not None and after > now - MIN_AGE:
        raise _invalid("postedAfter must be more than two minutes before the time of the request.")
    if before is not None:
        if before > now - MIN_AGE:
            raise _invalid(
                "postedBefore must be more than two minutes before the time of the request."
            )
        if after is not None and before <= after:
            raise _invalid("postedBefore must be later than postedAfter.")
    if after is not None and (before or now - MIN_AGE) - after > MAX_RANGE:
        return None
    marketplace_id = request.query_value("marketplaceId")
    if marketplace_id is not None and marketplace_id not in account.account.marketplace_ids:
        raise _invalid(
            f"Invalid marketplaceId {marketplace_id}: the seller is not registered there."
        )
    status = request.query_value("transactionStatus")
    if status is not None and status not in STATUSES:
        raise _invalid(f"Invalid transactionStatus {status}: use one of {', '.join(STATUSES)}.")
    now_ts = int(now.timestamp())
    return {
        # Posted times are whole seconds: on or after `after`, before `before`.
        "after": math.ceil(after.timestamp()) if after is not None else None,
        "before": math.ceil(before.timestamp()) if before is not None else now_ts - 120,
        "marketplace_id": marketplace_id,
        "status": status,
        "related": [name, value] if name is not None else None,
        "now": now_ts,
    }


def _periods_for(account: AccountState, filters: dict[str, Any]) -> list[OpenOrClosedPeriod]:
    """The periods that can hold a match: a transaction is posted inside its period."""
    after = filters["after"]
    chosen = []
    for entry in account_periods(account.account, account.number):
        period = entry.period
        if period.start_ts >= filters["before"] or (after is not None and period.end_ts <= after):
            continue
        if filters["marketplace_id"] not in (None, entry.marketplace.marketplace_id):
            continue
        related = filters["related"] or ["", ""]
        if related[0] == "FINANCIAL_EVENT_GROUP_ID" and entry.group_id != related[1]:
            continue
        chosen.append(entry)
    return chosen


def _matching(
    account: AccountState, filters: dict[str, Any]
) -> tuple[pl.DataFrame, list[PeriodTransactions]]:
    """The visible transactions a query matches, oldest first, each with its period's index
    into the returned list."""
    chunks = [
        period_transactions(account.account, entry) for entry in _periods_for(account, filters)
    ]
    frames = [
        chunk.transactions.with_columns(pl.lit(index, pl.Int64).alias("chunk"))
        for index, chunk in enumerate(chunks)
        if chunk.transactions.height
    ]
    if not frames:
        return pl.DataFrame(), chunks
    now_ts = filters["now"]
    found = pl.concat(frames).filter(
        (pl.col("posted_ts") < filters["before"]) & (pl.col("visible_ts") <= now_ts)
    )
    if filters["after"] is not None:
        found = found.filter(pl.col("posted_ts") >= filters["after"])
    found = found.with_columns(_status(now_ts).alias("status"))
    if filters["status"] is not None:
        found = found.filter(pl.col("status") == filters["status"])
    if filters["related"] is not None:
        name, value = filters["related"]
        found = found.filter(pl.col(RELATED_FILTERS[name]) == value)
    return found.sort("posted_ts", "transaction_id"), chunks


_matches: OrderedDict[
    tuple[SandboxAccount, int, str], tuple[pl.DataFrame, list[PeriodTransactions]]
] = OrderedDict()
_MATCHES_KEPT = 16


def _matching_cached(
    account: AccountState, filters: dict[str, Any]
) -> tuple[pl.DataFrame, list[PeriodTransactions]]:
    """A query's matches stay while its client pages: each page is then a slice."""
    key = (account.account, account.number, json.dumps(filters, sort_keys=True))
    with _cache_lock:
        found = _matches.get(key)
        if found is not None:
            _matches.move_to_end(key)
            return found
    found = _matching(account, filters)
    with _cache_lock:
        _matches[key] = found
        while len(_matches) > _MATCHES_KEPT:
            _matches.popitem(last=False)
    return found


def _sign(state: SandboxState, text: str) -> str:
    return hmac.new(state.signing_key, text.encode(), hashlib.sha256).hexdigest()[:16]


def _token(state: SandboxState, cursor: dict[str, Any]) -> str:
    text = base64.urlsafe_b64encode(json.dumps(cursor, separators=(",", ":")).encode()).decode()
    return f"{text}.{_sign(state, text)}"


def _cursor(state: SandboxState, account: AccountState, token: str) -> dict[str, Any]:
    """The query and position a nextToken stands for: the query's "now" stays fixed, so later
    pages neither skip nor repeat transactions that became visible meanwhile."""
    text, _, signature = token.partition(".")
    if not hmac.compare_digest(signature, _sign(state, text)):
        raise _invalid("Invalid nextToken.")
    cursor: dict[str, Any] = json.loads(base64.urlsafe_b64decode(text))
    if cursor.get("seller") != account.seller_id:
        raise _invalid("Invalid nextToken.")
    return cursor


def _empty_page(account: AccountState, filters: dict[str, Any], page: int) -> bool:
    fingerprint = json.dumps(filters, sort_keys=True)
    digest = hashlib.sha256(f"{account.account.seed}:{fingerprint}:{page}".encode()).digest()
    return digest[0] % EMPTY_PAGE_ODDS == 0


def list_transactions(state: SandboxState, account: AccountState, request: Request) -> Response:
    if not account.account.finances:
        raise ApiError(403, "Unauthorized", DENIED)
    token = request.query_value("nextToken")
    if token is not None:
        cursor = _cursor(state, account, token)
    else:
        filters = _filters(account, request)
        if filters is None:
            return json_response(200, {"payload": {"transactions": []}})
        cursor = {"seller": account.seller_id, "filters": filters, "offset": 0, "page": 0}
        cursor["last_empty"] = False
    filters, offset, page = cursor["filters"], cursor["offset"], cursor["page"]
    found, chunks = _matching_cached(account, filters)
    payload: dict[str, Any] = {}
    if offset < found.height and not cursor["last_empty"] and _empty_page(account, filters, page):
        payload["nextToken"] = _token(state, {**cursor, "page": page + 1, "last_empty": True})
        payload["transactions"] = []
        return json_response(200, {"payload": payload})
    products = _products(account.account)
    rendered = []
    for transaction in found.slice(offset, PAGE_SIZE).to_dicts():
        start, count = transaction["row_start"], transaction["row_count"]
        rows = chunks[transaction["chunk"]].rows.slice(start, count).to_dicts()
        status = transaction["status"]
        rendered.append(_render(products, account.seller_id, transaction, rows, status))
    if offset + PAGE_SIZE < found.height:
        payload["nextToken"] = _token(
            state,
            {**cursor, "offset": offset + PAGE_SIZE, "page": page + 1, "last_empty": False},
        )
    payload["transactions"] = rendered
    return json_response(200, {"payload": payload})


def register(router: Router) -> None:
    router.add(
        "GET",
        f"{BASE}/transactions",
        "listTransactions",
        list_transactions,
        SP_API,
        LIST_TRANSACTIONS,
    )

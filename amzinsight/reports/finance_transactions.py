"""Finances API v2024-06-19 listTransactions, as one JSON document the client assembles from every
page: one `finance_transactions` row per transaction and one `finance_transaction_lines` row per
amount, the amounts named in the settlement report's terms so both read as one ledger.

Why: getReports lists settlements for 90 days only; older money exists only here, and money
Amazon holds back (DEFERRED) appears here before any settlement.

Document: {"source": "listTransactions", "postedAfter", "postedBefore", "transactions":
[Transaction, ...]}, the transactions exactly as Amazon returns them (docs/amazon-formats.md 8.6).

Amounts: an item's breakdown tree is read down to the charge (Commission, OurPricePrincipal); a
charge split only into Base and Tax is one amount. An item without breakdowns is one amount, a
transaction without items is one amount. Where the amounts do not add up to the transaction's
totalAmount, the difference is loaded as an "Unitemised" amount and the run's notes say so, so
every transaction's lines add up to Amazon's total.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from amzinsight.db import tables
from amzinsight.errors import ConfigError, ReportParseError
from amzinsight.marketplaces import marketplace_for
from amzinsight.reports.base import ParseContext, ParsedReport, ReportSpec, TableRows
from amzinsight.reports.flatfile import json_head_declares, read_json_document

SOURCE = "listTransactions"
KEY = "finance_transactions"
TRANSACTION_KEY = ("transaction_id",)
LINE_KEY = ("transaction_id", "line_no")
UNITEMISED = "Unitemised"
DEFERRED = "DEFERRED"
ROLE_MISSING = (
    "The app lacks the Finance and Accounting role: Seller Central > Apps and Services > Develop "
    "Apps > Edit App > roles; until then settlements older than Amazon's 90 days cannot be "
    "loaded and money Amazon holds back is not shown."
)
WINDOW_DAYS = 30
"""One document per 30 local days. Amazon allows up to 180 days (beyond that it answers nothing,
not an error), but half a year of a busy seller's transactions is hundreds of MB of JSON to hold
and parse at once; the pages, and so the calls, are the same either way."""

# The settlement report's transaction-type for Amazon's transactionType, where they differ.
_LEDGER_TRANSACTION_TYPES = {"Shipment": "Order"}
# An order's item breakdown group -> the settlement report's amount-type for it.
_ITEM_AMOUNT_TYPES = {
    "ProductCharges": "ItemPrice",
    "Shipping": "ItemPrice",
    "ShippingCharges": "ItemPrice",
    "GiftWrap": "ItemPrice",
    "Tax": "ItemPrice",
    "AmazonFees": "ItemFees",
    "Promotions": "Promotion",
    "Promotion": "Promotion",
    "TaxWithheld": "ItemWithheldTax",
}
# Amazon's charge name -> the settlement report's amount-description, where they differ.
_DESCRIPTIONS = {
    "OurPricePrincipal": "Principal",
    "OurPriceTax": "Tax",
    "ShippingPrincipal": "Shipping",
    "GiftWrapPrincipal": "GiftWrap",
}
_WITHHELD_TAX_PREFIX = "MarketplaceFacilitator"
_TAX_SPLIT = frozenset({"Base", "Tax"})
_CENT = Decimal("0.01")

_TRANSACTION_SCHEMA: dict[str, pl.DataType] = {
    "transaction_id": pl.String(),
    "transaction_type": pl.String(),
    "description": pl.String(),
    "status": pl.String(),
    "marketplace_id": pl.String(),
    "marketplace_name": pl.String(),
    "posted_at": pl.Datetime("us", "UTC"),
    "posted_date": pl.Date(),
    "total_amount": pl.Decimal(38, 2),
    "currency": pl.String(),
    "order_id": pl.String(),
    "settlement_id": pl.String(),
    "event_group_id": pl.String(),
    "maturity_at": pl.Datetime("us", "UTC"),
}
_LINE_SCHEMA: dict[str, pl.DataType] = {
    "transaction_id": pl.String(),
    "line_no": pl.Int32(),
    "status": pl.String(),
    "settlement_id": pl.String(),
    "breakdown": pl.String(),
    "transaction_type": pl.String(),
    "order_id": pl.String(),
    "adjustment_id": pl.String(),
    "shipment_id": pl.String(),
    "marketplace_name": pl.String(),
    "amount_type": pl.String(),
    "amount_description": pl.String(),
    "amount": pl.Decimal(38, 2),
    "currency": pl.String(),
    "fulfillment_id": pl.String(),
    "posted_date": pl.Date(),
    "posted_at": pl.Datetime("us", "UTC"),
    "merchant_adjustment_item_id": pl.String(),
    "sku": pl.String(),
    "asin": pl.String(),
    "quantity_purchased": pl.Int32(),
}


@dataclass(frozen=True)
class _Amount:
    path: tuple[str, ...]
    value: Decimal
    currency: str | None
    item: Mapping[str, Any] | None


def parse(path: Path, context: ParseContext) -> ParsedReport:
    document = read_json_document(path, SOURCE)
    if not isinstance(document, dict) or document.get("source") != SOURCE:
        raise ReportParseError(
            f"{SOURCE}: not a Finances transactions document (its source is not {SOURCE!r})"
        )
    transactions = document.get("transactions") or []
    if not isinstance(transactions, list) or not all(isinstance(t, dict) for t in transactions):
        raise ReportParseError(f"{SOURCE} transactions: expected a list of objects")
    latest: dict[str, tuple[int, dict[str, Any]]] = {}
    for index, transaction in enumerate(transactions):
        transaction_id = transaction.get("transactionId")
        if not isinstance(transaction_id, str) or not transaction_id:
            raise ReportParseError(f"{SOURCE} transactions[{index}]: transactionId is missing")
        latest[transaction_id] = (index, transaction)  # a later page's copy is the newer state
    heads: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    unitemised = 0
    for transaction_id, (index, transaction) in latest.items():
        where = f"{SOURCE} transactions[{index}]"
        head = _transaction_row(transaction_id, transaction, context, where)
        amounts = _amounts(transaction, where)
        total = head["total_amount"]
        if total is not None and sum((a.value for a in amounts), Decimal(0)) != total:
            difference = total - sum((a.value for a in amounts), Decimal(0))
            amounts.append(_Amount((UNITEMISED,), difference, head["currency"], None))
            unitemised += 1
        lines.extend(_line_rows(head, transaction, amounts))
        heads.append(head)
    notes = []
    if unitemised:
        notes.append(
            f"{unitemised} transactions' itemised amounts did not add up to their totalAmount; "
            f"each difference is loaded as one {UNITEMISED!r} amount"
        )
    return ParsedReport(
        [
            TableRows(
                tables.finance_transactions,
                pl.DataFrame(heads, schema=_TRANSACTION_SCHEMA, orient="row"),
                TRANSACTION_KEY,
            ),
            TableRows(
                tables.finance_transaction_lines,
                pl.DataFrame(lines, schema=_LINE_SCHEMA, orient="row"),
                LINE_KEY,
                replace_groups_by="transaction_id",
            ),
        ],
        notes=tuple(notes),
        covers=_covers(document, context),
    )


def detect(head: bytes) -> bool:
    return json_head_declares(head, "source", SOURCE)


def _transaction_row(
    transaction_id: str, transaction: Mapping[str, Any], context: ParseContext, where: str
) -> dict[str, Any]:
    related = _related(transaction.get("relatedIdentifiers"))
    details = _mapping(transaction.get("marketplaceDetails"))
    metadata = _mapping(transaction.get("sellingPartnerMetadata"))
    marketplace_id = (
        details.get("marketplaceId") or metadata.get("marketplaceId") or context.marketplace_id
    )
    total, currency = _money(transaction.get("totalAmount"), f"{where}.totalAmount")
    posted_at = _timestamp(transaction.get("postedDate"), f"{where}.postedDate")
    maturity = None
    for found in _contexts(transaction.get("contexts")):
        if found.get("contextType") == "DeferredContext":
            maturity = _timestamp(found.get("maturityDate"), f"{where}.contexts.maturityDate")
    status = transaction.get("transactionStatus")
    return {
        "transaction_id": transaction_id,
        "transaction_type": transaction.get("transactionType"),
        "description": transaction.get("description"),
        # Amazon's own example writes "Released": statuses compare in one case.
        "status": status.upper() if isinstance(status, str) and status else None,
        "marketplace_id": marketplace_id,
        "marketplace_name": details.get("marketplaceName"),
        "posted_at": posted_at,
        "posted_date": _local_date(posted_at, marketplace_id, context),
        "total_amount": total,
        "currency": currency or context.currency,
        "order_id": related.get("ORDER_ID"),
        "settlement_id": related.get("SETTLEMENT_ID"),
        "event_group_id": related.get("FINANCIAL_EVENT_GROUP_ID"),
        "maturity_at": maturity,
    }


def _amounts(transaction: Mapping[str, Any], where: str) -> list[_Amount]:
    """Every amount of a transaction: its items' charges, else its own total."""
    amounts: list[_Amount] = []
    for number, item in enumerate(transaction.get("items") or []):
        if not isinstance(item, Mapping):
            raise ReportParseError(f"{where}.items[{number}]: expected an object")
        item_where = f"{where}.items[{number}]"
        breakdowns = item.get("breakdowns")
        if breakdowns:
            amounts.extend(
                _Amount(path, value, currency, item)
                for path, value, currency in _charges(breakdowns, (), item_where)
            )
        elif item.get("totalAmount") is not None:
            value, currency = _money(item.get("totalAmount"), f"{item_where}.totalAmount")
            if value is not None:
                amounts.append(_Amount((), value, currency, item))
    if amounts:
        return amounts
    value, currency = _money(transaction.get("totalAmount"), f"{where}.totalAmount")
    return [] if value is None else [_Amount((), value, currency, None)]


def _charges(
    breakdowns: Any, path: tuple[str, ...], where: str
) -> Iterator[tuple[tuple[str, ...], Decimal, str | None]]:
    """Breakdown leaves: a node is one charge when it has no children, when its children only
    split it into Base and Tax, or when they do not add up to it (the parent is Amazon's total)."""
    if not isinstance(breakdowns, list):
        raise ReportParseError(f"{where}.breakdowns: expected a list")
    for number, node in enumerate(breakdowns):
        node_where = f"{where}.breakdowns[{number}]"
        if not isinstance(node, Mapping):
            raise ReportParseError(f"{node_where}: expected an object")
        name = str(node.get("breakdownType") or "")
        value, currency = _money(node.get("breakdownAmount"), f"{node_where}.breakdownAmount")
        if value is None:
            continue
        children = [c for c in node.get("breakdowns") or [] if isinstance(c, Mapping)]
        child_names = {str(c.get("breakdownType") or "") for c in children}
        child_sum = sum(
            (_money(c.get("breakdownAmount"), node_where)[0] or Decimal(0) for c in children),
            Decimal(0),
        )
        if not children or child_names <= _TAX_SPLIT or child_sum != value:
            yield (*path, name), value, currency
        else:
            yield from _charges(children, (*path, name), node_where)


def _line_rows(
    head: Mapping[str, Any], transaction: Mapping[str, Any], amounts: list[_Amount]
) -> Iterator[dict[str, Any]]:
    related = _related(transaction.get("relatedIdentifiers"))
    amazon_type = str(head["transaction_type"] or "")
    ledger_type = _LEDGER_TRANSACTION_TYPES.get(amazon_type, amazon_type or None)
    is_order = amazon_type in ("Shipment", "Refund")
    for line_no, amount in enumerate(amounts, start=1):
        product = _product_context(amount.item)
        amount_type, description = _settlement_terms(amount.path, head, is_order)
        item_ids = _related(
            (amount.item or {}).get("relatedIdentifiers"),
            name_key="itemRelatedIdentifierName",
            value_key="itemRelatedIdentifierValue",
        )
        quantity = product.get("quantityShipped") if amazon_type == "Shipment" else None
        yield {
            "transaction_id": head["transaction_id"],
            "line_no": line_no,
            "status": head["status"],
            "settlement_id": head["settlement_id"],
            "breakdown": "/".join(amount.path) or None,
            "transaction_type": ledger_type,
            "order_id": head["order_id"],
            "adjustment_id": related.get("REFUND_ID"),
            "shipment_id": related.get("SHIPMENT_ID"),
            "marketplace_name": head["marketplace_name"],
            "amount_type": amount_type,
            "amount_description": description,
            "amount": amount.value,
            "currency": amount.currency or head["currency"],
            "fulfillment_id": product.get("fulfillmentNetwork"),
            "posted_date": head["posted_date"],
            "posted_at": head["posted_at"],
            "merchant_adjustment_item_id": item_ids.get("ORDER_ADJUSTMENT_ITEM_ID"),
            "sku": product.get("sku"),
            "asin": product.get("asin"),
            "quantity_purchased": int(quantity) if isinstance(quantity, int | Decimal) else None,
        }


def _settlement_terms(
    path: tuple[str, ...], head: Mapping[str, Any], is_order: bool
) -> tuple[str | None, str | None]:
    """(amount-type, amount-description) as the settlement report names the same money."""
    leaf = path[-1] if path else None
    if path == (UNITEMISED,):
        return UNITEMISED, head["description"]
    if is_order and leaf is not None:
        if leaf.startswith(_WITHHELD_TAX_PREFIX):
            return "ItemWithheldTax", leaf
        group = path[0]
        return _ITEM_AMOUNT_TYPES.get(group, group), _DESCRIPTIONS.get(leaf, leaf)
    # Fees, advertising, reserves, reimbursements: named by the transaction itself.
    return head["transaction_type"], leaf or head["description"]


def _product_context(item: Mapping[str, Any] | None) -> Mapping[str, Any]:
    for found in _contexts((item or {}).get("contexts")):
        if found.get("contextType") == "ProductContext":
            return found
    return {}


def _contexts(value: Any) -> list[Mapping[str, Any]]:
    return [c for c in value or [] if isinstance(c, Mapping)] if isinstance(value, list) else []


def _related(
    value: Any,
    name_key: str = "relatedIdentifierName",
    value_key: str = "relatedIdentifierValue",
) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in value or []:
        if isinstance(entry, Mapping) and entry.get(name_key) and entry.get(value_key):
            found.setdefault(str(entry[name_key]), str(entry[value_key]))
    return found


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _money(value: Any, where: str) -> tuple[Decimal | None, str | None]:
    if value is None:
        return None, None
    if not isinstance(value, Mapping):
        raise ReportParseError(f"{where}: expected {{currencyAmount, currencyCode}}")
    raw = value.get("currencyAmount")
    currency = value.get("currencyCode")
    if raw is None:
        return None, currency
    try:
        amount = Decimal(str(raw)).quantize(_CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ReportParseError(f"{where}: currencyAmount {raw!r} is not a number") from None
    return amount, currency


def _timestamp(value: Any, where: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ReportParseError(f"{where}: {value!r} is not an ISO 8601 date-time") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _local_date(
    moment: datetime | None, marketplace_id: str | None, context: ParseContext
) -> date | None:
    """The marketplace's local date (report dates stay local), the context's zone for others."""
    if moment is None:
        return None
    zone = context.time_zone
    if marketplace_id:
        # A marketplace this project does not list keeps the store's own zone.
        with contextlib.suppress(ConfigError):
            zone = marketplace_for(marketplace_id).time_zone
    return moment.astimezone(ZoneInfo(zone)).date()


def _covers(document: Mapping[str, Any], context: ParseContext) -> tuple[date, date] | None:
    after = _timestamp(document.get("postedAfter"), f"{SOURCE}.postedAfter")
    before = _timestamp(document.get("postedBefore"), f"{SOURCE}.postedBefore")
    if after is None or before is None:
        return None
    zone = ZoneInfo(context.time_zone)
    return after.astimezone(zone).date(), (before - timedelta(microseconds=1)).astimezone(
        zone
    ).date()


SPEC = ReportSpec(
    key=KEY,
    amazon_report_type=None,
    description="Finances API transactions: settlement history beyond 90 days, deferred money",
    parse=parse,
    detect=detect,
    acquisition="api",
    window="range",
    extension="json",
    api_operation=SOURCE,
    # Deferred money is released about a week after delivery and transactions arrive up to
    # 48 hours late: the last two weeks are pulled again so statuses and late ones are current.
    lookback_days=14,
    max_window_days=WINDOW_DAYS,
    includes_today=True,
    per_marketplace=False,  # one call covers the region account; each transaction names its own
)

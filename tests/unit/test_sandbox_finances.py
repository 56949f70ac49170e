"""The sandbox's Finances API listTransactions, through the real python-amazon-sp-api client:
its transactions are the settlement reports' money, to the cent."""

from __future__ import annotations

import csv
import io
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest
import sp_api.auth.access_token_client as access_token_client
from amzinsight_sandbox import RunningSandbox, SandboxConfig, demo_account, start_sandbox
from amzinsight_sandbox.finances import account_periods, period_transactions
from amzinsight_sandbox.settlement_report import settlement_details, settlement_document
from sp_api.api import FinancesV20240619
from sp_api.auth import AccessTokenClient
from sp_api.base import SellingApiBadRequestException, SellingApiRequestThrottledException

from amzinsight.marketplaces import MARKETPLACES

TODAY = date(2026, 6, 30)
HISTORY_DAYS = 130
US = MARKETPLACES["US"]
CA = MARKETPLACES["CA"]
# Where each settlement amount-type lands in a transaction's item breakdowns.
ITEM_BREAKDOWN_SOURCE = {
    "ProductCharges": "ItemPrice",
    "Tax": "ItemPrice",
    "Promotions": "Promotion",
    "TaxWithheld": "ItemWithheldTax",
    "AmazonFees": "ItemFees",
}
# Transactions without item breakdowns: their settlement amount-type.
TRANSACTION_SOURCE = {
    "ProductAdsPayment": "Cost of Advertising",
    "ServiceFee": "other-transaction",
    "Reserve": "other-transaction",
    "FBAInventoryReimbursement": "FBA Inventory Reimbursement",
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    account = demo_account(seed=31, asins=20, days=HISTORY_DAYS, today=TODAY)
    with start_sandbox(SandboxConfig(accounts=[account], speed_factor=1000)) as running:
        # Built here, in process, once: on a busy machine the first HTTP query building every
        # period could outlast the client's read timeout.
        number = running.state.accounts[account.seller_id].number
        for entry in account_periods(account, number):
            period_transactions(account, entry)
        yield running


def _finances(sandbox: RunningSandbox) -> FinancesV20240619:
    access_token_client.cache.clear()  # tokens of another module's sandbox are useless here
    account = sandbox.accounts[0]
    scheme, host = sandbox.url.split("://")
    lwa = type("SandboxLwa", (AccessTokenClient,), {"scheme": f"{scheme}://", "host": host})
    return FinancesV20240619(
        marketplace=SimpleNamespace(
            endpoint=sandbox.url, marketplace_id=US.marketplace_id, region="us-east-1"
        ),
        credentials={
            "refresh_token": account.refresh_token,
            "lwa_app_id": account.lwa_client_id,
            "lwa_client_secret": account.lwa_client_secret,
        },
        auth_token_client_class=lwa,
    )


def _now(sandbox: RunningSandbox) -> datetime:
    return sandbox.state.accounts[sandbox.accounts[0].seller_id].clock()


@dataclass
class Fetched:
    transactions: list[dict[str, Any]]
    pages: list[int]
    """Transactions on each page, in order."""
    started: datetime
    """The account's clock just before the first page: the query's "now" is a little later."""
    ended: datetime


def _fetch_all(sandbox: RunningSandbox, **query: Any) -> Fetched:
    finances = _finances(sandbox)
    started = _now(sandbox)
    page = finances.list_transactions(**query)
    transactions = list(page.payload["transactions"])
    pages = [len(page.payload["transactions"])]
    while page.next_token:
        page = finances.list_transactions(**query, nextToken=page.next_token)
        transactions += page.payload["transactions"]
        pages.append(len(page.payload["transactions"]))
    return Fetched(transactions, pages, started, _now(sandbox))


@pytest.fixture(scope="module")
def everything(sandbox: RunningSandbox) -> Fetched:
    """The whole history, in one query (it is shorter than 180 days)."""
    first_day = TODAY - timedelta(days=HISTORY_DAYS)
    return _fetch_all(sandbox, postedAfter=f"{first_day.isoformat()}T00:00:00Z")


def _identifier(transaction: dict[str, Any], name: str) -> str | None:
    for related in transaction["relatedIdentifiers"]:
        if related["relatedIdentifierName"] == name:
            return str(related["relatedIdentifierValue"])
    return None


def _amount(money: dict[str, Any]) -> Decimal:
    return Decimal(str(money["currencyAmount"]))


def _posted(transaction: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(transaction["postedDate"].replace("Z", "+00:00"))


def _by_amount_type(transactions: list[dict[str, Any]]) -> dict[str, Decimal]:
    """Money per settlement amount-type, read back from the transactions' breakdowns."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for transaction in transactions:
        kind = transaction["transactionType"]
        if kind in TRANSACTION_SOURCE:
            sums[TRANSACTION_SOURCE[kind]] += _amount(transaction["totalAmount"])
            continue
        for item in transaction["items"]:
            groups = item["breakdowns"]
            assert sum(_amount(g["breakdownAmount"]) for g in groups) == _amount(
                item["totalAmount"]
            )
            for group in groups:
                leaves = sum(_amount(c["breakdownAmount"]) for c in group["breakdowns"])
                assert leaves == _amount(group["breakdownAmount"])
                sums[ITEM_BREAKDOWN_SOURCE[group["breakdownType"]]] += leaves
    return dict(sums)


def _document_rows(document: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(document), delimiter="\t", quoting=csv.QUOTE_NONE)
    rows = list(reader)
    return rows[0], rows[1:]


def _transaction_keys(rows: list[dict[str, str]]) -> set[tuple[str, ...]]:
    """The transactions a settlement's rows make: one per shipment, per refund, per other row."""
    keys: set[tuple[str, ...]] = set()
    for number, row in enumerate(rows):
        if row["transaction-type"] == "Order":
            keys.add(("Order", row["order-id"], row["shipment-id"]))
        elif row["transaction-type"] == "Refund":
            keys.add(("Refund", row["order-id"], row["adjustment-id"]))
        else:
            keys.add(("Other", str(number)))
    return keys


def test_closed_settlements_reconcile_to_the_cent(
    sandbox: RunningSandbox, everything: Fetched
) -> None:
    state = sandbox.state.accounts[sandbox.accounts[0].seller_id]
    by_settlement: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for transaction in everything.transactions:
        settlement_id = _identifier(transaction, "SETTLEMENT_ID")
        if settlement_id is not None:
            by_settlement[settlement_id].append(transaction)
    assert len(state.settlements) >= 12  # about 8 per marketplace in 130 days
    older_than_reports = 0
    for period in state.settlements:
        document = settlement_document(state.truth, period, state.previous_settlement(period))
        summary, rows = _document_rows(document)
        transactions = by_settlement.pop(period.settlement_id)
        total = sum((_amount(t["totalAmount"]) for t in transactions), Decimal(0))
        assert total == Decimal(summary["total-amount"]), period.settlement_id
        expected: dict[str, Decimal] = defaultdict(Decimal)
        for row in rows:
            expected[row["amount-type"]] += Decimal(row["amount"])
        assert _by_amount_type(transactions) == dict(expected)
        assert len(transactions) == len(_transaction_keys(rows))
        assert {t["marketplaceDetails"]["marketplaceId"] for t in transactions} == {
            MARKETPLACES[period.country_code].marketplace_id
        }
        assert {t["totalAmount"]["currencyCode"] for t in transactions} == {summary["currency"]}
        statuses = {
            (t["transactionType"] == "Shipment", t["transactionStatus"]) for t in transactions
        }
        assert statuses == {(True, "DEFERRED_RELEASED"), (False, "RELEASED")}
        older_than_reports += period.created < everything.started - timedelta(days=90)
    assert not by_settlement, "transactions name a settlement that does not exist"
    assert older_than_reports >= 2  # getReports no longer lists these; Finances still has them


def test_transactions_have_amazons_layout(everything: Fetched) -> None:
    kinds = Counter((t["transactionType"], t["description"]) for t in everything.transactions)
    assert kinds[("Shipment", "Order Payment")] > 1000
    assert kinds[("Refund", "Refund Order")] > 0
    assert kinds[("ProductAdsPayment", "Cost of Advertising")] > 0
    assert kinds[("ServiceFee", "FBAStorageBilling")] > 0
    assert kinds[("Reserve", "Current Reserve Amount")] > 0
    assert kinds[("Reserve", "Previous Reserve Amount Balance")] > 0
    assert any(kind == "FBAInventoryReimbursement" for kind, _ in kinds)
    shipment = next(t for t in everything.transactions if t["transactionType"] == "Shipment")
    assert [r["relatedIdentifierName"] for r in shipment["relatedIdentifiers"]] == [
        "ORDER_ID",
        "SHIPMENT_ID",
        "FINANCIAL_EVENT_GROUP_ID",
        "SETTLEMENT_ID",
    ]
    assert shipment["sellingPartnerMetadata"]["accountType"] == "Standard Orders"
    assert len(shipment["transactionId"]) == 43
    item = shipment["items"][0]
    assert item["relatedIdentifiers"] == []
    (context,) = item["contexts"]
    assert context["contextType"] == "ProductContext" and context["quantityShipped"] >= 1
    assert context["asin"].startswith("B0") and context["fulfillmentNetwork"] == "AFN"
    fees = next(g for g in item["breakdowns"] if g["breakdownType"] == "AmazonFees")
    assert {c["breakdownType"] for c in fees["breakdowns"]} == {
        "Commission",
        "FBAPerUnitFulfillmentFee",
    }
    assert all(c["breakdowns"][0]["breakdownType"] == "Base" for c in fees["breakdowns"])
    summary = {b["breakdownType"]: b for b in shipment["breakdowns"]}
    assert set(summary) == {"Sales", "Expenses"}
    assert sum(_amount(b["breakdownAmount"]) for b in summary.values()) == _amount(
        shipment["totalAmount"]
    )
    refund = next(t for t in everything.transactions if t["transactionType"] == "Refund")
    identifier = refund["items"][0]["relatedIdentifiers"][0]
    assert identifier["itemRelatedIdentifierName"] == "ORDER_ADJUSTMENT_ITEM_ID"
    reimbursement = next(
        t for t in everything.transactions if t["transactionType"] == "FBAInventoryReimbursement"
    )
    assert reimbursement["description"] in ("Lost:Warehouse", "Damaged:Warehouse")
    assert reimbursement["items"][0]["breakdowns"] is None
    assert reimbursement["breakdowns"][0]["breakdownType"] == "FBAInventoryReimbursement"


def test_pages_hold_every_transaction_once_and_some_are_empty(everything: Fetched) -> None:
    ids = [t["transactionId"] for t in everything.transactions]
    assert len(ids) == len(set(ids))
    assert len(everything.pages) > 20
    assert max(everything.pages) == 100
    # Amazon "can return empty pages": the client must keep paging past them.
    empty_before_the_end = [n for n in everything.pages[:-1] if n == 0]
    assert empty_before_the_end
    posted = [t["postedDate"] for t in everything.transactions]
    assert posted == sorted(posted)


def _open_period_transactions(sandbox: RunningSandbox) -> pl.DataFrame:
    """The open periods' transactions as the settlement rows make them: key, posted, cents."""
    account = sandbox.accounts[0]
    state = sandbox.state.accounts[account.seller_id]
    settled = {p.settlement_id for p in state.settlements}
    frames = []
    for entry in account_periods(account, state.number):
        if entry.period.settlement_id in settled:
            continue
        rows = settlement_details(state.truth, entry.period, entry.previous)
        frames.append(rows.with_columns(pl.lit(entry.group_id).alias("group")))
    rows = pl.concat(frames).with_row_index("number")
    kind = pl.col("transaction-type")
    key = (
        pl.when(kind == "Order")
        .then(pl.concat_str(["order-id", "shipment-id"], separator="|"))
        .when(kind == "Refund")
        .then(pl.concat_str(["order-id", "adjustment-id"], separator="|"))
        .otherwise(pl.col("number").cast(pl.Utf8))
    )
    return (
        rows.with_columns(key.alias("key"))
        .group_by("group", "key")
        .agg(pl.col("posted_ts").max(), pl.col("amount_cents").sum(), pl.col("order-id").first())
    )


def test_open_period_is_deferred_without_settlement_and_lags_up_to_48_hours(
    sandbox: RunningSandbox, everything: Fetched
) -> None:
    started, ended = everything.started, everything.ended
    open_ones = [t for t in everything.transactions if _identifier(t, "SETTLEMENT_ID") is None]
    assert open_ones and all(_identifier(t, "FINANCIAL_EVENT_GROUP_ID") for t in open_ones)
    deferred = [t for t in open_ones if t["transactionStatus"] == "DEFERRED"]
    assert deferred
    for transaction in deferred:
        assert transaction["transactionType"] == "Shipment"
        (context,) = transaction["contexts"]
        assert context["contextType"] == "DeferredContext" and context["deferralReason"] == "DD7"
        maturity = datetime.fromisoformat(context["maturityDate"].replace("Z", "+00:00"))
        assert maturity == _posted(transaction) + timedelta(days=7) > started
    released = [
        t
        for t in open_ones
        if t["transactionType"] == "Shipment" and t["transactionStatus"] == "DEFERRED_RELEASED"
    ]
    assert released and all(_posted(t) + timedelta(days=7) <= ended for t in released)

    expected = _open_period_transactions(sandbox)
    cutoff = started - timedelta(hours=48)
    older = expected.filter(pl.col("posted_ts") <= int(cutoff.timestamp()))
    older_seen = [t for t in open_ones if _posted(t) <= cutoff]
    # Everything older than 48 hours is there, to the cent.
    assert len(older_seen) == older.height
    assert sum(_amount(t["totalAmount"]) for t in older_seen) == Decimal(
        int(older["amount_cents"].sum())
    ).scaleb(-2)
    # Of the last 48 hours only part, each transaction after its own lag; nothing from the future.
    recent = expected.filter(
        pl.col("posted_ts").is_between(int(cutoff.timestamp()) + 1, int(ended.timestamp()))
    )
    recent_seen = [t for t in open_ones if _posted(t) > cutoff]
    assert recent.height > 20
    assert 0 < len(recent_seen) < recent.height
    assert all(_posted(t) < ended - timedelta(minutes=2) for t in everything.transactions)


def test_a_range_over_180_days_is_empty(sandbox: RunningSandbox) -> None:
    now = _now(sandbox)
    before = (now - timedelta(days=1)).replace(microsecond=0)
    wide = _finances(sandbox).list_transactions(
        postedAfter=(before - timedelta(days=181)).isoformat(), postedBefore=before.isoformat()
    )
    assert wide.payload == {"transactions": []} and wide.next_token is None
    narrow = _fetch_all(
        sandbox,
        postedAfter=(before - timedelta(days=3)).isoformat(),
        postedBefore=before.isoformat(),
    )
    assert narrow.transactions
    assert all(before - timedelta(days=3) <= _posted(t) < before for t in narrow.transactions)


def test_missing_posted_after_is_amazons_400(sandbox: RunningSandbox) -> None:
    with pytest.raises(SellingApiBadRequestException) as raised:
        _finances(sandbox).list_transactions(marketplaceId=US.marketplace_id)
    assert raised.value.error == [
        {
            "code": "InvalidInput",
            "message": "Start date cannot be null",
            "details": "Start date cannot be null",
        }
    ]


def test_posted_after_must_be_two_minutes_old(sandbox: RunningSandbox) -> None:
    with pytest.raises(SellingApiBadRequestException):
        _finances(sandbox).list_transactions(postedAfter=_now(sandbox).isoformat())


def test_status_and_marketplace_filters(sandbox: RunningSandbox, everything: Fetched) -> None:
    after = f"{(TODAY - timedelta(days=HISTORY_DAYS)).isoformat()}T00:00:00Z"
    deferred = _fetch_all(sandbox, postedAfter=after, transactionStatus="DEFERRED")
    assert deferred.transactions
    assert {t["transactionStatus"] for t in deferred.transactions} == {"DEFERRED"}
    # The same as in the full listing, but for what became visible or released in between.
    before = {
        t["transactionId"]: t
        for t in everything.transactions
        if t["transactionStatus"] == "DEFERRED"
    }
    now = {t["transactionId"]: t for t in deferred.transactions}
    assert all(
        _posted(t) + timedelta(days=7) <= deferred.ended for i, t in before.items() if i not in now
    )
    assert all(
        _posted(t) > everything.started - timedelta(hours=48)
        for i, t in now.items()
        if i not in before
    )
    assert len(set(before) & set(now)) > 0.9 * len(before)

    canada = _fetch_all(
        sandbox,
        postedAfter=f"{(TODAY - timedelta(days=40)).isoformat()}T00:00:00Z",
        marketplaceId=CA.marketplace_id,
    )
    assert canada.transactions
    assert {t["marketplaceDetails"]["marketplaceId"] for t in canada.transactions} == {
        CA.marketplace_id
    }
    assert {t["totalAmount"]["currencyCode"] for t in canada.transactions} == {"CAD"}


def test_related_identifier_filters(sandbox: RunningSandbox, everything: Fetched) -> None:
    # A settled refund: its order's transactions are all long visible, their status final.
    refund = next(
        t
        for t in everything.transactions
        if t["transactionType"] == "Refund" and _identifier(t, "SETTLEMENT_ID")
    )
    order_id = _identifier(refund, "ORDER_ID")
    same_order = [t for t in everything.transactions if _identifier(t, "ORDER_ID") == order_id]
    found = _fetch_all(sandbox, relatedIdentifierName="ORDER_ID", relatedIdentifierValue=order_id)
    assert {t["transactionType"] for t in found.transactions} >= {"Shipment", "Refund"}
    assert found.transactions == same_order  # same ids, same content: ids are stable

    group = _identifier(refund, "FINANCIAL_EVENT_GROUP_ID")
    in_group = _fetch_all(
        sandbox, relatedIdentifierName="FINANCIAL_EVENT_GROUP_ID", relatedIdentifierValue=group
    )
    assert [t["transactionId"] for t in in_group.transactions] == [
        t["transactionId"]
        for t in everything.transactions
        if _identifier(t, "FINANCIAL_EVENT_GROUP_ID") == group
    ]


def test_rate_limit_is_half_a_request_per_second_burst_ten() -> None:
    account = demo_account(seed=32, asins=2, days=30, today=TODAY)
    with start_sandbox(SandboxConfig(accounts=[account], speed_factor=1)) as paced:
        finances = _finances(paced)
        after = f"{(TODAY - timedelta(days=20)).isoformat()}T00:00:00Z"
        answers = []
        started = time.monotonic()
        with pytest.raises(SellingApiRequestThrottledException) as raised:
            for _ in range(20):
                answers.append(finances.list_transactions(postedAfter=after))
        # The burst of 10, plus what the bucket refilled at 0.5 a second meanwhile (a busy
        # machine can take seconds for ten answers).
        refilled = int((time.monotonic() - started) * 0.5)
        assert 10 <= len(answers) <= 10 + refilled and answers[0].rate_limit == "0.5"
        assert raised.value.amzn_code == "QuotaExceeded"

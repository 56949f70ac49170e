"""Finances API v2024-06-19 transactions: read in the settlement report's terms, to the cent."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from amzinsight.errors import ReportParseError
from amzinsight.ingest.sync import posted_range
from amzinsight.ingest.windows import DateWindow
from amzinsight.reports import detect_report, finance_transactions
from amzinsight.reports.base import ParseContext

FIXTURES = Path(__file__).parents[1] / "fixtures" / "amazon_files"
FIXTURE = FIXTURES / "finances_list_transactions.json"
CONTEXT = ParseContext(
    marketplace_id="ATVPDKIKX0DER", currency="USD", time_zone="America/Los_Angeles"
)


def _parse(path: Path = FIXTURE) -> tuple[pl.DataFrame, pl.DataFrame, tuple[str, ...]]:
    parsed = finance_transactions.parse(path, CONTEXT)
    heads, lines = (part.frame for part in parsed.tables)
    return heads, lines, parsed.notes


def _write(tmp_path: Path, transactions: list[dict[str, object]]) -> Path:
    path = tmp_path / "transactions.json"
    path.write_text(json.dumps({"source": "listTransactions", "transactions": transactions}))
    return path


def test_a_shipment_becomes_the_settlement_lines_of_its_order() -> None:
    heads, lines, notes = _parse()
    shipment = lines.filter(pl.col("transaction_id").str.starts_with("lo6cQ55"))
    amounts = {
        (row["amount_type"], row["amount_description"]): row["amount"]
        for row in shipment.iter_rows(named=True)
    }
    assert amounts == {
        ("ItemPrice", "Tax"): Decimal("80.00"),
        ("ItemPrice", "ShippingTax"): Decimal("9.80"),
        ("ItemPrice", "Principal"): Decimal("320.00"),
        ("ItemPrice", "Shipping"): Decimal("39.20"),
        # A fee split into Base and Tax is one amount, as the settlement report writes it.
        ("ItemFees", "FBAPerUnitFulfillmentFee"): Decimal("-45.54"),
        ("ItemFees", "Commission"): Decimal("-60.00"),
        ("ItemFees", "ShippingChargeback"): Decimal("-49.00"),
    }
    assert sum(amounts.values()) == Decimal("294.46")
    assert set(shipment["transaction_type"]) == {"Order"}
    assert set(shipment["sku"]) == {"PSMM-TEST-SKU-Aug-29_08_03_14-0898"}
    assert set(shipment["quantity_purchased"]) == {1}
    assert set(shipment["settlement_id"]) == {"24188313021"}
    assert set(shipment["shipment_id"]) == {"14178712390725"}
    assert shipment["breakdown"].to_list()[0] == "Tax/OurPriceTax"
    head = heads.filter(pl.col("transaction_id").str.starts_with("lo6cQ55")).row(0, named=True)
    assert head["status"] == "RELEASED"  # Amazon's own example writes "Released"
    assert head["order_id"] == "931-0852306-5138236"
    assert head["event_group_id"] == "_fSsCZmGkBME7DCFtbqKLcDX-KB-M-5Pdr1NaefqCks"
    # 23:45 UTC is already the next day in Stockholm: dates stay the marketplace's.
    assert head["posted_date"] == date(2024, 1, 19)
    assert notes == ()


def test_every_transaction_s_lines_add_up_to_amazon_s_total() -> None:
    heads, lines, _ = _parse()
    per_transaction = lines.group_by("transaction_id").agg(pl.col("amount").sum())
    joined = heads.join(per_transaction, on="transaction_id")
    assert joined.height == heads.height == 4
    assert (joined["amount"] == joined["total_amount"]).all()


def test_fees_reimbursements_and_deferred_money_keep_their_own_names() -> None:
    heads, lines, _ = _parse()
    by_id = {row["transaction_id"]: row for row in lines.iter_rows(named=True)}
    reimbursement = by_id["r3imb-0001"]
    assert (reimbursement["amount_type"], reimbursement["amount"]) == (
        "FBAInventoryReimbursement",
        Decimal("6.22"),
    )
    assert (reimbursement["sku"], reimbursement["currency"]) == ("HMDPS10088", "GBP")
    storage = by_id["hbRTHEQNx5op6g0EA0znvXFhb-W9ILSxE5f6hiG-bXc"]
    assert (storage["transaction_type"], storage["amount_description"]) == (
        "ServiceFee",
        "FBAStorageBilling",
    )
    assert (storage["amount"], storage["currency"]) == (Decimal("-12609.00"), "JPY")
    deferred = heads.filter(pl.col("status") == "DEFERRED").row(0, named=True)
    assert deferred["maturity_at"] == datetime(2026, 12, 7, tzinfo=UTC)
    assert deferred["settlement_id"] is None
    assert set(lines.filter(pl.col("transaction_id") == "d3ferred-us-0001")["status"]) == {
        "DEFERRED"
    }


def test_amounts_that_do_not_add_up_keep_the_difference_and_say_so(tmp_path: Path) -> None:
    transaction = {
        "transactionId": "t-1",
        "transactionType": "Refund",
        "description": "Refund Order",
        "postedDate": "2026-03-02T10:00:00Z",
        "totalAmount": {"currencyAmount": -20.0, "currencyCode": "USD"},
        "items": [
            {
                "totalAmount": {"currencyAmount": -18.0, "currencyCode": "USD"},
                "breakdowns": [
                    {
                        "breakdownType": "ProductCharges",
                        "breakdownAmount": {"currencyAmount": -18.0, "currencyCode": "USD"},
                    }
                ],
            }
        ],
    }
    _, lines, notes = _parse(_write(tmp_path, [transaction]))
    assert lines["amount"].to_list() == [Decimal("-18.00"), Decimal("-2.00")]
    assert lines["amount_type"].to_list() == ["ItemPrice", finance_transactions.UNITEMISED]
    assert set(lines["transaction_type"]) == {"Refund"}
    assert len(notes) == 1 and "Unitemised" in notes[0]


def test_the_same_transaction_on_two_pages_is_one_row_in_its_newer_state(tmp_path: Path) -> None:
    first = {
        "transactionId": "t-2",
        "transactionStatus": "DEFERRED",
        "postedDate": "2026-03-02T10:00:00Z",
        "totalAmount": {"currencyAmount": 5, "currencyCode": "USD"},
    }
    heads, lines, _ = _parse(_write(tmp_path, [first, {**first, "transactionStatus": "RELEASED"}]))
    assert heads["status"].to_list() == ["RELEASED"]
    assert lines.height == 1


@pytest.mark.parametrize(
    ("transaction", "message"),
    [
        ({"postedDate": "2026-03-02T10:00:00Z"}, "transactions[0]: transactionId is missing"),
        (
            {"transactionId": "x", "totalAmount": {"currencyAmount": "ten", "currencyCode": "USD"}},
            "transactions[0].totalAmount: currencyAmount 'ten' is not a number",
        ),
        (
            {"transactionId": "x", "postedDate": "yesterday"},
            "transactions[0].postedDate: 'yesterday' is not an ISO 8601 date-time",
        ),
    ],
)
def test_a_malformed_transaction_is_refused_with_where_it_is(
    tmp_path: Path, transaction: dict[str, object], message: str
) -> None:
    with pytest.raises(ReportParseError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _parse(_write(tmp_path, [transaction]))


def test_the_document_is_detected_by_its_source() -> None:
    assert detect_report(FIXTURE.read_bytes()[:65536]).key == "finance_transactions"


@pytest.mark.parametrize("zone", ["America/Los_Angeles", "Europe/Berlin", "Australia/Sydney"])
def test_a_window_of_local_days_never_spans_more_than_amazon_s_180_days(zone: str) -> None:
    """Beyond 180 days Amazon answers with nothing at all, not an error: a lost window."""
    days = 179  # the longest window of local days that stays within 180 days (DST adds an hour)
    assert finance_transactions.SPEC.max_window_days <= days
    far_future = datetime(2100, 1, 1, tzinfo=UTC)
    for offset in range(0, 366, 3):
        first = date(2026, 1, 1) + timedelta(days=offset)
        window = DateWindow(first, first + timedelta(days=days - 1))
        after, before = posted_range(zone, window, far_future)
        assert timedelta(days=days - 1) < before - after <= timedelta(days=180), window

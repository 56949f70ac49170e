"""Finance queries against real PostgreSQL: settlement reconciliation and breakdown on the fixture
settlement (expectations computed here from the TSV), profit per ASIN on rows built by hand (COGS
changing mid-range, missing COGS), and COGS entry and CSV import (all-or-nothing).
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.analytics.finance import (
    COGS_KNOWN,
    COGS_UNKNOWN,
    cogs_table,
    fees_per_unit,
    finance_kpis,
    missing_cogs,
    profit_by_asin,
    settlement_amounts_by_period,
    settlement_breakdown,
    settlement_reconciliation,
)
from amzinsight.analytics.metrics import store_metrics
from amzinsight.config import Settings
from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.edits.unit_costs import import_cogs_csv, save_cogs
from amzinsight.errors import ConfigError
from amzinsight.ingest.imports import import_file
from amzinsight.rules.settlements import AMAZON_FEES, CATEGORIES, REFUNDS
from amzinsight.runtime import Runtime, build_runtime
from amzinsight.stores import Store, add_store, get_store

pytestmark = [pytest.mark.postgres]

FIXTURES = Path(__file__).parents[1] / "fixtures"
NOW = datetime(2026, 3, 11, 20, 0, tzinfo=UTC)
US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"
FIXTURE_SETTLEMENT = "27519934021"


@pytest.fixture
def runtime(migrated_database_url: str, tmp_path: Path) -> Runtime:
    return build_runtime(Settings(database_url=migrated_database_url, data_dir=tmp_path / "data"))


@pytest.fixture
def brewlane(runtime: Runtime) -> Store:
    """The fixture store: its settlement, orders and listings (for the SKUs' ASINs)."""
    store = add_store(runtime.engine, slug="brewlane", name="Brewlane", country_codes=["US"])
    for name in ("settlement_v2.tsv", "all_orders.tsv", "merchant_listings.tsv"):
        outcome = import_file(runtime.engine, runtime.archive, store, FIXTURES / name, now=NOW)
        assert outcome.status == "succeeded", name
    return store


def settlement_rows() -> tuple[dict[str, str], list[dict[str, str]]]:
    with (FIXTURES / "settlement_v2.tsv").open(encoding="utf-8", newline="") as handle:
        summary, *lines = csv.DictReader(handle, delimiter="\t")
    return summary, lines


def total(lines: list[dict[str, str]]) -> Decimal:
    return sum((Decimal(line["amount"]) for line in lines), Decimal(0))


# --- settlements ---------------------------------------------------------------------------------


def test_the_fixture_settlement_reconciles_to_the_cent(runtime: Runtime, brewlane: Store) -> None:
    summary, lines = settlement_rows()

    frame = settlement_reconciliation(
        runtime.engine, brewlane.id, date(2026, 3, 19), date(2026, 3, 19)
    )

    (row,) = frame.to_dicts()
    assert row["settlement_id"] == FIXTURE_SETTLEMENT
    assert row["currency"] == "USD"
    assert row["total_amount"] == Decimal(summary["total-amount"]) == Decimal("6.45")
    assert row["lines_sum"] == total(lines) == Decimal("6.45")
    assert row["line_count"] == len(lines) == 30
    assert row["difference"] == Decimal("0.00")
    assert row["reconciles"] is True
    assert row["deposited_in_range"] is True
    assert row["settlement_start"] == datetime(2026, 3, 3, 18, 31, 9, tzinfo=UTC)
    assert row["deposit_date"] == datetime(2026, 3, 19, 18, 31, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "listed", "deposited"),
    [
        (date(2026, 3, 1), date(2026, 3, 31), True, True),
        (date(2026, 3, 3), date(2026, 3, 17), True, False),  # the period, not the deposit
        (date(2026, 3, 18), date(2026, 3, 18), True, False),  # closed, not yet paid out
        (date(2026, 3, 1), date(2026, 3, 2), False, False),
        (date(2026, 3, 20), date(2026, 3, 31), False, False),
    ],
)
def test_settlements_overlapping_the_range_and_those_deposited_in_it_as_metrics_lists(
    runtime: Runtime, brewlane: Store, start: date, end: date, listed: bool, deposited: bool
) -> None:
    frame = settlement_reconciliation(runtime.engine, brewlane.id, start, end)

    assert frame["settlement_id"].to_list() == ([FIXTURE_SETTLEMENT] if listed else [])
    assert frame.filter("deposited_in_range")["settlement_id"].to_list() == (
        [FIXTURE_SETTLEMENT] if deposited else []
    )
    metrics = store_metrics(runtime.engine, brewlane, start, end)["settlements"]
    assert [s["settlement_id"] for s in metrics] == frame.filter("deposited_in_range")[
        "settlement_id"
    ].to_list()


def insert_settlement(
    engine: Engine,
    store_id: int,
    settlement_id: str,
    total_amount: str,
    amounts: list[str],
    currency: str = "USD",
    deposit: datetime = datetime(2026, 4, 16, 9, 0, tzinfo=UTC),
) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.insert(tables.settlements).values(
                store_id=store_id,
                settlement_id=settlement_id,
                settlement_start=datetime(2026, 4, 1, 9, 0, tzinfo=UTC),
                settlement_end=datetime(2026, 4, 14, 9, 0, tzinfo=UTC),
                deposit_date=deposit,
                total_amount=Decimal(total_amount),
                currency=currency,
                lines_total=sum((Decimal(a) for a in amounts), Decimal(0)),
                line_count=len(amounts),
            )
        )
        connection.execute(
            sa.insert(tables.settlement_lines),
            [
                {
                    "store_id": store_id,
                    "settlement_id": settlement_id,
                    "line_no": number,
                    "transaction_type": "Order",
                    "amount_type": "ItemPrice",
                    "amount_description": "Principal",
                    "amount": Decimal(amount),
                    "currency": currency,
                    "posted_date": date(2026, 4, 5),
                    "marketplace_name": "Amazon.com",
                    "sku": "SKU-1",
                    "quantity_purchased": 1,
                }
                for number, amount in enumerate(amounts, start=1)
            ],
        )


def test_a_settlement_whose_lines_do_not_add_up_shows_the_difference(
    runtime: Runtime,
) -> None:
    store = add_store(runtime.engine, slug="acme", name="Acme", country_codes=["US", "CA"])
    insert_settlement(runtime.engine, store.id, "S-OFF", "100.00", ["60.00", "39.99"])
    insert_settlement(runtime.engine, store.id, "S-OK", "12.50", ["20.00", "-7.50"])
    insert_settlement(runtime.engine, store.id, "S-CAD", "5.00", ["5.00"], currency="CAD")

    frame = settlement_reconciliation(
        runtime.engine, store.id, date(2026, 4, 1), date(2026, 4, 30), "USD"
    )

    rows = {row["settlement_id"]: row for row in frame.to_dicts()}
    assert set(rows) == {"S-OFF", "S-OK"}  # the CAD payout is another currency's
    assert rows["S-OFF"]["total_amount"] == Decimal("100.00")
    assert rows["S-OFF"]["lines_sum"] == Decimal("99.99")
    assert rows["S-OFF"]["difference"] == Decimal("-0.01")
    assert rows["S-OFF"]["reconciles"] is False
    assert rows["S-OK"]["difference"] == Decimal("0.00") and rows["S-OK"]["reconciles"] is True
    metrics = store_metrics(runtime.engine, store, date(2026, 4, 1), date(2026, 4, 30), US)
    assert {s["settlement_id"]: s["reconciled"] for s in metrics["settlements"]} == {
        "S-OFF": False,
        "S-OK": True,
    }
    both = settlement_reconciliation(runtime.engine, store.id, date(2026, 4, 1), date(2026, 4, 30))
    assert both.height == 3


# --- breakdown -----------------------------------------------------------------------------------


def test_breakdown_categories_sum_to_the_lines_total(runtime: Runtime, brewlane: Store) -> None:
    _, lines = settlement_rows()

    frame = settlement_breakdown(runtime.engine, brewlane.id, date(2026, 3, 1), date(2026, 3, 31))

    assert frame["amount"].sum() == total(lines) == Decimal("6.45")
    assert frame["lines"].sum() == len(lines)
    assert set(frame["category"]) <= set(CATEGORIES)
    by_category = {
        row["category"]: row["amount"]
        for row in frame.group_by("category").agg(pl.col("amount").sum()).to_dicts()
    }
    assert by_category == {
        "Principal": Decimal("146.94"),
        "Tax": Decimal("0.00"),
        "Promotions": Decimal("-1.80"),
        "Amazon fees": Decimal("-97.65"),  # ItemFees -49.80, storage -7.86, subscription -39.99
        "Refunds": Decimal("-35.19"),
        "Advertising": Decimal("-48.75"),
        "Reimbursements": Decimal("18.40"),
        "Reserves": Decimal("24.50"),
    }
    by_type = {
        row["transaction_type"]: row["amount"]
        for row in frame.group_by("transaction_type").agg(pl.col("amount").sum()).to_dicts()
    }
    expected_by_type: dict[str, Decimal] = {}
    for line in lines:
        kind = line["transaction-type"]
        expected_by_type[kind] = expected_by_type.get(kind, Decimal(0)) + Decimal(line["amount"])
    assert by_type == expected_by_type
    assert by_type["Order"] == Decimal("95.34")  # the README's totals


def test_breakdown_counts_lines_on_their_posted_date(runtime: Runtime, brewlane: Store) -> None:
    _, lines = settlement_rows()
    posted = [line for line in lines if line["posted-date"] in {"2026-03-10", "2026-03-11"}]

    frame = settlement_breakdown(runtime.engine, brewlane.id, date(2026, 3, 10), date(2026, 3, 11))

    assert frame["amount"].sum() == total(posted) == Decimal("95.34")
    assert settlement_breakdown(
        runtime.engine, brewlane.id, date(2026, 3, 1), date(2026, 3, 31), "CAD"
    ).is_empty()


@pytest.mark.parametrize("granularity", ["day", "week", "month"])
def test_amounts_by_period_add_up_to_the_breakdown(
    runtime: Runtime, brewlane: Store, granularity: str
) -> None:
    _, lines = settlement_rows()
    frame = settlement_amounts_by_period(
        runtime.engine, brewlane.id, date(2026, 3, 1), date(2026, 3, 31), granularity
    )
    assert frame["amount"].sum() == total(lines)
    periods = {
        "day": len({line["posted-date"] for line in lines}),
        "week": 3,  # Mondays 03-02, 03-09 and 03-16
        "month": 1,
    }
    assert frame["period"].n_unique() == periods[granularity]
    with pytest.raises(ConfigError, match="granularity"):
        settlement_amounts_by_period(
            runtime.engine, brewlane.id, date(2026, 3, 1), date(2026, 3, 31), "quarter"
        )


# --- fees per unit -------------------------------------------------------------------------------


def test_fees_per_unit_are_the_settled_fees_over_the_units_sold(
    runtime: Runtime, brewlane: Store
) -> None:
    _, lines = settlement_rows()
    expected: dict[str, dict[str, Decimal]] = {}
    for line in lines:
        if line["transaction-type"] != "Order":
            continue
        sku = expected.setdefault(line["sku"], {"fees": Decimal(0), "units": Decimal(0)})
        if line["amount-type"] == "ItemFees":
            sku["fees"] -= Decimal(line["amount"])
        if (line["amount-type"], line["amount-description"]) == ("ItemPrice", "Principal"):
            sku["units"] += int(line["quantity-purchased"])

    frame = fees_per_unit(runtime.engine, brewlane.id, (US,), date(2026, 3, 1), date(2026, 3, 31))

    rows = {row["sku"]: row for row in frame.to_dicts()}
    assert set(rows) == set(expected) == {"BL-KETTLE-1L-BLK", "BL-FILTER-100"}
    for sku, sums in expected.items():
        assert rows[sku]["amazon_fees"] == sums["fees"]
        assert rows[sku]["units_sold"] == sums["units"]
        assert rows[sku]["fees_per_unit"] == sums["fees"] / sums["units"]
    assert rows["BL-KETTLE-1L-BLK"]["fees_per_unit"] == Decimal("12.12")
    assert rows["BL-KETTLE-1L-BLK"]["asin"] == "B0FTK2M3L8"
    assert rows["BL-KETTLE-1L-BLK"]["referral_fees"] == Decimal("18.00")
    assert rows["BL-KETTLE-1L-BLK"]["fba_fees"] == Decimal("18.36")
    assert rows["BL-FILTER-100"]["fees_per_unit"] == Decimal("4.48")
    assert fees_per_unit(
        runtime.engine, brewlane.id, (US,), date(2026, 3, 12), date(2026, 3, 31)
    ).is_empty()  # only the refund's fee lines: refunds, not fees of units sold


# --- profit per ASIN -----------------------------------------------------------------------------

ASIN_A, ASIN_B = "B0AAAAAAAA", "B0BBBBBBBB"


def order(
    connection: sa.Connection,
    store_id: int,
    order_id: str,
    day: date,
    sku: str,
    asin: str,
    quantity: int,
    price: str,
    status: str = "Shipped",
    marketplace: str = US,
) -> None:
    currency = "USD" if marketplace == US else "CAD"
    connection.execute(
        sa.insert(tables.orders).values(
            store_id=store_id,
            amazon_order_id=order_id,
            marketplace_id=marketplace,
            purchase_date=datetime(day.year, day.month, day.day, 20, tzinfo=UTC),
            purchase_local_date=day,
            order_status=status,
            currency=currency,
        )
    )
    connection.execute(
        sa.insert(tables.order_items).values(
            store_id=store_id,
            amazon_order_id=order_id,
            sku=sku,
            asin=asin,
            quantity=quantity,
            item_price=Decimal(price),
            currency=currency,
        )
    )


def line(number: int, transaction: str, kind: str, description: str, amount: str) -> dict:
    return {
        "settlement_id": "S-1",
        "line_no": number,
        "transaction_type": transaction,
        "amount_type": kind,
        "amount_description": description,
        "amount": Decimal(amount),
        "currency": "USD",
        "marketplace_name": "Amazon.com",
        "posted_date": date(2026, 3, 4),
        "sku": "A-1",
        "quantity_purchased": 1,
    }


@pytest.fixture
def shop(migrated_database_url: str) -> tuple[Engine, Store]:
    """ASIN A (SKU A-1): 3 units for 30.00, fees, a refund and ads, its unit cost rising from 3.00
    to 4.50 on 2026-03-02; ASIN B (SKU B-1): 1 unit for 25.00 on 03-02, costed only from 03-05."""
    engine = get_engine(migrated_database_url)
    canada_fee = {
        **line(7, "Order", "ItemFees", "Commission", "-9.99"),
        "currency": "CAD",
        "marketplace_name": "Amazon.ca",
    }
    store = add_store(engine, slug="shop", name="Shop", country_codes=["US", "CA"])
    with engine.begin() as c:
        order(c, store.id, "O-1", date(2026, 3, 1), "A-1", ASIN_A, 2, "20.00")
        order(c, store.id, "O-2", date(2026, 3, 3), "A-1", ASIN_A, 1, "10.00")
        order(c, store.id, "O-3", date(2026, 3, 2), "B-1", ASIN_B, 1, "25.00")
        order(c, store.id, "O-4", date(2026, 3, 2), "B-1", ASIN_B, 0, "0", status="Cancelled")
        order(c, store.id, "O-5", date(2026, 3, 2), "A-1", ASIN_A, 4, "55.00", marketplace=CA)
        order(c, store.id, "O-6", date(2026, 2, 28), "A-1", ASIN_A, 9, "90.00")  # before
        c.execute(
            sa.insert(tables.settlement_lines).values(store_id=store.id),
            [
                line(1, "Order", "ItemPrice", "Principal", "30.00"),
                line(2, "Order", "ItemFees", "Commission", "-4.50"),
                line(3, "Order", "ItemFees", "FBAPerUnitFulfillmentFee", "-1.50"),
                line(4, "Refund", "ItemPrice", "Principal", "-10.00"),
                line(5, "Refund", "ItemFees", "Commission", "1.50"),
                line(6, "Refund", "ItemFees", "RefundCommission", "-0.30"),
                canada_fee,
            ],
        )
        c.execute(
            sa.insert(tables.ads_profiles).values(
                store_id=store.id, profile_id="P-US", marketplace_id=US, currency="USD"
            )
        )
        c.execute(
            sa.insert(tables.ads_advertised_product_daily).values(
                store_id=store.id,
                profile_id="P-US",
                report_date=date(2026, 3, 2),
                campaign_id="C",
                ad_group_id="G",
                ad_id="AD",
                advertised_asin=ASIN_A,
                advertised_sku="A-1",
                cost=Decimal("2.25"),
                currency="USD",
            )
        )
        c.execute(
            sa.insert(tables.cogs),
            [
                {
                    "store_id": store.id,
                    "sku": "A-1",
                    "effective_from": date(2026, 1, 1),
                    "unit_cost": Decimal("3.00"),
                    "currency": "USD",
                },
                {
                    "store_id": store.id,
                    "sku": "A-1",
                    "effective_from": date(2026, 3, 2),
                    "unit_cost": Decimal("4.50"),
                    "currency": "USD",
                },
                {
                    "store_id": store.id,
                    "sku": "B-1",
                    "effective_from": date(2026, 3, 5),
                    "unit_cost": Decimal("11.00"),
                    "currency": "USD",
                },
            ],
        )
    return engine, get_store(engine, "shop")


MARCH = (date(2026, 3, 1), date(2026, 3, 31))


def test_profit_uses_the_unit_cost_in_effect_on_each_sale_date(shop: tuple[Engine, Store]) -> None:
    engine, store = shop

    frame = profit_by_asin(engine, store.id, (US,), *MARCH)

    rows = {row["asin"]: row for row in frame.to_dicts()}
    assert set(rows) == {ASIN_A, ASIN_B}
    a = rows[ASIN_A]
    assert a["units_sold"] == 3 and a["sales"] == Decimal("30.00")
    assert a["amazon_fees"] == Decimal("6.00")  # the CAD commission is Canada's
    assert a["refunds"] == Decimal("8.80")  # 10.00 back to the buyer - 1.50 + 0.30 commission
    assert a["ad_spend"] == Decimal("2.25")
    assert a["cogs"] == Decimal("10.50")  # 2 x 3.00 on 03-01, 1 x 4.50 on 03-03
    assert a["profit"] == Decimal("30.00") - Decimal("6.00") - Decimal("8.80") - Decimal(
        "2.25"
    ) - Decimal("10.50")
    assert a["profit"] == Decimal("2.45")
    assert a["cogs_status"] == COGS_KNOWN and a["units_without_cogs"] == 0
    assert a["margin"] == pytest.approx(2.45 / 30)
    assert a["skus"] == "A-1" and a["currency"] == "USD"
    # the sales are the orders `metrics` counts
    metrics = store_metrics(engine, store, *MARCH, US)
    assert frame["sales"].sum() == Decimal(metrics["orders"]["item_price"])


def test_missing_cogs_makes_cogs_and_profit_unknown_not_zero(shop: tuple[Engine, Store]) -> None:
    engine, store = shop

    b = (
        profit_by_asin(engine, store.id, (US,), *MARCH)
        .filter(pl.col("asin") == ASIN_B)
        .row(0, named=True)
    )

    assert b["sales"] == Decimal("25.00")
    assert b["cogs"] is None and b["profit"] is None and b["margin"] is None
    assert b["cogs_status"] == COGS_UNKNOWN and b["units_without_cogs"] == 1
    missing = missing_cogs(engine, store.id, (US,), *MARCH).to_dicts()
    assert missing == [
        {
            "sku": "B-1",
            "asin": ASIN_B,
            "currency": "USD",
            "units_without_cogs": 1,
            "first_sale_date": date(2026, 3, 2),
        }
    ]
    kpis = finance_kpis(engine, store.id, (US,), *MARCH).row(0, named=True)
    assert kpis["profit_known"] == Decimal("2.45") and kpis["asins_cogs_unknown"] == 1
    assert kpis["amazon_fees"] == Decimal("6.00") and kpis["refunds"] == Decimal("8.80")

    assert save_cogs(
        engine,
        store.id,
        [{"sku": "B-1", "unit_cost": "9.75", "currency": "usd", "effective_from": "2026-03-01"}],
        actor="tester",
    )

    b = (
        profit_by_asin(engine, store.id, (US,), *MARCH)
        .filter(pl.col("asin") == ASIN_B)
        .row(0, named=True)
    )
    assert b["cogs"] == Decimal("9.75") and b["profit"] == Decimal("15.25")
    assert b["cogs_status"] == COGS_KNOWN
    assert missing_cogs(engine, store.id, (US,), *MARCH).is_empty()


def test_a_unit_cost_in_another_currency_is_not_used(shop: tuple[Engine, Store]) -> None:
    engine, store = shop
    save_cogs(
        engine,
        store.id,
        [{"sku": "B-1", "unit_cost": "9", "currency": "CAD", "effective_from": date(2026, 1, 1)}],
        actor="tester",
    )
    b = profit_by_asin(engine, store.id, (US,), *MARCH).filter(pl.col("asin") == ASIN_B)
    assert b["cogs_status"].to_list() == [COGS_UNKNOWN]


def test_profit_refuses_to_add_up_two_currencies(shop: tuple[Engine, Store]) -> None:
    engine, store = shop
    with pytest.raises(ConfigError, match="several currencies"):
        profit_by_asin(engine, store.id, (US, CA), *MARCH)
    assert profit_by_asin(engine, store.id, (), *MARCH).is_empty()


def test_profit_on_the_fixture_files(runtime: Runtime, brewlane: Store) -> None:
    """The kettle's settled fees and refund land on its ASIN; nothing is costed yet."""
    frame = profit_by_asin(runtime.engine, brewlane.id, (US,), date(2026, 3, 1), date(2026, 3, 31))
    kettle = frame.filter(pl.col("asin") == "B0FTK2M3L8").row(0, named=True)
    _, lines = settlement_rows()
    kettle_lines = [line for line in lines if line["sku"] == "BL-KETTLE-1L-BLK"]
    assert kettle["amazon_fees"] == -total(
        [
            x
            for x in kettle_lines
            if x["transaction-type"] == "Order" and x["amount-type"] == "ItemFees"
        ]
    )
    assert kettle["refunds"] == -total(
        [x for x in kettle_lines if x["transaction-type"] == "Refund"]
    )
    assert kettle["refunds"] == Decimal("35.19")
    assert set(frame["cogs_status"]) == {COGS_UNKNOWN}
    assert frame["profit"].null_count() == frame.height
    metrics = store_metrics(runtime.engine, brewlane, date(2026, 3, 1), date(2026, 3, 31))
    assert frame["sales"].sum() == Decimal(metrics["orders"]["item_price"])


# --- COGS entry ----------------------------------------------------------------------------------


def data_version(engine: Engine, store_id: int) -> int:
    with engine.connect() as connection:
        return connection.execute(
            sa.select(tables.stores.c.data_version).where(tables.stores.c.id == store_id)
        ).scalar_one()


def cogs_rows(engine: Engine, store_id: int) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                sa.select(
                    tables.cogs.c.sku,
                    tables.cogs.c.effective_from,
                    tables.cogs.c.unit_cost,
                    tables.cogs.c.currency,
                    tables.cogs.c.note,
                )
                .where(tables.cogs.c.store_id == store_id)
                .order_by(tables.cogs.c.sku, tables.cogs.c.effective_from)
            )
        ]


def test_csv_import_by_sku_and_by_asin(runtime: Runtime, brewlane: Store) -> None:
    before = data_version(runtime.engine, brewlane.id)
    content = (
        "\ufeffsku,asin,unit_cost,currency,effective_from,note\n"
        "BL-KETTLE-1L-BLK,,14.2500,USD,2026-01-01,first batch\n"
        "BL-KETTLE-1L-BLK,,15.10,USD,2026-03-11,\n"
        ',B0FTK4R2S6,1.05,usd,2026-01-01,"filters, 100"\n'
        "\n"
    ).encode()

    written = import_cogs_csv(runtime.engine, brewlane.id, content, actor="tester")

    # B0FTK4R2S6 is sold as BL-FILTER-100 (FBA) and BL-FILTER-100-MF (merchant): both get it
    assert written == 4
    assert cogs_rows(runtime.engine, brewlane.id) == [
        ("BL-FILTER-100", date(2026, 1, 1), Decimal("1.0500"), "USD", "filters, 100"),
        ("BL-FILTER-100-MF", date(2026, 1, 1), Decimal("1.0500"), "USD", "filters, 100"),
        ("BL-KETTLE-1L-BLK", date(2026, 1, 1), Decimal("14.2500"), "USD", "first batch"),
        ("BL-KETTLE-1L-BLK", date(2026, 3, 11), Decimal("15.1000"), "USD", None),
    ]
    assert data_version(runtime.engine, brewlane.id) == before + 1  # cached profit goes stale
    shown = cogs_table(runtime.engine, brewlane.id).to_dicts()
    kettle = [row for row in shown if row["sku"] == "BL-KETTLE-1L-BLK"]
    assert [(r["effective_from"], r["effective_until"]) for r in kettle] == [
        (date(2026, 1, 1), date(2026, 3, 10)),
        (date(2026, 3, 11), None),
    ]
    assert kettle[0]["asin"] == "B0FTK2M3L8"

    # the same file again updates in place
    assert import_cogs_csv(runtime.engine, brewlane.id, content, actor="tester") == 4
    assert len(cogs_rows(runtime.engine, brewlane.id)) == 4


@pytest.mark.parametrize(
    ("content", "messages"),
    [
        (
            "sku,unit_cost,currency,effective_from\n"
            "BL-SCALE-01,9.99,USD,2026-03-01\n"
            "BL-GRINDER-MAN,abc,USD,2026-03-01\n"
            "BL-GRINDER-ELC,12.00,USD,2026-02-30\n"
            "BL-KETTLE-1L-STL,12.00,XYZ,2026-03-01\n"
            "BL-FILTER-100,-1,USD,2026-03-01\n",
            [
                "line 3: unit_cost 'abc' is not a number",
                "line 4: effective_from '2026-02-30' is not a date",
                "line 5: currency 'XYZ'",
                "line 6: unit_cost -1 is negative",
            ],
        ),
        (
            "asin,unit_cost,currency,effective_from\nB0NOTSOLD1,1.00,USD,2026-03-01\n",
            ["line 2: ASIN B0NOTSOLD1 has no SKU in this store"],
        ),
        (
            "sku,unit_cost,currency,effective_from\n"
            "BL-SCALE-01,1.00,USD,2026-03-01\n"
            "BL-SCALE-01,1.20,USD,2026-03-01\n",
            ["line 3: SKU BL-SCALE-01 from 2026-03-01 is also on line 2"],
        ),
        (
            "sku,unit_cost,currency,effective_from\nBL-SCALE-01,1.00001,USD,2026-03-01\n",
            ["more than 4 decimal places"],
        ),
        ("sku,cost,currency\nBL-SCALE-01,1.00,USD\n", ["no unit_cost, effective_from column"]),
        ("", ["empty"]),
    ],
)
def test_a_bad_csv_changes_nothing_and_names_the_line(
    runtime: Runtime, brewlane: Store, content: str, messages: list[str]
) -> None:
    save_cogs(
        runtime.engine,
        brewlane.id,
        [{"sku": "BL-SCALE-01", "unit_cost": 8, "currency": "USD", "effective_from": "2026-01-01"}],
        actor="tester",
    )
    before = cogs_rows(runtime.engine, brewlane.id)
    version = data_version(runtime.engine, brewlane.id)

    with pytest.raises(ConfigError) as raised:
        import_cogs_csv(runtime.engine, brewlane.id, content.encode(), actor="tester")

    for message in messages:
        assert message in str(raised.value)
    assert cogs_rows(runtime.engine, brewlane.id) == before
    assert data_version(runtime.engine, brewlane.id) == version


def test_save_cogs_names_the_row_and_saves_nothing(runtime: Runtime, brewlane: Store) -> None:
    with pytest.raises(ConfigError, match="row 2: unit_cost is empty"):
        save_cogs(
            runtime.engine,
            brewlane.id,
            [
                {
                    "sku": "BL-SCALE-01",
                    "unit_cost": 1.5,
                    "currency": "USD",
                    "effective_from": date(2026, 3, 1),
                },
                {
                    "sku": "BL-GRINDER-MAN",
                    "unit_cost": float("nan"),
                    "currency": "USD",
                    "effective_from": date(2026, 3, 1),
                },
            ],
            actor="tester",
        )
    assert cogs_rows(runtime.engine, brewlane.id) == []


def test_fees_and_refund_kpis_come_from_the_breakdown(runtime: Runtime, brewlane: Store) -> None:
    kpis = finance_kpis(runtime.engine, brewlane.id, (US,), date(2026, 3, 1), date(2026, 3, 31))
    breakdown = settlement_breakdown(
        runtime.engine, brewlane.id, date(2026, 3, 1), date(2026, 3, 31), "USD"
    )
    row = kpis.row(0, named=True)
    assert row["deposits"] == Decimal("6.45") and row["settlements_deposited"] == 1
    assert row["settlements_reconciled"] == row["settlements_listed"] == 1
    assert (
        row["amazon_fees"] == -breakdown.filter(pl.col("category") == AMAZON_FEES)["amount"].sum()
    )
    assert row["amazon_fees"] == Decimal("97.65")
    assert row["refunds"] == -breakdown.filter(pl.col("category") == REFUNDS)["amount"].sum()
    assert row["profit_known"] is None  # no COGS: no profit claimed


# --- the demo store ------------------------------------------------------------------------------


def test_demo_store_settlements_match_metrics(demo_database_url: str) -> None:
    engine = get_engine(demo_database_url)
    store = get_store(engine, "demo")
    end = datetime.now(UTC).date()  # the sandbox demo's last day is UTC's today
    start = end - timedelta(days=59)
    for market in store.marketplaces:
        frame = settlement_reconciliation(engine, store.id, start, end, market.currency)
        metrics = store_metrics(engine, store, start, end, market.marketplace_id)["settlements"]
        deposited = frame.filter("deposited_in_range")
        assert metrics, market.marketplace_id  # the demo pays out every 14 days
        assert deposited["settlement_id"].to_list() == [s["settlement_id"] for s in metrics]
        assert deposited["reconciles"].to_list() == [s["reconciled"] for s in metrics]
        assert [str(v) for v in deposited["total_amount"]] == [s["total_amount"] for s in metrics]
        assert frame["reconciles"].all()  # the sandbox's totals are the sums of its lines

"""The Finance page through AppTest: an empty store, the synced demo store (its numbers equal the
finance queries and `metrics` for the same range), and COGS entered or imported turning an
unknown profit into a number.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from amzinsight.analytics.finance import (
    COGS_KNOWN,
    COGS_UNKNOWN,
    profit_by_asin,
    settlement_reconciliation,
)
from amzinsight.analytics.metrics import store_metrics
from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.rules.periods import date_range_for, local_today
from amzinsight.stores import Store, add_store, get_store
from app.components import as_text, format_money
from app.context import USER_INPUT_KEY

pytestmark = [pytest.mark.app, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "app" / "main.py")
PAGE = str(ROOT / "pages" / "finance.py")
US = "ATVPDKIKX0DER"


def finance_page() -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


TABLES = {  # a column only that table has (st.dataframe keys are not visible to AppTest)
    "settlements": "lines_sum",
    "profit": "cogs_status",
    "cogs": "effective_until",
}


def table(at: AppTest, name: str):  # -> pandas.DataFrame
    (found,) = [
        frame
        for frame in at.dataframe
        if frame.editing_mode == "read_only" and TABLES[name] in frame.value.columns
    ]
    return found.value


def metric(at: AppTest, label: str) -> str:
    (found,) = [m for m in at.metric if m.label == label]
    return found.value


@pytest.fixture
def app_database(
    migrated_database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)  # through the query cache, as in production
    return migrated_database_url


def test_an_empty_store_names_the_settlements_sync(app_database: str) -> None:
    add_store(get_engine(app_database), slug="acme_us", name="Acme US", country_codes=["US"])

    at = finance_page()

    assert [m.label for m in at.metric] == [
        "Deposits",
        "Amazon fees",
        "Refunds",
        "Profit (COGS known)",
    ]
    assert metric(at, "Profit (COGS known)") == "-"  # nothing known, so nothing claimed
    assert any("Settlements sync" in block.value for block in at.info)
    assert not at.warning


def test_the_demo_store_shows_its_settlements_as_the_queries_compute_them(
    demo_database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", demo_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    engine = get_engine(demo_database_url)
    store = get_store(engine, "demo")

    at = finance_page()

    market = store.marketplace(at.sidebar.selectbox(key="filters_marketplace").value)
    today = local_today(market.time_zone)
    shown_30 = expect_page_equals_queries(
        at, engine, store, market.marketplace_id, "Last 30 days", today
    )

    assert shown_30[0], "the demo store pays out every 14 days: 30 days hold a settlement"

    at.sidebar.selectbox(key="filters_preset").set_value("Last 7 days").run()
    assert not at.exception, [e.value for e in at.exception]
    shown_7 = expect_page_equals_queries(
        at, engine, store, market.marketplace_id, "Last 7 days", today
    )
    assert shown_7 != shown_30


def expect_page_equals_queries(
    at: AppTest, engine: Engine, store: Store, marketplace_id: str, preset: str, today: date
) -> tuple[list[str], str]:
    """What the page shows for the preset equals the queries and `metrics` for its range."""
    market = store.marketplace(marketplace_id)
    period = date_range_for(preset, today)
    expected = settlement_reconciliation(
        engine, store.id, period.start, period.end, market.currency
    )
    metrics = store_metrics(engine, store, period.start, period.end, marketplace_id)
    deposits = sum((Decimal(s["total_amount"]) for s in metrics["settlements"]), Decimal(0))
    assert metric(at, "Deposits") == format_money(deposits, market.currency)
    profit = profit_by_asin(engine, store.id, (marketplace_id,), period.start, period.end)
    shown_sales = sum((Decimal(str(v)) for v in table(at, "profit")["sales"]), Decimal(0))
    assert shown_sales == profit["sales"].sum()
    assert profit["sales"].sum() == Decimal(metrics["orders"]["item_price"])
    if expected.is_empty():
        assert any("No settlements" in block.value for block in at.info)
        return [], str(profit["sales"].sum())
    settlements = table(at, "settlements")
    assert list(settlements["settlement_id"]) == expected["settlement_id"].to_list()
    reconciled = int(expected["reconciles"].sum())
    assert any(
        f"{reconciled} of {expected.height} settlements reconcile" in caption.value
        for caption in at.caption
    )
    assert list(settlements["status"]).count("✅ Reconciles") == reconciled
    return list(settlements["settlement_id"]), str(profit["sales"].sum())


@pytest.fixture
def uncosted_store(app_database: str) -> Store:
    """Two SKUs sold three days ago (inside 'Last 30 days') and no unit cost for either."""
    engine = get_engine(app_database)
    store = add_store(engine, slug="acme_us", name="Acme US", country_codes=["US"])
    sold = local_today("America/Los_Angeles") - timedelta(days=3)
    with engine.begin() as connection:
        for number, (sku, asin, units, price) in enumerate(
            [("MUG-1", "B0MUG00001", 2, "30.00"), ("CUP-1", "B0CUP00001", 1, "12.00")]
        ):
            order_id = f"111-000000{number}-0000000"
            connection.execute(
                sa.insert(tables.orders).values(
                    store_id=store.id,
                    amazon_order_id=order_id,
                    marketplace_id=US,
                    purchase_date=datetime(sold.year, sold.month, sold.day, 20, tzinfo=UTC),
                    purchase_local_date=sold,
                    order_status="Shipped",
                    currency="USD",
                )
            )
            connection.execute(
                sa.insert(tables.order_items).values(
                    store_id=store.id,
                    amazon_order_id=order_id,
                    sku=sku,
                    asin=asin,
                    quantity=units,
                    item_price=Decimal(price),
                    currency="USD",
                )
            )
    return store


def profit_row(at: AppTest, asin: str) -> dict:
    frame = table(at, "profit")
    (row,) = frame[frame["asin"] == asin].to_dict("records")
    return row


def test_entering_a_unit_cost_turns_unknown_profit_into_a_number(uncosted_store: Store) -> None:
    at = finance_page()
    mug = profit_row(at, "B0MUG00001")
    assert mug["cogs_status"] == COGS_UNKNOWN
    assert mug["profit"] is None or mug["profit"] != mug["profit"]  # None or NaN
    assert any(COGS_UNKNOWN in block.value for block in at.warning)
    (editor,) = at.data_editor
    assert sorted(editor.value["sku"]) == ["CUP-1", "MUG-1"]
    mug_index = list(editor.value["sku"]).index("MUG-1")

    at.session_state["finance_cogs_editor"] = {
        "edited_rows": {mug_index: {"unit_cost": 11.5}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.sidebar.text_input(key=USER_INPUT_KEY).set_value("tester")  # changes need a name
    at.button(key="finance_cogs_save").click().run()

    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("Saved 1 unit cost" in block.value for block in at.success)
    mug = profit_row(at, "B0MUG00001")
    assert mug["cogs_status"] == COGS_KNOWN
    assert Decimal(str(mug["cogs"])) == Decimal("23.00")
    assert Decimal(str(mug["profit"])) == Decimal("7.00")  # 30.00 of sales - 2 x 11.50
    assert profit_row(at, "B0CUP00001")["cogs_status"] == COGS_UNKNOWN
    assert metric(at, "Profit (COGS known)") == "$7.00"
    assert list(at.data_editor[0].value["sku"]) == ["CUP-1"]


def test_importing_a_cogs_csv_turns_unknown_profit_into_a_number(uncosted_store: Store) -> None:
    at = finance_page()
    sold = local_today("America/Los_Angeles") - timedelta(days=3)

    bad = f"sku,unit_cost,currency,effective_from\nCUP-1,4.00,USD,{sold}\nMUG-1,x,USD,{sold}\n"
    at.file_uploader(key="finance_cogs_file").set_value(("cogs.csv", bad.encode(), "text/csv"))
    at.sidebar.text_input(key=USER_INPUT_KEY).set_value("tester")  # changes need a name
    at.run()
    at.button(key="finance_cogs_import").click().run()
    assert not at.exception, [e.value for e in at.exception]
    sentence = as_text("line 3: unit_cost 'x' is not a number")  # the error is shown as text
    assert any(sentence in block.value for block in at.error)
    assert profit_row(at, "B0CUP00001")["cogs_status"] == COGS_UNKNOWN  # nothing was saved

    good = f"asin,unit_cost,currency,effective_from\nB0CUP00001,4.00,USD,{sold - timedelta(1)}\n"
    at.file_uploader(key="finance_cogs_file").set_value(("cogs.csv", good.encode(), "text/csv"))
    at.run()
    at.button(key="finance_cogs_import").click().run()

    assert not at.exception, [e.value for e in at.exception]
    assert any("Imported 1 unit cost" in block.value for block in at.success)
    cup = profit_row(at, "B0CUP00001")
    assert cup["cogs_status"] == COGS_KNOWN
    assert Decimal(str(cup["profit"])) == Decimal("8.00")  # 12.00 - 4.00
    costs = table(at, "cogs")
    assert list(costs["sku"]) == ["CUP-1"]

"""The Inventory page through AppTest: no store, an empty store, the synced demo store, and
reorder settings edited and saved on a store built here (the demo database is read-only)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from amzinsight.analytics.inventory import inventory_position, position_summary
from amzinsight.analytics.metrics import store_metrics
from amzinsight.db.engine import get_engine
from amzinsight.db.tables import inventory_settings, inventory_snapshots, order_items, orders
from amzinsight.rules.periods import date_range_for, local_today
from amzinsight.stores import Store, add_store, get_store
from app.context import USER_INPUT_KEY

pytestmark = [pytest.mark.app, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "app" / "main.py")
PAGE = str(ROOT / "pages" / "inventory.py")
US = "ATVPDKIKX0DER"
KPI_LABELS = ["SKUs", "SKUs at risk", "Units available", "Units inbound", "Median days of cover"]


def _inventory_page() -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    _no_exception(at)
    return at


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _metrics(at: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def _positions(at: AppTest):
    """The SKU table (the first table on the page) as pandas."""
    return at.dataframe[0].value


@pytest.fixture
def app_env(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    return monkeypatch


def test_without_stores_the_page_says_how_to_add_one(
    migrated_database_url: str, app_env: pytest.MonkeyPatch
) -> None:
    app_env.setenv("AMZ_DATABASE_URL", migrated_database_url)
    at = _inventory_page()
    text = " ".join(block.value for block in at.info)
    assert "No stores yet" in text and "FBA inventory sync" in text
    assert not at.metric


def test_a_store_without_data_names_the_fba_inventory_sync(
    migrated_database_url: str, app_env: pytest.MonkeyPatch
) -> None:
    app_env.setenv("AMZ_DATABASE_URL", migrated_database_url)
    add_store(get_engine(migrated_database_url), slug="acme_us", name="Acme", country_codes=["US"])

    at = _inventory_page()

    text = " ".join(block.value for block in at.info)
    assert "No FBA inventory snapshot for this range yet" in text
    assert "FBA inventory sync" in text
    assert not at.metric and not at.dataframe
    # the store defaults can be set before the first sync
    assert at.number_input(key="inventory_default_lead_time_days").value == 30


@pytest.fixture
def demo_app(demo_database_url: str, app_env: pytest.MonkeyPatch) -> AppTest:
    """The demo store's Inventory page, through the Redis query cache like in production."""
    app_env.setenv("AMZ_DATABASE_URL", demo_database_url)
    return _inventory_page()


def _demo_position(demo_database_url: str, preset: str):
    """What the page should show for a preset: the query for the range the preset means today."""
    engine = get_engine(demo_database_url)
    demo = get_store(engine, "demo")
    place = demo.marketplace(US)
    today = local_today(place.time_zone)
    window = date_range_for(preset, today)
    as_of = min(window.end + timedelta(days=1), today)
    frame = inventory_position(engine, demo.id, (US,), as_of, window.days)
    return engine, demo, window, as_of, frame


def test_demo_store_shows_the_functions_figures(demo_app: AppTest, demo_database_url: str) -> None:
    at = demo_app
    assert at.sidebar.selectbox(key="filters_marketplace").value == US
    engine, demo, window, as_of, frame = _demo_position(demo_database_url, "Last 30 days")
    summary = position_summary(frame)
    assert summary.skus and summary.skus > 0

    metrics = _metrics(at)
    assert list(metrics) == KPI_LABELS
    assert metrics["SKUs"] == str(summary.skus)
    assert metrics["SKUs at risk"] == str(summary.at_risk)
    assert metrics["Units available"] == f"{summary.available:,}"
    assert metrics["Median days of cover"] == f"{summary.median_cover_days:,.2f}"
    # the CLI's metrics for a range ending on the same day agree
    inventory = store_metrics(engine, demo, window.start, as_of, US)["inventory"]
    assert metrics["SKUs"] == str(inventory["skus"])
    assert metrics["Units available"] == f"{inventory['fulfillable']:,}"
    assert metrics["Units inbound"] == f"{inventory['inbound']:,}"

    table = _positions(at)
    assert list(table["sku"]) == frame["sku"].to_list()
    assert list(table["restock_units"]) == frame["restock_units"].to_list()
    # shown as words in sentence case: "order now" -> "Order now"
    assert list(table["status"]) == [s[:1].upper() + s[1:] for s in frame["status"]]
    assert {b.label for b in at.button} >= {"Save store defaults"}
    assert any("snapshot of" in c.value and "(30 days)" in c.value for c in at.caption)


def test_demo_store_follows_the_date_range(demo_app: AppTest, demo_database_url: str) -> None:
    at = demo_app
    month = _positions(at)
    at.sidebar.selectbox(key="filters_preset").set_value("Last 7 days").run()
    _no_exception(at)

    *_, frame = _demo_position(demo_database_url, "Last 7 days")
    week = _positions(at)
    assert list(week["units_sold"]) == frame["units_sold"].to_list()
    assert list(week["velocity"]) == pytest.approx(frame["velocity"].to_list())
    assert list(week["units_sold"]) != list(month["units_sold"])  # 7 days sold less than 30
    assert any("(7 days)" in c.value for c in at.caption)


@pytest.fixture
def small_store(migrated_database_url: str, app_env: pytest.MonkeyPatch) -> Store:
    """One SKU: 100 available, 60 sold over the 30 days before today, always in stock."""
    app_env.setenv("AMZ_DATABASE_URL", migrated_database_url)
    engine = get_engine(migrated_database_url)
    store = add_store(engine, slug="acme_us", name="Acme", country_codes=["US"])
    today = local_today("America/Los_Angeles")
    with engine.begin() as connection:
        connection.execute(
            sa.insert(inventory_snapshots).values(
                store_id=store.id,
                marketplace_id=US,
                snapshot_date=today,
                sku="MUG-01",
                asin="B0MUG00001",
                product_name="Enamel mug",
                fulfillable_quantity=100,
                unfulfillable_quantity=2,
                your_price=Decimal("12.50"),
                currency="USD",
            )
        )
        for offset in range(1, 31):  # 2 a day from today - 30 to yesterday
            order_id = f"111-{offset:07d}"
            connection.execute(
                sa.insert(orders).values(
                    store_id=store.id,
                    amazon_order_id=order_id,
                    marketplace_id=US,
                    purchase_local_date=today - timedelta(days=offset),
                    order_status="Shipped",
                )
            )
            connection.execute(
                sa.insert(order_items).values(
                    store_id=store.id, amazon_order_id=order_id, sku="MUG-01", quantity=2
                )
            )
    return store


def _mug(at: AppTest) -> dict:
    table = _positions(at)
    return table[table["sku"] == "MUG-01"].iloc[0].to_dict()


def test_editing_a_sku_setting_changes_the_restock(small_store: Store) -> None:
    at = _inventory_page()
    mug = _mug(at)
    # velocity 2 a day, cover 50; policy 30 + 14 + 30 = 74 days: 148 - 100 = 48
    assert (mug["velocity"], mug["days_of_cover"], mug["restock_units"]) == (2.0, 50.0, 48)
    assert mug["status"] == "Reorder soon"
    assert list(at.data_editor(key="inventory_sku_settings").value["sku"]) == ["MUG-01"]

    at.session_state["inventory_sku_settings"] = {
        "edited_rows": {0: {"lead_time_days": 60}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.sidebar.text_input(key=USER_INPUT_KEY).set_value("tester")  # changes need a name
    at.run()
    at.button(key="inventory_save_sku_settings").click().run()
    _no_exception(at)

    assert any("Saved the SKU settings" in block.value for block in at.success)
    mug = _mug(at)
    # 60 + 14 + 30 = 104 days: 208 - 100 = 108, and cover 50 <= 74: order now
    assert (mug["lead_time_days"], mug["restock_units"], mug["status"]) == (60, 108, "Order now")
    assert at.data_editor(key="inventory_sku_settings").value["lead_time_days"][0] == 60
    assert _metrics(at)["SKUs at risk"] == "1"
    aging = at.dataframe[-1].value
    assert list(aging["issues"]) == ["2 unfulfillable"]


def test_store_defaults_form_saves_and_bad_values_show_an_error(
    small_store: Store, migrated_database_url: str
) -> None:
    at = _inventory_page()
    at.sidebar.text_input(key=USER_INPUT_KEY).set_value("tester")  # changes need a name
    at.number_input(key="inventory_default_safety_days").set_value(0)
    at.number_input(key="inventory_default_target_cover_days").set_value(10)
    next(b for b in at.button if b.label == "Save store defaults").click().run()
    _no_exception(at)
    assert any("Saved the store defaults" in block.value for block in at.success)
    mug = _mug(at)
    # 30 + 0 + 10 = 40 days: 80 - 100 < 0; cover 50 > 30 + 0 + 14: healthy
    assert (mug["safety_days"], mug["restock_units"], mug["status"]) == (0, 0, "Healthy")

    # the editor's bounds are only a hint: the save function refuses out-of-range values
    at.session_state["inventory_sku_settings"] = {
        "edited_rows": {0: {"lead_time_days": 0}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    at.button(key="inventory_save_sku_settings").click().run()
    _no_exception(at)
    assert any("lead time 0 is out of range" in block.value for block in at.error)
    with get_engine(migrated_database_url).connect() as connection:
        skus = connection.execute(sa.select(inventory_settings.c.sku)).scalars().all()
    assert skus == [""]  # the store defaults only
    assert _mug(at)["lead_time_days"] == 30

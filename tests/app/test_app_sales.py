"""The Sales page through AppTest: no store, a store without data, and the synced demo store."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from amzinsight.analytics.sales import sales_by_asin, sales_kpis
from amzinsight.db.engine import get_engine
from amzinsight.rules.periods import date_range_for, local_today
from amzinsight.stores import add_store, get_store
from app.components import format_money

pytestmark = [pytest.mark.app, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "app" / "main.py")
PAGE = str(ROOT / "pages" / "sales.py")
KPI_LABELS = [
    "Ordered product sales",
    "Units ordered",
    "Sessions",
    "Page views",
    "Unit session %",
    "Buy Box %",
]


def _sales_page() -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def demo_app(demo_database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The demo store's Sales page, through the Redis query cache like in production."""
    monkeypatch.setenv("AMZ_DATABASE_URL", demo_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    return _sales_page()


def _expected_sales(demo_database_url: str, market: str, preset: str) -> str:
    """The sales tile's text, from the query function for the range the preset means today."""
    engine = get_engine(demo_database_url)
    demo = get_store(engine, "demo")
    place = demo.marketplace(market)
    window = date_range_for(preset, local_today(place.time_zone))
    kpis = sales_kpis(engine, demo.id, (market,), window.start, window.end)
    amount = kpis["ordered_product_sales"][0]
    assert isinstance(amount, Decimal) and amount > 0
    return format_money(amount, place.currency)


def test_without_stores_the_page_says_how_to_add_one(
    migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    at = _sales_page()
    text = " ".join(block.value for block in at.info)
    assert "No stores yet" in text and "Sales and traffic sync" in text
    assert not at.metric


def test_a_store_without_data_names_the_sync_that_fills_it(
    migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    add_store(get_engine(migrated_database_url), slug="acme_us", name="Acme", country_codes=["US"])

    at = _sales_page()

    text = " ".join(block.value for block in at.info)
    assert "No sales and traffic data for this range yet" in text
    assert "Sales and traffic sync" in text
    assert not at.metric and not at.dataframe and not at.error


def test_demo_store_shows_its_sales_kpis_charts_and_asins(
    demo_app: AppTest, demo_database_url: str
) -> None:
    at = demo_app
    market = at.sidebar.selectbox(key="filters_marketplace").value

    assert [metric.label for metric in at.metric] == KPI_LABELS
    assert at.metric[0].value == _expected_sales(demo_database_url, market, "Last 30 days")
    assert at.metric[0].delta  # against the previous 30 days, which are synced too
    assert at.metric[5].value.endswith("%")
    assert len(at.get("plotly_chart")) == 4

    engine = get_engine(demo_database_url)
    demo = get_store(engine, "demo")
    window = date_range_for("Last 30 days", local_today(demo.marketplace(market).time_zone))
    children = sales_by_asin(engine, demo.id, (market,), window.start, window.end)
    table = next(t.value for t in at.dataframe if "child_asin" in t.value.columns)
    assert list(table["child_asin"]) == children["child_asin"].to_list()
    assert "daily_sales" in table.columns and "currency" not in table.columns
    gainers_or_losers = [t.value for t in at.dataframe if "change" in t.value.columns]
    assert gainers_or_losers  # the demo's ASINs move between two 30-day periods
    # CSV and XLSX under every table: periods, ASINs and each movers table.
    assert len(at.get("download_button")) == 2 * (2 + len(gainers_or_losers))


def test_a_shorter_preset_changes_the_sales_shown(
    demo_app: AppTest, demo_database_url: str
) -> None:
    at = demo_app
    market = at.sidebar.selectbox(key="filters_marketplace").value
    thirty_days = at.metric[0].value

    at.sidebar.selectbox(key="filters_preset").set_value("Last 7 days").run()

    assert not at.exception, [e.value for e in at.exception]
    assert at.metric[0].value == _expected_sales(demo_database_url, market, "Last 7 days")
    assert at.metric[0].value != thirty_days


def test_parent_toggle_and_marketplace_change_what_is_listed(
    demo_app: AppTest, demo_database_url: str
) -> None:
    at = demo_app
    children = next(t.value for t in at.dataframe if "child_asin" in t.value.columns)

    at.toggle(key="sales_parent_asins").set_value(True).run()

    assert not at.exception, [e.value for e in at.exception]
    parents = next(t.value for t in at.dataframe if "children" in t.value.columns)
    assert "child_asin" not in parents.columns
    assert parents["children"].sum() == len(children)
    assert len(parents) < len(children)

    demo = get_store(get_engine(demo_database_url), "demo")
    canada = next(m.marketplace_id for m in demo.marketplaces if m.currency == "CAD")
    at.sidebar.selectbox(key="filters_marketplace").set_value(canada).run()

    assert not at.exception, [e.value for e in at.exception]
    assert at.metric[0].value.startswith("CA$")
    assert at.metric[0].value == _expected_sales(demo_database_url, canada, "Last 30 days")


def test_weeks_last_year_and_no_comparison(demo_app: AppTest) -> None:
    at = demo_app
    periods_by_day = next(t.value for t in at.dataframe if "days_reported" in t.value.columns)

    at.sidebar.button_group(key="filters_granularity").set_value("week").run()
    assert not at.exception, [e.value for e in at.exception]
    weeks = next(t.value for t in at.dataframe if "days_reported" in t.value.columns)
    assert 5 <= len(weeks) <= 6 < len(periods_by_day) == 30  # 30 days touch 5 or 6 weeks
    assert {day.weekday() for day in weeks["period"]} == {0}  # every week starts on Monday
    assert weeks["days_reported"].sum() == 30

    # The demo store has 60 days: a year back there is nothing to compare with.
    at.sidebar.selectbox(key="filters_comparison").set_value("Same period last year").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any(metric.delta for metric in at.metric)  # nothing to compare with
    assert any("No movers" in caption.value for caption in at.caption)

    at.sidebar.selectbox(key="filters_comparison").set_value("No comparison").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any(metric.delta for metric in at.metric)
    assert any("Choose a comparison" in caption.value for caption in at.caption)
    assert not [t for t in at.dataframe if "change" in t.value.columns]

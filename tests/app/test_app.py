"""The entry point and Home page render through AppTest, with no stores and with one store."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from amzinsight.db.engine import get_engine
from amzinsight.db.tables import ads_profiles, bid_recommendations, sync_runs
from amzinsight.reports import report_title
from amzinsight.stores import add_store
from app.components import as_text

pytestmark = [pytest.mark.app, pytest.mark.postgres]

NOW = datetime(2026, 11, 28, 6, 30, tzinfo=UTC)
ENTRY = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


@pytest.fixture
def app_database(migrated_database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    return migrated_database_url


def _run() -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_home_without_stores_explains_how_to_add_one(app_database: str) -> None:
    at = _run()
    text = " ".join(block.value for block in at.info)
    assert "No stores yet" in text
    assert "amzinsight store add" in text
    assert at.sidebar.selectbox(key="filters_preset").value == "Last 30 days"


def test_home_with_one_store_shows_its_freshness(app_database: str) -> None:
    engine = get_engine(app_database)
    store = add_store(engine, slug="acme_us", name="Acme US", country_codes=["US", "CA"])
    with engine.begin() as connection:
        connection.execute(
            sa.insert(sync_runs),
            [
                {
                    "store_id": store.id,
                    "source": "sp_api",
                    "report_type": "sales_traffic",
                    "status": "succeeded",
                    "rows_upserted": 31,
                    "window_start": date(2026, 10, 1),
                    "window_end": date(2026, 10, 31),
                    "started_at": NOW,
                    "finished_at": NOW,
                },
                {
                    "store_id": store.id,
                    "source": "sp_api",
                    "report_type": "orders",
                    "status": "failed",
                    "error": "Amazon answered FATAL for the report.",
                    "rows_upserted": None,
                    "window_start": date(2026, 11, 1),
                    "window_end": date(2026, 11, 27),
                    "started_at": NOW,
                    "finished_at": NOW,
                },
            ],
        )

    at = _run()

    assert at.sidebar.selectbox(key="filters_store").value == "acme_us"
    assert any("Acme US" in block.value for block in at.markdown)
    assert any(report_title("orders") in block.value for block in at.error)
    (table,) = at.dataframe
    frame = table.value
    assert sorted(frame["report_type"]) == sorted(map(report_title, ["orders", "sales_traffic"]))
    synced = frame[frame["report_type"] == report_title("sales_traffic")].iloc[0]
    assert synced["last_rows"] == 31
    assert str(synced["last_window_end"])[:10] == "2026-10-31"


def test_custom_date_range_is_offered(app_database: str) -> None:
    at = _run()
    at.sidebar.selectbox(key="filters_preset").set_value("Custom").run()
    assert not at.exception
    assert at.sidebar.date_input(key="filters_custom_range") is not None


@pytest.mark.redis
def test_sync_page_queues_once_and_shows_history(
    app_database: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis import Redis
    from rq import Queue

    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    engine = get_engine(app_database)
    store = add_store(engine, slug="acme_us", name="Acme US", country_codes=["US"])
    with engine.begin() as connection:
        connection.execute(
            sa.insert(sync_runs).values(
                store_id=store.id,
                source="upload",
                report_type="settlement",
                status="failed",
                error="settlement line 7: amount 'abc' is not a number",
                started_at=NOW,
                finished_at=NOW,
            )
        )
    at = _run()
    at.switch_page("../pages/sync.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(as_text("amount 'abc'") in block.value for block in at.error)

    at.button(key="sync_now_orders").click().run()
    at.button(key="sync_now_orders").click().run()

    queued = Queue("ingest", connection=Redis.from_url(redis_url)).get_job_ids()
    assert queued == ["plan-acme_us-orders-now"]
    history = at.dataframe[-1].value
    assert list(history["report_type"]) == [report_title("settlement")]


def test_advertising_page_renders_with_and_without_recommendations(app_database: str) -> None:
    engine = get_engine(app_database)
    store = add_store(engine, slug="acme_us", name="Acme US", country_codes=["US"])
    at = _run()
    at.switch_page("../pages/advertising.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No recommendations yet" in c.value for c in at.caption)
    assert [m.label for m in at.metric][:3] == ["Ad spend", "Ad sales (7-day)", "ACoS"]

    with engine.begin() as connection:
        # Recommendations show per marketplace: their profile is the US one.
        connection.execute(
            sa.insert(ads_profiles).values(
                store_id=store.id,
                profile_id="1",
                marketplace_id=store.marketplaces[0].marketplace_id,
                country_code="US",
                currency="USD",
            )
        )
        connection.execute(
            sa.insert(bid_recommendations).values(
                store_id=store.id,
                profile_id="1",
                kind="negative",
                entity_id="t1",
                generated_for=date(2026, 11, 27),
                campaign_id="c1",
                ad_group_id="g1",
                search_term="cheap board",
                match_type="NEGATIVE_EXACT",
                currency="USD",
                reason="no orders from 15 clicks and $6.00 spend",
                status="proposed",
            )
        )
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert list(table["target"]) == ["cheap board"]  # a negative targets its search term
    assert list(table["reason"]) == ["no orders from 15 clicks and $6.00 spend"]


def _stores_in_two_regions(database_url: str) -> None:
    engine = get_engine(database_url)
    add_store(engine, slug="acme_us", name="Acme US", country_codes=["US", "CA"])
    add_store(engine, slug="acme_eu", name="Acme EU", country_codes=["DE", "FR"], region="eu")


def _url_app(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_a_bookmarked_url_opens_the_same_filters(app_database: str) -> None:
    _stores_in_two_regions(app_database)
    bookmark = {
        "store": "acme_us",
        "market": "CA",
        "range": "custom",
        "from": "2026-10-01",
        "to": "2026-10-31",
        "grain": "week",
        "compare": "last-year",
    }
    at = _url_app(bookmark)
    sidebar = at.sidebar
    assert sidebar.selectbox(key="filters_store").value == "acme_us"
    assert sidebar.selectbox(key="filters_marketplace").value == "A2EUQ1WTGCTBG2"  # amazon.ca
    assert sidebar.selectbox(key="filters_preset").value == "Custom"
    assert sidebar.date_input(key="filters_custom_range").value == (
        date(2026, 10, 1),
        date(2026, 10, 31),
    )
    assert at.sidebar.button_group[0].value == "week"
    assert sidebar.selectbox(key="filters_comparison").value == "Same period last year"
    assert "vs 01 Oct 2025 - 31 Oct 2025" in [c.value for c in sidebar.caption]
    assert at.query_params == bookmark  # nothing to correct: the URL stays as it was
    assert not [w.value for w in at.warning if "Session State" in w.value]


def test_changing_a_filter_writes_the_url_and_a_reload_reads_it(app_database: str) -> None:
    _stores_in_two_regions(app_database)
    at = _url_app({})
    assert at.query_params == {
        "store": "acme_eu",
        "market": "DE",
        "range": "last-30-days",
        "grain": "day",
        "compare": "previous-period",
    }
    at.sidebar.selectbox(key="filters_store").set_value("acme_us").run()
    at.sidebar.selectbox(key="filters_preset").set_value("Month to date").run()
    at.sidebar.selectbox(key="filters_comparison").set_value("No comparison").run()
    at.sidebar.button_group[0].set_value("month").run()
    assert not at.exception
    written = dict(at.query_params)
    assert written == {
        "store": "acme_us",
        "market": "US",
        "range": "month-to-date",
        "grain": "month",
        "compare": "none",
    }
    at.sidebar.selectbox(key="filters_preset").set_value("Custom").run()
    at.sidebar.date_input(key="filters_custom_range").set_value(
        (date(2026, 9, 1), date(2026, 9, 30))
    ).run()
    assert (at.query_params["from"], at.query_params["to"]) == ("2026-09-01", "2026-09-30")

    reloaded = _url_app(dict(at.query_params))  # a new session on the same URL
    assert reloaded.sidebar.selectbox(key="filters_store").value == "acme_us"
    assert reloaded.sidebar.selectbox(key="filters_preset").value == "Custom"
    assert reloaded.sidebar.date_input(key="filters_custom_range").value == (
        date(2026, 9, 1),
        date(2026, 9, 30),
    )
    assert reloaded.sidebar.button_group[0].value == "month"
    assert reloaded.sidebar.selectbox(key="filters_comparison").value == "No comparison"
    assert reloaded.query_params == at.query_params


@pytest.mark.parametrize(
    "bad",
    [
        {"store": "nope", "market": "XX", "range": "fortnight", "grain": "year", "compare": "x"},
        {"store": "acme_eu", "market": "US", "range": "Last 30 days", "compare": ""},
        {"range": "custom", "from": "2026-10-31", "to": "2026-10-01"},  # reversed
        {"range": "custom", "from": "last week", "to": "2026-10-01"},
        {"range": "custom", "from": "1900-01-01", "to": "1900-01-31"},  # beyond the picker
    ],
)
def test_a_bad_value_in_the_url_falls_back_to_the_default(
    app_database: str, bad: dict[str, str]
) -> None:
    _stores_in_two_regions(app_database)
    at = _url_app(bad)
    sidebar = at.sidebar
    assert sidebar.selectbox(key="filters_store").value == "acme_eu"
    assert sidebar.selectbox(key="filters_marketplace").value == "A1PA6795UKMFR9"  # amazon.de
    assert sidebar.button_group[0].value == "day"
    assert sidebar.selectbox(key="filters_comparison").value == "Previous period"
    if bad.get("range") == "custom":
        assert sidebar.selectbox(key="filters_preset").value == "Custom"
        start, end = sidebar.date_input(key="filters_custom_range").value
        assert (end - start).days == 29  # the default: the last 30 days
    else:
        assert sidebar.selectbox(key="filters_preset").value == "Last 30 days"
        assert at.query_params["range"] == "last-30-days"  # the URL is corrected
    assert at.query_params["store"] == "acme_eu"
    assert at.query_params["market"] == "DE"

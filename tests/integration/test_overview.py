"""The Overview's KPIs equal `store_metrics`; its alerts fire on the rows that should raise them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from amzinsight.analytics.metrics import store_metrics
from amzinsight.analytics.overview import AlertPolicy, overview_alerts, overview_kpis
from amzinsight.db.engine import get_engine
from amzinsight.db.tables import (
    ads_campaign_daily,
    ads_profiles,
    inventory_snapshots,
    order_items,
    orders,
    settlements,
    sync_runs,
)
from amzinsight.rules.periods import date_range_for, local_today
from amzinsight.stores import add_store, get_store
from app.components import as_text, format_money

pytestmark = [pytest.mark.postgres]

US = "ATVPDKIKX0DER"
TODAY = date(2026, 3, 20)
ENTRY = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


def test_kpis_are_the_metrics_figures_on_the_demo_store(demo_database_url: str) -> None:
    engine = get_engine(demo_database_url)
    store = get_store(engine, "demo")
    span = date_range_for("Last 30 days", local_today("America/Los_Angeles"))
    row = overview_kpis(engine, store.id, US, span.start, span.end).row(0, named=True)
    metrics = store_metrics(engine, store, span.start, span.end, US)
    assert row["revenue"] == Decimal(metrics["sales"]["ordered_product_sales"]) > 0
    assert row["units"] == metrics["sales"]["units_ordered"] > 0
    assert row["sessions"] == metrics["sales"]["sessions"] > 0
    assert row["conversion"] == pytest.approx(metrics["sales"]["unit_session_percentage"] / 100)
    assert row["ad_spend"] == Decimal(metrics["ads"]["spend"]) > 0
    assert row["acos"] == metrics["ads"]["acos"]
    assert row["tacos"] == metrics["ads"]["tacos"]
    deposits = [Decimal(s["total_amount"]) for s in metrics["settlements"]]
    assert row["net_payout"] == (sum(deposits) if deposits else None)
    assert row["currency"] == "USD"


@pytest.fixture
def store_engine(migrated_database_url: str):
    engine = get_engine(migrated_database_url)
    store = add_store(engine, slug="acme_us", name="Acme US", country_codes=["US"])
    with engine.begin() as connection:
        connection.execute(
            sa.insert(ads_profiles).values(
                store_id=store.id, profile_id="111", marketplace_id=US, currency="USD"
            )
        )
    return engine, store


def _campaign_days(store_id: int, spend: str, sales: str, first: date, days: int) -> list[dict]:
    return [
        {
            "store_id": store_id,
            "profile_id": "111",
            "report_date": first + timedelta(days=i),
            "campaign_id": "c1",
            "ad_group_id": "",
            "impressions": 1000,
            "clicks": 10,
            "cost": Decimal(spend),
            "sales_7d": Decimal(sales),
            "purchases_7d": 1,
        }
        for i in range(days)
    ]


def test_an_empty_store_has_no_alerts_and_null_payout(store_engine) -> None:
    engine, store = store_engine
    assert overview_alerts(engine, store.id, US, TODAY).is_empty()
    row = overview_kpis(engine, store.id, US, TODAY - timedelta(days=6), TODAY).row(0, named=True)
    assert row["revenue"] == Decimal("0.00") and row["net_payout"] is None
    assert row["conversion"] is None and row["acos"] is None


def test_acos_spike_compares_the_last_week_with_the_four_before(store_engine) -> None:
    engine, store = store_engine
    baseline = _campaign_days(store.id, "10.00", "50.00", TODAY - timedelta(days=35), 28)  # 20%
    recent = _campaign_days(store.id, "10.00", "30.00", TODAY - timedelta(days=7), 7)  # 33.3%
    with engine.begin() as connection:
        connection.execute(sa.insert(ads_campaign_daily), baseline + recent)
    alerts = overview_alerts(engine, store.id, US, TODAY)
    assert alerts["kind"].to_list() == ["acos_spike"]
    assert "33.3%" in alerts["message"][0] and "20.0%" in alerts["message"][0]
    # 33.3% / 20% = 1.67: below a 1.7 ratio there is nothing to say
    calm = overview_alerts(engine, store.id, US, TODAY, AlertPolicy(acos_spike_ratio=1.7))
    assert calm.is_empty()
    # today's partial day and ad-group rows are not counted
    with engine.begin() as connection:
        connection.execute(
            sa.insert(ads_campaign_daily),
            [
                {**_campaign_days(store.id, "900", "0", TODAY, 1)[0]},
                {**_campaign_days(store.id, "900", "0", TODAY - timedelta(days=2), 1)[0],
                 "ad_group_id": "g1"},
            ],
        )  # fmt: skip
    assert overview_alerts(
        engine, store.id, US, TODAY, AlertPolicy(acos_spike_ratio=1.7)
    ).is_empty()


def test_spend_without_sales_is_an_alert(store_engine) -> None:
    engine, store = store_engine
    rows = _campaign_days(store.id, "10.00", "50.00", TODAY - timedelta(days=35), 28)
    rows += _campaign_days(store.id, "5.00", "0", TODAY - timedelta(days=7), 7)
    with engine.begin() as connection:
        connection.execute(sa.insert(ads_campaign_daily), rows)
    alerts = overview_alerts(engine, store.id, US, TODAY)
    assert alerts["message"].to_list() == ["Ads spent 35.00 USD in the last 7 days without a sale."]


def test_failed_syncs_and_unreconciled_settlements_are_alerts(store_engine) -> None:
    engine, store = store_engine
    now = datetime(2026, 3, 19, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(sync_runs).values(
                store_id=store.id,
                source="sp_api",
                report_type="orders",
                status="failed",
                error="Amazon answered FATAL for the report.",
                started_at=now,
                finished_at=now,
            )
        )
        settlement = {
            "store_id": store.id,
            "currency": "USD",
            "deposit_date": now,
            "settlement_start": now - timedelta(days=14),
            "settlement_end": now,
        }
        connection.execute(
            sa.insert(settlements),
            [
                {**settlement, "settlement_id": "S-OK", "total_amount": Decimal("100.00"),
                 "lines_total": Decimal("100.00")},
                {**settlement, "settlement_id": "S-BAD", "total_amount": Decimal("100.00"),
                 "lines_total": Decimal("99.99")},
                {**settlement, "settlement_id": "S-OLD", "total_amount": Decimal("5.00"),
                 "lines_total": None, "settlement_end": now - timedelta(days=200)},
            ],
        )  # fmt: skip
    alerts = overview_alerts(engine, store.id, US, TODAY)
    assert alerts["kind"].to_list() == ["failed_sync", "settlement_mismatch"]
    assert "FATAL" in alerts["message"][0]
    assert "S-BAD" in alerts["message"][1] and "99.99 USD" in alerts["message"][1]
    assert "Orders sync failed" in alerts["message"][0]  # the report's title, not its key


@pytest.mark.app
def test_the_overview_page_shows_the_metrics_figures(
    demo_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", demo_database_url)
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    engine = get_engine(demo_database_url)
    store = get_store(engine, "demo")

    def revenue_for(preset: str) -> str:
        span = date_range_for(preset, local_today("America/Los_Angeles"))
        sales = store_metrics(engine, store, span.start, span.end, US)["sales"]
        return format_money(Decimal(sales["ordered_product_sales"]), "USD")

    shown = {metric.label: metric.value for metric in at.metric}
    assert shown["Revenue"] == revenue_for("Last 30 days")
    assert shown["Revenue"] != "$0.00"
    assert at.metric[0].delta  # compared with the previous 30 days
    at.sidebar.selectbox(key="filters_preset").set_value("Last 7 days").run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Revenue"] == revenue_for("Last 7 days")
    at.sidebar.selectbox(key="filters_comparison").set_value("No comparison").run()
    assert not at.metric[0].delta


def test_a_sku_about_to_run_out_is_an_alert(store_engine) -> None:
    engine, store = store_engine
    with engine.begin() as connection:
        stock = {"KETTLE-1": 2, "MUG-1": 500}
        connection.execute(
            sa.insert(inventory_snapshots),
            [
                {
                    "store_id": store.id,
                    "marketplace_id": US,
                    "snapshot_date": TODAY - timedelta(days=1),
                    "sku": sku,
                    "asin": f"B00000000{n}",
                    "fulfillable_quantity": units,
                }
                for n, (sku, units) in enumerate(stock.items())
            ],
        )
        for day in range(10):
            order_id = f"111-{day}"
            connection.execute(
                sa.insert(orders).values(
                    store_id=store.id,
                    amazon_order_id=order_id,
                    marketplace_id=US,
                    purchase_local_date=TODAY - timedelta(days=day + 1),
                    order_status="Shipped",
                )
            )
            connection.execute(
                sa.insert(order_items),
                [
                    {"store_id": store.id, "amazon_order_id": order_id, "sku": sku, "asin": asin,
                     "line_no": 1, "quantity": 1}
                    for sku, asin in (("KETTLE-1", "B000000001"), ("MUG-1", "B000000002"))
                ],
            )  # fmt: skip
    alerts = overview_alerts(engine, store.id, US, TODAY)
    # 10 units in 30 days, 2 in stock: 6 days of cover, inside 30 days' lead time + 14 safety
    assert alerts["kind"].to_list() == ["stockout_risk"]
    assert alerts["message"][0] == "1 SKU(s) should be reordered now: KETTLE-1."


# --- failed runs: an alert lasts while its cause does ---------------------------------------------

CA = "A2EUQ1WTGCTBG2"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _run(engine, store_id: int, report: str, status: str, at: datetime, **values) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.insert(sync_runs).values(
                store_id=store_id,
                source=values.pop("source", "sp_api"),
                report_type=report,
                status=status,
                error="Amazon answered FATAL." if status == "failed" else None,
                started_at=at,
                finished_at=at,
                **values,
            )
        )


def test_a_failed_sync_alerts_until_a_later_run_of_that_report_and_marketplace_succeeds(
    migrated_database_url: str,
) -> None:
    engine = get_engine(migrated_database_url)
    store = add_store(engine, slug="two", name="Two", country_codes=["US", "CA"])
    now = datetime(2026, 3, 19, 8, tzinfo=UTC)
    _run(engine, store.id, "sales_traffic", "succeeded", now - timedelta(days=2), marketplace_id=US)
    _run(engine, store.id, "sales_traffic", "failed", now - timedelta(hours=2), marketplace_id=US)
    kinds = overview_alerts(engine, store.id, US, TODAY)["message"].to_list()
    assert kinds == ["The latest Sales and Traffic sync (US) failed: Amazon answered FATAL."]
    # Canada's success says nothing about the US report.
    _run(
        engine, store.id, "sales_traffic", "succeeded", now - timedelta(hours=1), marketplace_id=CA
    )
    assert overview_alerts(engine, store.id, US, TODAY).height == 1
    # A later US success clears it, whatever brought it (here an import of the report).
    _run(engine, store.id, "sales_traffic", "succeeded", now, marketplace_id=US, source="upload")
    assert overview_alerts(engine, store.id, US, TODAY).is_empty()
    # Running and cancelled runs are no outcome: they neither raise nor clear an alert.
    _run(engine, store.id, "orders", "failed", now)
    _run(engine, store.id, "orders", "cancelled", now + timedelta(minutes=1))
    assert overview_alerts(engine, store.id, US, TODAY)["kind"].to_list() == ["failed_sync"]


def test_a_refused_import_alerts_for_a_week_or_until_an_import_succeeds(
    migrated_database_url: str, tmp_path: Path
) -> None:
    from amzinsight.config import Settings
    from amzinsight.errors import ReportParseError
    from amzinsight.ingest.imports import import_file
    from amzinsight.runtime import build_runtime

    runtime = build_runtime(Settings(database_url=migrated_database_url, data_dir=tmp_path))
    engine = runtime.engine
    store = add_store(engine, slug="junk", name="Junk", country_codes=["US"])
    junk = tmp_path / "holiday-photos.txt"
    junk.write_text("not a report at all\n")
    with pytest.raises(ReportParseError):
        import_file(engine, runtime.archive, store, junk)
    today = datetime.now(UTC).date()

    alerts = overview_alerts(engine, store.id, US, today)
    assert alerts["kind"].to_list() == ["failed_import"]
    assert alerts["severity"][0] == "warning"
    assert alerts["message"][0].startswith(f"Importing a file failed on {today:%d %b %Y}: ")
    # It expires: eight days later the junk file is no longer news.
    assert overview_alerts(engine, store.id, US, today + timedelta(days=8)).is_empty()
    assert (
        overview_alerts(
            engine, store.id, US, today + timedelta(days=8), AlertPolicy(failed_import_days=30)
        ).height
        == 1
    )
    # And a later successful import clears it at once.
    import_file(engine, runtime.archive, store, FIXTURES / "product_ratings.csv")
    assert overview_alerts(engine, store.id, US, today).is_empty()


@pytest.mark.app
def test_the_overview_alert_goes_once_a_later_run_succeeds(
    migrated_database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the Redis cache: a run that changes no rows (no new data version) still counts."""
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    engine = get_engine(migrated_database_url)
    store = add_store(engine, slug="acme_us", name="Acme US", country_codes=["US"])
    now = datetime.now(UTC)
    _run(engine, store.id, "orders", "failed", now - timedelta(minutes=5))
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    # The alert quotes the run's error, shown as text (app.components.as_text escapes Markdown).
    alert = as_text("The latest Orders sync failed: Amazon answered FATAL.")
    assert [e.value for e in at.error] == [alert]

    _run(engine, store.id, "orders", "succeeded", now, rows_upserted=0)
    at.run()
    assert not at.exception and not at.error
    assert any("Nothing needs attention" in s.value for s in at.success)

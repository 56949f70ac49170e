"""The sync plan: what a sync fetches, in how many calls to Amazon, and when it can be done,
computed from the database alone (slots other jobs hold on Amazon's meter included), and
printed by `amzinsight sync` before it starts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sp_api.auth.access_token_client as access_token_client
import sqlalchemy as sa
from amzinsight_sandbox import RunningSandbox, SandboxConfig, demo_account, start_sandbox

from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.ingest.meter import reserve
from amzinsight.ingest.plan_summary import about, clock, plan_lines
from amzinsight.ingest.sync import plan_tasks
from amzinsight.reports import get_report, report_title
from amzinsight.rules.meter import SALES_TRAFFIC_METER, meter_key
from amzinsight.rules.periods import local_today
from amzinsight.runtime import Runtime
from amzinsight.stores import Store, add_store
from launcher.cli import main as cli_main
from tests.integration.sandbox_stores import sandbox_runtime, sandbox_store

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # 04:00 in Los Angeles: today is 3 December
APPLICATION = "amzn1.application-oa2-client.plan"
US = "ATVPDKIKX0DER"


def test_durations_and_clock_times_are_rounded_up() -> None:
    assert about(30) == "under a minute"
    assert about(16 * 60) == "about 20 min"
    assert about(40 * 60) == "about 40 min"
    assert about(61 * 60) == "about 1 h 30 min"
    assert about(26 * 3600) == "about 26 h"
    assert about(7.2 * 86400) == "about 8 days"
    assert clock(NOW + timedelta(minutes=14, seconds=1), NOW) == "12:15 UTC"
    assert clock(NOW + timedelta(days=2), NOW) == "2026-12-05 12:00 UTC"


def _store_selling(engine: sa.Engine, asins: int) -> Store:
    store = add_store(engine, slug="planned", name="Planned", country_codes=["US"])
    with engine.begin() as connection:
        if asins:
            connection.execute(
                sa.insert(tables.listings),
                [
                    {
                        "store_id": store.id,
                        "marketplace_id": US,
                        "sku": f"S{n}",
                        "asin": f"B0{n:08}",
                    }
                    for n in range(asins)
                ],
            )
    return store


def test_the_plan_counts_queries_per_known_asin_and_waits_behind_reserved_slots(
    migrated_database_url: str,
) -> None:
    engine = get_engine(migrated_database_url)
    store = _store_selling(engine, asins=36)  # two trends queries a window (30 ASINs each)
    meter = SALES_TRAFFIC_METER
    key = meter_key(meter, APPLICATION)
    reserve(engine, meter, key, "a scheduled window", store.id, NOW)  # used now
    reserve(engine, meter, key, "a waiting window", store.id, NOW)  # held for 12:15
    tasks = [
        task
        for report in ("sales_traffic", "sales_traffic_history", "orders", "listings")
        for task in plan_tasks(engine, store, get_report(report), 730, now=NOW)
    ]

    lines = plan_lines(engine, store, tasks, meter, APPLICATION, NOW)

    metered, history, orders, listings = lines
    # The report loads the last 3 days, after the two held slots: 12:30, 12:45, 13:00.
    assert (metered.what, metered.calls) == ("3 days 2026-11-30..2026-12-02", 3)
    assert metered.done_by == NOW + timedelta(hours=1)
    assert metered.eta == "the last at 13:00 UTC (about 1 h from now)"
    assert metered.line == (
        f"{report_title('sales_traffic')}: 3 days 2026-11-30..2026-12-02: 3 report requests "
        "(Amazon's meter: one every 15 minutes, 96 a day), the last at 13:00 UTC (about 1 h "
        "from now)"
    )
    # Data Kiosk: two windows (365 + 361 days), each 1 by-date + 1 ASIN list + 2 trends queries.
    assert history.what == "726 days 2024-12-04..2026-11-29 in 2 windows"
    assert history.calls == 8
    assert history.calls_label == "8 Data Kiosk queries (36 known ASINs)"
    assert history.eta == "about 20 min"  # 8 x 2 minutes, rounded up to 5 minutes
    # Orders: 730 days through today in 30-day windows; 15 go at once, then one a minute.
    assert (orders.what, orders.calls) == ("730 days 2024-12-04..2026-12-03 in 25 windows", 25)
    assert orders.eta == "about 10 min (Amazon takes about one a minute)"
    assert (listings.what, listings.calls, listings.eta) == (
        "today's snapshot",
        1,
        "within minutes",
    )
    with engine.connect() as connection:  # planning reserved nothing
        count = connection.execute(sa.select(sa.func.count()).select_from(tables.api_meter_slots))
        assert count.scalar() == 2


def test_one_report_under_a_busy_meter_says_when_it_goes(migrated_database_url: str) -> None:
    engine = get_engine(migrated_database_url)
    store = _store_selling(engine, asins=0)
    meter = SALES_TRAFFIC_METER
    key = meter_key(meter, APPLICATION)
    reserve(engine, meter, key, "another store's window", store.id, NOW)
    task = plan_tasks(engine, store, get_report("sales_traffic"), 730, now=NOW)[0]
    (kiosk, *_) = plan_tasks(engine, store, get_report("sales_traffic_history"), 730, now=NOW)

    # Without the credentials (the page's process), the meter the store used last counts.
    metered, history = plan_lines(engine, store, [task, kiosk], meter, None, NOW)

    assert metered.eta == "next report at 12:15 UTC"
    assert history.calls_label == "at least 2 Data Kiosk queries (no ASINs known yet)"


# --- the CLI ---------------------------------------------------------------------------------

ACCOUNT = demo_account(asins=4, days=20)
SPEED = 1000


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    config = SandboxConfig(accounts=[ACCOUNT], processing_delay_seconds=0.05, speed_factor=SPEED)
    with start_sandbox(config) as running:
        yield running
    access_token_client.cache.clear()  # its tokens would be refused by a later test's sandbox


@pytest.fixture
def runtime(
    sandbox: RunningSandbox,
    migrated_database_url: str,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Runtime:
    monkeypatch.setenv("AMZ_SYNC_METER_SPEED", str(SPEED))
    monkeypatch.setenv("AMZ_SYNC_INITIAL_DAYS", "10")
    return sandbox_runtime(sandbox, ACCOUNT, migrated_database_url, monkeypatch)


@pytest.mark.s3
def test_the_cli_prints_the_plan_before_it_syncs(
    runtime: Runtime, sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    from amzinsight.config import get_settings

    get_settings.cache_clear()
    store = sandbox_store(runtime, sandbox, ACCOUNT, ["US"])
    yesterday = local_today(store.marketplaces[0].time_zone) - timedelta(days=1)

    exit_code = cli_main(
        ["sync", store.slug, "--report", "sales_traffic", "--report", "sales_traffic_history"]
    )

    out = capsys.readouterr().out.splitlines()
    assert exit_code == 0
    summary, metered, history = out[:3]
    assert summary == "plan: 4 windows of 2 report types, about 5 calls to Amazon"
    assert metered.startswith(
        f"  Sales and Traffic: 3 days {yesterday - timedelta(days=2)}..{yesterday}: 3 report "
        "requests (Amazon's meter: one every 0.9 seconds, 96 a day), "
    )
    first_history_day = yesterday - timedelta(days=9)
    assert history == (
        f"  Sales and Traffic history (Data Kiosk): 7 days {first_history_day}.."
        f"{yesterday - timedelta(days=3)}: at least 2 Data Kiosk queries (no ASINs known yet), "
        "under a minute"
    )
    assert any("windows synced" in line for line in out[3:])


def test_finances_pages_are_guessed_from_the_store_s_own_orders(
    migrated_database_url: str,
) -> None:
    engine = get_engine(migrated_database_url)
    store = _store_selling(engine, asins=0)
    finances = get_report("finance_transactions")
    tasks = plan_tasks(engine, store, finances, 730, now=NOW)
    (unknown,) = plan_lines(engine, store, tasks, SALES_TRAFFIC_METER, APPLICATION, NOW)
    assert unknown.calls == len(tasks) == 25  # 30-day windows
    assert unknown.calls_label == "at least 25 Finances listings (no orders known yet)"

    # 600 order lines over the 30 latest days: 20 a day, 730 days -> 14,600 transactions.
    latest = local_today("America/Los_Angeles", NOW)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(tables.orders),
            [
                {
                    "store_id": store.id,
                    "amazon_order_id": f"111-{n:07}",
                    "purchase_local_date": latest - timedelta(days=n % 30),
                }
                for n in range(300)
            ],
        )
        connection.execute(
            sa.insert(tables.order_items),
            [
                {"store_id": store.id, "amazon_order_id": f"111-{n:07}", "sku": sku}
                for n in range(300)
                for sku in ("A", "B")
            ],
        )
    (guessed,) = plan_lines(engine, store, tasks, SALES_TRAFFIC_METER, APPLICATION, NOW)
    assert guessed.calls == 146  # 14,600 / 100 a page
    assert guessed.calls_label == "about 146 Finances pages of 100 transactions"
    assert guessed.eta == "about 5 min"  # (146 - 10 at once) x 2 s = 272 s, rounded up

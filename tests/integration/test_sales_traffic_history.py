"""Sales and Traffic history through Data Kiosk, end to end (sandbox -> real SP-API client -> moto
S3 -> PostgreSQL): a first sync loads the recent days report by report and older days through
Data Kiosk; the history equals the same days fetched report by report (per day and child ASIN),
and a store without the Brand Analytics role gets one sentence and its history by reports.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from amzinsight_sandbox import (
    RunningSandbox,
    SandboxConfig,
    demo_account,
    start_sandbox,
)

from amzinsight.db import tables
from amzinsight.errors import ConfigError
from amzinsight.ingest.sync import client_for, kiosk_refusal, plan_tasks, run_task
from amzinsight.reports import get_report
from amzinsight.reports.sales_traffic_kiosk import RECENT_REPORT_DAYS
from amzinsight.runtime import Runtime
from amzinsight.stores import Store
from tests.integration.sandbox_stores import FAST, sandbox_runtime, sandbox_store

pytestmark = [pytest.mark.postgres, pytest.mark.s3]

# More ASINs than one trends query may name, so the history takes several batches.
ACCOUNT = demo_account(asins=36, days=60)
US = "ATVPDKIKX0DER"
INITIAL_DAYS = 24


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    config = SandboxConfig(accounts=[ACCOUNT], processing_delay_seconds=0.05, speed_factor=1000)
    with start_sandbox(config) as running:
        yield running


@pytest.fixture
def runtime(
    sandbox: RunningSandbox,
    migrated_database_url: str,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Runtime:
    return sandbox_runtime(sandbox, ACCOUNT, migrated_database_url, monkeypatch)


@pytest.fixture
def store(runtime: Runtime, sandbox: RunningSandbox) -> Store:
    return sandbox_store(runtime, sandbox, ACCOUNT, ["US"])


def sync(
    runtime: Runtime, store: Store, key: str, start: date | None = None, end: date | None = None
) -> list[Any]:
    outcomes = []
    for task in plan_tasks(runtime.engine, store, get_report(key), INITIAL_DAYS, start, end):
        client = client_for(runtime.settings, store, task, FAST)
        outcomes.extend(run_task(runtime.engine, runtime.archive, client, store, task))
    return outcomes


def asin_days(runtime: Runtime) -> dict[tuple[date, str], tuple[Any, ...]]:
    t = tables.sales_traffic_by_asin
    query = sa.select(
        t.c.report_date,
        t.c.child_asin,
        t.c.parent_asin,
        t.c.sku,
        t.c.ordered_product_sales,
        t.c.ordered_product_sales_b2b,
        t.c.units_ordered,
        t.c.total_order_items,
        t.c.sessions,
        t.c.sessions_b2b,
        t.c.page_views,
        t.c.buy_box_percentage,
        t.c.unit_session_percentage,
    ).where(t.c.marketplace_id == US)
    with runtime.engine.connect() as connection:
        return {(row[0], row[1]): tuple(row[2:]) for row in connection.execute(query)}


def date_days(runtime: Runtime) -> dict[date, tuple[Any, ...]]:
    t = tables.sales_traffic_by_date
    query = sa.select(
        t.c.report_date,
        t.c.ordered_product_sales,
        t.c.ordered_product_sales_b2b,
        t.c.units_ordered,
        t.c.units_refunded,
        t.c.sessions,
        t.c.page_views_b2b,
        t.c.buy_box_percentage,
        t.c.feedback_received,
    ).where(t.c.marketplace_id == US)
    with runtime.engine.connect() as connection:
        return {row[0]: tuple(row[1:]) for row in connection.execute(query)}


def test_history_through_data_kiosk_equals_the_same_days_report_by_report(
    runtime: Runtime, store: Store, sandbox: RunningSandbox
) -> None:
    history = sync(runtime, store, "sales_traffic_history")
    reports = sync(runtime, store, "sales_traffic")

    yesterday = ACCOUNT.today - timedelta(days=1)
    oldest = yesterday - timedelta(days=INITIAL_DAYS - 1)
    cut = yesterday - timedelta(days=RECENT_REPORT_DAYS - 1)  # first day the report loads
    assert [o.status for o in history] == ["succeeded"]
    assert len(reports) == RECENT_REPORT_DAYS
    by_date, by_asin = date_days(runtime), asin_days(runtime)
    assert sorted(by_date) == [oldest + timedelta(days=n) for n in range(INITIAL_DAYS)]
    kiosk_rows = {key: row for key, row in by_asin.items() if key[0] < cut}
    kiosk_days = {key: row for key, row in by_date.items() if key < cut}
    assert kiosk_rows and len({asin for _, asin in kiosk_rows}) > 30  # several batches

    # The same days again, report by report: every row stays as Data Kiosk wrote it.
    sync(runtime, store, "sales_traffic", oldest, cut - timedelta(days=1))

    again = asin_days(runtime)
    assert {key: row for key, row in again.items() if key[0] < cut} == kiosk_rows
    assert {key: row for key, row in date_days(runtime).items() if key < cut} == kiosk_days
    assert len(again) == len(by_asin)  # no day and ASIN counted twice
    assert sandbox.meter_refusals() == 0  # every report waited for its slot


def test_without_the_brand_analytics_role_history_comes_report_by_report(
    runtime: Runtime, store: Store, sandbox: RunningSandbox
) -> None:
    sandbox.state.accounts[ACCOUNT.seller_id].data_kiosk = False
    try:
        with pytest.raises(ConfigError, match="Brand Analytics role"):
            sync(runtime, store, "sales_traffic_history")
        assert kiosk_refusal(runtime.engine, store.id, US) is not None

        history_tasks = plan_tasks(
            runtime.engine, store, get_report("sales_traffic_history"), INITIAL_DAYS
        )
        report_tasks = plan_tasks(runtime.engine, store, get_report("sales_traffic"), INITIAL_DAYS)
        assert history_tasks == []
        assert len(report_tasks) == INITIAL_DAYS
    finally:
        sandbox.state.accounts[ACCOUNT.seller_id].data_kiosk = True


def test_three_syncs_at_once_keep_amazons_meter_and_fetch_each_day_once(
    runtime: Runtime, store: Store, sandbox: RunningSandbox
) -> None:
    """Three "Sync now" clicks and the schedule at once: each window's job holds one slot under
    Amazon's Sales and Traffic meter; no request is refused, no day is fetched twice."""
    from workers.jobs import window_job_id

    tasks = plan_tasks(runtime.engine, store, get_report("sales_traffic"), INITIAL_DAYS)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def click() -> None:
        start.wait()
        try:
            for task in tasks:
                holder = window_job_id(store.slug, task.spec.key, task.marketplace, task.window)
                client = client_for(runtime.settings, store, task, FAST)
                run_task(runtime.engine, runtime.archive, client, store, task, holder=holder)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors, errors
    assert sandbox.meter_refusals() == 0
    accepted = sum(len(times) for times in sandbox.state.sales_traffic_accepted.values())
    assert accepted == len(tasks) == RECENT_REPORT_DAYS  # one report per day, not four

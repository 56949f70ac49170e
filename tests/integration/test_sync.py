"""The sync engine end to end: sandbox Amazon -> real SP-API client -> moto S3 -> PostgreSQL.

Every report type is pulled through the real python-amazon-sp-api client over HTTP, archived in
a moto S3 server over HTTP, parsed and upserted into the machine's PostgreSQL; totals are checked
against the raw document read back from the archive.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from amzinsight_sandbox import (
    Fault,
    RunningSandbox,
    SandboxConfig,
    demo_account,
    start_sandbox,
)

from amzinsight.db import tables
from amzinsight.errors import ReportFailedError, ReportParseError
from amzinsight.ingest.sync import client_for, plan_tasks, run_task
from amzinsight.ingest.windows import DateWindow
from amzinsight.reports import get_report
from amzinsight.reports.sales_traffic_kiosk import RECENT_REPORT_DAYS
from amzinsight.runtime import Runtime
from amzinsight.stores import Store
from tests.integration.sandbox_stores import FAST, sandbox_runtime, sandbox_store

pytestmark = [pytest.mark.postgres, pytest.mark.s3]

ACCOUNT = demo_account(asins=8, days=60)
DAY = ACCOUNT.today - timedelta(days=3)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    config = SandboxConfig(accounts=[ACCOUNT], processing_delay_seconds=0.1, speed_factor=500)
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
    return sandbox_store(runtime, sandbox, ACCOUNT)


def _sync(
    runtime: Runtime, store: Store, key: str, start: date | None = None, end: date | None = None
):
    spec = get_report(key)
    outcomes = []
    for task in plan_tasks(runtime.engine, store, spec, 30, start, end):
        client = client_for(runtime.settings, store, task, FAST)
        outcomes.extend(run_task(runtime.engine, runtime.archive, client, store, task))
    return outcomes


def _rows(runtime: Runtime, table: sa.Table) -> list[dict]:
    key = [c for c in table.primary_key.columns]
    with runtime.engine.connect() as connection:
        return [dict(r) for r in connection.execute(sa.select(table).order_by(*key)).mappings()]


def _archived_text(runtime: Runtime, key: str, tmp_path: Path) -> str:
    local = tmp_path / "archived"
    runtime.archive.download(key, local)
    raw = local.read_bytes()
    return (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8")


def _runs(runtime: Runtime) -> list[dict]:
    return _rows(runtime, tables.sync_runs)


def test_sales_and_traffic_day_loads_and_matches_the_archived_document(
    runtime: Runtime, store: Store, tmp_path: Path
) -> None:
    outcomes = _sync(runtime, store, "sales_traffic", DAY, DAY)

    assert [o.status for o in outcomes] == ["succeeded", "succeeded"]  # US and CA
    us = next(o for o in outcomes if "ATVPDKIKX0DER" in (o.archive_key or ""))
    document = json.loads(_archived_text(runtime, us.archive_key or "", tmp_path))
    by_date = document["salesAndTrafficByDate"][0]
    stored = [
        row
        for row in _rows(runtime, tables.sales_traffic_by_date)
        if row["marketplace_id"] == "ATVPDKIKX0DER"
    ]
    assert len(stored) == 1 and stored[0]["report_date"] == DAY
    assert stored[0]["ordered_product_sales"] == Decimal(
        str(by_date["salesByDate"]["orderedProductSales"]["amount"])
    )
    assert stored[0]["units_ordered"] == by_date["salesByDate"]["unitsOrdered"]
    assert stored[0]["sessions"] == by_date["trafficByDate"]["sessions"]
    by_asin = [
        row
        for row in _rows(runtime, tables.sales_traffic_by_asin)
        if row["marketplace_id"] == "ATVPDKIKX0DER"
    ]
    assert len(by_asin) == len(document["salesAndTrafficByAsin"])
    assert sum(row["units_ordered"] for row in by_asin) == stored[0]["units_ordered"]
    assert (
        sum(row["ordered_product_sales"] for row in by_asin) == stored[0]["ordered_product_sales"]
    )

    with runtime.engine.connect() as connection:
        raw = (
            connection.execute(
                sa.select(tables.raw_reports).where(
                    tables.raw_reports.c.archive_key == us.archive_key
                )
            )
            .mappings()
            .one()
        )
    local = tmp_path / "again"
    runtime.archive.download(raw["archive_key"], local)
    import hashlib

    assert raw["sha256"] == hashlib.sha256(local.read_bytes()).hexdigest()
    assert raw["bytes"] == local.stat().st_size and raw["amazon_report_id"]


def test_orders_window_loads_every_line_of_the_region_wide_report(
    runtime: Runtime, store: Store, tmp_path: Path
) -> None:
    (outcome,) = _sync(runtime, store, "orders", DAY - timedelta(days=2), DAY)

    text = _archived_text(runtime, outcome.archive_key or "", tmp_path)
    lines = [line.split("\t") for line in text.splitlines()]
    header, body = lines[0], lines[1:]
    price = header.index("item-price")
    order_id = header.index("amazon-order-id")
    assert outcome.status == "succeeded"
    items = _rows(runtime, tables.order_items)
    orders = _rows(runtime, tables.orders)
    assert len(items) == len(body)
    assert len(orders) == len({line[order_id] for line in body})
    assert sum(i["item_price"] or 0 for i in items) == sum(
        Decimal(line[price] or "0") for line in body
    )
    assert {o["marketplace_id"] for o in orders} == {"ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"}


def test_settlements_are_listed_and_each_is_stored_once(runtime: Runtime, store: Store) -> None:
    first = _sync(runtime, store, "settlement")
    second = _sync(runtime, store, "settlement")

    assert first and all(o.status == "succeeded" for o in first)
    assert second == []  # already loaded: nothing new to fetch
    settlements = _rows(runtime, tables.settlements)
    assert len(settlements) == len(first)
    for settlement in settlements:
        assert settlement["lines_total"] == settlement["total_amount"]


def test_inventory_listings_and_catalog_snapshots(runtime: Runtime, store: Store) -> None:
    for key in ("fba_inventory", "inventory_summaries", "listings", "catalog"):
        outcomes = _sync(runtime, store, key)
        assert outcomes and all(o.status == "succeeded" for o in outcomes), key
    snapshots = _rows(runtime, tables.inventory_snapshots)
    listings = _rows(runtime, tables.listings)
    catalog = _rows(runtime, tables.catalog_items)
    assert snapshots and listings and catalog
    assert {row["asin"] for row in catalog} <= {row["asin"] for row in listings}
    assert all(row["item_name"] for row in catalog)


def test_the_same_window_twice_leaves_identical_rows(runtime: Runtime, store: Store) -> None:
    _sync(runtime, store, "orders", DAY, DAY)
    before = (_rows(runtime, tables.orders), _rows(runtime, tables.order_items))

    (again,) = _sync(runtime, store, "orders", DAY, DAY)

    assert again.status == "succeeded" and again.rows_upserted == 0
    assert (_rows(runtime, tables.orders), _rows(runtime, tables.order_items)) == before


def test_a_429_storm_completes_with_every_row_and_no_duplicates(
    runtime: Runtime, store: Store, sandbox: RunningSandbox
) -> None:
    sandbox.set_faults(
        [
            Fault("throttle", operation="createReport", count=6),
            Fault("throttle", operation="getReport", count=10),
            Fault("throttle", operation="getReportDocument", count=6),
        ]
    )
    (outcome,) = _sync(runtime, store, "orders", DAY, DAY)

    throttled = [r for r in sandbox.requests() if r["status"] == 429]
    assert len(throttled) == 22
    assert outcome.status == "succeeded"
    sandbox.set_faults([])
    baseline = _rows(runtime, tables.order_items)
    (again,) = _sync(runtime, store, "orders", DAY, DAY)
    assert again.rows_upserted == 0 and _rows(runtime, tables.order_items) == baseline


def test_fatal_fails_the_run_clearly_and_changes_no_table(
    runtime: Runtime, store: Store, sandbox: RunningSandbox
) -> None:
    sandbox.set_faults([Fault("fatal", report_type=get_report("orders").amazon_report_type)])
    with pytest.raises(ReportFailedError, match="FATAL"):
        _sync(runtime, store, "orders", DAY, DAY)

    (run,) = _runs(runtime)
    assert run["status"] == "failed" and "FATAL" in run["error"]
    assert _rows(runtime, tables.orders) == [] and _rows(runtime, tables.order_items) == []


def test_cancelled_means_no_data_and_is_not_an_error(
    runtime: Runtime, store: Store, sandbox: RunningSandbox
) -> None:
    sandbox.set_faults([Fault("cancelled", report_type=get_report("orders").amazon_report_type)])
    (outcome,) = _sync(runtime, store, "orders", DAY, DAY)

    assert outcome.status == "cancelled"
    assert _runs(runtime)[0]["status"] == "cancelled"
    assert _rows(runtime, tables.orders) == []


@pytest.mark.parametrize("kind", ["truncated_document", "corrupt_document"])
def test_a_broken_document_keeps_its_raw_file_and_changes_no_table(
    runtime: Runtime, store: Store, sandbox: RunningSandbox, kind: str
) -> None:
    sandbox.set_faults([Fault(kind, operation="download")])
    with pytest.raises(ReportParseError):
        _sync(runtime, store, "orders", DAY, DAY)

    (run,) = _runs(runtime)
    assert run["status"] == "failed" and "gzip" in run["error"]
    assert run["raw_report_id"] is not None
    (raw,) = _rows(runtime, tables.raw_reports)
    assert list(runtime.archive.keys(raw["archive_key"])) == [raw["archive_key"]]
    assert _rows(runtime, tables.orders) == []


def test_server_errors_on_download_are_retried(
    runtime: Runtime, store: Store, sandbox: RunningSandbox
) -> None:
    sandbox.set_faults([Fault("server_error", operation="download", count=2)])
    (outcome,) = _sync(runtime, store, "orders", DAY, DAY)
    assert outcome.status == "succeeded" and outcome.rows_upserted > 0


def test_the_report_repulls_the_days_amazon_restates_and_data_kiosk_plans_the_rest(
    runtime: Runtime, store: Store
) -> None:
    """After DAY - 10 and DAY loaded by reports: the report plans the last RECENT_REPORT_DAYS days
    again (Amazon restates them), newest first; every older day of the initial history is Data
    Kiosk's, in one window (days a report loaded are simply loaded again there)."""
    _sync(runtime, store, "sales_traffic", DAY - timedelta(days=10), DAY - timedelta(days=10))
    _sync(runtime, store, "sales_traffic", DAY, DAY)

    reports = plan_tasks(runtime.engine, store, get_report("sales_traffic"), initial_days=30)
    history = plan_tasks(
        runtime.engine, store, get_report("sales_traffic_history"), initial_days=30
    )

    us = [t.window for t in reports if t.marketplace.marketplace_id == "ATVPDKIKX0DER"]
    yesterday = ACCOUNT.today - timedelta(days=1)
    assert us == [
        DateWindow(yesterday - timedelta(days=n), yesterday - timedelta(days=n))
        for n in range(RECENT_REPORT_DAYS)
    ]
    assert DAY in [window.start for window in us if window]
    (older,) = [t.window for t in history if t.marketplace.marketplace_id == "ATVPDKIKX0DER"]
    assert older == DateWindow(
        yesterday - timedelta(days=29), yesterday - timedelta(days=RECENT_REPORT_DAYS)
    )


def test_replay_rebuilds_the_tables_from_the_archive_without_calling_amazon(
    runtime: Runtime, store: Store, sandbox: RunningSandbox
) -> None:
    from amzinsight.ingest.imports import replay

    _sync(runtime, store, "orders", DAY, DAY)
    _sync(runtime, store, "sales_traffic", DAY, DAY)
    loaded = [_rows(runtime, t) for t in (tables.orders, tables.sales_traffic_by_asin)]
    with runtime.engine.begin() as connection:
        connection.execute(sa.delete(tables.order_items))
        connection.execute(sa.delete(tables.orders))
        connection.execute(sa.delete(tables.sales_traffic_by_asin))
    calls_before = len(sandbox.requests())

    outcomes = replay(runtime.engine, runtime.archive, store)

    assert len(sandbox.requests()) == calls_before
    assert [o.status for o in outcomes] == ["succeeded"] * 3
    rebuilt = [_rows(runtime, t) for t in (tables.orders, tables.sales_traffic_by_asin)]
    strip = ("id", "loaded_at", "sync_run_id")
    assert [[{k: v for k, v in r.items() if k not in strip} for r in rows] for rows in rebuilt] == [
        [{k: v for k, v in r.items() if k not in strip} for r in rows] for rows in loaded
    ]
    assert {r["source"] for r in _runs(runtime)} == {"sp_api", "replay"}

"""The fault suite: what Amazon, S3, PostgreSQL, the queue and people's files do wrong, end to end.

Each fault runs against the sandbox Amazon over HTTP, a moto S3 server, the machine's PostgreSQL
and Redis. Every test proves the same four things: no row lost (the store holds exactly what a
clean sync of the same window holds), no row duplicated (natural keys unique, counts equal), a
visible failure with a clear message where one is due (sync_runs, the raised error, the CLI's
stderr), and recovery on the next run. The README's "Fault suite" table lists the figures and
the faults other test files already cover (FATAL, CANCELLED, 5xx, a killed worker, Ads 429s).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import sp_api.auth.access_token_client as access_token_client
import sqlalchemy as sa
from amzinsight_sandbox import (
    Fault,
    RunningSandbox,
    SandboxConfig,
    demo_account,
    demo_environment,
    start_sandbox,
)
from rq import Queue

from amzinsight.analytics.metrics import store_metrics
from amzinsight.config import Settings, get_settings
from amzinsight.db import tables
from amzinsight.errors import ReportFailedError, ServiceUnavailableError
from amzinsight.ingest.archive import S3Archive
from amzinsight.ingest.imports import import_file
from amzinsight.ingest.sync import client_for, plan_tasks, prepare_ads, run_task
from amzinsight.reports import get_report
from amzinsight.runtime import Runtime, build_runtime
from amzinsight.sources.sp_api import RetryPolicy
from amzinsight.stores import Store, StoreEndpoints, add_store
from launcher.cli import main as cli_main
from workers.connection import INGEST_QUEUE
from workers.jobs import enqueue_window

pytestmark = [pytest.mark.postgres, pytest.mark.s3]

FAST = RetryPolicy(
    poll_initial_seconds=0.05,
    poll_max_seconds=0.2,
    poll_timeout_seconds=30,
    server_error_base_seconds=0.01,
    max_backoff_seconds=0.2,
    default_throttle_wait_seconds=0.05,
)
ACCOUNT = demo_account(asins=8, days=60)
DAY = ACCOUNT.today - timedelta(days=3)
FIXTURES = Path(__file__).parents[1] / "fixtures"
BOOKKEEPING = {"sync_runs", "raw_reports"}
TABLES_OF = {
    "orders": (tables.orders, tables.order_items),
    "settlement": (tables.settlements, tables.settlement_lines),
    "inventory_summaries": (tables.inventory_snapshots,),
    "listings": (tables.listings,),
    "catalog": (tables.catalog_items,),
    "sp_campaigns": (tables.ads_profiles, tables.ads_campaign_daily),
}
"""The tables each synced report fills, in the order the storm test syncs them."""


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
    sandbox.reset()
    access_token_client.cache.clear()
    for slug in ("demo", "clean"):
        for name, value in demo_environment(ACCOUNT, slug).items():
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    get_settings.cache_clear()
    built = build_runtime(Settings())
    assert isinstance(built.archive, S3Archive)
    return built


def _sandbox_store(runtime: Runtime, sandbox: RunningSandbox, slug: str) -> Store:
    return add_store(
        runtime.engine,
        slug=slug,
        name=ACCOUNT.name,
        country_codes=list(ACCOUNT.marketplaces),
        endpoints=StoreEndpoints(sandbox.url, sandbox.lwa_token_url, sandbox.url),
        is_sandbox=True,
    )


@pytest.fixture
def store(runtime: Runtime, sandbox: RunningSandbox) -> Store:
    return _sandbox_store(runtime, sandbox, "demo")


@pytest.fixture
def clean(runtime: Runtime, sandbox: RunningSandbox) -> Store:
    """The same sandbox account as a second store, synced with no fault: the expected rows."""
    return _sandbox_store(runtime, sandbox, "clean")


def _sync(
    runtime: Runtime,
    store: Store,
    key: str,
    start: date | None = None,
    end: date | None = None,
    retry: RetryPolicy | None = FAST,
) -> list[Any]:
    outcomes = []
    for task in plan_tasks(runtime.engine, store, get_report(key), 30, start, end):
        client = client_for(runtime.settings, store, task, retry)
        outcomes.extend(run_task(runtime.engine, runtime.archive, client, store, task))
    return outcomes


def _natural_keys(engine: sa.Engine, table: sa.Table, store_id: int) -> list[tuple[Any, ...]]:
    """The rows of one store by their natural key (the table's unique constraint, less store)."""
    (unique,) = [c for c in table.constraints if isinstance(c, sa.UniqueConstraint)]
    columns = [c for c in unique.columns if c.name != "store_id"]
    query = sa.select(*columns).where(table.c.store_id == store_id).order_by(*columns)
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


def assert_same_rows(runtime: Runtime, store: Store, clean: Store, keys: list[str]) -> int:
    """Rows lost 0 and duplicated 0: the same natural keys as the clean store, each once."""
    total = 0
    for key in keys:
        for table in TABLES_OF[key]:
            mine = _natural_keys(runtime.engine, table, store.id)
            expected = _natural_keys(runtime.engine, table, clean.id)
            assert expected, (table.name, "the clean sync loaded nothing to compare with")
            assert len(set(mine)) == len(mine), (table.name, "duplicated")
            assert mine == expected, (table.name, len(mine), len(expected))
            total += len(mine)
    return total


def _count(engine: sa.Engine, table: sa.Table, store_id: int | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(table)
    if store_id is not None:
        query = query.where(table.c.store_id == store_id)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def _runs(engine: sa.Engine, store_id: int) -> list[dict[str, Any]]:
    query = (
        sa.select(tables.sync_runs)
        .where(tables.sync_runs.c.store_id == store_id)
        .order_by(tables.sync_runs.c.id)
    )
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def snapshot(engine: sa.Engine) -> dict[str, list[dict[str, Any]]]:
    """Every data table's rows (stores included: a load bumps the data version)."""
    found = {}
    with engine.connect() as connection:
        for table in tables.metadata.sorted_tables:
            if table.name in BOOKKEEPING:
                continue
            order = list(table.primary_key.columns)
            rows = connection.execute(sa.select(table).order_by(*order)).mappings()
            found[table.name] = [dict(row) for row in rows]
    return found


# --- Amazon: 429 storms and reports that never finish ---------------------------------------------

STORMED = (
    "createReport",
    "getReport",
    "getReportDocument",
    "getReports",
    "getInventorySummaries",
    "getCatalogItem",
)
STORM_SIZE = 3


def test_a_429_storm_on_every_sp_api_operation_loses_and_duplicates_nothing(
    runtime: Runtime, store: Store, clean: Store, sandbox: RunningSandbox
) -> None:
    keys = [key for key in TABLES_OF if key != "sp_campaigns"]
    for key in keys:
        _sync(runtime, clean, key, *((DAY, DAY) if key == "orders" else ()))
    sandbox.reset()
    sandbox.set_faults([Fault("throttle", operation=op, count=STORM_SIZE) for op in STORMED])

    for key in keys:
        outcomes = _sync(runtime, store, key, *((DAY, DAY) if key == "orders" else ()))
        assert outcomes and {o.status for o in outcomes} == {"succeeded"}, key

    throttled = [r["operation"] for r in sandbox.requests() if r["status"] == 429]
    assert {op: throttled.count(op) for op in STORMED} == dict.fromkeys(STORMED, STORM_SIZE)
    assert assert_same_rows(runtime, store, clean, keys) > 0
    assert {r["status"] for r in _runs(runtime.engine, store.id)} == {"succeeded"}
    # The next run (no storm) finds nothing new and changes nothing.
    sandbox.set_faults([])
    before = snapshot(runtime.engine)
    (again,) = _sync(runtime, store, "orders", DAY, DAY)
    assert again.rows_upserted == 0 and snapshot(runtime.engine) == before


ADS_STORMED = ("listProfiles", "createAsyncReport", "getAsyncReport")


def test_a_429_storm_on_every_amazon_ads_report_operation_loses_and_duplicates_nothing(
    runtime: Runtime, store: Store, clean: Store, sandbox: RunningSandbox
) -> None:
    """Amazon Ads sends Retry-After on most 429s; getAsyncReport's come without one here."""
    day = ACCOUNT.today - timedelta(days=20)  # settled: both stores get the same figures
    assert prepare_ads(runtime.engine, runtime.settings, clean)
    _sync(runtime, clean, "sp_campaigns", day, day)
    sandbox.reset()
    sandbox.set_faults(
        [
            Fault("throttle", operation="listProfiles", count=STORM_SIZE, retry_after=0.05),
            Fault("throttle", operation="createAsyncReport", count=STORM_SIZE, retry_after=0.05),
            Fault("throttle", operation="getAsyncReport", count=STORM_SIZE),
        ]
    )

    assert prepare_ads(runtime.engine, runtime.settings, store)
    outcomes = _sync(runtime, store, "sp_campaigns", day, day)

    assert outcomes and {o.status for o in outcomes} == {"succeeded"}
    throttled = [r["operation"] for r in sandbox.requests() if r["status"] == 429]
    assert {op: throttled.count(op) for op in ADS_STORMED} == dict.fromkeys(ADS_STORMED, STORM_SIZE)
    assert assert_same_rows(runtime, store, clean, ["sp_campaigns"]) > 0


def test_report_polling_that_never_finishes_times_out_clearly_and_the_next_run_loads(
    runtime: Runtime,
    store: Store,
    clean: Store,
    sandbox: RunningSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _sync(runtime, clean, "orders", DAY, DAY)
    monkeypatch.setenv("AMZ_SYNC_POLL_TIMEOUT_SECONDS", "2")
    settings = Settings()
    assert settings.sync.poll_timeout_seconds == 2.0
    patient = build_runtime(settings)
    monkeypatch.setattr(sandbox.state.config, "processing_delay_seconds", 3600.0)

    started = time.monotonic()
    with pytest.raises(ReportFailedError, match=r"still IN_QUEUE after 2 s; the next sync asks"):
        _sync(patient, store, "orders", DAY, DAY, retry=None)  # the settings' policy

    assert time.monotonic() - started < 15
    (run,) = _runs(runtime.engine, store.id)
    assert run["status"] == "failed" and "still IN_QUEUE after 2 s" in run["error"]
    assert run["amazon_report_id"] and run["finished_at"] is not None
    assert _count(runtime.engine, tables.orders, store.id) == 0
    assert _count(runtime.engine, tables.raw_reports, store.id) == 0

    monkeypatch.setattr(sandbox.state.config, "processing_delay_seconds", 0.1)
    (outcome,) = _sync(patient, store, "orders", DAY, DAY, retry=None)
    assert outcome.status == "succeeded"
    assert assert_same_rows(runtime, store, clean, ["orders"]) > 0


# --- S3 unavailable -------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_s3_unavailable_fails_the_run_clearly_writes_nothing_and_the_next_run_loads(
    runtime: Runtime,
    store: Store,
    clean: Store,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _sync(runtime, clean, "orders", DAY, DAY)
    before = snapshot(runtime.engine)
    monkeypatch.setenv("AMZ_S3_ENDPOINT_URL", f"http://127.0.0.1:{_closed_port()}")
    broken = build_runtime(Settings())

    with pytest.raises(ServiceUnavailableError) as raised:
        _sync(broken, store, "orders", DAY, DAY)

    message = str(raised.value)
    assert f"The raw archive (S3 bucket {s3_bucket}) failed to" in message
    assert "nothing was written to the database" in message and "\n" not in message
    (run,) = _runs(runtime.engine, store.id)
    assert (run["status"], run["error"]) == ("failed", message)
    assert run["raw_report_id"] is None
    assert snapshot(runtime.engine) == before  # no order, no line, no data version bump
    assert _count(runtime.engine, tables.raw_reports, store.id) == 0

    (outcome,) = _sync(runtime, store, "orders", DAY, DAY)  # S3 is back
    assert outcome.status == "succeeded"
    assert assert_same_rows(runtime, store, clean, ["orders"]) > 0
    assert [r["status"] for r in _runs(runtime.engine, store.id)] == ["failed", "succeeded"]
    assert list(runtime.archive.keys(outcome.archive_key)) == [outcome.archive_key]


# --- PostgreSQL restarted -------------------------------------------------------------------------


def _terminate_every_other_backend(url: str, spare: tuple[int, ...] = ()) -> int:
    with psycopg.connect(url, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND NOT (pid = ANY(%s))",
            (list(spare),),
        ).fetchone()
    return int(killed[0]) if killed else 0


def _kill_the_load_mid_transaction(url: str, locked: threading.Event, killed: list[int]) -> None:
    """Hold order_items so the load blocks inside its transaction (orders already written),
    then terminate every backend of the database but this one, as a server restart would."""
    with psycopg.connect(url) as locker:
        locker.execute("LOCK TABLE order_items IN EXCLUSIVE MODE")
        locker_pid = locker.info.backend_pid
        locked.set()
        deadline = time.monotonic() + 60
        with psycopg.connect(url, autocommit=True) as watcher:
            while time.monotonic() < deadline:
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                ).fetchone()
                if waiting and waiting[0]:
                    break
                time.sleep(0.02)
        killed.append(_terminate_every_other_backend(url, (locker_pid,)))
        locker.rollback()


def test_postgresql_restarted_during_a_sync_leaves_no_partial_window_and_the_next_run_loads(
    runtime: Runtime, store: Store, clean: Store, migrated_database_url: str
) -> None:
    _sync(runtime, clean, "orders", DAY, DAY)
    # Between runs: every pooled connection dies; the next run reconnects and loads.
    assert _terminate_every_other_backend(migrated_database_url) >= 1
    (first,) = _sync(runtime, store, "sales_traffic", DAY, DAY)[:1]
    assert first.status == "succeeded"
    before = snapshot(runtime.engine)
    runs_before = len(_runs(runtime.engine, store.id))

    locked = threading.Event()
    killed: list[int] = []
    killer = threading.Thread(
        target=_kill_the_load_mid_transaction, args=(migrated_database_url, locked, killed)
    )
    killer.start()
    assert locked.wait(10)
    try:
        with pytest.raises(sa.exc.OperationalError):
            _sync(runtime, store, "orders", DAY, DAY)
    finally:
        killer.join(70)
    assert killed and killed[0] >= 1

    run = _runs(runtime.engine, store.id)[runs_before]
    assert run["status"] == "failed" and run["finished_at"] is not None
    # One sentence for a person, with the driver's own first line in brackets.
    assert run["error"].startswith("The database connection was lost during the load")
    assert "the connection is lost" in run["error"]
    assert run["raw_report_id"] is not None  # the document is archived: replay can load it
    assert snapshot(runtime.engine) == before  # orders were written, then rolled back
    assert _count(runtime.engine, tables.orders, store.id) == 0

    (outcome,) = _sync(runtime, store, "orders", DAY, DAY)
    assert outcome.status == "succeeded"
    assert assert_same_rows(runtime, store, clean, ["orders"]) > 0


# --- the queue ------------------------------------------------------------------------------------


@pytest.mark.redis
def test_the_same_sync_enqueued_ten_times_at_once_is_one_job(
    runtime: Runtime, store: Store, redis_url: str
) -> None:
    (task,) = plan_tasks(runtime.engine, store, get_report("orders"), 30, DAY, DAY)
    connection = redis.Redis.from_url(redis_url)
    start = threading.Barrier(10)
    results: list[tuple[str, bool]] = []
    errors: list[BaseException] = []

    def click() -> None:
        try:
            start.wait(10)
            job, created = enqueue_window(connection, store.slug, task, "test", None)
            results.append((job.id, created))
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=click) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == [] and len(results) == 10
    assert len({job_id for job_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    queue = Queue(INGEST_QUEUE, connection=connection)
    assert queue.get_job_ids() == [results[0][0]]
    assert results[0][0].startswith(f"sync-{store.slug}-orders-")


# --- files people import --------------------------------------------------------------------------


def _truncated_gzip(tmp_path: Path) -> Path:
    packed = gzip.compress((FIXTURES / "all_orders.tsv").read_bytes(), mtime=0)
    path = tmp_path / "all_orders.tsv.gz"
    path.write_bytes(packed[: len(packed) // 2])
    return path


def _empty(tmp_path: Path) -> Path:
    path = tmp_path / "empty.tsv"
    path.write_bytes(b"")
    return path


def _settlement(tmp_path: Path) -> Path:
    path = tmp_path / "settlement.tsv"
    path.write_bytes((FIXTURES / "settlement_v2.tsv").read_bytes())
    return path


def _garbage(tmp_path: Path) -> Path:
    path = tmp_path / "garbage.bin"
    path.write_bytes(b"\x89\xfe" + bytes(range(256)) * 16)
    return path


BAD_FILES = {
    "truncated": (_truncated_gzip, [], "truncated"),
    "empty": (_empty, [], "empty"),
    "wrong type": (_settlement, ["--type", "orders"], "missing column 'amazon-order-id'"),
    "garbage": (_garbage, [], "not valid UTF-8"),
}


@pytest.fixture
def cli_logging() -> Iterator[None]:
    """The CLI adds a root log handler on stderr; drop it before capsys closes that stream."""
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_amzinsight", False)]:
        root.removeHandler(handler)


@pytest.mark.usefixtures("cli_logging")
@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_through_amzinsight_import_is_one_clear_line_and_changes_no_table(
    runtime: Runtime,
    store: Store,
    case: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli_main(["import", store.slug, str(FIXTURES / "all_orders.tsv")]) == 0
    before = snapshot(runtime.engine)
    make, extra, phrase = BAD_FILES[case]
    path = make(tmp_path)
    capsys.readouterr()

    code = cli_main(["import", store.slug, str(path), *extra])

    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]  # after the log lines, one sentence for the person
    assert last.startswith("amzinsight: ") and phrase in last, err
    assert snapshot(runtime.engine) == before
    run = _runs(runtime.engine, store.id)[-1]
    assert (run["source"], run["status"]) == ("upload", "failed")
    assert run["error"] == last.removeprefix("amzinsight: ")
    with runtime.engine.connect() as connection:
        raw = (
            connection.execute(
                sa.select(tables.raw_reports).where(tables.raw_reports.c.id == run["raw_report_id"])
            )
            .mappings()
            .one()
        )
    kept = tmp_path / "kept"
    runtime.archive.download(raw["archive_key"], kept)
    assert kept.read_bytes() == path.read_bytes()  # the raw file is kept as it came
    assert raw["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_settlement_whose_lines_do_not_add_up_is_loaded_and_flagged_not_fixed(
    runtime: Runtime, tmp_path: Path
) -> None:
    store = add_store(runtime.engine, slug="brewlane", name="Brewlane", country_codes=["US"])
    text = (FIXTURES / "settlement_v2.tsv").read_text(encoding="utf-8")
    header, summary, *lines = text.splitlines(keepends=True)
    assert summary.split("\t")[4] == "6.45"  # the fixture's deposit: its 30 lines' sum
    fields = summary.split("\t")
    fields[4] = "7.45"  # Amazon says it paid a dollar more than the lines add up to
    path = tmp_path / "settlement_off.tsv"
    path.write_text(header + "\t".join(fields) + "".join(lines), encoding="utf-8")

    outcome = import_file(runtime.engine, runtime.archive, store, path)
    again = import_file(runtime.engine, runtime.archive, store, path)

    assert outcome.status == "succeeded" and again.rows_upserted == 0
    with runtime.engine.connect() as connection:
        (settlement,) = connection.execute(sa.select(tables.settlements)).mappings()
        amounts = connection.execute(sa.select(tables.settlement_lines.c.amount)).scalars().all()
    assert settlement["total_amount"] == Decimal("7.45")  # as Amazon sent it
    assert settlement["lines_total"] == Decimal("6.45") == sum(amounts, Decimal(0))
    assert len(amounts) == settlement["line_count"] == 30  # no balancing line was invented
    metrics = store_metrics(runtime.engine, store, date(2026, 3, 9), date(2026, 3, 31))
    (shown,) = metrics["settlements"]
    assert (shown["total_amount"], shown["lines_sum"], shown["reconciled"]) == (
        "7.45",
        "6.45",
        False,
    )

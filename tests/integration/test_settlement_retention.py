"""Settlements are kept on first sight: Amazon lists one for 90 days and never makes it again
(selling-partner-api-models#5101, #5285), so one that fails must not cost the others their turn,
and one not stored while listed is shown as at risk until the day Amazon stops listing it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sp_api.auth.access_token_client as access_token_client
import sqlalchemy as sa
from amzinsight_sandbox import (
    Fault,
    RunningSandbox,
    SandboxConfig,
    demo_account,
    start_sandbox,
)
from streamlit.testing.v1 import AppTest

from amzinsight.analytics.settlement_risk import settlements_at_risk
from amzinsight.config import get_settings
from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.ingest.sync import SettlementsNotLoadedError, client_for, plan_tasks, run_task
from amzinsight.reports import get_report
from amzinsight.runtime import Runtime
from amzinsight.stores import Store, add_store
from app.components import as_text
from app.labels import format_date
from launcher.cli import main as cli_main
from tests.integration.sandbox_stores import FAST, sandbox_runtime, sandbox_store

pytestmark = [pytest.mark.postgres, pytest.mark.s3]

ATTEMPTS = 3
QUICK = replace(FAST, max_attempts=ATTEMPTS, max_backoff_seconds=0.05)
ACCOUNT = demo_account(asins=6, days=130)  # settlements older than Amazon's 90 days exist
SETTLEMENT = get_report("settlement")
ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "app" / "main.py")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    config = SandboxConfig(accounts=[ACCOUNT], processing_delay_seconds=0.05, speed_factor=500)
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
    return sandbox_runtime(sandbox, ACCOUNT, migrated_database_url, monkeypatch)


@pytest.fixture
def store(runtime: Runtime, sandbox: RunningSandbox) -> Store:
    return sandbox_store(runtime, sandbox, ACCOUNT)


def _sync_settlements(runtime: Runtime, store: Store) -> list:
    """Every settlement task, like a scheduled sync: one task's failure does not stop the next."""
    outcomes, errors = [], []
    for task in plan_tasks(runtime.engine, store, SETTLEMENT, 30):
        client = client_for(runtime.settings, store, task, QUICK)
        try:
            outcomes.extend(run_task(runtime.engine, runtime.archive, client, store, task))
        except SettlementsNotLoadedError as error:
            outcomes.extend(error.outcomes)
            errors.append(error)
    return [outcomes, errors]


def _periods(sandbox: RunningSandbox) -> list:
    return list(sandbox.state.accounts[ACCOUNT.seller_id].settlements)


def _listed_now(sandbox: RunningSandbox) -> list:
    """What getReports lists today (the sync asks for the last 89 days)."""
    since = datetime.now(UTC) - timedelta(days=89)
    return [period for period in _periods(sandbox) if period.created >= since]


def _stored_settlement_ids(runtime: Runtime) -> set[str]:
    with runtime.engine.connect() as connection:
        return set(connection.execute(sa.select(tables.settlements.c.settlement_id)).scalars())


def _failed_runs(runtime: Runtime) -> list[dict]:
    query = sa.select(tables.sync_runs).where(tables.sync_runs.c.status == "failed")
    with runtime.engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def _day(timestamp: int) -> date:
    return datetime.fromtimestamp(timestamp, UTC).date()


def test_a_settlement_that_fails_to_download_does_not_stop_the_others(
    runtime: Runtime, store: Store, sandbox: RunningSandbox
) -> None:
    listed = _listed_now(sandbox)
    assert len(listed) >= 4
    # The first settlement's document fails every attempt; the ones after it download.
    sandbox.set_faults([Fault("server_error", operation="getReportDocument", count=ATTEMPTS)])

    outcomes, errors = _sync_settlements(runtime, store)

    (error,) = errors
    assert str(error).startswith(f"1 of {len(listed)} listed settlements could not be loaded: ")
    (failed_run,) = _failed_runs(runtime)
    assert failed_run["raw_report_id"] is None  # nothing was downloaded: nothing archived
    (failed,) = [p for p in listed if p.report_id == failed_run["amazon_report_id"]]
    assert failed.report_id in str(error)
    others = {p.settlement_id for p in listed if p is not failed}
    assert _stored_settlement_ids(runtime) == others
    assert len(outcomes) == len(listed) - 1 and all(o.status == "succeeded" for o in outcomes)

    today = datetime.now(UTC).date()
    (at_risk,) = settlements_at_risk(runtime.engine, store.id, today)
    assert at_risk.amazon_report_id == failed.report_id
    assert at_risk.at_risk and not at_risk.archived
    assert (at_risk.period_start, at_risk.period_end) == (
        _day(failed.start_ts),
        _day(failed.end_ts),
    )
    assert at_risk.listed_until == _day(failed.end_ts) + timedelta(days=90)
    assert at_risk.listed_until >= failed.created.date() + timedelta(days=88)  # "about"
    assert "getReportDocument" in (at_risk.error or "")
    # Once Amazon stops listing it, a sync can do nothing: it is no longer shown as at risk.
    assert settlements_at_risk(runtime.engine, store.id, at_risk.listed_until) == [at_risk]
    after = at_risk.listed_until + timedelta(days=1)
    assert settlements_at_risk(runtime.engine, store.id, after) == []

    # The next sync loads it; nothing is at risk any more.
    sandbox.set_faults([])
    outcomes, errors = _sync_settlements(runtime, store)
    assert errors == [] and [o.status for o in outcomes] == ["succeeded"]
    assert _stored_settlement_ids(runtime) == {p.settlement_id for p in listed}
    assert settlements_at_risk(runtime.engine, store.id, today) == []


def test_a_settlement_that_fails_to_parse_keeps_its_file_for_replay(
    runtime: Runtime, store: Store, sandbox: RunningSandbox
) -> None:
    listed = _listed_now(sandbox)
    sandbox.set_faults(
        [
            Fault(
                "corrupt_document",
                operation="download",
                report_type=SETTLEMENT.amazon_report_type,
                count=1,
            )
        ]
    )

    outcomes, errors = _sync_settlements(runtime, store)

    (error,) = errors
    assert str(error).startswith(f"1 of {len(listed)} listed settlements could not be loaded: ")
    assert len(outcomes) == len(listed) - 1
    (failed_run,) = _failed_runs(runtime)
    assert failed_run["raw_report_id"] is not None
    (unloaded,) = settlements_at_risk(runtime.engine, store.id, datetime.now(UTC).date())
    assert unloaded.amazon_report_id == failed_run["amazon_report_id"]
    assert unloaded.archived and not unloaded.at_risk
    # Its file is kept: it stays listed here after Amazon forgets it (replay can load it).
    later = unloaded.listed_until + timedelta(days=30)
    assert settlements_at_risk(runtime.engine, store.id, later) == [unloaded]


def test_amazon_never_lists_settlements_older_than_90_days(
    runtime: Runtime, store: Store, sandbox: RunningSandbox
) -> None:
    """What a store did not keep on first sight, no later sync can fetch."""
    cutoff = datetime.now(UTC) - timedelta(days=90)
    old = [period for period in _periods(sandbox) if period.created < cutoff]
    assert old, "the account's history must reach past Amazon's 90 days"
    (task, *_) = plan_tasks(runtime.engine, store, SETTLEMENT, 30)
    client = client_for(runtime.settings, store, task, QUICK)

    asked_for_all = client.list_reports(
        SETTLEMENT.amazon_report_type or "", cutoff - timedelta(days=300)
    )
    outcomes, errors = _sync_settlements(runtime, store)

    listed_ids = {status.report_id for status in asked_for_all}
    assert listed_ids == {period.report_id for period in _listed_now(sandbox)}
    assert not listed_ids & {period.report_id for period in old}
    assert errors == [] and outcomes
    assert not _stored_settlement_ids(runtime) & {period.settlement_id for period in old}


@pytest.mark.app
@pytest.mark.redis
def test_the_sync_page_and_overview_warn_of_a_settlement_at_risk(
    migrated_database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    get_settings.cache_clear()
    engine = get_engine(migrated_database_url)
    store = add_store(engine, slug="acme_us", name="Acme", country_codes=["US"])
    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=30), today - timedelta(days=17)
    error = "Amazon kept answering 503 for getReportDocument (*retry*)."
    with engine.begin() as connection:
        connection.execute(
            sa.insert(tables.sync_runs).values(
                store_id=store.id,
                source="sp_api",
                report_type=SETTLEMENT.key,
                window_start=start,
                window_end=end,
                amazon_report_id="50000000001",
                status="failed",
                error=error,
                started_at=datetime.now(UTC),
                finished_at=datetime.now(UTC),
                triggered_by="schedule",
            )
        )
    until = end + timedelta(days=90)

    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(
        "was listed by Amazon but could not be downloaded" in block.value
        and f"until about {until:%d %b %Y}" in block.value
        for block in at.error
    ), [block.value for block in at.error]

    at.switch_page(str(ROOT / "pages" / "sync.py")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [block.value for block in at.warning] == [
        f"Settlement {format_date(start)} to {format_date(end)} was listed by Amazon but could "
        f"not be downloaded ({as_text(error)}); Amazon lists it until about "
        f"{format_date(until)}: sync settlements again before then."
    ]


def test_the_cli_loads_the_other_settlements_and_exits_1_naming_the_failed_one(
    runtime: Runtime,
    store: Store,
    sandbox: RunningSandbox,
    capsys: pytest.CaptureFixture[str],
) -> None:
    listed = _listed_now(sandbox)
    sandbox.set_faults(
        [
            Fault(
                "corrupt_document",
                operation="download",
                report_type=SETTLEMENT.amazon_report_type,
                count=1,
            )
        ]
    )

    exit_code = cli_main(["sync", store.slug, "--report", SETTLEMENT.key])

    shown = capsys.readouterr()
    assert exit_code == 1
    assert f"1 of {len(listed)} listed settlements could not be loaded: " in shown.err
    assert len(_stored_settlement_ids(runtime)) == len(listed) - 1
    (summary,) = [line for line in shown.out.splitlines() if "windows synced" in line]
    rows = int(summary.split(", ")[1].split(" ")[0])
    assert summary.startswith("0 of 1 windows synced") and rows > 0  # the others' rows count

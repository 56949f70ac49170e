"""Settlement history from the Finances API (v2024-06-19 listTransactions): the same money as the
settlement reports to the cent, one ledger without counting anything twice, deferred money apart.

The sandbox builds its transactions from the same truth as its settlement documents, older than
the 90 days getReports lists them too (amzinsight_sandbox.finances)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import sp_api.auth.access_token_client as access_token_client
import sqlalchemy as sa
from amzinsight_sandbox import RunningSandbox, SandboxConfig, demo_account, start_sandbox
from amzinsight_sandbox.settlement_report import settlement_document
from streamlit.testing.v1 import AppTest

from amzinsight.analytics.finance import settlement_breakdown
from amzinsight.analytics.ledger import FINANCES_API, SETTLEMENT_REPORT, deferred_money
from amzinsight.config import get_settings
from amzinsight.db import tables
from amzinsight.ingest.sync import (
    SettlementsNotLoadedError,
    client_for,
    plan_tasks,
    run_task,
)
from amzinsight.reports import get_report
from amzinsight.runtime import Runtime
from amzinsight.stores import Store
from app.components import as_text
from tests.integration.sandbox_stores import FAST, sandbox_runtime, sandbox_store

pytestmark = [pytest.mark.postgres, pytest.mark.s3]

DAYS = 130
ACCOUNT = demo_account(asins=6, days=DAYS)  # settlements older than Amazon's 90 days exist
FINANCES = get_report("finance_transactions")
SETTLEMENT = get_report("settlement")
EVERY_DAY = (date(2000, 1, 1), date(2100, 1, 1))
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


def _sync(runtime: Runtime, store: Store, key: str) -> int:
    """Every planned window of one report type, as a first sync would; rows upserted."""
    spec = get_report(key)
    upserted = 0
    for task in plan_tasks(runtime.engine, store, spec, DAYS):
        client = client_for(runtime.settings, store, task, FAST)
        try:
            outcomes = run_task(runtime.engine, runtime.archive, client, store, task)
        except SettlementsNotLoadedError as error:  # pragma: no cover - a failure to explain
            raise AssertionError(str(error)) from error
        assert all(outcome.status == "succeeded" for outcome in outcomes), outcomes
        upserted += sum(outcome.rows_upserted for outcome in outcomes)
    return upserted


def _document_totals(sandbox: RunningSandbox) -> dict[str, Decimal]:
    """Each sandbox settlement's total-amount, read from its own document."""
    state = sandbox.state.accounts[ACCOUNT.seller_id]
    totals = {}
    for period in state.settlements:
        document = settlement_document(state.truth, period, state.previous_settlement(period))
        header, summary = document.splitlines()[:2]
        values = dict(zip(header.split("\t"), summary.split("\t"), strict=True))
        totals[period.settlement_id] = Decimal(values["total-amount"])
    return totals


def _finance_sums(runtime: Runtime) -> dict[str, Decimal]:
    lines = tables.finance_transaction_lines
    query = sa.select(lines.c.settlement_id, sa.func.sum(lines.c.amount)).group_by(
        lines.c.settlement_id
    )
    with runtime.engine.connect() as connection:
        return {row[0]: row[1] for row in connection.execute(query) if row[0] is not None}


def _by_category(frame: pl.DataFrame) -> dict[str, Decimal]:
    grouped = frame.group_by("category").agg(pl.col("amount").sum())
    return {row["category"]: row["amount"] for row in grouped.iter_rows(named=True)}


def test_finances_history_equals_every_settlement_to_the_cent(
    runtime: Runtime, store: Store, sandbox: RunningSandbox
) -> None:
    assert _sync(runtime, store, FINANCES.key) > 0
    state = sandbox.state.accounts[ACCOUNT.seller_id]
    first_day = datetime.now(UTC) - timedelta(days=DAYS - 2)
    whole = [p for p in state.settlements if p.start_ts >= first_day.timestamp()]
    listed_since = datetime.now(UTC) - timedelta(days=90)
    assert any(p.created < listed_since for p in whole), "history must reach past 90 days"

    found, expected = _finance_sums(runtime), _document_totals(sandbox)
    for period in whole:
        assert found[period.settlement_id] == expected[period.settlement_id], period

    # A second sync changes nothing Amazon did not change.
    assert _sync(runtime, store, FINANCES.key) == 0


def test_reports_and_finances_are_one_ledger_that_counts_nothing_twice(
    runtime: Runtime, store: Store
) -> None:
    _sync(runtime, store, FINANCES.key)
    before = settlement_breakdown(runtime.engine, store.id, *EVERY_DAY)
    assert set(before["source"]) == {FINANCES_API}

    _sync(runtime, store, SETTLEMENT.key)
    after = settlement_breakdown(runtime.engine, store.id, *EVERY_DAY)

    # Stored reports replace the Finances amounts of their settlements; older settlements and
    # the days since the last one still come from the Finances API.
    assert set(after["source"]) == {FINANCES_API, SETTLEMENT_REPORT}
    assert _by_category(after) == _by_category(before)
    with runtime.engine.connect() as connection:
        stored = connection.execute(
            sa.select(sa.func.sum(tables.settlement_lines.c.amount))
        ).scalar_one()
    from_reports = after.filter(pl.col("source") == SETTLEMENT_REPORT)["amount"].sum()
    assert from_reports == stored


def test_deferred_money_is_shown_apart_and_never_counted_as_paid(
    runtime: Runtime, store: Store
) -> None:
    _sync(runtime, store, FINANCES.key)
    transactions = tables.finance_transactions
    with runtime.engine.connect() as connection:
        held = connection.execute(
            sa.select(sa.func.sum(transactions.c.total_amount)).where(
                transactions.c.status == "DEFERRED"
            )
        ).scalar_one()
        every = connection.execute(
            sa.select(sa.func.sum(tables.finance_transaction_lines.c.amount))
        ).scalar_one()
    assert held, "the open period holds deferred shipments"

    deferred = deferred_money(runtime.engine, store.id)
    assert deferred["amount"].sum() == held
    assert (deferred["next_release"] > datetime.now(UTC)).all()
    ledger = settlement_breakdown(runtime.engine, store.id, *EVERY_DAY)
    assert ledger["amount"].sum() == every - held


@pytest.mark.app
@pytest.mark.redis
def test_the_finance_page_names_each_source_and_the_money_held_back(
    runtime: Runtime, store: Store, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sync(runtime, store, FINANCES.key)
    _sync(runtime, store, SETTLEMENT.key)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    get_settings.cache_clear()

    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.switch_page(str(ROOT / "pages" / "finance.py")).run()
    assert not at.exception, [e.value for e in at.exception]
    captions = [caption.value for caption in at.caption]
    assert any(
        text.startswith(as_text("Sources: "))
        and as_text(f"{FINANCES_API}: ") in text
        and as_text(f"{SETTLEMENT_REPORT}: ") in text
        for text in captions
    ), captions
    held = as_text("Held back by Amazon (deferred, not paid yet): ")
    assert any(info.value.startswith(held) for info in at.info), [i.value for i in at.info]
    (breakdown,) = [f.value for f in at.dataframe if "amount_description" in f.value.columns]
    assert {FINANCES_API, SETTLEMENT_REPORT} <= set(breakdown["source"])

"""Which Amazon APIs a store's credentials reach, against the sandbox over HTTP (real SP-API and
Ads clients): every API of a normal account is reachable; an app without the Brand Analytics
or the Finance and Accounting role gets one sentence each saying what to do in Seller Central
and `store check` exits 2; missing
credentials name their variables; a 403 is asked once; nothing secret is ever printed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
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

from amzinsight.analytics.access import last_access_check
from amzinsight.config import Settings, get_settings
from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.errors import ConfigError
from amzinsight.ingest.access import (
    ADS,
    BUSY,
    DATA_KIOSK,
    FINANCES,
    KIOSK_ROLE_MISSING,
    REPORTS,
    AccessCheck,
    check_access,
    record_access,
)
from amzinsight.ingest.sync import client_for, plan_tasks, run_task
from amzinsight.reports import get_report
from amzinsight.reports.finance_transactions import ROLE_MISSING as FINANCES_ROLE_MISSING
from amzinsight.runtime import build_runtime
from amzinsight.sources.sp_api import RetryPolicy
from amzinsight.stores import Store, StoreEndpoints, add_store
from launcher.cli import main
from workers.jobs import check_store_access

pytestmark = pytest.mark.postgres

FAST = RetryPolicy(
    max_attempts=3,
    server_error_base_seconds=0.01,
    max_backoff_seconds=0.05,
    default_throttle_wait_seconds=0.01,
)
ACCOUNT = demo_account(asins=8, days=30)
WITHOUT_ROLE = dataclasses.replace(
    ACCOUNT,
    seller_id="A2NOKIOSKROLE001",
    refresh_token="Atzr|sandbox-no-brand-analytics-role",
    ads_refresh_token="Atzr|sandbox-no-brand-analytics-role",
    data_kiosk=False,
    finances=False,  # nor the Finance and Accounting role
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    config = SandboxConfig(
        accounts=[ACCOUNT, WITHOUT_ROLE], processing_delay_seconds=0.05, speed_factor=1000
    )
    with start_sandbox(config) as running:
        yield running


@pytest.fixture
def env(
    sandbox: RunningSandbox, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> pytest.MonkeyPatch:
    """The demo account's credentials as store `demo`, the role-less one's as `nokiosk`."""
    sandbox.reset()
    access_token_client.cache.clear()
    for name, value in {
        **demo_environment(ACCOUNT, "demo"),
        **demo_environment(WITHOUT_ROLE, "nokiosk"),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    get_settings.cache_clear()
    return monkeypatch


def _add(sandbox: RunningSandbox, database_url: str, slug: str) -> Store:
    return add_store(
        get_engine(database_url),
        slug=slug,
        name=slug.title(),
        country_codes=["US"],
        endpoints=StoreEndpoints(sandbox.url, sandbox.lwa_token_url, sandbox.url),
        is_sandbox=True,
    )


def _by_api(checks: list[AccessCheck]) -> dict[str, AccessCheck]:
    return {check.api: check for check in checks}


def _assert_nothing_secret(text: str, settings: Settings) -> None:
    assert "Traceback" not in text
    for secret in settings.secret_values():
        assert secret not in text
    for account in (ACCOUNT, WITHOUT_ROLE):
        assert account.refresh_token not in text
        assert account.lwa_client_secret not in text


def test_a_normal_account_reaches_every_api_and_the_check_is_recorded(
    env: pytest.MonkeyPatch, sandbox: RunningSandbox, migrated_database_url: str
) -> None:
    store = _add(sandbox, migrated_database_url, "demo")
    checks = check_access(Settings(), store, FAST)

    assert [(c.api, c.ok) for c in checks] == [
        (REPORTS, True),
        (DATA_KIOSK, True),
        (FINANCES, True),
        (ADS, True),
    ]
    assert [c.line for c in checks] == [
        "Reports: reachable",
        "Data Kiosk (Brand Analytics role): reachable",
        "Finances: reachable",
        "Amazon Ads: reachable",
    ]
    operations = [r["operation"] for r in sandbox.requests() if r["seller_id"] == ACCOUNT.seller_id]
    for operation in ("getReports", "getQueries", "listTransactions", "listProfiles"):
        assert operations.count(operation) == 1, operations

    engine = get_engine(migrated_database_url)
    record_access(engine, store.id, checks)
    recorded = last_access_check(engine, store.id)
    assert [(r.api, r.ok, r.sentence) for r in recorded] == [
        (c.api, c.ok, c.sentence) for c in checks
    ]
    # A later check replaces the earlier one (no rows of an API that is no longer checked).
    record_access(engine, store.id, checks[:1])
    assert [r.api for r in last_access_check(engine, store.id)] == [REPORTS]


def test_without_the_brand_analytics_role_data_kiosk_is_missing_and_asked_once(
    env: pytest.MonkeyPatch,
    sandbox: RunningSandbox,
    migrated_database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = _add(sandbox, migrated_database_url, "nokiosk")
    checks = _by_api(check_access(Settings(), store, FAST))

    assert checks[REPORTS].ok is True
    assert checks[DATA_KIOSK].ok is False
    assert checks[DATA_KIOSK].sentence == KIOSK_ROLE_MISSING
    assert "Seller Central > Apps and Services > Develop Apps" in KIOSK_ROLE_MISSING
    kiosk_calls = [
        r
        for r in sandbox.requests()
        if r["seller_id"] == WITHOUT_ROLE.seller_id and r["operation"] == "getQueries"
    ]
    assert [r["status"] for r in kiosk_calls] == [403]  # never retried
    assert checks[FINANCES].ok is False
    assert checks[FINANCES].sentence == FINANCES_ROLE_MISSING

    assert main(["store", "check", "nokiosk"]) == 2
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "Reports: reachable",
        f"Data Kiosk (Brand Analytics role): missing: {KIOSK_ROLE_MISSING}",
        f"Finances: missing: {FINANCES_ROLE_MISSING}",
        "Amazon Ads: reachable",
    ]
    _assert_nothing_secret(out + err, Settings())
    recorded = last_access_check(get_engine(migrated_database_url), store.id)
    assert [(r.api, r.ok) for r in recorded][:2] == [(REPORTS, True), (DATA_KIOSK, False)]


def test_store_check_exits_0_when_nothing_is_missing(
    env: pytest.MonkeyPatch,
    sandbox: RunningSandbox,
    migrated_database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _add(sandbox, migrated_database_url, "demo")
    assert main(["store", "check", "demo"]) == 0
    out, _err = capsys.readouterr()
    assert out.splitlines() == [
        "Reports: reachable",
        "Data Kiosk (Brand Analytics role): reachable",
        "Finances: reachable",
        "Amazon Ads: reachable",
    ]


def test_store_add_checks_the_new_store_and_never_fails_the_add(
    env: pytest.MonkeyPatch,
    sandbox: RunningSandbox,
    migrated_database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["store", "add", "nokiosk", "--name", "No Kiosk", "--marketplace", "US", "--sandbox",
         sandbox.url]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.splitlines() == [
        "store nokiosk registered (US)",
        "Reports: reachable",
        f"Data Kiosk (Brand Analytics role): missing: {KIOSK_ROLE_MISSING}",
        f"Finances: missing: {FINANCES_ROLE_MISSING}",
        "Amazon Ads: reachable",
    ]
    assert err == ""

    # Without credentials there is nothing to check: the add says which variables to set.
    assert main(["store", "add", "bare", "--name", "Bare", "--marketplace", "US"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == ["store bare registered (US)"]
    assert "AMZ_STORES__BARE__SP_REFRESH_TOKEN" in err


def test_missing_credentials_name_the_variables(
    env: pytest.MonkeyPatch,
    sandbox: RunningSandbox,
    migrated_database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env.delenv("AMZ_STORES__DEMO__LWA_CLIENT_SECRET")
    for name in ("ADS_CLIENT_ID", "ADS_CLIENT_SECRET", "ADS_REFRESH_TOKEN"):
        env.delenv(f"AMZ_STORES__DEMO__{name}")
    get_settings.cache_clear()
    store = _add(sandbox, migrated_database_url, "demo")
    checks = _by_api(check_access(Settings(), store, FAST))

    missing = "SP-API credentials are missing: set AMZ_STORES__DEMO__LWA_CLIENT_SECRET."
    assert (checks[REPORTS].ok, checks[REPORTS].sentence) == (False, missing)
    assert (checks[DATA_KIOSK].ok, checks[DATA_KIOSK].sentence) == (False, missing)
    assert (checks[FINANCES].ok, checks[FINANCES].sentence) == (False, missing)
    assert checks[ADS].ok is None
    assert checks[ADS].sentence.startswith("not set up: set AMZ_STORES__DEMO__ADS_CLIENT_ID")
    assert sandbox.requests() == []  # nothing was asked of Amazon

    assert main(["store", "check", "demo"]) == 2
    out, _err = capsys.readouterr()
    assert f"Reports: missing: {missing}" in out.splitlines()


def test_refused_credentials_and_outages_are_one_line_without_secrets(
    env: pytest.MonkeyPatch,
    sandbox: RunningSandbox,
    migrated_database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong_token = "Atzr|a-refresh-token-the-sandbox-never-issued-0123456789"
    env.setenv("AMZ_STORES__DEMO__SP_REFRESH_TOKEN", wrong_token)
    get_settings.cache_clear()
    store = _add(sandbox, migrated_database_url, "demo")
    sandbox.set_faults([Fault("server_error", operation="listProfiles")])

    assert main(["store", "check", "demo"]) == 2
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("Reports: missing: Amazon's login service refused")
    assert lines[1].startswith("Data Kiosk (Brand Analytics role): missing: Amazon's login")
    assert lines[2].startswith("Finances: missing: Amazon's login")
    assert lines[3] == f"Amazon Ads: {BUSY}"  # an outage: unknown, not missing
    assert len(lines) == 4
    _assert_nothing_secret(out + err, Settings())
    assert wrong_token not in out + err
    recorded = last_access_check(get_engine(migrated_database_url), store.id)
    assert [r.ok for r in recorded] == [False, False, False, None]
    assert all(wrong_token not in r.sentence for r in recorded)


def test_the_worker_job_checks_and_records(
    env: pytest.MonkeyPatch, sandbox: RunningSandbox, migrated_database_url: str
) -> None:
    store = _add(sandbox, migrated_database_url, "nokiosk")
    result = check_store_access("nokiosk")

    assert result["missing"] == 2
    assert [(c["api"], c["ok"]) for c in result["checks"]] == [
        (REPORTS, True),
        (DATA_KIOSK, False),
        (FINANCES, False),
        (ADS, True),
    ]
    recorded = last_access_check(get_engine(migrated_database_url), store.id)
    assert [(r.api, r.ok, r.sentence) for r in recorded] == [
        (c["api"], c["ok"], c["sentence"]) for c in result["checks"]
    ]


def test_a_sync_without_the_finance_role_fails_once_with_the_sentence(
    env: pytest.MonkeyPatch, sandbox: RunningSandbox, migrated_database_url: str
) -> None:
    store = _add(sandbox, migrated_database_url, "nokiosk")
    runtime = build_runtime(Settings())
    (task, *_) = plan_tasks(runtime.engine, store, get_report("finance_transactions"), 30)
    client = client_for(runtime.settings, store, task, FAST)

    with pytest.raises(ConfigError, match="lacks the Finance and Accounting role"):
        run_task(runtime.engine, runtime.archive, client, store, task)

    calls = [
        r["status"]
        for r in sandbox.requests()
        if r["seller_id"] == WITHOUT_ROLE.seller_id and r["operation"] == "listTransactions"
    ]
    assert calls == [403]  # a refusal is a sentence, never retried
    with runtime.engine.connect() as connection:
        (error,) = connection.execute(
            sa.select(tables.sync_runs.c.error).where(tables.sync_runs.c.status == "failed")
        ).scalars()
    assert error == FINANCES_ROLE_MISSING

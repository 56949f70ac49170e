"""The Sync page's "Amazon access" section through AppTest: never checked, then "Check access"
queues the worker's job (a second click finds it), which asks the sandbox over HTTP; the page then
shows each API's line from the recorded check, the missing Brand Analytics role as its sentence."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
import sp_api.auth.access_token_client as access_token_client
from amzinsight_sandbox import (
    RunningSandbox,
    SandboxConfig,
    demo_account,
    demo_environment,
    start_sandbox,
)
from redis import Redis
from rq import Queue
from streamlit.testing.v1 import AppTest

from amzinsight.config import get_settings
from amzinsight.db.engine import get_engine
from amzinsight.ingest.access import ADS, DATA_KIOSK, FINANCES, KIOSK_ROLE_MISSING, REPORTS
from amzinsight.stores import StoreEndpoints, add_store
from app.components import as_text
from tests.integration.test_long_jobs import run_jobs

pytestmark = [pytest.mark.app, pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "app" / "main.py")
ACCOUNT = dataclasses.replace(demo_account(asins=6, days=20), data_kiosk=False)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    config = SandboxConfig(accounts=[ACCOUNT], processing_delay_seconds=0.05, speed_factor=1000)
    with start_sandbox(config) as running:
        yield running


@pytest.fixture
def sync_page(
    sandbox: RunningSandbox,
    migrated_database_url: str,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> AppTest:
    access_token_client.cache.clear()
    for name, value in demo_environment(ACCOUNT, "nokiosk").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    get_settings.cache_clear()
    add_store(
        get_engine(migrated_database_url),
        slug="nokiosk",
        name="No Kiosk",
        country_codes=["US"],
        endpoints=StoreEndpoints(sandbox.url, sandbox.lwa_token_url, sandbox.url),
        is_sandbox=True,
    )
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.switch_page(str(ROOT / "pages" / "sync.py")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_check_access_queues_the_job_and_shows_each_api(sync_page: AppTest, redis_url: str) -> None:
    at = sync_page
    assert "Not checked yet: which Amazon APIs this store's credentials reach." in [
        caption.value for caption in at.caption
    ]
    at.button(key="sync_access_check").click().run()
    at.button(key="sync_access_check").click().run()  # a second click finds the queued check
    assert not at.exception, [e.value for e in at.exception]
    assert [toast.value for toast in at.toast] == [
        "A check of this store's access is already queued or running."
    ]
    connection = Redis.from_url(redis_url)
    assert Queue("ingest", connection=connection).get_job_ids() == ["access-nokiosk"]
    (live,) = [frame.value for frame in at.dataframe if "step" in frame.value.columns]
    assert live["step"].tolist() == ["Checking which Amazon APIs the store reaches"]

    run_jobs(connection)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    lines = [block.value for block in at.markdown]
    assert f"✓ **{as_text(REPORTS)}**: reachable" in lines
    assert f"✗ **{as_text(DATA_KIOSK)}**: missing: {as_text(KIOSK_ROLE_MISSING)}" in lines
    assert f"✓ **{as_text(ADS)}**: reachable" in lines
    assert f"✓ **{as_text(FINANCES)}**: reachable" in lines
    assert any(caption.value.startswith("Checked ") for caption in at.caption)
    assert not at.error

"""What the tests that sync from the sandbox share: a patient-but-quick retry policy, a runtime
whose environment signs in to a sandbox account, and a store pointed at the sandbox."""

from __future__ import annotations

import pytest
import sp_api.auth.access_token_client as access_token_client
from amzinsight_sandbox import RunningSandbox, SandboxAccount, demo_environment

from amzinsight.config import Settings
from amzinsight.ingest.archive import S3Archive
from amzinsight.runtime import Runtime, build_runtime
from amzinsight.sources.sp_api import RetryPolicy
from amzinsight.stores import Store, StoreEndpoints, add_store

FAST = RetryPolicy(
    poll_initial_seconds=0.05,
    poll_max_seconds=0.2,
    poll_timeout_seconds=30,
    server_error_base_seconds=0.01,
    max_backoff_seconds=0.2,
    default_throttle_wait_seconds=0.05,
)


def sandbox_runtime(
    sandbox: RunningSandbox,
    account: SandboxAccount,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Runtime:
    """A fresh sandbox state, no cached access token, the account's credentials, S3 archive."""
    sandbox.reset()
    access_token_client.cache.clear()
    for name, value in demo_environment(account).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AMZ_DATABASE_URL", database_url)
    built = build_runtime(Settings())
    assert isinstance(built.archive, S3Archive)
    return built


def sandbox_store(
    runtime: Runtime,
    sandbox: RunningSandbox,
    account: SandboxAccount,
    countries: list[str] | None = None,
) -> Store:
    """Store "demo" selling in `countries` (default: every marketplace of the account)."""
    return add_store(
        runtime.engine,
        slug="demo",
        name=account.name,
        country_codes=countries or list(account.marketplaces),
        endpoints=StoreEndpoints(sandbox.url, sandbox.lwa_token_url, sandbox.url),
        is_sandbox=True,
    )

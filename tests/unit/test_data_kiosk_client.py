"""SpApiClient.run_data_kiosk_query against the sandbox's Data Kiosk, over HTTP."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import sp_api.auth.access_token_client as access_token_client
from amzinsight_sandbox import Fault, RunningSandbox, SandboxConfig, demo_account, start_sandbox
from pydantic import SecretStr

from amzinsight.config import StoreCredentials
from amzinsight.errors import ConfigError, ReportFailedError
from amzinsight.marketplaces import MARKETPLACES
from amzinsight.reports.sales_traffic_kiosk import ROLE_MISSING, by_date_query, trends_query
from amzinsight.sources.sp_api import RetryPolicy, SpApiClient

TODAY = date(2026, 6, 30)
US = MARKETPLACES["US"].marketplace_id
FAST = RetryPolicy(
    poll_initial_seconds=0.05,
    poll_max_seconds=0.2,
    poll_timeout_seconds=30,
    server_error_base_seconds=0.01,
    default_throttle_wait_seconds=0.01,
)


@pytest.fixture(autouse=True)
def _fresh_client_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("SP_API_DEFAULT_MARKETPLACE", raising=False)
    access_token_client.cache.clear()
    yield
    access_token_client.cache.clear()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    account = demo_account(seed=5, asins=12, days=200, today=TODAY)
    without_role = dataclasses.replace(
        account,
        seller_id="A2NOKIOSKROLE001",
        refresh_token="Atzr|sandbox-no-brand-analytics-role",
        ads_refresh_token="Atzr|sandbox-no-brand-analytics-role",
        data_kiosk=False,
    )
    config = SandboxConfig(
        accounts=[account, without_role], processing_delay_seconds=0.2, speed_factor=1000
    )
    with start_sandbox(config) as running:
        yield running


def _client(sandbox: RunningSandbox, seller: int = 0) -> SpApiClient:
    account = sandbox.accounts[seller]
    return SpApiClient(
        credentials=StoreCredentials(
            sp_refresh_token=SecretStr(account.refresh_token),
            lwa_client_id=account.lwa_client_id,
            lwa_client_secret=SecretStr(account.lwa_client_secret),
        ),
        credentials_name="demo",
        marketplace_id=US,
        region="na",
        endpoint=sandbox.url,
        lwa_token_url=sandbox.lwa_token_url,
        retry=FAST,
    )


def _asins(sandbox: RunningSandbox) -> list[str]:
    products = sandbox.truth(sandbox.accounts[0].seller_id).catalogue.products
    return [product.asin for product in products[:5]]


def test_a_trends_query_returns_a_file_of_records(sandbox: RunningSandbox, tmp_path: Path) -> None:
    start, end = TODAY - timedelta(days=6), TODAY - timedelta(days=4)
    asins = _asins(sandbox)
    destination = tmp_path / "trends.jsonl"
    found = _client(sandbox).run_data_kiosk_query(trends_query(US, start, end, asins), destination)
    assert found == destination
    records = [json.loads(line) for line in destination.read_text("utf-8").splitlines()]
    assert records
    assert {record["childAsin"] for record in records} <= set(asins)
    days = {(start + timedelta(days=n)).isoformat() for n in range(3)}
    assert {record["startDate"] for record in records} <= days
    assert all(record["startDate"] == record["endDate"] for record in records)
    assert all(
        record["sales"]["orderedProductSales"]["currencyCode"] == "USD" for record in records
    )
    assert not list(tmp_path.glob("*.errors.json"))


def test_no_data_is_none(sandbox: RunningSandbox, tmp_path: Path) -> None:
    long_ago = TODAY - timedelta(days=500)  # before the account's 200 days of history
    query = by_date_query(US, long_ago, long_ago + timedelta(days=6))
    assert _client(sandbox).run_data_kiosk_query(query, tmp_path / "none.jsonl") is None
    assert not (tmp_path / "none.jsonl").exists()


def test_a_seller_without_the_role_is_a_config_error(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sandbox.reset()
    day = TODAY - timedelta(days=3)
    with pytest.raises(ConfigError) as raised:
        _client(sandbox, seller=1).run_data_kiosk_query(
            by_date_query(US, day, day), tmp_path / "refused.jsonl"
        )
    assert ROLE_MISSING in str(raised.value)
    refused = [
        r for r in sandbox.requests() if r["operation"] == "createQuery" and r["status"] == 403
    ]
    assert len(refused) == 1  # never retried


def test_a_fatal_query_names_amazons_reason(sandbox: RunningSandbox, tmp_path: Path) -> None:
    day = TODAY - timedelta(days=3)
    query = by_date_query(US, day, day).replace("unitsShipped", "unitsTeleported")
    with pytest.raises(ReportFailedError) as raised:
        _client(sandbox).run_data_kiosk_query(query, tmp_path / "fatal.jsonl")
    assert "failed" in str(raised.value) and "unitsTeleported" in str(raised.value)
    assert not list(tmp_path.iterdir())  # the error document is read and removed


def test_a_cancelled_query_fails(sandbox: RunningSandbox, tmp_path: Path) -> None:
    sandbox.set_faults([Fault("cancelled", operation="createQuery", count=1)])
    day = TODAY - timedelta(days=3)
    try:
        with pytest.raises(ReportFailedError, match="cancelled"):
            _client(sandbox).run_data_kiosk_query(by_date_query(US, day, day), tmp_path / "c")
    finally:
        sandbox.set_faults([])


def test_throttling_backs_off_and_succeeds(sandbox: RunningSandbox, tmp_path: Path) -> None:
    sandbox.reset()
    sandbox.set_faults([Fault("throttle", operation="getQuery", count=3)])
    day = TODAY - timedelta(days=3)
    try:
        found = _client(sandbox).run_data_kiosk_query(
            by_date_query(US, day, day), tmp_path / "day.jsonl"
        )
    finally:
        sandbox.set_faults([])
    assert found is not None
    (record,) = [json.loads(line) for line in found.read_text("utf-8").splitlines()]
    assert record["startDate"] == day.isoformat()
    throttled = [
        r for r in sandbox.requests() if r["operation"] == "getQuery" and r["status"] == 429
    ]
    assert len(throttled) == 3

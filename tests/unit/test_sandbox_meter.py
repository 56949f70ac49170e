"""The sandbox follows Amazon's 2026 rules: the Sales and Traffic meter per LWA app
(selling-partner-api-models#5210) and reports kept 90 days (#5101, #5285). Driven over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from amzinsight_sandbox import RunningSandbox, SandboxAccount, SandboxConfig, start_sandbox
from amzinsight_sandbox.config import demo_account
from amzinsight_sandbox.routing import Request
from amzinsight_sandbox.server import build_router, dispatch
from amzinsight_sandbox.state import SandboxState

TODAY = date(2026, 6, 30)
SALES_AND_TRAFFIC = "GET_SALES_AND_TRAFFIC_REPORT"
LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
SETTLEMENT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
REPORTS = "/reports/2021-06-30/reports"
QUOTA_EXCEEDED = {
    "errors": [
        {
            "code": "QuotaExceeded",
            "message": "You exceeded your quota for the requested resource.",
            "details": "",
        }
    ]
}
APP_A = "amzn1.application-oa2-client.meterappa000000000000000000001"
APP_B = "amzn1.application-oa2-client.meterappb000000000000000000002"


def _seller(number: int, client_id: str) -> SandboxAccount:
    """A small seller; sellers of one app share its client id and secret, not refresh tokens."""
    return replace(
        demo_account(seed=30 + number, asins=3, days=400, today=TODAY),
        seller_id=f"A1METERSELLER{number:03d}",
        lwa_client_id=client_id,
        lwa_client_secret=f"secret-of-{client_id}",
        refresh_token=f"Atzr|meter-seller-{number}",
        ads_client_id="",
        ads_client_secret="",
        ads_refresh_token="",
    )


SELLERS = [_seller(1, APP_A), _seller(2, APP_A), _seller(3, APP_B)]


class SpApi:
    """A bare SP-API caller for one seller: a token from the sandbox's LWA, then JSON calls."""

    def __init__(self, sandbox: RunningSandbox, account: SandboxAccount) -> None:
        self.account = account
        self.http = httpx.Client(base_url=sandbox.url, timeout=10)
        grant = self.http.post(
            "/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": account.lwa_client_id,
                "client_secret": account.lwa_client_secret,
                "refresh_token": account.refresh_token,
            },
        )
        assert grant.status_code == 200, grant.text
        self.http.headers["x-amz-access-token"] = grant.json()["access_token"]

    def create(self, report_type: str = SALES_AND_TRAFFIC) -> httpx.Response:
        body: dict[str, Any] = {
            "reportType": report_type,
            "marketplaceIds": self.account.marketplace_ids[:1],
        }
        if report_type == SALES_AND_TRAFFIC:
            body["dataStartTime"] = "2026-06-20T00:00:00Z"
            body["dataEndTime"] = "2026-06-20T23:59:59Z"
        return self.http.post(REPORTS, json=body)

    def close(self) -> None:
        self.http.close()


def _sandbox(
    speed_factor: float, accounts: list[SandboxAccount] = SELLERS, **config: Any
) -> RunningSandbox:
    return start_sandbox(
        SandboxConfig(
            accounts=list(accounts),
            processing_delay_seconds=0,
            speed_factor=speed_factor,
            **config,
        )
    )


@pytest.fixture
def interval_sandbox() -> Iterator[RunningSandbox]:
    """Amazon's meter at speed 1800: one Sales and Traffic report per 0.5 s, a 48 s day."""
    with _sandbox(1800) as running:
        yield running


def _callers(sandbox: RunningSandbox) -> Iterator[SpApi]:
    return (SpApi(sandbox, account) for account in SELLERS)


def test_sales_and_traffic_once_per_interval_then_quota_exceeded(
    interval_sandbox: RunningSandbox,
) -> None:
    seller = SpApi(interval_sandbox, SELLERS[0])
    first = seller.create()
    assert first.status_code == 202, first.text
    refused = seller.create()
    assert refused.status_code == 429
    assert refused.json() == QUOTA_EXCEEDED
    assert "x-amzn-RateLimit-Limit" not in refused.headers  # as the other 429s
    assert interval_sandbox.meter_refusals(APP_A) == 1
    time.sleep(0.55)  # 900 s / 1800
    assert seller.create().status_code == 202
    assert seller.create().status_code == 429
    assert interval_sandbox.meter_refusals(APP_A) == 2
    assert interval_sandbox.meter_refusals() == 2
    seller.close()


def test_other_report_types_are_not_metered(interval_sandbox: RunningSandbox) -> None:
    seller = SpApi(interval_sandbox, SELLERS[0])
    assert seller.create().status_code == 202
    for _ in range(3):
        assert seller.create(LISTINGS).status_code == 202
    assert interval_sandbox.meter_refusals() == 0
    seller.close()


def test_sellers_of_one_app_share_the_meter_other_apps_do_not(
    interval_sandbox: RunningSandbox,
) -> None:
    first, same_app, other_app = _callers(interval_sandbox)
    assert first.create().status_code == 202
    assert same_app.create().status_code == 429
    assert other_app.create().status_code == 202
    assert interval_sandbox.meter_refusals(APP_A) == 1
    assert interval_sandbox.meter_refusals(APP_B) == 0
    with httpx.Client(base_url=interval_sandbox.url) as control:
        meter = control.get("/_sandbox/meter").json()
        assert meter["enabled"] is True and meter["refusals"] == 1
        assert meter["intervalSeconds"] == pytest.approx(0.5)
        assert meter["apps"][APP_A] == {"accepted": 1, "refusals": 1}
        assert meter["apps"][APP_B] == {"accepted": 1, "refusals": 0}
        control.post("/_sandbox/reset")
        assert control.get("/_sandbox/meter").json()["apps"] == {}
    assert interval_sandbox.meter_refusals() == 0
    assert same_app.create().status_code == 202  # the reset emptied the meter
    for caller in (first, same_app, other_app):
        caller.close()


def test_meter_switched_off_accepts_back_to_back_requests() -> None:
    with _sandbox(1800, sales_traffic_meter=False) as running:
        seller = SpApi(running, SELLERS[0])
        assert [seller.create().status_code for _ in range(3)] == [202, 202, 202]
        assert running.meter_refusals() == 0
        seller.close()


def test_96_a_day_then_quota_exceeded_until_the_window_slides() -> None:
    """The day cap on its own (no gap): at speed 43200 a day is 2 s. The calls go through the
    server's whole pipeline (route, token, bucket, handler) in-process: an HTTP round trip to
    the sandbox takes about 45 ms, too slow to send 96 inside a short day reliably."""
    with _sandbox(43200, SELLERS[:1], sales_traffic_interval_seconds=0) as running:
        running.truth(SELLERS[0].seller_id)  # generate the data before the clock runs
        seller = SpApi(running, SELLERS[0])
        router = build_router()
        body = json.dumps(
            {
                "reportType": SALES_AND_TRAFFIC,
                "marketplaceIds": SELLERS[0].marketplace_ids[:1],
                "dataStartTime": "2026-06-20T00:00:00Z",
                "dataEndTime": "2026-06-20T23:59:59Z",
            }
        ).encode()

        def create() -> int:
            request = Request("POST", REPORTS, {}, dict(seller.http.headers), body)
            return dispatch(running.state, router, request).status

        assert create() == 202
        first_accepted = time.monotonic()
        time.sleep(0.5)  # so that the first request leaves the day well before the others
        for number in range(95):
            assert create() == 202, number
            time.sleep(0.002)  # stay under createReport's own bucket (0.0167/s x 43200)
        assert time.monotonic() - first_accepted < 1.8, "too slow to test a 2 s day"
        assert create() == 429
        assert running.meter_refusals(APP_A) == 1
        time.sleep(max(0.0, first_accepted + 2.05 - time.monotonic()))
        assert create() == 202  # the first request left the day
        assert create() == 429
        assert running.meter_refusals(APP_A) == 2
        seller.close()


def test_with_amazons_numbers_the_gap_alone_paces_96_a_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """96 x 15 min is exactly a day: an app keeping the gap is never refused by the cap."""
    clock = [1000.0]
    monkeypatch.setattr("amzinsight_sandbox.state.time.monotonic", lambda: clock[0])
    state = SandboxState(SandboxConfig(accounts=[SELLERS[0]], speed_factor=1))
    for _ in range(200):
        assert state.take_sales_traffic_slot(APP_A)
        clock[0] += 899.0
        assert not state.take_sales_traffic_slot(APP_A)
        clock[0] += 1.0
    assert state.meter_refusals == {APP_A: 200}
    assert len(state.sales_traffic_accepted[APP_A]) == 96


# --- 90 days of reports ------------------------------------------------------------------------


def test_reports_older_than_90_days_are_forgotten() -> None:
    with _sandbox(1000) as running:
        seller = SpApi(running, SELLERS[2])
        account_state = running.state.accounts[SELLERS[2].seller_id]
        now = account_state.clock()
        old = [p for p in account_state.settlements if p.created < now - timedelta(days=91)]
        recent = [
            p
            for p in account_state.settlements
            if now - timedelta(days=89) < p.created <= now - timedelta(days=1)
        ]
        assert old and recent

        def listed(**query: str) -> set[str]:
            params = {"reportTypes": SETTLEMENT, "pageSize": "100", **query}
            answer = seller.http.get(REPORTS, params=params)
            assert answer.status_code == 200, answer.text
            reports = answer.json()["reports"]
            assert "nextToken" not in answer.json()
            for report in reports:
                created = datetime.fromisoformat(report["createdTime"])
                assert created >= now - timedelta(days=90, seconds=5)
            return {report["reportId"] for report in reports}

        long_ago = (TODAY - timedelta(days=300)).isoformat() + "T00:00:00Z"
        since_long_ago = listed(createdSince=long_ago)
        assert since_long_ago == listed()
        assert {p.report_id for p in recent} <= since_long_ago
        assert not {p.report_id for p in old} & since_long_ago
        for period in old[-1:] + old[:1]:
            gone = seller.http.get(f"{REPORTS}/{period.report_id}")
            assert gone.status_code == 404
            assert gone.json()["errors"][0]["code"] == "NotFound"
            document = seller.http.get(f"/reports/2021-06-30/documents/{period.document_id}")
            assert document.status_code == 404
        kept = seller.http.get(f"{REPORTS}/{recent[0].report_id}")
        assert kept.status_code == 200 and kept.json()["reportType"] == SETTLEMENT
        seller.close()

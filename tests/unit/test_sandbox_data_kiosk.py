"""The sandbox's Data Kiosk, driven through python-amazon-sp-api's DataKiosk client over HTTP: the
query lifecycle, Amazon's refusals, and records equal to the one-day Sales and Traffic report."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import sp_api.auth.access_token_client as access_token_client
from amzinsight_sandbox import RunningSandbox, SandboxConfig, demo_account, start_sandbox
from amzinsight_sandbox.data_kiosk import (
    BY_ASIN_SALES,
    BY_ASIN_TRAFFIC,
    BY_DATE_SALES,
    BY_DATE_TRAFFIC,
)
from sp_api.api import DataKiosk, ReportsV2
from sp_api.auth import AccessTokenClient
from sp_api.base import SellingApiBadRequestException, SellingApiForbiddenException

from amzinsight.marketplaces import MARKETPLACES
from amzinsight.reports.sales_traffic_kiosk import (
    DATASET,
    asins_query,
    by_date_query,
    trends_query,
)

TODAY = date(2026, 6, 30)
US = MARKETPLACES["US"].marketplace_id
NO_ROLE_SELLER = "A2NOKIOSKROLE001"


def _accounts() -> list[Any]:
    account = demo_account(seed=11, asins=25, days=400, today=TODAY)
    without_role = dataclasses.replace(
        account,
        seller_id=NO_ROLE_SELLER,
        refresh_token="Atzr|sandbox-no-brand-analytics-role",
        ads_refresh_token="Atzr|sandbox-no-brand-analytics-role",
        data_kiosk=False,
    )
    return [account, without_role]


@pytest.fixture(autouse=True)
def _fresh_client_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The client caches tokens module-wide and lets an env var override the marketplace."""
    monkeypatch.delenv("SP_API_DEFAULT_MARKETPLACE", raising=False)
    access_token_client.cache.clear()
    yield
    access_token_client.cache.clear()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    config = SandboxConfig(
        accounts=_accounts(),
        processing_delay_seconds=0.2,
        speed_factor=1000,
        # Data Kiosk against the report, not pacing: the S&T reports of one module come back
        # to back (Amazon's meter, 0.9 s here); tests/unit/test_sandbox_meter.py covers it.
        sales_traffic_meter=False,
    )
    with start_sandbox(config) as running:
        yield running


@pytest.fixture(scope="module")
def slow_sandbox() -> Iterator[RunningSandbox]:
    """Amazon's real rate limits and queries that take 30 s: for cancelling."""
    config = SandboxConfig(accounts=_accounts()[:1], processing_delay_seconds=30, speed_factor=1)
    with start_sandbox(config) as running:
        yield running


def _api(api: Any, sandbox: RunningSandbox, seller: int = 0) -> Any:
    account = sandbox.accounts[seller]
    scheme, host = sandbox.url.split("://")
    lwa = type("SandboxLwa", (AccessTokenClient,), {"scheme": f"{scheme}://", "host": host})
    return api(
        marketplace=SimpleNamespace(endpoint=sandbox.url, marketplace_id=US, region="us-east-1"),
        credentials={
            "refresh_token": account.refresh_token,
            "lwa_app_id": account.lwa_client_id,
            "lwa_client_secret": account.lwa_client_secret,
        },
        auth_token_client_class=lwa,
    )


def _wait(kiosk: DataKiosk, query_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        query: dict[str, Any] = kiosk.get_query(query_id).payload
        if query["processingStatus"] not in ("IN_QUEUE", "IN_PROGRESS"):
            return query
        time.sleep(0.05)
    raise AssertionError(f"query {query_id} still processing")


def _download(kiosk: DataKiosk, document_id: str) -> bytes:
    document = kiosk.get_document(document_id).payload
    assert document["documentId"] == document_id
    response = httpx.get(document["documentUrl"])  # pre-signed: no credentials
    assert response.status_code == 200
    return response.content


def _run(kiosk: DataKiosk, query: str) -> dict[str, Any]:
    return _wait(kiosk, kiosk.create_query(query).payload["queryId"])


def _records(kiosk: DataKiosk, query: str) -> list[dict[str, Any]]:
    finished = _run(kiosk, query)
    assert finished["processingStatus"] == "DONE", finished
    content = _download(kiosk, finished["dataDocumentId"])
    return [json.loads(line) for line in content.decode("utf-8").splitlines()]


def _errors(kiosk: DataKiosk, query: str) -> list[str]:
    finished = _run(kiosk, query)
    assert finished["processingStatus"] == "FATAL", finished
    assert "dataDocumentId" not in finished
    body = json.loads(_download(kiosk, finished["errorDocumentId"]))
    return [error["message"] for error in body["errors"]]


def _one_day_report(reports: ReportsV2, day: date) -> dict[str, Any]:
    report_id = reports.create_report(
        reportType="GET_SALES_AND_TRAFFIC_REPORT",
        marketplaceIds=[US],
        dataStartTime=f"{day.isoformat()}T00:00:00Z",
        dataEndTime=f"{day.isoformat()}T23:59:59Z",
        reportOptions={"dateGranularity": "DAY", "asinGranularity": "CHILD"},
    ).payload["reportId"]
    deadline = time.monotonic() + 30
    while (report := reports.get_report(report_id).payload)["processingStatus"] != "DONE":
        assert time.monotonic() < deadline, report
        time.sleep(0.05)
    document = reports.get_report_document(report["reportDocumentId"], download=True)
    return json.loads(document.payload["document"])  # type: ignore[no-any-return]


def _selection(fields: dict[str, str]) -> str:
    return " ".join(
        f"{name} {{ amount currencyCode }}" if kind == "money" else name
        for name, kind in fields.items()
    )


def _every_field_query(
    table: str, arguments: str, plain: str, sales: dict[str, str], traffic: dict[str, str]
) -> str:
    return (
        f"query {{ {DATASET} {{ {table}({arguments}) {{ {plain} "
        f"sales {{ {_selection(sales)} }} traffic {{ {_selection(traffic)} }} }} }} }}"
    )


def _asins(sandbox: RunningSandbox, count: int) -> list[str]:
    products = sandbox.truth(sandbox.accounts[0].seller_id).catalogue.products
    return [product.asin for product in products[:count]]


def _same_figures(record: dict[str, Any], sales: dict[str, Any], traffic: dict[str, Any]) -> None:
    """Every figure the report has, equal; every B2B figure zero (no business buyers)."""
    for got, expected in ((record["sales"], sales), (record["traffic"], traffic)):
        for name, value in got.items():
            if name in expected:
                assert value == expected[name], name
            else:
                assert name.endswith("B2B"), name
                assert value in (0, {"amount": 0.0, "currencyCode": "USD"}), name
        assert set(expected) <= set(got)


# --- lifecycle -------------------------------------------------------------------------------


def test_a_query_runs_to_a_jsonl_document_of_the_selected_fields(sandbox: RunningSandbox) -> None:
    kiosk = _api(DataKiosk, sandbox)
    start, end = TODAY - timedelta(days=9), TODAY - timedelta(days=8)
    asins = _asins(sandbox, 4)
    query = trends_query(US, start, end, asins)
    query_id = kiosk.create_query(query).payload["queryId"]
    first = kiosk.get_query(query_id).payload
    assert first["processingStatus"] in ("IN_QUEUE", "IN_PROGRESS")
    assert "dataDocumentId" not in first
    finished = _wait(kiosk, query_id)
    assert finished["processingStatus"] == "DONE"
    assert finished["query"] == query
    assert {"createdTime", "processingStartTime", "processingEndTime"} <= set(finished)
    content = _download(kiosk, finished["dataDocumentId"])
    assert _download(kiosk, finished["dataDocumentId"]) == content  # served again from the cache
    lines = content.decode("utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert records
    selected = [
        "startDate",
        "endDate",
        "marketplaceId",
        "parentAsin",
        "childAsin",
        "sales",
        "traffic",
    ]
    assert all(list(record) == selected for record in records)
    assert {(r["startDate"], r["endDate"]) for r in records} <= {
        (day.isoformat(), day.isoformat()) for day in (start, end)
    }
    assert {r["childAsin"] for r in records} <= set(asins)
    assert set(records[0]["sales"]) == {
        "orderedProductSales",
        "orderedProductSalesB2B",
        "unitsOrdered",
        "unitsOrderedB2B",
        "totalOrderItems",
        "totalOrderItemsB2B",
    }
    assert set(records[0]["sales"]["orderedProductSales"]) == {"amount", "currencyCode"}


def test_by_date_and_trends_records_equal_the_one_day_report(sandbox: RunningSandbox) -> None:
    kiosk, reports = _api(DataKiosk, sandbox), _api(ReportsV2, sandbox)
    start, end = TODAY - timedelta(days=40), TODAY - timedelta(days=37)
    asins = _asins(sandbox, 25)
    window = f'startDate: "{start}" endDate: "{end}"'
    by_date = _records(
        kiosk,
        _every_field_query(
            "salesAndTrafficByDate",
            f'aggregateBy: DAY {window} marketplaceIds: ["{US}"]',
            "startDate endDate marketplaceId",
            BY_DATE_SALES,
            BY_DATE_TRAFFIC,
        ),
    )
    trends = _records(
        kiosk,
        _every_field_query(
            "salesAndTrafficTrends",
            f"asinAggregation: CHILD dateAggregation: DAY {window} "
            f'filters: [{{marketplaceId: "{US}", asins: {json.dumps(asins)}}}]',
            "startDate endDate marketplaceId parentAsin childAsin",
            BY_ASIN_SALES,
            BY_ASIN_TRAFFIC,
        ),
    )
    assert len(by_date) == 4
    compared = 0
    for offset, day_record in enumerate(by_date):
        day = start + timedelta(days=offset)
        report = _one_day_report(reports, day)
        assert day_record["startDate"] == day_record["endDate"] == day.isoformat()
        (entry,) = report["salesAndTrafficByDate"]
        _same_figures(day_record, entry["salesByDate"], entry["trafficByDate"])
        expected = {e["childAsin"]: e for e in report["salesAndTrafficByAsin"]}
        found = {r["childAsin"]: r for r in trends if r["startDate"] == day.isoformat()}
        assert set(found) == set(expected) & set(asins)  # no data, no record
        for asin, record in found.items():
            assert record["endDate"] == day.isoformat()
            assert record["parentAsin"] == expected[asin]["parentAsin"]
            _same_figures(record, expected[asin]["salesByAsin"], expected[asin]["trafficByAsin"])
            compared += 1
    assert compared > 20


def test_by_asin_gives_one_total_per_child_asin_as_the_report_over_the_range(
    sandbox: RunningSandbox,
) -> None:
    kiosk, reports = _api(DataKiosk, sandbox), _api(ReportsV2, sandbox)
    start, end = TODAY - timedelta(days=20), TODAY - timedelta(days=14)
    records = _records(kiosk, asins_query(US, start, end))
    report_id = reports.create_report(
        reportType="GET_SALES_AND_TRAFFIC_REPORT",
        marketplaceIds=[US],
        dataStartTime=f"{start}T00:00:00Z",
        dataEndTime=f"{end}T23:59:59Z",
        reportOptions={"dateGranularity": "DAY", "asinGranularity": "CHILD"},
    ).payload["reportId"]
    deadline = time.monotonic() + 30
    while (report := reports.get_report(report_id).payload)["processingStatus"] != "DONE":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    document = json.loads(
        reports.get_report_document(report["reportDocumentId"], download=True).payload["document"]
    )
    expected = {e["childAsin"]: e for e in document["salesAndTrafficByAsin"]}
    assert {r["childAsin"] for r in records} == set(expected)
    assert len(records) == len(expected)
    for record in records:
        entry = expected[record["childAsin"]]
        assert (record["startDate"], record["endDate"]) == (start.isoformat(), end.isoformat())
        assert record["sales"] == {"unitsOrdered": entry["salesByAsin"]["unitsOrdered"]}
        assert record["traffic"] == {"sessions": entry["trafficByAsin"]["sessions"]}


def test_the_query_builders_are_accepted(sandbox: RunningSandbox) -> None:
    kiosk = _api(DataKiosk, sandbox)
    start, end = TODAY - timedelta(days=5), TODAY - timedelta(days=1)
    records = _records(kiosk, by_date_query(US, start, end))
    assert [r["startDate"] for r in records] == [
        (start + timedelta(days=n)).isoformat() for n in range(5)
    ]
    assert all(r["marketplaceId"] == US for r in records)


# --- Amazon's refusals ------------------------------------------------------------------------


def test_rejected_queries_end_fatal_with_an_error_document(sandbox: RunningSandbox) -> None:
    kiosk = _api(DataKiosk, sandbox)
    day = TODAY - timedelta(days=3)
    too_many = trends_query(US, day, day, _asins(sandbox, 25)).replace(
        "asins: [", "asins: " + "[" + ", ".join(f'"B0EXTRA{n:03d}"' for n in range(6)) + ", "
    )
    assert "1 to 30 ASINs, not 31" in _errors(kiosk, too_many)[0]
    unknown_dataset = by_date_query(US, day, day).replace(
        DATASET, "analytics_salesAndTraffic_2023_01_01"
    )
    assert "versioned domain field" in _errors(kiosk, unknown_dataset)[0]
    unknown_field = by_date_query(US, day, day).replace("unitsShipped", "unitsTeleported")
    assert "unitsTeleported" in _errors(kiosk, unknown_field)[0]
    too_old = TODAY - timedelta(days=731)
    assert "two years" in _errors(kiosk, by_date_query(US, too_old, day))[0]
    assert "endDate" in _errors(kiosk, by_date_query(US, day, day - timedelta(days=1)))[0]
    # Exactly two years back is still allowed.
    oldest = _run(
        kiosk, by_date_query(US, TODAY - timedelta(days=730), TODAY - timedelta(days=729))
    )
    assert oldest["processingStatus"] == "DONE"


def test_a_query_without_data_ends_done_without_a_document(sandbox: RunningSandbox) -> None:
    kiosk = _api(DataKiosk, sandbox)
    before_history = TODAY - timedelta(days=600)  # the account has 400 days
    finished = _run(kiosk, by_date_query(US, before_history, before_history + timedelta(days=9)))
    assert finished["processingStatus"] == "DONE"
    assert "dataDocumentId" not in finished and "errorDocumentId" not in finished
    day = TODAY - timedelta(days=3)
    unknown_asin = _run(kiosk, trends_query(US, day, day, ["B0NOTSOLD0"]))
    assert unknown_asin["processingStatus"] == "DONE"
    assert "dataDocumentId" not in unknown_asin


def test_an_app_without_the_brand_analytics_role_is_refused(sandbox: RunningSandbox) -> None:
    kiosk = _api(DataKiosk, sandbox, seller=1)
    day = TODAY - timedelta(days=3)
    with pytest.raises(SellingApiForbiddenException) as raised:
        kiosk.create_query(by_date_query(US, day, day))
    assert raised.value.code == 403
    assert raised.value.error == [
        {
            "code": "Unauthorized",
            "message": "Access to requested resource is denied.",
            "details": "",
        }
    ]


def test_text_that_is_not_graphql_is_a_bad_request(sandbox: RunningSandbox) -> None:
    kiosk = _api(DataKiosk, sandbox)
    with pytest.raises(SellingApiBadRequestException):
        kiosk.create_query("query { analytics_salesAndTraffic_2024_04_24 { salesAndTrafficByDate(")


# --- cancelling and listing --------------------------------------------------------------------


def test_a_query_in_queue_can_be_cancelled_once(slow_sandbox: RunningSandbox) -> None:
    kiosk = _api(DataKiosk, slow_sandbox)
    day = TODAY - timedelta(days=3)
    query_id = kiosk.create_query(by_date_query(US, day, day)).payload["queryId"]
    assert kiosk.get_query(query_id).payload["processingStatus"] == "IN_QUEUE"
    kiosk.cancel_query(query_id)
    cancelled = kiosk.get_query(query_id).payload
    assert cancelled["processingStatus"] == "CANCELLED"
    assert "dataDocumentId" not in cancelled and "processingEndTime" in cancelled
    kiosk.cancel_query(query_id)  # Amazon: cancelling a CANCELLED query is a no-op


def test_a_finished_query_cannot_be_cancelled(sandbox: RunningSandbox) -> None:
    kiosk = _api(DataKiosk, sandbox)
    day = TODAY - timedelta(days=3)
    finished = _run(kiosk, by_date_query(US, day, day))
    with pytest.raises(SellingApiBadRequestException):
        kiosk.cancel_query(finished["queryId"])


def test_get_queries_pages_newest_first_and_filters_by_status(sandbox: RunningSandbox) -> None:
    sandbox.reset()
    kiosk = _api(DataKiosk, sandbox)
    day = TODAY - timedelta(days=3)
    created = [
        kiosk.create_query(by_date_query(US, day - timedelta(days=n), day)).payload["queryId"]
        for n in range(5)
    ]
    fatal = kiosk.create_query(by_date_query(US, day, day - timedelta(days=1))).payload["queryId"]
    for query_id in [*created, fatal]:
        _wait(kiosk, query_id)
    seen: list[str] = []
    response = kiosk.get_queries(processingStatuses=["DONE"], pageSize=2)
    pages = 1
    while True:
        assert len(response.payload["queries"]) <= 2
        seen.extend(query["queryId"] for query in response.payload["queries"])
        if not response.next_token:  # the library lifts it from pagination.nextToken
            break
        response = kiosk.get_queries(
            processingStatuses=["DONE"], pageSize=2, paginationToken=response.next_token
        )
        pages += 1
    assert pages == 3
    assert seen == list(reversed(created))
    failed = kiosk.get_queries(processingStatuses=["FATAL"]).payload["queries"]
    assert [query["queryId"] for query in failed] == [fatal]
    with pytest.raises(SellingApiBadRequestException):
        kiosk.get_queries(paginationToken="not-a-token")

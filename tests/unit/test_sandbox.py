"""The sandbox Amazon, driven only through the real python-amazon-sp-api client over HTTP."""

from __future__ import annotations

import csv
import gzip
import io
import json
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sp_api.auth.access_token_client as access_token_client
from amzinsight_sandbox import (
    Fault,
    RunningSandbox,
    SandboxAccount,
    SandboxConfig,
    demo_account,
    start_sandbox,
    unit_costs,
)
from amzinsight_sandbox.truth import generate_truth
from sp_api.api import CatalogItems, Inventories, ReportsV2
from sp_api.auth import AccessTokenClient
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base import (
    SellingApiBadRequestException,
    SellingApiForbiddenException,
    SellingApiNotFoundException,
    SellingApiRequestThrottledException,
    SellingApiServerException,
    SellingApiTemporarilyUnavailableException,
)

from amzinsight.marketplaces import MARKETPLACES

TODAY = date(2026, 6, 30)
US = MARKETPLACES["US"]
CA = MARKETPLACES["CA"]
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
SALES_AND_TRAFFIC = "GET_SALES_AND_TRAFFIC_REPORT"
ALL_ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
SETTLEMENT = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
FBA_MYI = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"
LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"

# Header orders as docs/amazon-formats.md 3 records them.
ORDERS_HEADER = [
    "amazon-order-id",
    "merchant-order-id",
    "purchase-date",
    "last-updated-date",
    "order-status",
    "fulfillment-channel",
    "sales-channel",
    "order-channel",
    "url",
    "ship-service-level",
    "product-name",
    "sku",
    "asin",
    "item-status",
    "quantity",
    "currency",
    "item-price",
    "item-tax",
    "shipping-price",
    "shipping-tax",
    "gift-wrap-price",
    "gift-wrap-tax",
    "item-promotion-discount",
    "ship-promotion-discount",
    "ship-city",
    "ship-state",
    "ship-postal-code",
    "ship-country",
    "promotion-ids",
    "cpf",
    "is-business-order",
    "purchase-order-number",
    "price-designation",
    "signature-confirmation-recommended",
]
SETTLEMENT_HEADER = [
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "order-id",
    "merchant-order-id",
    "adjustment-id",
    "shipment-id",
    "marketplace-name",
    "amount-type",
    "amount-description",
    "amount",
    "fulfillment-id",
    "posted-date",
    "posted-date-time",
    "order-item-code",
    "merchant-order-item-id",
    "merchant-adjustment-item-id",
    "sku",
    "quantity-purchased",
    "promotion-id",
]
MYI_HEADER = [
    "sku",
    "fnsku",
    "asin",
    "product-name",
    "condition",
    "your-price",
    "mfn-listing-exists",
    "mfn-fulfillable-quantity",
    "afn-listing-exists",
    "afn-warehouse-quantity",
    "afn-fulfillable-quantity",
    "afn-unsellable-quantity",
    "afn-reserved-quantity",
    "afn-total-quantity",
    "per-unit-volume",
    "afn-inbound-working-quantity",
    "afn-inbound-shipped-quantity",
    "afn-inbound-receiving-quantity",
    "afn-researching-quantity",
    "afn-reserved-future-supply",
    "afn-future-supply-buyable",
]
LISTINGS_HEADER = [
    "item-name",
    "item-description",
    "listing-id",
    "seller-sku",
    "price",
    "quantity",
    "open-date",
    "image-url",
    "item-is-marketplace",
    "product-id-type",
    "zshop-shipping-fee",
    "item-note",
    "item-condition",
    "zshop-category1",
    "zshop-browse-path",
    "zshop-storefront-feature",
    "asin1",
    "asin2",
    "asin3",
    "will-ship-internationally",
    "expedited-shipping",
    "zshop-boldface",
    "product-id",
    "bid-for-featured-placement",
    "add-delete",
    "pending-quantity",
    "fulfillment-channel",
    "merchant-shipping-group",
    "status",
]


def _account(seed: int = 11, asins: int = 60) -> SandboxAccount:
    return demo_account(seed=seed, asins=asins, days=400, today=TODAY)


@pytest.fixture(autouse=True)
def _fresh_client_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The client caches tokens module-wide and lets an env var override the marketplace."""
    monkeypatch.delenv("SP_API_DEFAULT_MARKETPLACE", raising=False)
    access_token_client.cache.clear()
    access_token_client.grantless_cache.clear()
    yield
    access_token_client.cache.clear()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    """A fast sandbox: Amazon's rate limits x1000, reports ready in 0.2 s."""
    config = SandboxConfig(
        accounts=[_account()],
        processing_delay_seconds=0.2,
        speed_factor=1000,
        next_token_ttl_seconds=1.0,
        # These tests check documents, not pacing: two S&T reports back to back in one test
        # would meet Amazon's meter (0.9 s here); tests/unit/test_sandbox_meter.py covers it.
        sales_traffic_meter=False,
    )
    with start_sandbox(config) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset_sandbox(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").reset()


@pytest.fixture(scope="module")
def amazon_paced_sandbox() -> Iterator[RunningSandbox]:
    """Amazon's real rate limits and a slow report queue, for throttling and cancelling."""
    config = SandboxConfig(
        accounts=[_account(seed=12, asins=5)], processing_delay_seconds=30, speed_factor=1
    )
    with start_sandbox(config) as running:
        yield running


def _lwa_class(sandbox: RunningSandbox) -> type[AccessTokenClient]:
    scheme, host = sandbox.url.split("://")
    return type("SandboxLwa", (AccessTokenClient,), {"scheme": f"{scheme}://", "host": host})


def _client(api: Any, sandbox: RunningSandbox, country: str = "US", **options: Any) -> Any:
    account = sandbox.accounts[0]
    credentials = options.pop(
        "credentials",
        {
            "refresh_token": account.refresh_token,
            "lwa_app_id": account.lwa_client_id,
            "lwa_client_secret": account.lwa_client_secret,
        },
    )
    marketplace = MARKETPLACES[country]
    return api(
        marketplace=SimpleNamespace(
            endpoint=sandbox.url, marketplace_id=marketplace.marketplace_id, region="us-east-1"
        ),
        credentials=credentials,
        auth_token_client_class=_lwa_class(sandbox),
        **options,
    )


def _reports(sandbox: RunningSandbox, country: str = "US") -> ReportsV2:
    return _client(ReportsV2, sandbox, country)


def _wait(reports: ReportsV2, report_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        report = reports.get_report(report_id).payload
        if report["processingStatus"] not in ("IN_QUEUE", "IN_PROGRESS"):
            return report
        time.sleep(0.05)
    raise AssertionError(f"report {report_id} still processing")


def _fetch(reports: ReportsV2, report_type: str, **body: Any) -> tuple[dict[str, Any], str]:
    report_id = reports.create_report(reportType=report_type, **body).payload["reportId"]
    report = _wait(reports, report_id)
    assert report["processingStatus"] == "DONE", report
    document = reports.get_report_document(report["reportDocumentId"], download=True)
    assert document.character_code == "utf-8"
    return report, document.payload["document"]


def _rows(document: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(document), delimiter="\t", quoting=csv.QUOTE_NONE)
    return list(reader.fieldnames or []), list(reader)


def _local_day_window(day: date) -> dict[str, str]:
    start = datetime.combine(day, datetime.min.time(), LOS_ANGELES)
    end = start + timedelta(days=1) - timedelta(seconds=1)
    return {
        "dataStartTime": start.astimezone(UTC).isoformat(),
        "dataEndTime": end.astimezone(UTC).isoformat(),
    }


def _sales_and_traffic(
    reports: ReportsV2, start: date, end: date, granularity: str = "CHILD"
) -> dict[str, Any]:
    _, document = _fetch(
        reports,
        SALES_AND_TRAFFIC,
        dataStartTime=f"{start.isoformat()}T00:00:00Z",
        dataEndTime=f"{end.isoformat()}T23:59:59Z",
        reportOptions={"dateGranularity": "DAY", "asinGranularity": granularity},
    )
    return json.loads(document)


def _cents(text: str) -> int:
    return int(Decimal(text or "0") * 100)


# --- Login with Amazon ---------------------------------------------------------------------------


def test_token_grant_returns_an_access_token(sandbox: RunningSandbox) -> None:
    grant = _reports(sandbox).auth  # the client's own LWA exchange
    assert grant.access_token.startswith("Atza|")
    assert grant.expires_in == 3600


@pytest.mark.parametrize(
    ("wrong", "status", "error_code"),
    [
        ({"lwa_client_secret": "not-the-secret"}, 401, "invalid_client"),
        ({"lwa_app_id": "amzn1.application-oa2-client.unknown"}, 401, "invalid_client"),
        ({"refresh_token": "Atzr|revoked"}, 400, "invalid_grant"),
    ],
)
def test_bad_credentials_get_amazons_lwa_error(
    sandbox: RunningSandbox, wrong: dict[str, str], status: int, error_code: str
) -> None:
    account = sandbox.accounts[0]
    credentials = {
        "refresh_token": account.refresh_token,
        "lwa_app_id": account.lwa_client_id,
        "lwa_client_secret": account.lwa_client_secret,
        **wrong,
    }
    reports = _client(ReportsV2, sandbox, credentials=credentials)
    with pytest.raises(AuthorizationError) as raised:
        reports.get_reports(reportTypes=[SETTLEMENT])
    assert (raised.value.status_code, raised.value.error_code) == (status, error_code)


def test_sp_api_calls_need_a_valid_access_token(sandbox: RunningSandbox) -> None:
    forged = _client(ReportsV2, sandbox, restricted_data_token="Atza|forged")
    with pytest.raises(SellingApiForbiddenException) as raised:
        forged.get_reports(reportTypes=[SETTLEMENT])
    assert raised.value.amzn_code == "Unauthorized"


# --- Reports and their documents -----------------------------------------------------------------


@pytest.mark.parametrize("granularity", ["PARENT", "CHILD", "SKU"])
def test_sales_and_traffic_document_shape(sandbox: RunningSandbox, granularity: str) -> None:
    day = TODAY - timedelta(days=20)
    report = _sales_and_traffic(_reports(sandbox), day, day + timedelta(days=1), granularity)
    assert set(report) == {"reportSpecification", "salesAndTrafficByDate", "salesAndTrafficByAsin"}
    specification = report["reportSpecification"]
    assert specification["marketplaceIds"] == [US.marketplace_id]
    assert specification["reportOptions"]["asinGranularity"] == granularity
    assert [d["date"] for d in report["salesAndTrafficByDate"]] == [
        day.isoformat(),
        (day + timedelta(days=1)).isoformat(),
    ]
    by_date = report["salesAndTrafficByDate"][0]
    assert by_date["salesByDate"]["orderedProductSales"]["currencyCode"] == "USD"
    assert {"sessions", "pageViews", "buyBoxPercentage", "unitSessionPercentage"} <= set(
        by_date["trafficByDate"]
    )
    entry = report["salesAndTrafficByAsin"][0]
    assert "date" not in entry
    assert ("childAsin" in entry) == (granularity != "PARENT")
    assert ("sku" in entry) == (granularity == "SKU")
    assert {"unitsOrdered", "orderedProductSales", "totalOrderItems"} <= set(entry["salesByAsin"])


def test_sales_and_traffic_by_date_totals_equal_the_by_asin_sums(sandbox: RunningSandbox) -> None:
    reports = _reports(sandbox)
    for start, end in [(TODAY - timedelta(days=3),) * 2, (date(2025, 11, 20), date(2025, 12, 3))]:
        report = _sales_and_traffic(reports, start, end)
        by_date = report["salesAndTrafficByDate"]
        by_asin = report["salesAndTrafficByAsin"]
        for date_key, asin_key, group in [
            ("unitsOrdered", "unitsOrdered", "sales"),
            ("totalOrderItems", "totalOrderItems", "sales"),
            ("sessions", "sessions", "traffic"),
            ("pageViews", "pageViews", "traffic"),
        ]:
            dated = sum(d[f"{group}ByDate"][date_key] for d in by_date)
            per_asin = sum(a[f"{group}ByAsin"][asin_key] for a in by_asin)
            assert dated == per_asin > 0, date_key
        dated_sales = sum(
            Decimal(str(d["salesByDate"]["orderedProductSales"]["amount"])) for d in by_date
        )
        asin_sales = sum(
            Decimal(str(a["salesByAsin"]["orderedProductSales"]["amount"])) for a in by_asin
        )
        assert dated_sales == asin_sales


def test_orders_report_agrees_with_sales_and_traffic_for_a_local_day(
    sandbox: RunningSandbox,
) -> None:
    reports = _reports(sandbox)
    day = TODAY - timedelta(days=9)
    _, document = _fetch(reports, ALL_ORDERS, **_local_day_window(day))
    header, rows = _rows(document)
    assert header == ORDERS_HEADER
    assert not {"buyer-email", "buyer-name"} & set(header)
    # Region-wide, as Amazon: asking for US returns the amazon.ca orders too.
    assert {row["sales-channel"] for row in rows} == {"Amazon.com", "Amazon.ca"}
    us_rows = [row for row in rows if row["sales-channel"] == "Amazon.com"]
    for row in us_rows:
        assert row["purchase-date"].endswith("+00:00")
        purchased = datetime.fromisoformat(row["purchase-date"]).astimezone(LOS_ANGELES)
        assert purchased.date() == day
    cancelled = [row for row in us_rows if row["order-status"] == "Cancelled"]
    assert cancelled
    assert all(
        r["quantity"] == "0" and not r["currency"] and not r["item-price"] for r in cancelled
    )

    sales = _sales_and_traffic(reports, day, day)["salesAndTrafficByDate"][0]["salesByDate"]
    # Sales & Traffic counts every order that was not cancelled: its lines add up exactly.
    assert sum(int(row["quantity"]) for row in us_rows) == sales["unitsOrdered"]
    assert sum(_cents(row["item-price"]) for row in us_rows) == _cents(
        str(sales["orderedProductSales"]["amount"])
    )
    assert len([r for r in us_rows if r["order-status"] != "Cancelled"]) == sales["totalOrderItems"]


def test_todays_orders_are_partly_pending_without_tax(sandbox: RunningSandbox) -> None:
    _, document = _fetch(_reports(sandbox), ALL_ORDERS, **_local_day_window(TODAY))
    _, rows = _rows(document)
    pending = [row for row in rows if row["item-status"] == "Unshipped"]
    assert pending and {row["order-status"] for row in pending} <= {"Pending", "Shipping"}
    assert all(row["item-price"] and not row["item-tax"] for row in pending)
    assert any(row["item-status"] == "Shipped" for row in rows)


def test_settlements_are_listed_with_next_token_paging_and_add_up(
    sandbox: RunningSandbox,
) -> None:
    reports = _reports(sandbox)
    page = reports.get_reports(
        reportTypes=[SETTLEMENT],
        processingStatuses=["DONE"],
        pageSize=3,
        createdSince=(TODAY - timedelta(days=60)).isoformat() + "T00:00:00Z",
    )
    listed = page.payload["reports"]
    while page.next_token:
        page = reports.get_reports(nextToken=page.next_token)
        listed += page.payload["reports"]
    # 60 days hold about four 14-day settlements per marketplace (US and CA).
    assert 6 <= len(listed) <= 10
    assert len({r["reportId"] for r in listed}) == len(listed)
    created = [r["createdTime"] for r in listed]
    assert created == sorted(created, reverse=True)
    currencies = set()
    promotion_ids = set()
    for report in listed:
        document = reports.get_report_document(report["reportDocumentId"], download=True)
        header, rows = _rows(document.payload["document"])
        assert header == SETTLEMENT_HEADER
        summary, details = rows[0], rows[1:]
        assert summary["transaction-type"] == "" and summary["total-amount"]
        assert all(row["total-amount"] == "" for row in details)
        assert _cents(summary["total-amount"]) == sum(_cents(row["amount"]) for row in details)
        kinds = {(row["transaction-type"], row["amount-description"]) for row in details}
        assert {("Order", "Principal"), ("Order", "Commission"), ("Refund", "Principal")} <= kinds
        assert ("ServiceFee", "TransactionTotalAmount") in kinds
        assert ("other-transaction", "Current Reserve Amount") in kinds
        currencies.add(summary["currency"])
        promotion_ids |= {r["promotion-id"] for r in details if r["amount-type"] == "Promotion"}
    assert currencies == {"USD", "CAD"}
    assert promotion_ids and "" not in promotion_ids


def test_get_reports_next_token_must_be_the_only_parameter(sandbox: RunningSandbox) -> None:
    reports = _reports(sandbox)
    first = reports.get_reports(reportTypes=[SETTLEMENT], pageSize=1)
    with pytest.raises(SellingApiBadRequestException):
        reports.get_reports(nextToken=first.next_token, reportTypes=[SETTLEMENT])


def test_settlement_reports_cannot_be_requested(sandbox: RunningSandbox) -> None:
    with pytest.raises(SellingApiBadRequestException) as raised:
        _reports(sandbox).create_report(reportType=SETTLEMENT)
    assert raised.value.amzn_code == "InvalidInput"


def test_fba_inventory_report_quantities_add_up(sandbox: RunningSandbox) -> None:
    _, document = _fetch(_reports(sandbox), FBA_MYI)
    header, rows = _rows(document)
    assert header == MYI_HEADER
    assert len(rows) == 60
    for row in rows:
        warehouse = int(row["afn-warehouse-quantity"])
        assert warehouse == sum(
            int(row[f"afn-{kind}-quantity"]) for kind in ("fulfillable", "unsellable", "reserved")
        )
        inbound = sum(
            int(row[f"afn-inbound-{kind}-quantity"]) for kind in ("working", "shipped", "receiving")
        )
        assert int(row["afn-total-quantity"]) == warehouse + inbound
    assert any(row["afn-fulfillable-quantity"] == "0" for row in rows)  # stockouts happen


def test_merchant_listings_report_is_utf8_with_fba_and_merchant_rows(
    sandbox: RunningSandbox,
) -> None:
    _, document = _fetch(_reports(sandbox, "CA"), LISTINGS)
    header, rows = _rows(document)
    assert header == LISTINGS_HEADER
    assert any(not row["item-name"].isascii() for row in rows)
    fba = [row for row in rows if row["fulfillment-channel"] == "AMAZON_NA"]
    merchant = [row for row in rows if row["fulfillment-channel"] == "DEFAULT"]
    assert len(fba) == 60 and merchant
    assert all(row["quantity"] == "" for row in fba)
    assert all(row["quantity"].isdigit() for row in merchant)
    assert {row["status"] for row in rows} <= {"Active", "Inactive"}


def test_sales_and_traffic_rules_on_marketplaces_and_age(sandbox: RunningSandbox) -> None:
    reports = _reports(sandbox)
    two = reports.create_report(
        reportType=SALES_AND_TRAFFIC,
        marketplaceIds=[US.marketplace_id, CA.marketplace_id],
        dataStartTime="2026-06-01",
        dataEndTime="2026-06-01",
    ).payload["reportId"]
    assert _wait(reports, two)["processingStatus"] == "FATAL"
    too_old = reports.create_report(
        reportType=SALES_AND_TRAFFIC, dataStartTime="2024-01-01", dataEndTime="2024-01-02"
    ).payload["reportId"]
    done = _wait(reports, too_old)
    assert done["processingStatus"] == "CANCELLED" and "reportDocumentId" not in done
    with pytest.raises(SellingApiBadRequestException):
        reports.create_report(reportType=SALES_AND_TRAFFIC, reportOptions={"asinGranularity": "X"})
    with pytest.raises(SellingApiBadRequestException):
        reports.create_report(reportType="GET_NOT_A_REPORT")
    with pytest.raises(SellingApiBadRequestException):
        reports.create_report(
            reportType=LISTINGS, marketplaceIds=[MARKETPLACES["DE"].marketplace_id]
        )


def test_report_status_moves_through_the_queue_and_can_be_cancelled(
    amazon_paced_sandbox: RunningSandbox,
) -> None:
    reports = _reports(amazon_paced_sandbox)
    report_id = reports.create_report(reportType=LISTINGS).payload["reportId"]
    assert reports.get_report(report_id).payload["processingStatus"] == "IN_QUEUE"
    reports.cancel_report(report_id)
    assert reports.get_report(report_id).payload["processingStatus"] == "CANCELLED"
    with pytest.raises(SellingApiBadRequestException):
        reports.cancel_report(report_id)
    with pytest.raises(SellingApiNotFoundException):
        reports.get_report("1")


# --- Inventory and catalog ----------------------------------------------------------------------


def test_inventory_summaries_page_fifty_at_a_time(sandbox: RunningSandbox) -> None:
    inventories = _client(Inventories, sandbox)
    first = inventories.get_inventory_summary_marketplace(
        details=True, marketplaceIds=[US.marketplace_id]
    )
    assert first.payload["granularity"] == {
        "granularityType": "Marketplace",
        "granularityId": US.marketplace_id,
    }
    assert len(first.payload["inventorySummaries"]) == 50
    assert first.next_token
    second = inventories.get_inventory_summary_marketplace(
        details=True, marketplaceIds=[US.marketplace_id], nextToken=first.next_token
    )
    summaries = first.payload["inventorySummaries"] + second.payload["inventorySummaries"]
    assert len(summaries) == 60 and second.next_token is None
    assert len({s["sellerSku"] for s in summaries}) == 60
    details = summaries[0]["inventoryDetails"]
    assert summaries[0]["totalQuantity"] == (
        details["fulfillableQuantity"]
        + details["inboundWorkingQuantity"]
        + details["inboundShippedQuantity"]
        + details["inboundReceivingQuantity"]
        + details["reservedQuantity"]["totalReservedQuantity"]
        + details["researchingQuantity"]["totalResearchingQuantity"]
        + details["unfulfillableQuantity"]["totalUnfulfillableQuantity"]
    )


def test_inventory_next_token_expires(sandbox: RunningSandbox) -> None:
    inventories = _client(Inventories, sandbox)
    first = inventories.get_inventory_summary_marketplace(marketplaceIds=[US.marketplace_id])
    time.sleep(1.1)  # this sandbox expires tokens after 1 s (Amazon: 30 s)
    with pytest.raises(SellingApiBadRequestException):
        inventories.get_inventory_summary_marketplace(
            marketplaceIds=[US.marketplace_id], nextToken=first.next_token
        )


def test_catalog_item_for_a_child_and_its_parent(sandbox: RunningSandbox) -> None:
    catalog = _client(CatalogItems, sandbox, version="2022-04-01")
    truth = sandbox.truth(sandbox.accounts[0].seller_id)
    child = next(p for p in truth.catalogue.products if p.parent_asin != p.asin)
    sections = ["summaries", "attributes", "images", "productTypes", "relationships", "salesRanks"]
    item = catalog.get_catalog_item(
        child.asin, marketplaceIds=[US.marketplace_id], includedData=sections
    ).payload
    assert item["asin"] == child.asin
    attributes = item["attributes"]
    assert attributes["item_name"][0]["value"] == child.title
    assert len(attributes["bullet_point"]) == 5
    assert attributes["generic_keyword"][0]["value"]
    assert attributes["list_price"][0]["currency"] == "USD"
    assert item["images"][0]["images"][0]["variant"] == "MAIN"
    relationship = item["relationships"][0]["relationships"][0]
    assert relationship["type"] == "VARIATION"
    assert relationship["parentAsins"] == [child.parent_asin]
    assert item["summaries"][0]["itemClassification"] == "BASE_PRODUCT"

    parent = catalog.get_catalog_item(child.parent_asin, marketplaceIds=[US.marketplace_id])
    assert set(parent.payload) == {"asin", "summaries"}  # Amazon's default: summaries only
    assert parent.payload["summaries"][0]["itemClassification"] == "VARIATION_PARENT"

    with pytest.raises(SellingApiNotFoundException):
        catalog.get_catalog_item("B0NOTMINE1", marketplaceIds=[US.marketplace_id])


# --- Rate limits and faults ----------------------------------------------------------------------


def test_empty_bucket_answers_429_quota_exceeded(amazon_paced_sandbox: RunningSandbox) -> None:
    catalog = _client(CatalogItems, amazon_paced_sandbox, version="2022-04-01")
    asin = amazon_paced_sandbox.truth(amazon_paced_sandbox.accounts[0].seller_id).catalogue
    first_asin = asin.products[0].asin
    answers = []
    with pytest.raises(SellingApiRequestThrottledException) as raised:
        for _ in range(5):  # burst 2 at 2 requests per second
            answers.append(catalog.get_catalog_item(first_asin, marketplaceIds=[US.marketplace_id]))
    assert answers and answers[0].rate_limit == "2"
    assert raised.value.amzn_code == "QuotaExceeded"
    assert "x-amzn-RateLimit-Limit" not in raised.value.headers


def test_success_carries_the_rate_limit_times_the_speed_factor(sandbox: RunningSandbox) -> None:
    response = _reports(sandbox).get_reports(reportTypes=[SETTLEMENT])
    assert response.rate_limit == "22.2"  # 0.0222 requests/s x 1000
    assert response.headers["x-amzn-RequestId"]


def test_fatal_fault_ends_the_report_with_an_error_document(sandbox: RunningSandbox) -> None:
    sandbox.set_faults([Fault("fatal", report_type=FBA_MYI, count=1)])
    reports = _reports(sandbox)
    report_id = reports.create_report(reportType=FBA_MYI).payload["reportId"]
    report = _wait(reports, report_id)
    assert report["processingStatus"] == "FATAL"
    document = reports.get_report_document(report["reportDocumentId"], download=True)
    assert "errorDetails" in json.loads(document.payload["document"])
    assert _fetch(reports, FBA_MYI)[0]["processingStatus"] == "DONE"  # count=1: used up


def test_cancelled_fault_ends_the_report_without_a_document(sandbox: RunningSandbox) -> None:
    sandbox.set_faults([Fault("cancelled", report_type=LISTINGS)])
    reports = _reports(sandbox)
    report = _wait(reports, reports.create_report(reportType=LISTINGS).payload["reportId"])
    assert report["processingStatus"] == "CANCELLED"
    assert "reportDocumentId" not in report


def test_throttle_fault_is_a_429_storm_of_count_requests(sandbox: RunningSandbox) -> None:
    sandbox.set_faults([Fault("throttle", operation="getReports", count=3)])
    reports = _reports(sandbox)
    for _ in range(3):
        with pytest.raises(SellingApiRequestThrottledException) as raised:
            reports.get_reports(reportTypes=[SETTLEMENT])
        assert raised.value.amzn_code == "QuotaExceeded"
    assert reports.get_reports(reportTypes=[SETTLEMENT]).payload["reports"]


def test_server_error_fault_answers_503_then_500(sandbox: RunningSandbox) -> None:
    sandbox.set_faults([Fault("server_error", operation="createReport", count=2)])
    reports = _reports(sandbox)
    with pytest.raises(SellingApiTemporarilyUnavailableException):
        reports.create_report(reportType=LISTINGS)
    with pytest.raises(SellingApiServerException):
        reports.create_report(reportType=LISTINGS)
    assert reports.create_report(reportType=LISTINGS).payload["reportId"]


@pytest.mark.parametrize("kind", ["server_error", "truncated_document", "corrupt_document"])
def test_download_faults_break_the_document(sandbox: RunningSandbox, kind: str) -> None:
    reports = _reports(sandbox)
    report = _wait(reports, reports.create_report(reportType=LISTINGS).payload["reportId"])
    sandbox.set_faults([Fault(kind, operation="download", count=1)])
    with pytest.raises(zlib.error):
        reports.get_report_document(report["reportDocumentId"], download=True)
    downloads = [r for r in sandbox.requests() if r["operation"] == "download"]
    assert downloads[-1]["status"] == (503 if kind == "server_error" else 200)
    document = reports.get_report_document(report["reportDocumentId"], download=True)
    assert document.payload["document"].startswith("item-name\t")


def test_slow_document_fault_trickles_the_download(sandbox: RunningSandbox) -> None:
    reports = _reports(sandbox)
    report = _wait(reports, reports.create_report(reportType=LISTINGS).payload["reportId"])
    sandbox.set_faults([Fault("slow_document", delay_seconds=0.6)])
    started = time.monotonic()
    document = reports.get_report_document(report["reportDocumentId"], download=True)
    assert time.monotonic() - started >= 0.5
    assert document.payload["document"].startswith("item-name\t")


def test_faults_log_and_reset_over_http(sandbox: RunningSandbox) -> None:
    """What a test driving a sandbox in another process does."""
    with httpx.Client(base_url=sandbox.url) as control:
        posted = control.post(
            "/_sandbox/faults",
            json=[{"kind": "throttle", "operation": "getReports", "count": 1}],
        )
        assert posted.status_code == 200
        assert control.post("/_sandbox/faults", json=[{"kind": "nonsense"}]).status_code == 400
        reports = _reports(sandbox)
        with pytest.raises(SellingApiRequestThrottledException):
            reports.get_reports(reportTypes=[SETTLEMENT])
        logged = control.get("/_sandbox/requests").json()["requests"]
        assert {"method", "path", "status", "operation", "time"} <= set(logged[-1])
        assert (logged[-1]["operation"], logged[-1]["status"]) == ("getReports", 429)
        assert control.post("/_sandbox/reset").status_code == 200
        assert control.get("/_sandbox/requests").json()["requests"] == []


# --- Determinism, concurrency, scale -----------------------------------------------------------


def _documents_for(seed: int) -> list[str]:
    config = SandboxConfig(
        accounts=[_account(seed=seed, asins=8)], processing_delay_seconds=0, speed_factor=1000
    )
    access_token_client.cache.clear()  # cached per refresh token, not per server
    with start_sandbox(config) as running:
        reports = _reports(running)
        day = TODAY - timedelta(days=5)
        return [
            _fetch(
                reports,
                SALES_AND_TRAFFIC,
                dataStartTime=day.isoformat(),
                dataEndTime=day.isoformat(),
            )[1],
            _fetch(reports, ALL_ORDERS, **_local_day_window(day))[1],
            _fetch(reports, LISTINGS)[1],
        ]


def test_same_seed_same_documents_other_seed_other_documents() -> None:
    first, again, other = _documents_for(3), _documents_for(3), _documents_for(4)
    assert first == again
    assert all(a != b for a, b in zip(first, other, strict=True))


def test_concurrent_clients_are_all_answered(sandbox: RunningSandbox) -> None:
    reports = _reports(sandbox)
    report_id = reports.create_report(reportType=LISTINGS).payload["reportId"]
    failures: list[BaseException] = []

    def poll() -> None:
        client = _reports(sandbox)
        try:
            for _ in range(10):
                assert client.get_report(report_id).payload["reportId"] == report_id
        except BaseException as error:  # reported to the main thread below
            failures.append(error)

    threads = [threading.Thread(target=poll) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures


def test_unit_costs_cover_every_sku_below_price() -> None:
    account = _account(asins=12)
    costs = unit_costs(account)
    truth = generate_truth(account)
    assert [c.seller_sku for c in costs] == [p.sku for p in truth.catalogue.products]
    for cost, product in zip(costs, truth.catalogue.products, strict=True):
        assert cost.currency == "USD"
        assert Decimal("0") < cost.amount < Decimal(product.list_price_us_cents) / 100


def test_generating_a_thousand_asins_over_two_years() -> None:
    account = SandboxAccount(
        seller_id="A1SCALESELLER001",
        name="Scale Test",
        region="na",
        marketplaces=("US",),
        lwa_client_id="client",
        lwa_client_secret="secret",
        refresh_token="Atzr|scale",
        seed=99,
        asins=1000,
        days=730,
        today=TODAY,
    )
    truth = generate_truth(account)
    us = truth.marketplaces["US"]
    assert len(truth.catalogue.products) == 1000
    assert us.units.shape == (1000, 730)
    assert us.nbytes() < 512 * 1024 * 1024
    assert truth.to_polars("US").height == 730_000


def test_gzip_documents_are_served_without_auth(sandbox: RunningSandbox) -> None:
    reports = _reports(sandbox)
    report = _wait(reports, reports.create_report(reportType=LISTINGS).payload["reportId"])
    url = reports.get_report_document(report["reportDocumentId"]).payload["url"]
    assert url.startswith(sandbox.url)
    response = httpx.get(url)
    assert response.headers["content-type"] == "text/plain; charset=UTF-8"
    assert gzip.decompress(response.content).decode("utf-8").startswith("item-name\t")

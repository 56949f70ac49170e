"""The sandbox's Amazon Ads API, driven over HTTP with plain httpx (as the project's own thin
Ads client will): profiles, reporting v3, Sponsored Products v3 entities, faults."""

from __future__ import annotations

import dataclasses
import gzip
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from amzinsight_sandbox import (
    Fault,
    RunningSandbox,
    SandboxAccount,
    SandboxConfig,
    demo_account,
    start_sandbox,
)
from amzinsight_sandbox.ads_api import ads_keywords, ads_profiles

TODAY = date(2026, 6, 30)
REPORT_TYPE = "application/vnd.createasyncreportrequest.v3+json"
KEYWORD_TYPE = "application/vnd.spKeyword.v3+json"
TARGET_TYPE = "application/vnd.spTargetingClause.v3+json"
WINDOWS = (1, 7, 14, 30)
CONVERSIONS = [f"{m}{w}d" for m in ("purchases", "unitsSoldClicks", "sales") for w in WINDOWS]
SUMMED = ["impressions", "clicks", "cost", *CONVERSIONS]
# An old week (never restated) that the consistency checks use.
WEEK = (TODAY - timedelta(days=12), TODAY - timedelta(days=6))


def _account(seed: int = 11, asins: int = 30) -> SandboxAccount:
    return demo_account(seed=seed, asins=asins, days=400, today=TODAY)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    """Fast: rate limits x1000, reports ready in 0.2 s."""
    config = SandboxConfig(accounts=[_account()], processing_delay_seconds=0.2, speed_factor=1000)
    with start_sandbox(config) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset_sandbox(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").reset()


@pytest.fixture(scope="module")
def paced_sandbox() -> Iterator[RunningSandbox]:
    """Amazon's pace: reports take 30 s, one report create a second."""
    config = SandboxConfig(
        accounts=[_account(seed=12, asins=5)], processing_delay_seconds=30, speed_factor=1
    )
    with start_sandbox(config) as running:
        yield running


class Ads:
    """The smallest Ads client: LWA token, the three headers, reports, entity calls."""

    def __init__(self, sandbox: RunningSandbox, account: Any = None) -> None:
        self.sandbox = sandbox
        self.account = account or sandbox.accounts[0]
        self.http = httpx.Client(base_url=sandbox.url, timeout=30)
        grant = self.http.post(
            "/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": self.account.ads_refresh_token,
                "client_id": self.account.ads_client_id,
                "client_secret": self.account.ads_client_secret,
            },
        )
        assert grant.status_code == 200, grant.text
        self.token = grant.json()["access_token"]
        self.profile_ids = {p["countryCode"]: p["profileId"] for p in self.profiles().json()}
        self.profile = self.profile_ids["US"]

    def headers(self, profile: int | None = None, media: str | None = None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Amazon-Advertising-API-ClientId": self.account.ads_client_id,
        }
        if profile is not None:
            headers["Amazon-Advertising-API-Scope"] = str(profile)
        if media is not None:
            headers["Content-Type"] = media
            headers["Accept"] = media
        return headers

    def profiles(self) -> httpx.Response:
        return self.http.get("/v2/profiles", headers=self.headers())

    def call(self, method: str, path: str, media: str, body: Any, **headers: str) -> httpx.Response:
        return self.http.request(
            method,
            path,
            headers={**self.headers(self.profile, media), **headers},
            content=json.dumps(body),
        )

    def create(self, body: dict[str, Any], profile: int | None = None) -> httpx.Response:
        return self.http.post(
            "/reporting/reports",
            headers=self.headers(profile or self.profile, REPORT_TYPE),
            content=json.dumps(body),
        )

    def wait(self, report_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            answer = self.http.get(
                f"/reporting/reports/{report_id}", headers=self.headers(self.profile)
            )
            assert answer.status_code == 200, answer.text
            report = answer.json()
            if report["status"] not in ("PENDING", "PROCESSING"):
                return report
            time.sleep(0.05)
        raise AssertionError(f"report {report_id} still running")

    def report(
        self,
        report_type: str,
        group_by: list[str],
        columns: list[str],
        start: date,
        end: date,
        time_unit: str = "DAILY",
        filters: list[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        created = self.create(
            request(report_type, group_by, columns, start, end, time_unit, filters)
        )
        assert created.status_code == 200, created.text
        assert created.json()["status"] == "PENDING"
        report = self.wait(created.json()["reportId"])
        assert report["status"] == "COMPLETED", report
        download = httpx.get(report["url"])  # no Authorization header, like S3
        assert download.status_code == 200
        assert report["fileSize"] == len(download.content)
        return list(json.loads(gzip.decompress(download.content)))

    def list_all(self, path: str, media: str, key: str, **body: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        token = None
        while True:
            page = self.call(
                "POST", path, media, {**body, **({"nextToken": token} if token else {})}
            )
            assert page.status_code == 200, page.text
            found += page.json()[key]
            token = page.json().get("nextToken")
            if not token:
                assert len(found) == page.json()["totalResults"]
                return found


def request(
    report_type: str,
    group_by: list[str],
    columns: list[str],
    start: date,
    end: date,
    time_unit: str = "DAILY",
    filters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    configuration: dict[str, Any] = {
        "adProduct": "SPONSORED_PRODUCTS",
        "groupBy": group_by,
        "columns": columns,
        "reportTypeId": report_type,
        "timeUnit": time_unit,
        "format": "GZIP_JSON",
    }
    if filters:
        configuration["filters"] = filters
    return {
        "name": f"{report_type} {start}..{end}",
        "startDate": start.isoformat(),
        "endDate": end.isoformat(),
        "configuration": configuration,
    }


def _cents(value: float) -> int:
    return round(value * 100)


def _totals(
    rows: list[dict[str, Any]], key: tuple[str, ...]
) -> dict[tuple[Any, ...], dict[str, int]]:
    """Sum the metrics of rows by key; money in cents so sums are exact."""
    sums: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        bucket = sums[tuple(row[k] for k in key)]
        for name in SUMMED:
            if name in row:
                value = row[name]
                bucket[name] += (
                    _cents(value) if name == "cost" or name.startswith("sales") else value
                )
    return sums


TARGETING_COLUMNS = [
    "date",
    "campaignId",
    "adGroupId",
    "keywordId",
    "keyword",
    "keywordType",
    "matchType",
    "targeting",
    "keywordBid",
    "adKeywordStatus",
    "costPerClick",
    "clickThroughRate",
    "purchasesSameSku7d",
    "attributedSalesSameSku7d",
    "salesOtherSku7d",
    "acosClicks14d",
    "roasClicks7d",
    *SUMMED,
]


# --- auth and profiles ---------------------------------------------------------------------------


def test_token_and_profiles(sandbox: RunningSandbox) -> None:
    ads = Ads(sandbox)
    assert ads.token.startswith("Atza|")
    profiles = ads.profiles().json()
    assert [p["countryCode"] for p in profiles] == ["US", "CA"]
    us = profiles[0]
    assert isinstance(us["profileId"], int) and us["profileId"] > 10**14
    assert (us["currencyCode"], us["timezone"]) == ("USD", "America/Los_Angeles")
    assert us["accountInfo"] == {
        "marketplaceStringId": "ATVPDKIKX0DER",
        "id": "A1DEMOSELLER0001",
        "type": "seller",
        "name": "Demo Kitchen Co.",
        "validPaymentMethod": True,
    }
    assert profiles == ads_profiles(sandbox, "A1DEMOSELLER0001")
    assert profiles[1]["currencyCode"] == "CAD"


@pytest.mark.parametrize(
    "change",
    [
        {"Authorization": None},
        {"Authorization": "Bearer Atza|forged"},
        {"Amazon-Advertising-API-ClientId": None},
        {"Amazon-Advertising-API-ClientId": "amzn1.application-oa2-client.other"},
        {"Amazon-Advertising-API-Scope": None},
        {"Amazon-Advertising-API-Scope": "1234567890"},
    ],
)
def test_ads_calls_need_token_client_id_and_scope(
    sandbox: RunningSandbox, change: dict[str, str | None]
) -> None:
    ads = Ads(sandbox)
    headers = ads.headers(ads.profile, KEYWORD_TYPE)
    for name, value in change.items():
        headers.pop(name)
        if value is not None:
            headers[name] = value
    answer = ads.http.post("/sp/keywords/list", headers=headers, content="{}")
    assert answer.status_code == 401
    assert answer.json()["code"] == "UNAUTHORIZED"
    assert answer.json()["details"]
    if change.get("Amazon-Advertising-API-Scope") == "1234567890":
        assert answer.json()["details"] == "Not authorized to access scope 1234567890"


def test_profiles_need_no_scope_but_a_token(sandbox: RunningSandbox) -> None:
    ads = Ads(sandbox)
    assert ads.http.get("/v2/profiles").status_code == 401
    assert ads.profiles().status_code == 200


def test_an_ads_app_of_its_own_signs_in_with_its_own_credentials() -> None:
    account = demo_account(seed=5, asins=4, days=200, today=TODAY)
    ads_account = dataclasses.replace(
        account,
        ads_client_id="amzn1.application-oa2-client.adsapp",
        ads_client_secret="ads-secret",
        ads_refresh_token="Atzr|ads-refresh",
    )
    with start_sandbox(SandboxConfig(accounts=[ads_account], processing_delay_seconds=0)) as box:
        ads = Ads(box)
        assert ads.profiles().status_code == 200
        sp_style = ads.headers()
        sp_style["Amazon-Advertising-API-ClientId"] = account.lwa_client_id
        assert ads.http.get("/v2/profiles", headers=sp_style).status_code == 401
        token_url = box.url + "/auth/o2/token"
        form = {
            "grant_type": "refresh_token",
            "refresh_token": account.refresh_token,
            "client_id": account.lwa_client_id,
            "client_secret": account.lwa_client_secret,
        }
        assert httpx.post(token_url, data=form).status_code == 200  # SP-API still signs in
        wrong = {**form, "client_id": "amzn1.application-oa2-client.adsapp"}
        wrong["client_secret"] = "ads-secret"
        refused = httpx.post(token_url, data=wrong)
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")


# --- reports -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("report_type", "group_by", "columns"),
    [
        (
            "spCampaigns",
            ["campaign"],
            [
                "date",
                "campaignId",
                "campaignName",
                "campaignStatus",
                "campaignBudgetAmount",
                "campaignBudgetType",
                "campaignBudgetCurrencyCode",
                "impressions",
                "spend",
            ],
        ),
        (
            "spCampaigns",
            ["campaign", "campaignPlacement"],
            ["date", "campaignId", "placementClassification", "clicks", "sales14d"],
        ),
        ("spTargeting", ["targeting"], TARGETING_COLUMNS),
        (
            "spSearchTerm",
            ["searchTerm"],
            [
                "date",
                "keywordId",
                "keyword",
                "matchType",
                "searchTerm",
                "clicks",
                "cost",
                "sales7d",
            ],
        ),
        (
            "spAdvertisedProduct",
            ["advertiser"],
            [
                "date",
                "campaignId",
                "adGroupId",
                "adId",
                "advertisedAsin",
                "advertisedSku",
                "impressions",
                "clicks",
                "cost",
                "purchases7d",
                "unitsSoldOtherSku7d",
            ],
        ),
        (
            "spPurchasedProduct",
            ["asin"],
            [
                "date",
                "keywordId",
                "advertisedAsin",
                "purchasedAsin",
                "advertisedSku",
                "unitsSoldOtherSku7d",
                "salesOtherSku7d",
                "purchasesOtherSku14d",
            ],
        ),
    ],
)
def test_each_report_type_has_exactly_the_requested_columns(
    sandbox: RunningSandbox, report_type: str, group_by: list[str], columns: list[str]
) -> None:
    rows = Ads(sandbox).report(report_type, group_by, columns, *WEEK)
    assert rows
    assert all(list(row) == columns for row in rows)
    for row in rows:
        for name in ("campaignId", "adGroupId", "keywordId", "adId"):
            if name in row:
                assert isinstance(row[name], int)
    days = {row["date"] for row in rows}
    assert days == {(WEEK[0] + timedelta(days=k)).isoformat() for k in range(7)}


def test_reports_add_up_at_every_level_and_to_the_truth(sandbox: RunningSandbox) -> None:
    ads = Ads(sandbox)
    targeting = ads.report("spTargeting", ["targeting"], TARGETING_COLUMNS, *WEEK)
    campaigns = ads.report("spCampaigns", ["campaign"], ["date", "campaignId", *SUMMED], *WEEK)
    groups = ads.report(
        "spCampaigns", ["campaign", "adGroup"], ["date", "campaignId", "adGroupId", *SUMMED], *WEEK
    )
    placements = ads.report(
        "spCampaigns",
        ["campaignPlacement"],
        ["date", "campaignId", "placementClassification", *SUMMED],
        *WEEK,
    )
    product_columns = ["date", "adGroupId", "advertisedAsin", "attributedSalesSameSku7d"]
    product_columns += ["unitsSoldSameSku7d", *SUMMED]
    products = ads.report("spAdvertisedProduct", ["advertiser"], product_columns, *WEEK)
    terms = ads.report(
        "spSearchTerm",
        ["searchTerm"],
        ["date", "adGroupId", "keywordId", "searchTerm", *SUMMED],
        *WEEK,
    )
    purchased = ads.report(
        "spPurchasedProduct",
        ["asin"],
        ["date", "advertisedAsin", "purchasedAsin", "unitsSoldOtherSku7d", "salesOtherSku7d"],
        *WEEK,
    )

    by_campaign = _totals(targeting, ("campaignId", "date"))
    assert _totals(campaigns, ("campaignId", "date")) == by_campaign
    assert _totals(placements, ("campaignId", "date")) == by_campaign
    by_group = _totals(targeting, ("adGroupId", "date"))
    assert _totals(groups, ("adGroupId", "date")) == by_group
    assert _totals(products, ("adGroupId", "date")) == by_group

    by_target = _totals(targeting, ("keywordId", "date"))
    for key, term_sums in _totals(terms, ("keywordId", "date")).items():
        target = by_target[key]
        assert term_sums["clicks"] <= target["clicks"]
        assert term_sums["cost"] <= target["cost"]
        assert term_sums["sales7d"] <= target["sales7d"]
    for key, term_sums in _totals(terms, ("adGroupId", "date")).items():
        assert term_sums["clicks"] <= by_group[key]["clicks"]
        assert term_sums["cost"] <= by_group[key]["cost"]
    assert all(row["clicks"] > 0 for row in terms)
    for row in targeting:
        windows = [row[f"purchases{w}d"] for w in WINDOWS]
        assert windows == sorted(windows)
        assert row["purchasesSameSku7d"] <= row["purchases7d"]
        assert _cents(row["attributedSalesSameSku7d"]) + _cents(row["salesOtherSku7d"]) == _cents(
            row["sales7d"]
        )
        if row["sales14d"]:
            assert row["acosClicks14d"] == round(row["cost"] / row["sales14d"], 4)
        else:
            assert row["acosClicks14d"] is None
        if row["cost"]:
            assert row["roasClicks7d"] == round(row["sales7d"] / row["cost"], 2)
        if row["clicks"]:
            assert row["costPerClick"] == round(row["cost"] / row["clicks"], 2)

    # Per ASIN and day, clicks, cost and (same-SKU + other-SKU) sales are the truth's.
    truth = sandbox.truth("A1DEMOSELLER0001")
    market = truth.marketplaces["US"]
    asins = {p.asin: p.index for p in truth.catalogue.products}
    clicks: dict[tuple[str, str], int] = defaultdict(int)
    cost: dict[tuple[str, str], int] = defaultdict(int)
    sales: dict[tuple[str, str], int] = defaultdict(int)
    units: dict[tuple[str, str], int] = defaultdict(int)
    for row in products:
        key = (row["advertisedAsin"], row["date"])
        clicks[key] += row["clicks"]
        cost[key] += _cents(row["cost"])
        sales[key] += _cents(row["attributedSalesSameSku7d"])
        units[key] += row["unitsSoldSameSku7d"]
    for row in purchased:
        key = (row["purchasedAsin"], row["date"])
        sales[key] += _cents(row["salesOtherSku7d"])
        units[key] += row["unitsSoldOtherSku7d"]
    for k in range(7):
        day = WEEK[0] + timedelta(days=k)
        i = truth.day_index(day)
        for asin, index in asins.items():
            key = (asin, day.isoformat())
            assert clicks[key] == market.ad_clicks[index, i]
            assert cost[key] == market.ad_spend_cents[index, i]
            assert sales[key] == market.ad_sales_cents[index, i]
            assert units[key] == market.ad_units[index, i]
    assert sum(sales.values()) > 0 and any(row["purchasedAsin"] for row in purchased)


def test_summary_is_the_sum_of_the_days(sandbox: RunningSandbox) -> None:
    ads = Ads(sandbox)
    daily = ads.report("spCampaigns", ["campaign"], ["date", "campaignId", *SUMMED], *WEEK)
    summary = ads.report(
        "spCampaigns",
        ["campaign"],
        ["startDate", "endDate", "campaignId", *SUMMED],
        *WEEK,
        time_unit="SUMMARY",
    )
    assert {(r["startDate"], r["endDate"]) for r in summary} == {
        (WEEK[0].isoformat(), WEEK[1].isoformat())
    }
    assert _totals(summary, ("campaignId",)) == _totals(daily, ("campaignId",))


def test_keyword_quality_varies_from_winners_to_bleeders(sandbox: RunningSandbox) -> None:
    ads = Ads(sandbox)
    start = TODAY - timedelta(days=33)
    rows = ads.report(
        "spTargeting",
        ["targeting"],
        ["startDate", "endDate", "keywordId", "keywordType", "clicks", "cost", "sales7d"],
        start,
        start + timedelta(days=30),
        time_unit="SUMMARY",
        filters=[{"field": "keywordType", "values": ["BROAD", "PHRASE", "EXACT"]}],
    )
    assert {r["keywordType"] for r in rows} == {"BROAD", "PHRASE", "EXACT"}
    bleeders = [r for r in rows if r["clicks"] >= 10 and r["sales7d"] == 0]
    winners = [r for r in rows if r["sales7d"] > 0 and r["cost"] / r["sales7d"] < 0.3]
    sparse = [r for r in rows if r["clicks"] <= 2]
    assert len(bleeders) >= 5 and len(winners) >= 5 and len(sparse) >= 20


def test_search_terms_hold_harvest_and_negative_candidates(sandbox: RunningSandbox) -> None:
    ads = Ads(sandbox)
    start = TODAY - timedelta(days=33)
    rows = ads.report(
        "spSearchTerm",
        ["searchTerm"],
        ["startDate", "endDate", "keyword", "matchType", "searchTerm", "clicks", "cost", "sales7d"],
        start,
        start + timedelta(days=30),
        time_unit="SUMMARY",
    )
    terms = {r["searchTerm"] for r in rows}
    assert "*" in terms
    assert any(t.startswith("b0") and len(t) == 10 for t in terms)  # product-target ASINs
    exact = [r for r in rows if r["matchType"] == "EXACT" and r["searchTerm"] == r["keyword"]]
    assert exact
    wasteful = [
        r
        for r in rows
        if set(r["searchTerm"].split()) & {"cheap", "free", "used"} and r["sales7d"] == 0
    ]
    assert wasteful and all(r["cost"] > 0 for r in wasteful)
    harvest = [
        r
        for r in rows
        if r["matchType"] in ("BROAD", "TARGETING_EXPRESSION_PREDEFINED")
        and r["searchTerm"] != r["keyword"]
        and r["sales7d"] > 0
    ]
    assert harvest


def test_downloads_refuse_an_authorization_header(sandbox: RunningSandbox) -> None:
    ads = Ads(sandbox)
    created = ads.create(request("spCampaigns", ["campaign"], ["date", "clicks"], *WEEK))
    url = ads.wait(created.json()["reportId"])["url"]
    refused = httpx.get(url, headers={"Authorization": f"Bearer {ads.token}"})
    assert refused.status_code == 400
    assert b"<Code>InvalidArgument</Code>" in refused.content
    assert httpx.get(url.replace("X-Amz-Signature=", "X-Amz-Signature=0")).status_code == 403
    assert httpx.get(url).status_code == 200


def test_a_duplicate_request_while_pending_is_425(paced_sandbox: RunningSandbox) -> None:
    paced_sandbox.reset()
    ads = Ads(paced_sandbox)
    body = request("spTargeting", ["targeting"], ["date", "keywordId", "clicks"], *WEEK)
    first = ads.create(body)
    assert first.status_code == 200
    report_id = first.json()["reportId"]
    again = ads.create({**body, "name": "another name, same report"})
    assert again.status_code == 425
    assert report_id in again.json()["detail"]
    polled = ads.http.get(f"/reporting/reports/{report_id}", headers=ads.headers(ads.profile))
    assert polled.json()["status"] == "PENDING"
    other_days = request("spTargeting", ["targeting"], ["date", "keywordId", "clicks"], *WEEK)
    other_days["endDate"] = (WEEK[1] - timedelta(days=1)).isoformat()
    assert ads.create(other_days).status_code == 200


def test_an_ads_failed_fault_fails_the_report(sandbox: RunningSandbox) -> None:
    sandbox.set_faults([Fault("ads_failed", report_type="spTargeting", count=1)])
    ads = Ads(sandbox)
    body = request("spTargeting", ["targeting"], ["date", "keywordId", "clicks"], *WEEK)
    report = ads.wait(ads.create(body).json()["reportId"])
    assert report["status"] == "FAILED"
    assert report["failureReason"] and report["url"] is None
    assert ads.report("spTargeting", ["targeting"], ["date", "keywordId", "clicks"], *WEEK)
    assert ads.wait(ads.create(body).json()["reportId"])["status"] == "COMPLETED"


def test_recent_days_are_restated_between_pulls_and_old_days_are_not(
    sandbox: RunningSandbox,
) -> None:
    ads = Ads(sandbox)
    recent = TODAY - timedelta(days=1)
    old = TODAY - timedelta(days=9)
    columns = ["date", "campaignId", "keywordId", *SUMMED]
    keyword_types = [{"field": "keywordType", "values": ["BROAD", "PHRASE", "EXACT"]}]
    target_types = [
        {
            "field": "keywordType",
            "values": ["TARGETING_EXPRESSION", "TARGETING_EXPRESSION_PREDEFINED"],
        }
    ]
    pulls = []
    for _ in range(2):
        # A sync as Airbyte makes it: keywords, targets and campaigns, each asked for once.
        keywords = ads.report(
            "spTargeting", ["targeting"], columns, recent, recent, "DAILY", keyword_types
        )
        targets = ads.report(
            "spTargeting", ["targeting"], columns, recent, recent, "DAILY", target_types
        )
        campaigns = ads.report("spCampaigns", ["campaign"], columns[:2] + SUMMED, recent, recent)
        assert _totals(keywords + targets, ("campaignId",)) == _totals(campaigns, ("campaignId",))
        old_rows = ads.report("spTargeting", ["targeting"], columns, old, old)
        pulls.append((keywords + targets, old_rows))
    (first, first_old), (second, second_old) = pulls
    assert first_old == second_old
    before = _totals(first, ("keywordId",))
    after = _totals(second, ("keywordId",))
    changed = [k for k in after if after[k] != before[k]]
    assert changed
    for key in changed:
        assert after[key]["purchases7d"] >= before[key]["purchases7d"]
        assert after[key]["sales7d"] > before[key]["sales7d"]
        assert after[key]["clicks"] == before[key]["clicks"]
    # The first pull is the truth.
    truth = sandbox.truth("A1DEMOSELLER0001")
    day_sales = int(truth.marketplaces["US"].ad_sales_cents[:, truth.day_index(recent)].sum())
    assert sum(v["sales7d"] for v in before.values()) == day_sales


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"startDate": (TODAY - timedelta(days=40)).isoformat()}, 400, "31 days"),
        (
            {"startDate": (TODAY - timedelta(days=100)).isoformat(), "endDate": "2026-04-01"},
            400,
            "retention",
        ),
        ({"endDate": (TODAY + timedelta(days=1)).isoformat()}, 400, "future"),
        ({"configuration": {"reportTypeId": "spKeywords"}}, 400, "reportTypeId"),
        ({"configuration": {"groupBy": ["searchTerm"]}}, 400, "groupBy"),
        ({"configuration": {"columns": ["date", "clicks", "nonsense"]}}, 400, "nonsense"),
        ({"configuration": {"timeUnit": "SUMMARY"}}, 400, "SUMMARY"),
        ({"configuration": {"format": "CSV"}}, 400, "GZIP_JSON"),
        (
            {"configuration": {"filters": [{"field": "campaignStatus", "values": ["ENABLED"]}]}},
            400,
            "campaignStatus",
        ),
        (
            {"configuration": {"filters": [{"field": "keywordType", "values": ["WIDE"]}]}},
            400,
            "WIDE",
        ),
    ],
)
def test_invalid_report_requests_are_400(
    sandbox: RunningSandbox, change: dict[str, Any], status: int, words: str
) -> None:
    body = request("spTargeting", ["targeting"], ["date", "keywordId", "clicks"], *WEEK)
    for key, value in change.items():
        if key == "configuration":
            body["configuration"] = {**body["configuration"], **value}
        else:
            body[key] = value
    answer = Ads(sandbox).create(body)
    assert answer.status_code == status
    assert words in answer.json()["detail"]


def test_report_requests_need_the_v3_content_type(sandbox: RunningSandbox) -> None:
    ads = Ads(sandbox)
    body = request("spTargeting", ["targeting"], ["date", "clicks"], *WEEK)
    answer = ads.http.post(
        "/reporting/reports", headers=ads.headers(ads.profile, "application/json"), json=body
    )
    assert answer.status_code == 415


# --- Sponsored Products entities -----------------------------------------------------------------


def test_entity_lists_page_and_filter(sandbox: RunningSandbox) -> None:
    ads = Ads(sandbox)
    keywords = ads.list_all("/sp/keywords/list", KEYWORD_TYPE, "keywords", maxResults=50)
    assert len(keywords) > 100
    assert len({k["keywordId"] for k in keywords}) == len(keywords)
    assert keywords == ads_keywords(sandbox, "A1DEMOSELLER0001", ads.profile)
    assert {k["matchType"] for k in keywords} == {"EXACT", "PHRASE", "BROAD"}
    assert all(isinstance(k["keywordId"], str) and isinstance(k["bid"], float) for k in keywords)
    enabled = ads.list_all(
        "/sp/keywords/list",
        KEYWORD_TYPE,
        "keywords",
        maxResults=40,
        stateFilter={"include": ["ENABLED"]},
    )
    assert 0 < len(enabled) < len(keywords) and {k["state"] for k in enabled} == {"ENABLED"}
    group = keywords[0]["adGroupId"]
    in_group = ads.list_all(
        "/sp/keywords/list", KEYWORD_TYPE, "keywords", adGroupIdFilter={"include": [group]}
    )
    assert in_group == [k for k in keywords if k["adGroupId"] == group]

    campaigns = ads.list_all(
        "/sp/campaigns/list", "application/vnd.spCampaign.v3+json", "campaigns", maxResults=7
    )
    assert {c["targetingType"] for c in campaigns} == {"AUTO", "MANUAL"}
    assert all(
        c["budget"]["budgetType"] == "DAILY" and c["budget"]["budget"] > 0 for c in campaigns
    )
    assert all(c["dynamicBidding"]["strategy"] for c in campaigns)
    auto = next(c for c in campaigns if c["targetingType"] == "AUTO")
    groups = ads.list_all(
        "/sp/adGroups/list",
        "application/vnd.spAdGroup.v3+json",
        "adGroups",
        campaignIdFilter={"include": [auto["campaignId"]]},
    )
    assert len(groups) == 1 and groups[0]["defaultBid"] > 0
    targets = ads.list_all(
        "/sp/targets/list",
        TARGET_TYPE,
        "targetingClauses",
        campaignIdFilter={"include": [auto["campaignId"]]},
    )
    assert {t["expression"][0]["type"] for t in targets} == {
        "QUERY_HIGH_REL_MATCHES",
        "QUERY_BROAD_REL_MATCHES",
        "ASIN_SUBSTITUTE_RELATED",
        "ASIN_ACCESSORY_RELATED",
    }
    manual = ads.list_all(
        "/sp/targets/list",
        TARGET_TYPE,
        "targetingClauses",
        expressionTypeFilter={"include": ["MANUAL"]},
    )
    assert manual and all(t["expression"][0]["type"] == "ASIN_SAME_AS" for t in manual)
    assert all(t["expression"][0]["value"].startswith("B0") for t in manual)
    products = ads.list_all(
        "/sp/productAds/list", "application/vnd.spProductAd.v3+json", "productAds"
    )
    assert {p["asin"] for p in products} == {
        p.asin for p in sandbox.truth("A1DEMOSELLER0001").catalogue.products
    }
    negatives = ads.list_all(
        "/sp/negativeKeywords/list", "application/vnd.spNegativeKeyword.v3+json", "negativeKeywords"
    )
    campaign_negatives = ads.list_all(
        "/sp/campaignNegativeKeywords/list",
        "application/vnd.spCampaignNegativeKeyword.v3+json",
        "campaignNegativeKeywords",
    )
    assert negatives and campaign_negatives
    assert {n["matchType"] for n in negatives} <= {"NEGATIVE_EXACT", "NEGATIVE_PHRASE"}


def test_entity_calls_check_media_types_and_tokens(sandbox: RunningSandbox) -> None:
    ads = Ads(sandbox)
    json_type = ads.http.post(
        "/sp/keywords/list", headers=ads.headers(ads.profile, "application/json"), content="{}"
    )
    assert json_type.status_code == 415
    headers = {**ads.headers(ads.profile, KEYWORD_TYPE), "Accept": "application/json"}
    assert ads.http.post("/sp/keywords/list", headers=headers, content="{}").status_code == 406
    page = ads.call("POST", "/sp/keywords/list", KEYWORD_TYPE, {"maxResults": 10}).json()
    mixed = {
        "maxResults": 10,
        "nextToken": page["nextToken"],
        "stateFilter": {"include": ["PAUSED"]},
    }
    assert ads.call("POST", "/sp/keywords/list", KEYWORD_TYPE, mixed).status_code == 400
    assert ads.call("POST", "/sp/keywords/list", KEYWORD_TYPE, {"maxResults": 0}).status_code == 400
    unknown = ads.call("POST", "/sp/keywords/list", KEYWORD_TYPE, {"keywordFilter": {}})
    assert unknown.status_code == 400 and unknown.json()["code"] == "INVALID_ARGUMENT"


def test_keyword_updates_are_207_and_show_in_lists_and_reports(sandbox: RunningSandbox) -> None:
    ads = Ads(sandbox)
    rows = ads.report("spTargeting", ["targeting"], TARGETING_COLUMNS, WEEK[1], WEEK[1])
    busy = max(
        (r for r in rows if r["keywordType"] in ("EXACT", "PHRASE", "BROAD")),
        key=lambda r: r["clicks"],
    )
    keyword_id = str(busy["keywordId"])
    archived = next(
        k
        for k in ads_keywords(sandbox, "A1DEMOSELLER0001", ads.profile)
        if k["state"] == "ARCHIVED"
    )
    auto_target = next(r for r in rows if r["keywordType"] == "TARGETING_EXPRESSION_PREDEFINED")
    answer = ads.call(
        "PUT",
        "/sp/keywords",
        KEYWORD_TYPE,
        {
            "keywords": [
                {"keywordId": keyword_id, "bid": 3.21, "state": "PAUSED"},
                {"keywordId": "999999999999999", "bid": 1.0},
                {"keywordId": keyword_id, "bid": 0.01},
                {"keywordId": keyword_id, "bid": 2000},
                {"keywordId": keyword_id, "state": "ON"},
                {"bid": 1.0},
                {"keywordId": archived["keywordId"], "bid": 1.0},
                {"keywordId": str(auto_target["keywordId"]), "bid": 1.0},
            ]
        },
        Prefer="return=representation",
    )
    assert answer.status_code == 207
    outcome = answer.json()["keywords"]
    assert [s["index"] for s in outcome["success"]] == [0]
    assert outcome["success"][0]["keywordId"] == keyword_id
    assert outcome["success"][0]["keyword"]["bid"] == 3.21
    errors = {e["index"]: e["errors"][0] for e in outcome["error"]}
    assert {i: e["errorType"] for i, e in errors.items()} == {
        1: "entityNotFoundError",
        2: "rangeError",
        3: "rangeError",
        4: "malformedValueError",
        5: "missingValueError",
        6: "entityStateError",
        7: "entityNotFoundError",
    }
    assert errors[2]["errorValue"]["rangeError"]["reason"] == "TOO_LOW"
    assert errors[3]["errorValue"]["rangeError"]["reason"] == "TOO_HIGH"

    listed = ads.call(
        "POST", "/sp/keywords/list", KEYWORD_TYPE, {"keywordIdFilter": {"include": [keyword_id]}}
    ).json()["keywords"]
    assert (listed[0]["bid"], listed[0]["state"]) == (3.21, "PAUSED")
    again = ads.report("spTargeting", ["targeting"], TARGETING_COLUMNS, WEEK[1], WEEK[1])
    mine = [r for r in again if str(r["keywordId"]) == keyword_id]
    assert mine and all((r["keywordBid"], r["adKeywordStatus"]) == (3.21, "PAUSED") for r in mine)
    assert [r["clicks"] for r in mine] == [busy["clicks"]]  # history does not change

    quiet = ads.call(
        "PUT", "/sp/keywords", KEYWORD_TYPE, {"keywords": [{"keywordId": keyword_id, "bid": 2.5}]}
    )
    assert "keyword" not in quiet.json()["keywords"]["success"][0]  # no Prefer header
    httpx.post(sandbox.url + "/_sandbox/reset")
    restored = ads_keywords(sandbox, "A1DEMOSELLER0001", ads.profile)
    assert next(k for k in restored if k["keywordId"] == keyword_id)["bid"] == busy["keywordBid"]


def test_target_bids_are_updated_the_same_way(sandbox: RunningSandbox) -> None:
    ads = Ads(sandbox)
    targets = ads.list_all(
        "/sp/targets/list", TARGET_TYPE, "targetingClauses", stateFilter={"include": ["ENABLED"]}
    )
    keyword = ads_keywords(sandbox, "A1DEMOSELLER0001", ads.profile)[0]
    answer = ads.call(
        "PUT",
        "/sp/targets",
        TARGET_TYPE,
        {
            "targetingClauses": [
                {"targetId": targets[0]["targetId"], "bid": 0.77},
                {"targetId": keyword["keywordId"], "bid": 0.77},
            ]
        },
    )
    assert answer.status_code == 207
    outcome = answer.json()["targetingClauses"]
    assert outcome["success"] == [{"index": 0, "targetId": targets[0]["targetId"]}]
    assert outcome["error"][0]["errors"][0]["errorType"] == "entityNotFoundError"
    listed = ads.list_all(
        "/sp/targets/list",
        TARGET_TYPE,
        "targetingClauses",
        targetIdFilter={"include": [targets[0]["targetId"]]},
    )
    assert listed[0]["bid"] == 0.77


def test_harvested_keywords_and_negatives_are_created(sandbox: RunningSandbox) -> None:
    ads = Ads(sandbox)
    campaigns = ads.list_all(
        "/sp/campaigns/list", "application/vnd.spCampaign.v3+json", "campaigns"
    )
    manual = next(c for c in campaigns if c["name"].endswith("Manual KW"))
    auto = next(c for c in campaigns if c["targetingType"] == "AUTO")
    groups = ads.list_all(
        "/sp/adGroups/list",
        "application/vnd.spAdGroup.v3+json",
        "adGroups",
        campaignIdFilter={"include": [manual["campaignId"], auto["campaignId"]]},
    )
    manual_group = next(g for g in groups if g["campaignId"] == manual["campaignId"])
    auto_group = next(g for g in groups if g["campaignId"] == auto["campaignId"])
    new = {
        "campaignId": manual["campaignId"],
        "adGroupId": manual_group["adGroupId"],
        "keywordText": "harvested long tail search term",
        "matchType": "EXACT",
        "state": "ENABLED",
        "bid": 0.85,
    }
    created = ads.call(
        "POST",
        "/sp/keywords",
        KEYWORD_TYPE,
        {
            "keywords": [
                new,
                new,
                {**new, "adGroupId": auto_group["adGroupId"], "campaignId": auto["campaignId"]},
                {**new, "matchType": "NEGATIVE_EXACT"},
                {**new, "keywordText": "too many words " * 4},
            ]
        },
    )
    assert created.status_code == 207
    outcome = created.json()["keywords"]
    assert [s["index"] for s in outcome["success"]] == [0]
    new_id = outcome["success"][0]["keywordId"]
    assert new_id.isdigit() and int(new_id) > 10**12
    kinds = {e["index"]: e["errors"][0]["errorType"] for e in outcome["error"]}
    assert kinds == {
        1: "duplicateValueError",
        2: "parentEntityError",
        3: "malformedValueError",
        4: "malformedValueError",
    }
    listed = ads.call(
        "POST", "/sp/keywords/list", KEYWORD_TYPE, {"keywordIdFilter": {"include": [new_id]}}
    ).json()["keywords"]
    assert listed[0]["keywordText"] == "harvested long tail search term"

    negative_type = "application/vnd.spNegativeKeyword.v3+json"
    negative = {
        "campaignId": manual["campaignId"],
        "adGroupId": manual_group["adGroupId"],
        "keywordText": "free cutting board",
        "matchType": "NEGATIVE_EXACT",
        "state": "ENABLED",
    }
    answer = ads.call(
        "POST", "/sp/negativeKeywords", negative_type, {"negativeKeywords": [negative, negative]}
    )
    assert answer.status_code == 207
    outcome = answer.json()["negativeKeywords"]
    negative_id = outcome["success"][0]["negativeKeywordId"]
    assert outcome["error"][0]["errors"][0]["errorType"] == "duplicateValueError"
    listed = ads.list_all(
        "/sp/negativeKeywords/list",
        negative_type,
        "negativeKeywords",
        negativeKeywordIdFilter={"include": [negative_id]},
    )
    assert listed[0]["keywordText"] == "free cutting board"

    campaign_type = "application/vnd.spCampaignNegativeKeyword.v3+json"
    answer = ads.call(
        "POST",
        "/sp/campaignNegativeKeywords",
        campaign_type,
        {
            "campaignNegativeKeywords": [
                {
                    "campaignId": auto["campaignId"],
                    "keywordText": "used",
                    "matchType": "NEGATIVE_PHRASE",
                    "state": "ENABLED",
                }
            ]
        },
    )
    assert answer.status_code == 207
    campaign_negative_id = answer.json()["campaignNegativeKeywords"]["success"][0][
        "campaignNegativeKeywordId"
    ]
    texts = {
        n["keywordId"]: n["keywordText"]
        for n in ads.list_all(
            "/sp/campaignNegativeKeywords/list", campaign_type, "campaignNegativeKeywords"
        )
    }
    assert texts[campaign_negative_id] == "used"


# --- rate limits -------------------------------------------------------------------------------


def test_throttles_with_and_without_retry_after(sandbox: RunningSandbox) -> None:
    ads = Ads(sandbox)
    with httpx.Client(base_url=sandbox.url) as control:
        posted = control.post(
            "/_sandbox/faults",
            json=[
                {
                    "kind": "throttle",
                    "operation": "ListSponsoredProductsKeywords",
                    "count": 1,
                    "retry_after": 0.5,
                },
                {"kind": "throttle", "operation": "createAsyncReport", "count": 1},
            ],
        )
        assert posted.status_code == 200
    first = ads.call("POST", "/sp/keywords/list", KEYWORD_TYPE, {"maxResults": 5})
    assert first.status_code == 429 and first.headers["Retry-After"] == "0.5"
    assert ads.call("POST", "/sp/keywords/list", KEYWORD_TYPE, {"maxResults": 5}).status_code == 200
    body = request("spCampaigns", ["campaign"], ["date", "clicks"], *WEEK)
    throttled = ads.create(body)
    assert throttled.status_code == 429 and "Retry-After" not in throttled.headers
    assert throttled.json()["code"] == "429"
    assert ads.create(body).status_code == 200
    logged = [r for r in sandbox.requests() if r["status"] == 429]
    assert [r["operation"] for r in logged] == [
        "ListSponsoredProductsKeywords",
        "createAsyncReport",
    ]


def test_report_creation_has_a_token_bucket(paced_sandbox: RunningSandbox) -> None:
    paced_sandbox.reset()  # full buckets
    ads = Ads(paced_sandbox)
    answers = []
    for k in range(8):
        day = WEEK[0] - timedelta(days=k + 10)
        answers.append(
            ads.create(request("spCampaigns", ["campaign"], ["date", "clicks"], day, day))
        )
    statuses = [a.status_code for a in answers]
    assert statuses[:5] == [200] * 5 and 429 in statuses  # burst 5 at 1 per second
    throttled = next(a for a in answers if a.status_code == 429)
    assert throttled.headers["Retry-After"] == "1"  # Amazon's whole seconds


# --- determinism ---------------------------------------------------------------------------------


def _pulls(seed: int) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    config = SandboxConfig(accounts=[_account(seed=seed, asins=8)], processing_delay_seconds=0)
    with start_sandbox(config) as box:
        ads = Ads(box)
        day = TODAY - timedelta(days=3)
        keywords = ads.list_all("/sp/keywords/list", KEYWORD_TYPE, "keywords")
        reports = [
            ads.report("spTargeting", ["targeting"], TARGETING_COLUMNS, day, day),
            ads.report(
                "spSearchTerm",
                ["searchTerm"],
                ["date", "keywordId", "searchTerm", "clicks"],
                day,
                day,
            ),
        ]
        return ads.profiles().json() + keywords, reports


def test_same_seed_same_ads_other_seed_other_ads() -> None:
    first, again, other = _pulls(3), _pulls(3), _pulls(4)
    assert first == again
    assert first[0] != other[0] and first[1][0] != other[1][0]

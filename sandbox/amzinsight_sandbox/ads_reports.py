"""Amazon Ads reporting v3 for Sponsored Products (docs/amazon-formats.md 4.1, 4.2).

POST /reporting/reports (Content-Type application/vnd.createasyncreportrequest.v3+json) -> 200
PENDING; an identical request while one is still PENDING or PROCESSING -> 425 naming it.
GET /reporting/reports/{reportId} -> PENDING -> PROCESSING -> COMPLETED (url, urlExpiresAt,
fileSize) or FAILED (failureReason) over SandboxConfig.processing_delay_seconds.
The url is an unauthenticated, signed download on this server (like S3: an Authorization header
gets a 400): gzip of a JSON array of flat objects with exactly the requested columns.

Report types and groupBy: spCampaigns (campaign, adGroup, campaignPlacement), spTargeting
(targeting), spSearchTerm (searchTerm), spAdvertisedProduct (advertiser), spPurchasedProduct
(asin). timeUnit DAILY (a `date` column) or SUMMARY (`startDate`, `endDate`). At most 31 days a
request, none older than 95 days, none after the account's today.

Rows: spCampaigns, spTargeting and spAdvertisedProduct list rows with impressions; spSearchTerm
only search terms with a click; spPurchasedProduct only other-SKU purchases. The `keywordBid`
and status columns show the entities as they were when the report was asked for.

Restatement: each report asked for a date younger than 3 days sees that date at the next
version, counted per report configuration (reportTypeId, groupBy, filters), so the n-th pull
of every configuration agrees (a sync that asks for each once sees one version everywhere);
older dates never change.

Faults: Fault("ads_failed", report_type="spTargeting") ends that report FAILED with a
failureReason; throttle faults on createAsyncReport/getAsyncReport answer 429 (with Retry-After
when the fault has retry_after); download faults (operation "download") break the file.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import numpy as np

from amzinsight_sandbox.ads_catalog import AdsCatalogue
from amzinsight_sandbox.ads_common import AdsApiError, ads_family, media_type, scoped_profile
from amzinsight_sandbox.ads_metrics import (
    PLACEMENTS,
    RESTATED_DAYS,
    AdsHistory,
    Bundle,
    ads_history,
    placement_split,
    search_term_split,
)
from amzinsight_sandbox.ads_store import (
    URL_LIFETIME_SECONDS,
    AdsReportRecord,
    ads_data,
)
from amzinsight_sandbox.config import ADS_REPORT_FAULT_KINDS, DOCUMENT_FAULT_KINDS
from amzinsight_sandbox.routing import (
    ApiError,
    ApiFamily,
    RateLimit,
    Request,
    Response,
    Router,
    json_response,
)
from amzinsight_sandbox.state import AccountState, SandboxState

REPORT_MEDIA_TYPE = "application/vnd.createasyncreportrequest.v3+json"
MAX_DAYS = 31
RETENTION_DAYS = 95
DOWNLOAD_PATH = "/sandbox-s3/ads-reports"
CREATE_LIMIT = RateLimit(1.0, 5)
"""Amazon's limits are dynamic; the sandbox allows 1 create a second (x speed_factor), 5 at once."""
_STATUSES = ("ENABLED", "PAUSED", "ARCHIVED")
_KEYWORD_TYPES = (
    "BROAD",
    "PHRASE",
    "EXACT",
    "TARGETING_EXPRESSION",
    "TARGETING_EXPRESSION_PREDEFINED",
)
FAILURE_REASON = "Report generation failed because of an internal error. Please request it again."


def _windowed(*names: str) -> frozenset[str]:
    return frozenset(f"{name}{window}d" for name in names for window in (1, 7, 14, 30))


_DATES = frozenset({"date", "startDate", "endDate"})
_PERFORMANCE = (
    frozenset(
        {
            "impressions",
            "clicks",
            "cost",
            "spend",
            "costPerClick",
            "clickThroughRate",
            "addToList",
            "qualifiedBorrows",
            "royaltyQualifiedBorrows",
            "kindleEditionNormalizedPagesRead14d",
            "kindleEditionNormalizedPagesRoyalties14d",
        }
    )
    | _DATES
    | _windowed(
        "purchases",
        "purchasesSameSku",
        "unitsSoldClicks",
        "sales",
        "attributedSalesSameSku",
        "unitsSoldSameSku",
    )
)
_CAMPAIGN = frozenset(
    {
        "campaignName",
        "campaignId",
        "campaignStatus",
        "campaignBudgetAmount",
        "campaignBudgetType",
        "campaignRuleBasedBudgetAmount",
        "campaignApplicableBudgetRuleId",
        "campaignApplicableBudgetRuleName",
        "campaignBudgetCurrencyCode",
        "topOfSearchImpressionShare",
    }
)
_AD_GROUP = frozenset({"adGroupName", "adGroupId", "adStatus"})
_OTHER_SKU = frozenset(
    {
        "salesOtherSku7d",
        "unitsSoldOtherSku7d",
        "acosClicks7d",
        "acosClicks14d",
        "roasClicks7d",
        "roasClicks14d",
    }
)
_TARGETING = (
    _PERFORMANCE
    | _OTHER_SKU
    | frozenset(
        {
            "keywordId",
            "keyword",
            "campaignBudgetCurrencyCode",
            "portfolioId",
            "campaignName",
            "campaignId",
            "campaignBudgetType",
            "campaignBudgetAmount",
            "campaignStatus",
            "keywordBid",
            "adGroupName",
            "adGroupId",
            "keywordType",
            "matchType",
            "targeting",
            "topOfSearchImpressionShare",
            "adKeywordStatus",
        }
    )
)
_ADVERTISED = (
    _PERFORMANCE
    | _OTHER_SKU
    | frozenset(
        {
            "campaignName",
            "campaignId",
            "adGroupName",
            "adGroupId",
            "adId",
            "portfolioId",
            "campaignBudgetCurrencyCode",
            "campaignBudgetAmount",
            "campaignBudgetType",
            "campaignStatus",
            "advertisedAsin",
            "advertisedSku",
        }
    )
)
_PURCHASED = (
    frozenset(
        {
            "portfolioId",
            "campaignName",
            "campaignId",
            "adGroupName",
            "adGroupId",
            "keywordId",
            "keyword",
            "keywordType",
            "advertisedAsin",
            "purchasedAsin",
            "advertisedSku",
            "campaignBudgetCurrencyCode",
            "matchType",
            "addToList",
            "addToListFromClicks",
            "qualifiedBorrows",
            "qualifiedBorrowsFromClicks",
            "royaltyQualifiedBorrows",
            "royaltyQualifiedBorrowsFromClicks",
            "kindleEditionNormalizedPagesRead14d",
            "kindleEditionNormalizedPagesRoyalties14d",
        }
    )
    | _DATES
    | _windowed(
        "unitsSoldClicks",
        "sales",
        "purchases",
        "unitsSoldOtherSku",
        "salesOtherSku",
        "purchasesOtherSku",
    )
)


def _campaign_columns(group_by: frozenset[str]) -> frozenset[str]:
    columns = _PERFORMANCE | {"campaignBiddingStrategy"} | _CAMPAIGN
    if "adGroup" in group_by:
        columns |= _AD_GROUP
    if "campaignPlacement" in group_by:
        columns |= {"placementClassification"}
    return columns


@dataclass(frozen=True)
class ReportType:
    report_type_id: str
    group_bys: tuple[str, ...]
    columns: Callable[[frozenset[str]], frozenset[str]]
    filters: dict[str, tuple[frozenset[str], tuple[str, ...]]]
    """Filter field -> (the groupBy values that support it, its allowed values)."""


REPORT_TYPES = {
    spec.report_type_id: spec
    for spec in (
        ReportType(
            "spCampaigns",
            ("campaign", "adGroup", "campaignPlacement"),
            _campaign_columns,
            {
                "campaignStatus": (
                    frozenset({"campaign", "adGroup", "campaignPlacement"}),
                    _STATUSES,
                ),
                "adStatus": (frozenset({"adGroup"}), _STATUSES),
                "campaignSite": (frozenset({"campaignPlacement"}), ("AmazonBusiness",)),
            },
        ),
        ReportType(
            "spTargeting",
            ("targeting",),
            lambda _: _TARGETING,
            {
                "adKeywordStatus": (frozenset({"targeting"}), _STATUSES),
                "keywordType": (frozenset({"targeting"}), _KEYWORD_TYPES),
            },
        ),
        ReportType(
            "spSearchTerm",
            ("searchTerm",),
            lambda _: _TARGETING | {"searchTerm"},
            {"keywordType": (frozenset({"searchTerm"}), _KEYWORD_TYPES)},
        ),
        ReportType(
            "spAdvertisedProduct",
            ("advertiser",),
            lambda _: _ADVERTISED,
            {"adCreativeStatus": (frozenset({"advertiser"}), _STATUSES)},
        ),
        ReportType("spPurchasedProduct", ("asin",), lambda _: _PURCHASED, {}),
    )
}


def _bad(message: str) -> AdsApiError:
    return AdsApiError(400, "400", message)


def _string_list(value: object, name: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _bad(f"configuration {name} must be a non-empty list of strings.")
    return list(dict.fromkeys(value))


def _parse_date(value: object, name: str) -> date:
    if not isinstance(value, str):
        raise _bad(f"{name} is required, as YYYY-MM-DD.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _bad(f"{name} {value!r} is not a date: use YYYY-MM-DD.") from None


@dataclass(frozen=True)
class ReportRequest:
    name: str
    start: date
    end: date
    report_type: str
    group_by: tuple[str, ...]
    columns: tuple[str, ...]
    time_unit: str
    filters: tuple[tuple[str, tuple[str, ...]], ...]
    configuration: dict[str, Any]

    @property
    def pull_key(self) -> str:
        """What restatement counts pulls by: the report's configuration, not its columns."""
        filters = sorted((f, sorted(v)) for f, v in self.filters)
        return json.dumps([self.report_type, sorted(self.group_by), filters])

    def duplicate_key(self, profile_id: int) -> str:
        canonical = {
            "profile": profile_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "type": self.report_type,
            "groupBy": sorted(self.group_by),
            "columns": sorted(self.columns),
            "timeUnit": self.time_unit,
            "filters": sorted((f, sorted(v)) for f, v in self.filters),
        }
        return json.dumps(canonical, sort_keys=True)


def parse_request(body: object, catalogue: AdsCatalogue) -> ReportRequest:
    """The validated request, or a 400 that says what is wrong."""
    if not isinstance(body, dict):
        raise _bad(
            "The request body must be a JSON object with startDate, endDate and configuration."
        )
    start = _parse_date(body.get("startDate"), "startDate")
    end = _parse_date(body.get("endDate"), "endDate")
    configuration = body.get("configuration")
    if not isinstance(configuration, dict):
        raise _bad("configuration is required.")
    ad_product = configuration.get("adProduct")
    if ad_product != "SPONSORED_PRODUCTS":
        raise _bad(
            f"configuration adProduct {ad_product!r} is not supported here: use SPONSORED_PRODUCTS."
        )
    report_type = configuration.get("reportTypeId")
    spec = REPORT_TYPES.get(report_type) if isinstance(report_type, str) else None
    if spec is None:
        raise _bad(
            f"configuration reportTypeId {report_type!r} is invalid for SPONSORED_PRODUCTS: "
            f"use one of {', '.join(REPORT_TYPES)}."
        )
    group_by = _string_list(configuration.get("groupBy"), "groupBy")
    wrong = [g for g in group_by if g not in spec.group_bys]
    if wrong:
        raise _bad(
            f"configuration groupBy includes invalid values: ({', '.join(wrong)}). "
            f"{spec.report_type_id} allows ({', '.join(spec.group_bys)})."
        )
    if "adGroup" in group_by and "campaignPlacement" in group_by:
        raise _bad("configuration groupBy adGroup cannot be combined with campaignPlacement.")
    time_unit = configuration.get("timeUnit")
    if time_unit not in ("DAILY", "SUMMARY"):
        raise _bad(f"configuration timeUnit {time_unit!r} is invalid: use DAILY or SUMMARY.")
    report_format = configuration.get("format")
    if report_format != "GZIP_JSON":
        raise _bad(f"configuration format {report_format!r} is invalid: use GZIP_JSON.")
    columns = _string_list(configuration.get("columns"), "columns")
    allowed = spec.columns(frozenset(group_by))
    invalid = [c for c in columns if c not in allowed]
    if invalid:
        raise _bad(
            f"configuration columns includes invalid values: ({', '.join(invalid)}) for "
            f"reportTypeId {spec.report_type_id} with groupBy ({', '.join(group_by)})."
        )
    if time_unit == "SUMMARY" and "date" in columns:
        raise _bad(
            "configuration columns includes date, which timeUnit SUMMARY does not allow: "
            "use startDate and endDate."
        )
    if time_unit == "DAILY" and {"startDate", "endDate"} & set(columns):
        raise _bad(
            "configuration columns includes startDate or endDate, which timeUnit DAILY does "
            "not allow: use date."
        )
    filters = _parse_filters(configuration.get("filters"), spec, group_by)

    if start > end:
        raise _bad(f"startDate {start} is after endDate {end}.")
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise _bad(
            f"The date range {start} to {end} is {days} days: Sponsored Products reports cover "
            f"at most {MAX_DAYS} days per request."
        )
    earliest = catalogue.window_start
    if start < earliest:
        raise _bad(
            f"startDate {start} is out of the data retention period: Sponsored Products data is "
            f"kept {RETENTION_DAYS} days, so the earliest startDate is {earliest}."
        )
    if end > catalogue.today:
        raise _bad(f"endDate {end} is in the future for this profile (today is {catalogue.today}).")
    name = body.get("name")
    echoed = {
        "adProduct": ad_product,
        "columns": columns,
        "filters": [{"field": f, "values": list(v)} for f, v in filters] or None,
        "format": report_format,
        "groupBy": group_by,
        "reportTypeId": spec.report_type_id,
        "timeUnit": time_unit,
    }
    return ReportRequest(
        name=name if isinstance(name, str) else "",
        start=start,
        end=end,
        report_type=spec.report_type_id,
        group_by=tuple(group_by),
        columns=tuple(columns),
        time_unit=time_unit,
        filters=filters,
        configuration=echoed,
    )


def _parse_filters(
    raw: object, spec: ReportType, group_by: list[str]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _bad("configuration filters must be a list of {field, values} objects.")
    parsed: list[tuple[str, tuple[str, ...]]] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("field"), str):
            raise _bad("Each configuration filter needs a field and a list of values.")
        field_name = item["field"]
        known = spec.filters.get(field_name)
        if known is None:
            raise _bad(
                f"configuration filters field {field_name!r} is not supported by "
                f"{spec.report_type_id}."
            )
        supported, allowed = known
        unsupported = [g for g in group_by if g not in supported]
        if unsupported:
            raise _bad(
                f"configuration filters field {field_name} is not supported with groupBy "
                f"({', '.join(unsupported)}): a filter must be supported by every groupBy value."
            )
        values = _string_list(item.get("values"), f"filters {field_name} values")
        wrong = [v for v in values if v not in allowed]
        if wrong:
            raise _bad(
                f"configuration filters {field_name} includes invalid values: "
                f"({', '.join(wrong)}); allowed: ({', '.join(allowed)})."
            )
        parsed.append((field_name, tuple(values)))
    return tuple(parsed)


# --- rendering ---------------------------------------------------------------------------------


@dataclass
class _Rows:
    """One day's (or the summed period's) figures per report row key."""

    metrics: dict[str, np.ndarray]
    keys: Sequence[tuple[int, ...]]  # per array position: the row's key (see _entities)


def _money(cents: Any) -> float:
    return round(int(cents) / 100.0, 2)


def _ratio(numerator: float, denominator: float, digits: int) -> float | None:
    return round(numerator / denominator, digits) if denominator else None


_METRIC_NAMES: dict[str, tuple[str, str]] = {}
for _w in (1, 7, 14, 30):
    _METRIC_NAMES |= {
        f"purchases{_w}d": ("count", f"orders{_w}"),
        f"unitsSoldClicks{_w}d": ("count", f"units{_w}"),
        f"sales{_w}d": ("money", f"sales{_w}"),
        f"purchasesSameSku{_w}d": ("count", f"sameOrders{_w}"),
        f"unitsSoldSameSku{_w}d": ("count", f"sameUnits{_w}"),
        f"attributedSalesSameSku{_w}d": ("money", f"sameSales{_w}"),
        f"purchasesOtherSku{_w}d": ("other_count", f"Orders{_w}"),
        f"unitsSoldOtherSku{_w}d": ("other_count", f"Units{_w}"),
        f"salesOtherSku{_w}d": ("other_money", f"Sales{_w}"),
    }
_ZERO_COLUMNS = frozenset(
    {
        "addToList",
        "addToListFromClicks",
        "qualifiedBorrows",
        "qualifiedBorrowsFromClicks",
        "royaltyQualifiedBorrows",
        "royaltyQualifiedBorrowsFromClicks",
        "kindleEditionNormalizedPagesRead14d",
        "kindleEditionNormalizedPagesRoyalties14d",
    }
)
_NULL_COLUMNS = frozenset(
    {
        "portfolioId",
        "topOfSearchImpressionShare",
        "campaignRuleBasedBudgetAmount",
        "campaignApplicableBudgetRuleId",
        "campaignApplicableBudgetRuleName",
    }
)


def _metric(name: str, metrics: dict[str, np.ndarray], i: int) -> Any:
    if name == "impressions" or name == "clicks":
        return int(metrics[name][i])
    if name in ("cost", "spend"):
        return _money(metrics["cost"][i])
    if name == "costPerClick":
        return _ratio(int(metrics["cost"][i]) / 100.0, int(metrics["clicks"][i]), 2)
    if name == "clickThroughRate":
        return _ratio(int(metrics["clicks"][i]), int(metrics["impressions"][i]), 4)
    if name.startswith(("acosClicks", "roasClicks")):
        window = name[len("acosClicks") :].removesuffix("d")
        cost = int(metrics["cost"][i])
        sales = int(metrics[f"sales{window}"][i])
        return _ratio(cost, sales, 4) if name.startswith("acos") else _ratio(sales, cost, 2)
    kind, key = _METRIC_NAMES[name]
    if kind == "count":
        return int(metrics[key][i])
    if kind == "money":
        return _money(metrics[key][i])
    total = int(metrics[key[0].lower() + key[1:]][i]) - int(metrics["same" + key][i])
    return total if kind == "other_count" else _money(total)


def _is_metric(name: str) -> bool:
    return name in _METRIC_NAMES or name in (
        "impressions",
        "clicks",
        "cost",
        "spend",
        "costPerClick",
        "clickThroughRate",
        "acosClicks7d",
        "acosClicks14d",
        "roasClicks7d",
        "roasClicks14d",
    )


def _day_rows(history: AdsHistory, request: ReportRequest, day: date, version: int) -> _Rows:
    cells = history.cells
    catalogue = history.catalogue
    bundle = history.day(day, version)
    report_type = request.report_type
    purchase_of = cells.purchase_cell
    if report_type in ("spTargeting", "spSearchTerm"):
        size = len(catalogue.targets)
        grouped = bundle.group(cells.click_target, cells.click_target[purchase_of], size)
        if report_type == "spTargeting":
            return _Rows(grouped.totals(), [(t,) for t in range(size)])
        split, target_of, position = search_term_split(history, day, grouped)
        return _Rows(split.totals(), list(zip(target_of.tolist(), position.tolist(), strict=True)))
    if report_type == "spAdvertisedProduct":
        size = len(catalogue.product_ads)
        grouped = bundle.group(cells.click_ad, cells.click_ad[purchase_of], size)
        return _Rows(grouped.totals(), [(a,) for a in range(size)])
    if report_type == "spPurchasedProduct":
        others = np.flatnonzero(~cells.purchase_same)
        zeros = np.zeros(others.size, dtype=np.int64)
        purchased = Bundle(zeros, zeros, zeros, bundle.take(np.arange(0), others).increments)
        keys = [
            (
                int(cells.click_target[purchase_of[q]]),
                int(cells.click_ad[purchase_of[q]]),
                int(cells.purchase_asin[q]),
            )
            for q in others
        ]
        return _Rows(purchased.totals(), keys)
    if "campaignPlacement" in request.group_by:
        size = len(catalogue.campaigns)
        grouped = bundle.group(cells.click_campaign, cells.click_campaign[purchase_of], size)
        split, campaign_of, position = placement_split(history, day, grouped)
        return _Rows(
            split.totals(), list(zip(campaign_of.tolist(), position.tolist(), strict=True))
        )
    if "adGroup" in request.group_by:
        size = len(catalogue.ad_groups)
        grouped = bundle.group(cells.click_group, cells.click_group[purchase_of], size)
        return _Rows(grouped.totals(), [(g,) for g in range(size)])
    size = len(catalogue.campaigns)
    grouped = bundle.group(cells.click_campaign, cells.click_campaign[purchase_of], size)
    return _Rows(grouped.totals(), [(c,) for c in range(size)])


@dataclass
class _Entities:
    campaign: int
    ad_group: int | None = None
    target: int | None = None
    ad: int | None = None
    purchased: int | None = None
    term: str | None = None
    placement: str | None = None


def _entities(history: AdsHistory, request: ReportRequest, key: tuple[int, ...]) -> _Entities:
    catalogue = history.catalogue
    report_type = request.report_type
    if report_type == "spTargeting":
        target = catalogue.targets[key[0]]
        return _Entities(target.campaign_index, target.ad_group_index, target.index)
    if report_type == "spSearchTerm":
        target = catalogue.targets[key[0]]
        term = target.terms[key[1] - 1].text
        return _Entities(target.campaign_index, target.ad_group_index, target.index, term=term)
    if report_type == "spAdvertisedProduct":
        ad = catalogue.product_ads[key[0]]
        group = catalogue.ad_groups[ad.ad_group_index]
        return _Entities(group.campaign_index, group.index, ad=ad.index)
    if report_type == "spPurchasedProduct":
        target = catalogue.targets[key[0]]
        return _Entities(target.campaign_index, target.ad_group_index, target.index, key[1], key[2])
    if "campaignPlacement" in request.group_by:
        return _Entities(key[0], placement=PLACEMENTS[key[1]])
    if "adGroup" in request.group_by:
        group = catalogue.ad_groups[key[0]]
        return _Entities(group.campaign_index, group.index)
    return _Entities(key[0])


def _included(
    request: ReportRequest, metrics: dict[str, np.ndarray], i: int, key: tuple[int, ...]
) -> bool:
    if request.report_type == "spSearchTerm":
        return key[1] > 0 and int(metrics["clicks"][i]) > 0
    if request.report_type == "spPurchasedProduct":
        return int(metrics["units30"][i]) > 0
    return int(metrics["impressions"][i]) > 0


def _passes(
    history: AdsHistory,
    request: ReportRequest,
    found: _Entities,
    snapshot: dict[int, tuple[float, str]],
) -> bool:
    catalogue = history.catalogue
    for field_name, values in request.filters:
        if field_name == "campaignStatus":
            value = catalogue.campaigns[found.campaign].state
        elif field_name == "adStatus" and found.ad_group is not None:
            value = catalogue.ad_groups[found.ad_group].state
        elif field_name == "adKeywordStatus" and found.target is not None:
            target = catalogue.targets[found.target]
            value = snapshot.get(target.target_id, (target.bid, target.state))[1]
        elif field_name == "keywordType" and found.target is not None:
            value = catalogue.targets[found.target].keyword_type
        elif field_name == "adCreativeStatus" and found.ad is not None:
            value = catalogue.product_ads[found.ad].state
        elif field_name == "campaignSite":
            return False  # no Amazon Business placements in the sandbox
        else:
            continue
        if value not in values:
            return False
    return True


def _entity_value(
    name: str,
    history: AdsHistory,
    found: _Entities,
    snapshot: dict[int, tuple[float, str]],
    asins: list[str],
) -> Any:
    catalogue = history.catalogue
    campaign = catalogue.campaigns[found.campaign]
    if name == "campaignName":
        return campaign.name
    if name == "campaignId":
        return campaign.campaign_id
    if name == "campaignStatus":
        return campaign.state
    if name == "campaignBudgetAmount":
        return campaign.budget
    if name == "campaignBudgetType":
        return "DAILY_BUDGET"
    if name == "campaignBudgetCurrencyCode":
        return catalogue.currency
    if name == "campaignBiddingStrategy":
        return campaign.strategy
    if name == "placementClassification":
        return found.placement
    if name in ("adGroupName", "adGroupId", "adStatus"):
        assert found.ad_group is not None  # noqa: S101 (the column is allowed only then)
        group = catalogue.ad_groups[found.ad_group]
        return {"adGroupName": group.name, "adGroupId": group.ad_group_id, "adStatus": group.state}[
            name
        ]
    if name in ("adId", "advertisedAsin", "advertisedSku"):
        assert found.ad is not None  # noqa: S101
        ad = catalogue.product_ads[found.ad]
        return {"adId": ad.ad_id, "advertisedAsin": ad.asin, "advertisedSku": ad.sku}[name]
    if name == "purchasedAsin":
        assert found.purchased is not None  # noqa: S101
        return asins[found.purchased]
    if name == "searchTerm":
        return found.term
    assert found.target is not None  # noqa: S101
    target = catalogue.targets[found.target]
    bid, state = snapshot.get(target.target_id, (target.bid, target.state))
    values: dict[str, Any] = {
        "keywordId": target.target_id,
        "keyword": target.text,
        "targeting": target.text,
        "keywordType": target.keyword_type,
        "matchType": target.match_type,
        "keywordBid": bid,
        "adKeywordStatus": state,
    }
    return values[name]


def product_asins(history: AdsHistory) -> list[str]:
    """The ASIN of each catalogue product index (every product has a product ad)."""
    asins: dict[int, str] = {}
    for ad in history.catalogue.product_ads:
        asins[ad.product_index] = ad.asin
    return [asins.get(i, "") for i in range(max(asins, default=-1) + 1)]


def report_rows(
    history: AdsHistory,
    request: ReportRequest,
    versions: dict[date, int],
    snapshot: dict[int, tuple[float, str]],
) -> list[dict[str, Any]]:
    """The report's rows: exactly the requested columns, in the requested order."""
    days = [
        request.start + timedelta(days=k) for k in range((request.end - request.start).days + 1)
    ]
    periods: list[tuple[dict[str, str], _Rows]] = []
    if request.time_unit == "DAILY":
        for day in days:
            periods.append(
                ({"date": day.isoformat()}, _day_rows(history, request, day, versions.get(day, 0)))
            )
    else:
        total: _Rows | None = None
        for day in days:
            rows = _day_rows(history, request, day, versions.get(day, 0))
            if total is None:
                total = rows
            else:
                total.metrics = {k: total.metrics[k] + v for k, v in rows.metrics.items()}
        assert total is not None  # noqa: S101 (at least one day)
        dates = {"startDate": request.start.isoformat(), "endDate": request.end.isoformat()}
        periods.append((dates, total))
    output: list[dict[str, Any]] = []
    columns = request.columns
    asins = product_asins(history)
    for dates, rows in periods:
        for i, key in enumerate(rows.keys):
            if not _included(request, rows.metrics, i, key):
                continue
            found = _entities(history, request, key)
            if not _passes(history, request, found, snapshot):
                continue
            row: dict[str, Any] = {}
            for column in columns:
                if column in dates:
                    row[column] = dates[column]
                elif column in _ZERO_COLUMNS:
                    row[column] = 0
                elif column in _NULL_COLUMNS:
                    row[column] = None
                elif _is_metric(column):
                    row[column] = _metric(column, rows.metrics, i)
                else:
                    row[column] = _entity_value(column, history, found, snapshot, asins)
            output.append(row)
    return output


def render_report(state: SandboxState, record: AdsReportRecord) -> bytes:
    """The gzip document of a COMPLETED report (deterministic: same record, same bytes)."""
    account = state.accounts[record.seller_id]
    history = ads_history(account.account, record.country_code)
    request = ReportRequest(
        name=record.name,
        start=record.start,
        end=record.end,
        report_type=record.report_type,
        group_by=record.group_by,
        columns=record.columns,
        time_unit=record.time_unit,
        filters=record.filters,
        configuration=record.configuration,
    )
    rows = report_rows(history, request, record.versions, record.snapshot)
    return gzip.compress(json.dumps(rows, separators=(",", ":")).encode("utf-8"), mtime=0)


def _document(state: SandboxState, record: AdsReportRecord) -> bytes:
    key = f"ads-report:{record.report_id}"
    cached = state.cached_document(key)
    if cached is not None:
        return cached[0]
    content = render_report(state, record)
    state.cache_document(key, content, "application/octet-stream")
    with state.lock:
        record.file_size = len(content)
    return content


# --- routes ------------------------------------------------------------------------------------


def _report_id(account: AccountState, number: int) -> str:
    """A UUID like Amazon's, deterministic in the account and how many reports came before."""
    key = f"ads-report:{account.account.seed}:{account.seller_id}:{number}"
    return str(uuid.UUID(bytes=hashlib.sha256(key.encode()).digest()[:16], version=4))


def create_report(state: SandboxState, account: AccountState, request: Request) -> Response:
    if media_type(request.header("Content-Type")) != REPORT_MEDIA_TYPE:
        raise AdsApiError(415, "415", f"Content-Type must be {REPORT_MEDIA_TYPE}.")
    profile = scoped_profile(account, request)
    history = ads_history(account.account, profile.country_code)
    try:
        body = request.json()
    except ValueError:
        raise _bad("The request body is not valid JSON.") from None
    parsed = parse_request(body, history.catalogue)
    data = ads_data(state)
    duplicate_key = parsed.duplicate_key(profile.profile_id)
    now = time.monotonic()
    with state.lock:
        for existing in data.reports.values():
            if existing.duplicate_key == duplicate_key and existing.status(now) in (
                "PENDING",
                "PROCESSING",
            ):
                raise AdsApiError(
                    425, "425", f"The Request is a duplicate of : {existing.report_id}"
                )
        fault = state.take_fault(
            ADS_REPORT_FAULT_KINDS, "createAsyncReport", parsed.report_type, account.seller_id
        )
        versions: dict[date, int] = {}
        if fault is None:
            day = parsed.start
            while day <= parsed.end:
                if (history.catalogue.today - day).days < RESTATED_DAYS:
                    pull = (account.seller_id, profile.country_code, parsed.pull_key, day)
                    versions[day] = data.pulls.get(pull, 0)
                    data.pulls[pull] = versions[day] + 1
                day += timedelta(days=1)
        data.reports_made += 1
        store_key = (account.seller_id, profile.country_code)
        store = data.stores.get(store_key)
        snapshot = store.snapshot() if store is not None else {}
        record = AdsReportRecord(
            report_id=_report_id(account, data.reports_made),
            seller_id=account.seller_id,
            profile_id=profile.profile_id,
            country_code=profile.country_code,
            name=parsed.name,
            start=parsed.start,
            end=parsed.end,
            report_type=parsed.report_type,
            group_by=parsed.group_by,
            columns=parsed.columns,
            time_unit=parsed.time_unit,
            filters=parsed.filters,
            configuration=parsed.configuration,
            created=account.clock(),
            created_wall=time.time(),
            created_monotonic=now,
            processing_seconds=state.config.processing_delay_seconds,
            outcome="FAILED" if fault is not None else "COMPLETED",
            failure=FAILURE_REASON if fault is not None else None,
            versions=versions,
            snapshot=snapshot,
            duplicate_key=duplicate_key,
        )
        data.reports[record.report_id] = record
    return json_response(200, record.as_json(now, None, just_created=True))


def _own_report(state: SandboxState, account: AccountState, request: Request) -> AdsReportRecord:
    profile = scoped_profile(account, request)
    report_id = request.path_params["reportId"]
    with state.lock:
        record = ads_data(state).reports.get(report_id)
    if (
        record is None
        or record.seller_id != account.seller_id
        or record.profile_id != profile.profile_id
    ):
        raise AdsApiError(
            404, "404", f"Report {report_id} was not found for profile {profile.profile_id}."
        )
    return record


def _signature(state: SandboxState, report_id: str, expires: int) -> str:
    return hmac.new(
        state.signing_key, f"ads:{report_id}:{expires}".encode(), hashlib.sha256
    ).hexdigest()


def download_url(state: SandboxState, record: AdsReportRecord) -> str:
    expires = record.url_expires_wall
    query = urlencode(
        {
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Expires": str(URL_LIFETIME_SECONDS),
            "X-Sandbox-Expires-At": str(expires),
            "X-Amz-Signature": _signature(state, record.report_id, expires),
        }
    )
    return f"{state.base_url}{DOWNLOAD_PATH}/{record.report_id}.json.gz?{query}"


def get_report(state: SandboxState, account: AccountState, request: Request) -> Response:
    record = _own_report(state, account, request)
    now = time.monotonic()
    url = None
    if record.status(now) == "COMPLETED":
        _document(state, record)
        url = download_url(state, record)
    return json_response(200, record.as_json(now, url))


def _s3_error(error: ApiError) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{error.code}</Code><Message>{error.message}</Message></Error>"
    )
    return Response(error.status, body.encode("utf-8"), content_type="application/xml")


REPORT_STORE = ApiFamily(name="ads-report-store", render_error=_s3_error)


def download_report(state: SandboxState, _account: object, request: Request) -> Response:
    if request.header("Authorization") is not None:
        raise ApiError(
            400,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
            "query string parameter or the Authorization header should be specified",
        )
    report_id = request.path_params["reportFile"].removesuffix(".json.gz")
    expires_text = request.query_value("X-Sandbox-Expires-At") or "0"
    expires = int(expires_text) if expires_text.isdigit() else 0
    signature = request.query_value("X-Amz-Signature") or ""
    if not hmac.compare_digest(signature, _signature(state, report_id, expires)):
        raise ApiError(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    if time.time() > expires:
        raise ApiError(403, "AccessDenied", "Request has expired")
    with state.lock:
        record = ads_data(state).reports.get(report_id)
    if record is None or record.status(time.monotonic()) != "COMPLETED":
        raise ApiError(404, "NoSuchKey", "The specified key does not exist.")
    content = _document(state, record)
    response = Response(200, content, content_type="application/x-gzip")
    fault = state.take_fault(DOCUMENT_FAULT_KINDS, "download", record.report_type, record.seller_id)
    if fault is not None and fault.kind == "truncated_document":
        response.body = content[: len(content) // 2]
    elif fault is not None and fault.kind == "corrupt_document":
        noise = np.random.default_rng(len(content)).integers(0, 256, max(len(content), 64))
        response.body = b"\x00" + noise.astype(np.uint8).tobytes()[1:]
    elif fault is not None:
        response.trickle_seconds = max(fault.delay_seconds, 0.0)
    return response


def register(router: Router) -> None:
    router.add(
        "POST",
        "/reporting/reports",
        "createAsyncReport",
        create_report,
        ads_family("createAsyncReport", "reporting", limit=CREATE_LIMIT),
    )
    router.add(
        "GET",
        "/reporting/reports/{reportId}",
        "getAsyncReport",
        get_report,
        ads_family("getAsyncReport", "reporting"),
    )
    router.add("GET", f"{DOWNLOAD_PATH}/{{reportFile}}", "download", download_report, REPORT_STORE)

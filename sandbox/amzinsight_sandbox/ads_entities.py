"""Sponsored Products v3 campaign management (docs/amazon-formats.md 4.3): list the entities, change
keyword and target bids and states, add keywords and negative keywords.

Every call sends and accepts its own media type (Content-Type and Accept
application/vnd.sp<Entity>.v3+json; otherwise 415 or 406). Lists page with maxResults (1-5000)
and an opaque nextToken, and filter with stateFilter, campaignIdFilter, adGroupIdFilter, the
entity's id filter, matchTypeFilter, keywordTextFilter/nameFilter and expressionTypeFilter.
Changes answer 207 Multi-Status: {"<entities>": {"success": [{"index", "<id field>",
"<entity>"?}], "error": [{"index", "errors": [{"errorType", "errorValue": {<errorType>:
{"reason", "message", ...}}}]}]}}; the entity itself only with `Prefer: return=representation`.
Changes live in the running sandbox until POST /_sandbox/reset.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from amzinsight_sandbox.ads_common import AdsApiError, ads_family, media_type, scoped_profile
from amzinsight_sandbox.ads_store import AdsStore, NegativeState, TargetState, ads_store, ads_time
from amzinsight_sandbox.routing import Request, Response, Router, json_response
from amzinsight_sandbox.state import AccountState, SandboxState

MAX_PAGE = 5000
MAX_BATCH = 1000
STATES = ("ENABLED", "PAUSED", "ARCHIVED")
KEYWORD_MATCH_TYPES = ("EXACT", "PHRASE", "BROAD")
NEGATIVE_MATCH_TYPES = ("NEGATIVE_EXACT", "NEGATIVE_PHRASE")
# Lowest and highest Sponsored Products bid per marketplace (Amazon's table); others: default.
BID_LIMITS = {"JP": (2.0, 100000.0), "AU": (0.1, 1410.0), "AE": (0.24, 184.0)}
DEFAULT_BID_LIMITS = (0.02, 1000.0)
_COMMON_FILTERS = frozenset({"maxResults", "nextToken", "includeExtendedDataFields", "locale"})


def _invalid(message: str) -> AdsApiError:
    return AdsApiError(400, "INVALID_ARGUMENT", message)


@dataclass(frozen=True)
class Entity:
    """One listed entity: its JSON and the values filters look at."""

    body: dict[str, Any]
    entity_id: str
    campaign_id: str
    ad_group_id: str | None
    state: str
    match_type: str | None = None
    text: str | None = None
    expression_type: str | None = None


@dataclass(frozen=True)
class EntityKind:
    path: str
    media: str
    key: str
    operation: str
    id_filter: str
    filters: frozenset[str]
    entities: Callable[[AdsStore, bool], list[Entity]]


def _campaigns(store: AdsStore, extended: bool) -> list[Entity]:
    found = []
    for c in store.catalogue.campaigns:
        placement = []
        if c.top_of_search_percentage:
            placement = [{"placement": "PLACEMENT_TOP", "percentage": c.top_of_search_percentage}]
        body: dict[str, Any] = {
            "campaignId": str(c.campaign_id),
            "name": c.name,
            "targetingType": c.targeting_type,
            "state": c.state,
            "dynamicBidding": {"strategy": c.strategy, "placementBidding": placement},
            "startDate": c.start_date.isoformat(),
            "budget": {"budgetType": "DAILY", "budget": c.budget},
            "tags": {},
        }
        if extended:
            start = c.start_date
            created = ads_time(datetime(start.year, start.month, start.day, tzinfo=UTC))
            serving = "CAMPAIGN_STATUS_ENABLED" if c.state == "ENABLED" else f"CAMPAIGN_{c.state}"
            body["extendedData"] = {
                "creationDateTime": created,
                "lastUpdateDateTime": created,
                "servingStatus": serving,
            }
        found.append(
            Entity(body, str(c.campaign_id), str(c.campaign_id), None, c.state, text=c.name)
        )
    return found


def _ad_groups(store: AdsStore, _extended: bool) -> list[Entity]:
    catalogue = store.catalogue
    found = []
    for g in catalogue.ad_groups:
        campaign_id = str(catalogue.campaigns[g.campaign_index].campaign_id)
        body = {
            "adGroupId": str(g.ad_group_id),
            "campaignId": campaign_id,
            "name": g.name,
            "state": g.state,
            "defaultBid": g.default_bid,
        }
        found.append(
            Entity(body, str(g.ad_group_id), campaign_id, str(g.ad_group_id), g.state, text=g.name)
        )
    return found


def _product_ads(store: AdsStore, _extended: bool) -> list[Entity]:
    catalogue = store.catalogue
    found = []
    for ad in catalogue.product_ads:
        group = catalogue.ad_groups[ad.ad_group_index]
        campaign_id = str(catalogue.campaigns[group.campaign_index].campaign_id)
        body = {
            "adId": str(ad.ad_id),
            "adGroupId": str(group.ad_group_id),
            "campaignId": campaign_id,
            "asin": ad.asin,
            "sku": ad.sku,
            "state": ad.state,
        }
        found.append(Entity(body, str(ad.ad_id), campaign_id, str(group.ad_group_id), ad.state))
    return found


def _targets_of(store: AdsStore, keywords: bool) -> list[TargetState]:
    return [t for t in store.targets.values() if (t.kind == "keyword") == keywords]


def _keywords(store: AdsStore, extended: bool) -> list[Entity]:
    found = []
    for t in _targets_of(store, True):
        body = t.keyword_json(store, extended)
        found.append(
            Entity(
                body,
                body["keywordId"],
                body["campaignId"],
                body["adGroupId"],
                t.state,
                match_type=t.match_type,
                text=t.text,
            )
        )
    return found


def _targets(store: AdsStore, extended: bool) -> list[Entity]:
    found = []
    for t in _targets_of(store, False):
        body = t.target_json(store, extended)
        found.append(
            Entity(
                body,
                body["targetId"],
                body["campaignId"],
                body["adGroupId"],
                t.state,
                expression_type=body["expressionType"],
            )
        )
    return found


def _negatives(campaign_level: bool) -> Callable[[AdsStore, bool], list[Entity]]:
    def listed(store: AdsStore, extended: bool) -> list[Entity]:
        chosen = store.campaign_negatives if campaign_level else store.negatives
        found = []
        for n in chosen.values():
            body = n.as_json(store, extended)
            found.append(
                Entity(
                    body,
                    body["keywordId"],
                    body["campaignId"],
                    body.get("adGroupId"),
                    n.state,
                    match_type=n.match_type,
                    text=n.text,
                )
            )
        return found

    return listed


KINDS = {
    kind.key: kind
    for kind in (
        EntityKind(
            "/sp/campaigns",
            "application/vnd.spcampaign.v3+json",
            "campaigns",
            "ListSponsoredProductsCampaigns",
            "campaignIdFilter",
            frozenset({"stateFilter", "campaignIdFilter", "nameFilter", "portfolioIdFilter"}),
            _campaigns,
        ),
        EntityKind(
            "/sp/adGroups",
            "application/vnd.spadgroup.v3+json",
            "adGroups",
            "ListSponsoredProductsAdGroups",
            "adGroupIdFilter",
            frozenset({"stateFilter", "campaignIdFilter", "adGroupIdFilter", "nameFilter"}),
            _ad_groups,
        ),
        EntityKind(
            "/sp/productAds",
            "application/vnd.spproductad.v3+json",
            "productAds",
            "ListSponsoredProductsProductAds",
            "adIdFilter",
            frozenset({"stateFilter", "campaignIdFilter", "adGroupIdFilter", "adIdFilter"}),
            _product_ads,
        ),
        EntityKind(
            "/sp/keywords",
            "application/vnd.spkeyword.v3+json",
            "keywords",
            "ListSponsoredProductsKeywords",
            "keywordIdFilter",
            frozenset(
                {
                    "stateFilter",
                    "campaignIdFilter",
                    "adGroupIdFilter",
                    "keywordIdFilter",
                    "matchTypeFilter",
                    "keywordTextFilter",
                }
            ),
            _keywords,
        ),
        EntityKind(
            "/sp/targets",
            "application/vnd.sptargetingclause.v3+json",
            "targetingClauses",
            "ListSponsoredProductsTargetingClauses",
            "targetIdFilter",
            frozenset(
                {
                    "stateFilter",
                    "campaignIdFilter",
                    "adGroupIdFilter",
                    "targetIdFilter",
                    "expressionTypeFilter",
                }
            ),
            _targets,
        ),
        EntityKind(
            "/sp/negativeKeywords",
            "application/vnd.spnegativekeyword.v3+json",
            "negativeKeywords",
            "ListSponsoredProductsNegativeKeywords",
            "negativeKeywordIdFilter",
            frozenset(
                {
                    "stateFilter",
                    "campaignIdFilter",
                    "adGroupIdFilter",
                    "negativeKeywordIdFilter",
                    "matchTypeFilter",
                    "negativeKeywordTextFilter",
                    "keywordTextFilter",
                }
            ),
            _negatives(campaign_level=False),
        ),
        EntityKind(
            "/sp/campaignNegativeKeywords",
            "application/vnd.spcampaignnegativekeyword.v3+json",
            "campaignNegativeKeywords",
            "ListSponsoredProductsCampaignNegativeKeywords",
            "campaignNegativeKeywordIdFilter",
            frozenset(
                {
                    "stateFilter",
                    "campaignIdFilter",
                    "campaignNegativeKeywordIdFilter",
                    "campaignNegativeKeywordTextFilter",
                    "keywordTextFilter",
                }
            ),
            _negatives(campaign_level=True),
        ),
    )
}


def _check_media(request: Request, kind: EntityKind) -> None:
    if media_type(request.header("Content-Type")) != kind.media:
        raise AdsApiError(
            415, "UNSUPPORTED_MEDIA_TYPE", f"Content-Type must be {_pretty(kind.media)}."
        )
    accepted = [media_type(part) for part in (request.header("Accept") or "").split(",")]
    if kind.media not in accepted:
        raise AdsApiError(406, "NOT_ACCEPTABLE", f"Accept must include {_pretty(kind.media)}.")


def _pretty(media: str) -> str:
    """The media type as Amazon spells it (application/vnd.spKeyword.v3+json)."""
    names = {
        "spcampaign": "spCampaign",
        "spadgroup": "spAdGroup",
        "spproductad": "spProductAd",
        "spkeyword": "spKeyword",
        "sptargetingclause": "spTargetingClause",
        "spnegativekeyword": "spNegativeKeyword",
        "spcampaignnegativekeyword": "spCampaignNegativeKeyword",
    }
    name = media.removeprefix("application/vnd.").removesuffix(".v3+json")
    return f"application/vnd.{names.get(name, name)}.v3+json"


def _body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError:
        raise _invalid("The request body is not valid JSON.") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise _invalid("The request body must be a JSON object.")
    return body


def _ids(value: object, name: str) -> set[str]:
    if not isinstance(value, dict) or not isinstance(value.get("include"), list):
        raise _invalid(f"{name} must be an object with an include list.")
    return {str(v) for v in value["include"]}


def _text_filter(value: object, name: str) -> tuple[str, list[str]]:
    if not isinstance(value, dict) or not isinstance(value.get("include"), list):
        raise _invalid(f"{name} must be an object with queryTermMatchType and an include list.")
    match = value.get("queryTermMatchType", "EXACT_MATCH")
    if match not in ("EXACT_MATCH", "BROAD_MATCH"):
        raise _invalid(f"{name} queryTermMatchType must be EXACT_MATCH or BROAD_MATCH.")
    return str(match), [str(v).casefold() for v in value["include"]]


Predicate = Callable[[Entity], bool]


def _member(field_name: str, allowed: set[str]) -> Predicate:
    def test(entity: Entity) -> bool:
        return getattr(entity, field_name) in allowed

    return test


def _text_test(include: list[str], exact: bool) -> Predicate:
    def test(entity: Entity) -> bool:
        text = (entity.text or "").casefold()
        return text in include if exact else any(part in text for part in include)

    return test


def _predicates(body: dict[str, Any], kind: EntityKind) -> list[Predicate]:
    """The request's filters, each as a test an entity must pass."""
    fields = {
        "stateFilter": "state",
        "campaignIdFilter": "campaign_id",
        "adGroupIdFilter": "ad_group_id",
        kind.id_filter: "entity_id",
        "expressionTypeFilter": "expression_type",
    }
    tests: list[Predicate] = []
    for name, value in body.items():
        if name in _COMMON_FILTERS:
            continue
        if name in fields:
            allowed = _ids(value, name)
            if name == "stateFilter":
                allowed = {s.upper() for s in allowed}
            tests.append(_member(fields[name], allowed))
        elif name == "matchTypeFilter":
            if not isinstance(value, list):
                raise _invalid("matchTypeFilter must be a list of match types.")
            tests.append(_member("match_type", {str(v) for v in value}))
        elif name.endswith("TextFilter") or name == "nameFilter":
            match, include = _text_filter(value, name)
            tests.append(_text_test(include, exact=match == "EXACT_MATCH"))
    return tests


def _list(kind: EntityKind) -> Callable[[SandboxState, AccountState, Request], Response]:
    def handler(state: SandboxState, account: AccountState, request: Request) -> Response:
        _check_media(request, kind)
        body = _body(request)
        unknown = sorted(set(body) - kind.filters - _COMMON_FILTERS)
        if unknown:
            raise _invalid(f"Unknown field(s) for {kind.operation}: {', '.join(unknown)}.")
        size = body.get("maxResults", MAX_PAGE)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_PAGE:
            raise _invalid(f"maxResults must be an integer from 1 to {MAX_PAGE}.")
        filters = {k: v for k, v in body.items() if k not in _COMMON_FILTERS}
        fingerprint = hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:16]
        offset = 0
        token = body.get("nextToken")
        if token is not None:
            offset = _offset(token, fingerprint)
        profile = scoped_profile(account, request)
        store = ads_store(state, account, profile)
        extended = body.get("includeExtendedDataFields") is True
        tests = _predicates(body, kind)
        with state.lock:
            listed = kind.entities(store, extended)
        found = [e for e in listed if all(test(e) for test in tests)]
        page = found[offset : offset + size]
        answer: dict[str, Any] = {kind.key: [e.body for e in page], "totalResults": len(found)}
        if offset + size < len(found):
            raw = json.dumps({"offset": offset + size, "filters": fingerprint}).encode()
            answer["nextToken"] = base64.urlsafe_b64encode(raw).decode()
        response = json_response(200, answer)
        response.content_type = _pretty(kind.media)
        return response

    return handler


def _offset(token: object, fingerprint: str) -> int:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(str(token).encode()))
        offset = int(decoded["offset"])
        same = decoded["filters"] == fingerprint
    except (ValueError, KeyError, TypeError):
        raise _invalid("Invalid nextToken.") from None
    if not same:
        raise _invalid("nextToken was issued for other filters: send the same filters with it.")
    return offset


# --- changes ----------------------------------------------------------------------------------


def _error(
    index: int, error_type: str, reason: str, message: str, **details: Any
) -> dict[str, Any]:
    return {
        "index": index,
        "errors": [
            {
                "errorType": error_type,
                "errorValue": {error_type: {"reason": reason, "message": message, **details}},
            }
        ],
    }


def _items(body: dict[str, Any], key: str) -> list[Any]:
    items = body.get(key)
    if not isinstance(items, list) or not items:
        raise _invalid(f"The request body needs a non-empty {key} list.")
    if len(items) > MAX_BATCH:
        raise _invalid(f"{key} can hold at most {MAX_BATCH} items per request.")
    return items


def _bid_error(index: int, bid: object, country: str) -> dict[str, Any] | None:
    low, high = BID_LIMITS.get(country, DEFAULT_BID_LIMITS)
    location = f"$[{index}].bid"
    if not isinstance(bid, int | float) or isinstance(bid, bool):
        return _error(
            index,
            "malformedValueError",
            "INVALID_ARGUMENT",
            "bid must be a number.",
            cause={"location": location, "trigger": str(bid)},
        )
    if low <= float(bid) <= high:
        return None
    return _error(
        index,
        "rangeError",
        "TOO_LOW" if float(bid) < low else "TOO_HIGH",
        f"bid must be between {low:g} and {high:g} in this marketplace.",
        marketplace=country,
        lowerLimit=f"{low:g}",
        upperLimit=f"{high:g}",
        cause={"location": location, "trigger": str(bid)},
    )


def _multi_status(
    key: str, success: list[dict[str, Any]], errors: list[dict[str, Any]], media: str
) -> Response:
    response = json_response(207, {key: {"success": success, "error": errors}})
    response.content_type = _pretty(media)
    return response


def _represent(request: Request) -> bool:
    return "return=representation" in (request.header("Prefer") or "").replace(" ", "").lower()


def _update(
    kind: EntityKind, keywords: bool
) -> Callable[[SandboxState, AccountState, Request], Response]:
    id_field = "keywordId" if keywords else "targetId"
    entity_type = "KEYWORD" if keywords else "TARGETING_CLAUSE"

    def handler(state: SandboxState, account: AccountState, request: Request) -> Response:
        _check_media(request, kind)
        items = _items(_body(request), kind.key)
        profile = scoped_profile(account, request)
        store = ads_store(state, account, profile)
        success: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        now = account.clock()
        with state.lock:
            for index, item in enumerate(items):
                if not isinstance(item, dict):
                    errors.append(
                        _error(
                            index,
                            "malformedValueError",
                            "INVALID_ARGUMENT",
                            "Each item must be an object.",
                        )
                    )
                    continue
                raw_id = item.get(id_field)
                if raw_id is None:
                    errors.append(
                        _error(
                            index, "missingValueError", "MISSING_VALUE", f"{id_field} is required."
                        )
                    )
                    continue
                text_id = str(raw_id)
                target = store.targets.get(int(text_id)) if text_id.isdigit() else None
                if target is None or (target.kind == "keyword") != keywords:
                    errors.append(
                        _error(
                            index,
                            "entityNotFoundError",
                            "NOT_FOUND",
                            f"{entity_type} {text_id} was not found in this profile.",
                            entityType=entity_type,
                            entityId=text_id,
                        )
                    )
                    continue
                if target.state == "ARCHIVED":
                    errors.append(
                        _error(
                            index,
                            "entityStateError",
                            "ARCHIVED_ENTITY",
                            f"{entity_type} {text_id} is ARCHIVED and cannot be changed.",
                        )
                    )
                    continue
                new_state = item.get("state")
                if new_state is not None and new_state not in STATES:
                    errors.append(
                        _error(
                            index,
                            "malformedValueError",
                            "INVALID_ARGUMENT",
                            f"state must be one of {', '.join(STATES)}.",
                            cause={"location": f"$[{index}].state", "trigger": str(new_state)},
                        )
                    )
                    continue
                bid = item.get("bid")
                if bid is not None:
                    problem = _bid_error(index, bid, profile.country_code)
                    if problem is not None:
                        errors.append(problem)
                        continue
                    target.bid = round(float(bid), 2)
                if new_state is not None:
                    target.state = str(new_state)
                target.updated = now
                entry: dict[str, Any] = {"index": index, id_field: text_id}
                if _represent(request):
                    entry["keyword" if keywords else "targetingClause"] = (
                        target.keyword_json(store) if keywords else target.target_json(store)
                    )
                success.append(entry)
        return _multi_status(kind.key, success, errors, kind.media)

    return handler


def _parent(
    store: AdsStore, index: int, item: dict[str, Any], need_group: bool
) -> tuple[int, int | None] | dict[str, Any]:
    """(campaign index, ad group index) of an item to create, or its error."""
    campaign_id = str(item.get("campaignId", ""))
    campaign = store.campaign_by_id.get(int(campaign_id)) if campaign_id.isdigit() else None
    if campaign is None:
        return _error(
            index,
            "entityNotFoundError",
            "NOT_FOUND",
            f"Campaign {campaign_id or '(missing)'} was not found in this profile.",
            entityType="CAMPAIGN",
            entityId=campaign_id,
        )
    if not need_group:
        return campaign.index, None
    group_id = str(item.get("adGroupId", ""))
    group = store.ad_group_by_id.get(int(group_id)) if group_id.isdigit() else None
    if group is None or group.campaign_index != campaign.index:
        return _error(
            index,
            "entityNotFoundError",
            "NOT_FOUND",
            f"Ad group {group_id or '(missing)'} was not found in campaign {campaign_id}.",
            entityType="AD_GROUP",
            entityId=group_id,
        )
    return campaign.index, group.index


def _text_error(index: int, text: object) -> dict[str, Any] | None:
    if not isinstance(text, str) or not text.strip():
        return _error(index, "missingValueError", "MISSING_VALUE", "keywordText is required.")
    if len(text) > 80 or len(text.split()) > 10:
        return _error(
            index,
            "malformedValueError",
            "INVALID_ARGUMENT",
            "keywordText can have at most 80 characters and 10 words.",
            cause={"location": f"$[{index}].keywordText", "trigger": text},
        )
    return None


def _choice_error(
    index: int, value: object, allowed: tuple[str, ...], name: str
) -> dict[str, Any] | None:
    if value in allowed:
        return None
    if value is None:
        return _error(index, "missingValueError", "MISSING_VALUE", f"{name} is required.")
    return _error(
        index,
        "malformedValueError",
        "INVALID_ARGUMENT",
        f"{name} must be one of {', '.join(allowed)}.",
        cause={"location": f"$[{index}].{name}", "trigger": str(value)},
    )


def _duplicate(index: int, what: str) -> dict[str, Any]:
    return _error(index, "duplicateValueError", "DUPLICATE_VALUE", f"{what} already exists.")


def create_keywords(state: SandboxState, account: AccountState, request: Request) -> Response:
    kind = KINDS["keywords"]
    _check_media(request, kind)
    items = _items(_body(request), kind.key)
    profile = scoped_profile(account, request)
    store = ads_store(state, account, profile)
    success: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    now = account.clock()
    with state.lock:
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                errors.append(
                    _error(
                        index,
                        "malformedValueError",
                        "INVALID_ARGUMENT",
                        "Each item must be an object.",
                    )
                )
                continue
            parent = _parent(store, index, item, need_group=True)
            if isinstance(parent, dict):
                errors.append(parent)
                continue
            campaign_index, group_index = parent
            assert group_index is not None  # noqa: S101 (need_group)
            if store.catalogue.campaigns[campaign_index].targeting_type != "MANUAL":
                errors.append(
                    _error(
                        index,
                        "parentEntityError",
                        "PARENT_ENTITY_INVALID",
                        "Keywords can only be added to ad groups of MANUAL campaigns.",
                    )
                )
                continue
            text = item.get("keywordText")
            problem = (
                _text_error(index, text)
                or _choice_error(index, item.get("matchType"), KEYWORD_MATCH_TYPES, "matchType")
                or _choice_error(index, item.get("state"), ("ENABLED", "PAUSED"), "state")
            )
            bid = item.get("bid")
            if problem is None and bid is not None:
                problem = _bid_error(index, bid, profile.country_code)
            if problem is not None:
                errors.append(problem)
                continue
            assert isinstance(text, str)  # noqa: S101 (checked)
            match = str(item["matchType"])
            clash = any(
                t.ad_group_index == group_index
                and t.kind == "keyword"
                and t.match_type == match
                and t.text.casefold() == text.strip().casefold()
                and t.state != "ARCHIVED"
                for t in store.targets.values()
            )
            if clash:
                errors.append(_duplicate(index, f"Keyword {text!r} ({match}) in this ad group"))
                continue
            group = store.catalogue.ad_groups[group_index]
            created = TargetState(
                target_id=store.new_id(),
                ad_group_index=group_index,
                campaign_index=campaign_index,
                kind="keyword",
                text=text.strip(),
                match_type=match,
                expression=(),
                bid=round(float(bid), 2) if bid is not None else group.default_bid,
                state=str(item["state"]),
                created=now,
                updated=now,
            )
            store.targets[created.target_id] = created
            entry: dict[str, Any] = {"index": index, "keywordId": str(created.target_id)}
            if _represent(request):
                entry["keyword"] = created.keyword_json(store)
            success.append(entry)
    return _multi_status(kind.key, success, errors, kind.media)


def _create_negatives(
    campaign_level: bool,
) -> Callable[[SandboxState, AccountState, Request], Response]:
    kind = KINDS["campaignNegativeKeywords" if campaign_level else "negativeKeywords"]
    id_field = "campaignNegativeKeywordId" if campaign_level else "negativeKeywordId"

    def handler(state: SandboxState, account: AccountState, request: Request) -> Response:
        _check_media(request, kind)
        items = _items(_body(request), kind.key)
        profile = scoped_profile(account, request)
        store = ads_store(state, account, profile)
        entries = store.campaign_negatives if campaign_level else store.negatives
        success: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        now = account.clock()
        with state.lock:
            for index, item in enumerate(items):
                if not isinstance(item, dict):
                    errors.append(
                        _error(
                            index,
                            "malformedValueError",
                            "INVALID_ARGUMENT",
                            "Each item must be an object.",
                        )
                    )
                    continue
                parent = _parent(store, index, item, need_group=not campaign_level)
                if isinstance(parent, dict):
                    errors.append(parent)
                    continue
                campaign_index, group_index = parent
                text = item.get("keywordText")
                problem = (
                    _text_error(index, text)
                    or _choice_error(
                        index, item.get("matchType"), NEGATIVE_MATCH_TYPES, "matchType"
                    )
                    or _choice_error(index, item.get("state", "ENABLED"), ("ENABLED",), "state")
                )
                if problem is not None:
                    errors.append(problem)
                    continue
                assert isinstance(text, str)  # noqa: S101 (checked)
                match = str(item["matchType"])
                clash = any(
                    n.campaign_index == campaign_index
                    and n.ad_group_index == group_index
                    and n.match_type == match
                    and n.text.casefold() == text.strip().casefold()
                    and n.state != "ARCHIVED"
                    for n in entries.values()
                )
                if clash:
                    errors.append(_duplicate(index, f"Negative keyword {text!r} ({match})"))
                    continue
                negative = NegativeState(
                    keyword_id=store.new_id(),
                    campaign_index=campaign_index,
                    ad_group_index=group_index,
                    text=text.strip(),
                    match_type=match,
                    state="ENABLED",
                    created=now,
                    updated=now,
                )
                entries[negative.keyword_id] = negative
                entry: dict[str, Any] = {"index": index, id_field: str(negative.keyword_id)}
                if _represent(request):
                    entry["campaignNegativeKeyword" if campaign_level else "negativeKeyword"] = (
                        negative.as_json(store)
                    )
                success.append(entry)
        return _multi_status(kind.key, success, errors, kind.media)

    return handler


def register(router: Router) -> None:
    for kind in KINDS.values():
        router.add(
            "POST",
            f"{kind.path}/list",
            kind.operation,
            _list(kind),
            ads_family(kind.operation, "sp"),
        )
    keywords, targets = KINDS["keywords"], KINDS["targetingClauses"]
    router.add(
        "PUT",
        "/sp/keywords",
        "UpdateSponsoredProductsKeywords",
        _update(keywords, keywords=True),
        ads_family("UpdateSponsoredProductsKeywords", "sp"),
    )
    router.add(
        "POST",
        "/sp/keywords",
        "CreateSponsoredProductsKeywords",
        create_keywords,
        ads_family("CreateSponsoredProductsKeywords", "sp"),
    )
    router.add(
        "PUT",
        "/sp/targets",
        "UpdateSponsoredProductsTargetingClauses",
        _update(targets, keywords=False),
        ads_family("UpdateSponsoredProductsTargetingClauses", "sp"),
    )
    router.add(
        "POST",
        "/sp/negativeKeywords",
        "CreateSponsoredProductsNegativeKeywords",
        _create_negatives(campaign_level=False),
        ads_family("CreateSponsoredProductsNegativeKeywords", "sp"),
    )
    router.add(
        "POST",
        "/sp/campaignNegativeKeywords",
        "CreateSponsoredProductsCampaignNegativeKeywords",
        _create_negatives(campaign_level=True),
        ads_family("CreateSponsoredProductsCampaignNegativeKeywords", "sp"),
    )

"""The Amazon Ads API side of the sandbox: one route module (server.ROUTE_MODULES) that plugs in
Login with Amazon for Ads credentials, profiles, reporting v3 (ads_reports.py) and Sponsored
Products v3 campaign management (ads_entities.py). SP-API routes are untouched.

Auth: Ads tokens come from the same POST /auth/o2/token (Amazon's regional token hosts
api.amazon.com, api.amazon.co.uk and api.amazon.co.jp are this one host here). An account's Ads
credentials are its `ads_client_id`, `ads_client_secret` and `ads_refresh_token`, the SP-API
ones unless set. Every call then sends the Bearer token, Amazon-Advertising-API-ClientId and,
except GET /v2/profiles, Amazon-Advertising-API-Scope (ads_common.py).

Operations, as faults and the request log name them: listProfiles, createAsyncReport,
getAsyncReport, download (report files), ListSponsoredProducts{Campaigns,AdGroups,ProductAds,
Keywords,TargetingClauses,NegativeKeywords,CampaignNegativeKeywords},
UpdateSponsoredProducts{Keywords,TargetingClauses}, CreateSponsoredProducts{Keywords,
NegativeKeywords,CampaignNegativeKeywords}.

Tests reach the same data without HTTP through `ads_profiles(sandbox, seller_id)` and
`ads_keywords(sandbox, seller_id, profile_id)`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from amzinsight_sandbox import ads_entities, ads_reports, selling_partner
from amzinsight_sandbox.ads_catalog import ads_profiles as profiles_of
from amzinsight_sandbox.ads_common import ads_family
from amzinsight_sandbox.ads_store import ads_store, profile_of
from amzinsight_sandbox.routing import ApiError, Request, Response, Router, json_response
from amzinsight_sandbox.state import ACCESS_TOKEN_SECONDS, AccountState, SandboxState

if TYPE_CHECKING:
    from amzinsight_sandbox.server import RunningSandbox


def exchange_refresh_token(state: SandboxState, account: object, request: Request) -> Response:
    """POST /auth/o2/token for an account's own Ads credentials; everything else is answered
    exactly as the SP-API token route answers it."""
    form = request.form()
    if form.get("grant_type") == "refresh_token":
        for candidate in state.accounts.values():
            settings = candidate.account
            own_app = (settings.ads_client_id, settings.ads_client_secret) != (
                settings.lwa_client_id,
                settings.lwa_client_secret,
            ) or settings.ads_refresh_token != settings.refresh_token
            if not own_app:
                continue
            if (
                form.get("client_id") != settings.ads_client_id
                or form.get("client_secret") != settings.ads_client_secret
            ):
                continue
            if form.get("refresh_token") != settings.ads_refresh_token:
                same_app = (settings.ads_client_id, settings.ads_client_secret) == (
                    settings.lwa_client_id,
                    settings.lwa_client_secret,
                )
                if same_app:
                    break  # one LWA app, the SP-API grant: the SP-API route decides
                raise ApiError(
                    400,
                    "invalid_grant",
                    "The request has an invalid grant parameter : refresh_token",
                )
            body = {
                "access_token": state.issue_access_token(
                    candidate.seller_id, settings.ads_client_id
                ),
                "refresh_token": settings.ads_refresh_token,
                "token_type": "bearer",
                "expires_in": ACCESS_TOKEN_SECONDS,
            }
            response = Response(200, json.dumps(body).encode("utf-8"))
            response.content_type = "application/json;charset=UTF-8"
            return response
    return selling_partner.exchange_refresh_token(state, account, request)


def list_profiles(state: SandboxState, account: AccountState, _request: Request) -> Response:
    """GET /v2/profiles: one seller profile per marketplace of the account."""
    return json_response(200, [p.as_json() for p in profiles_of(account.account)])


def register(router: Router) -> None:
    # Registered before the SP-API token route, which it falls back to.
    router.add("POST", "/auth/o2/token", "token", exchange_refresh_token, selling_partner.LWA)
    router.add(
        "GET",
        "/v2/profiles",
        "listProfiles",
        list_profiles,
        ads_family("listProfiles", "profiles", scoped=False),
    )
    ads_reports.register(router)
    ads_entities.register(router)


# --- helpers for tests and demos (no HTTP) ----------------------------------------------------


def ads_profiles(sandbox: RunningSandbox, seller_id: str) -> list[dict[str, Any]]:
    """The account's profiles as GET /v2/profiles lists them (profileId per marketplace)."""
    return [p.as_json() for p in profiles_of(sandbox.state.accounts[seller_id].account)]


def ads_keywords(
    sandbox: RunningSandbox, seller_id: str, profile_id: int | str
) -> list[dict[str, Any]]:
    """Every keyword of a profile as the list API shows it now (current bids and states)."""
    state = sandbox.state
    account = state.accounts[seller_id]
    profile = profile_of(account, profile_id)
    if profile is None:
        raise KeyError(f"Profile {profile_id} is not one of seller {seller_id}'s.")
    store = ads_store(state, account, profile)
    with state.lock:
        return [t.keyword_json(store) for t in store.targets.values() if t.kind == "keyword"]

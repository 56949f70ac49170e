"""What every Amazon Ads API route shares: the header check, Ads' error bodies, injected
throttles with or without Retry-After, and token buckets that say when to come back.

Headers (docs/amazon-formats.md 1.3): `Authorization: Bearer <LWA access token>`,
`Amazon-Advertising-API-ClientId: <the account's ads_client_id>` and, on every call but
/v2/profiles, `Amazon-Advertising-API-Scope: <profileId>`. A missing or wrong one is a 401
{"code": "UNAUTHORIZED", "details": "..."}.

Other errors: profiles {"code", "details"}; reporting v3 {"code": "<status>", "detail"} (the
425 duplicate names the existing reportId in `detail`); Sponsored Products v3 entity calls
{"code", "message"}.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from amzinsight_sandbox.ads_catalog import AdsProfile
from amzinsight_sandbox.ads_store import profile_of
from amzinsight_sandbox.routing import (
    ApiError,
    ApiFamily,
    RateLimit,
    Request,
    Response,
    json_response,
)
from amzinsight_sandbox.state import AccountState, SandboxState

CLIENT_ID_HEADER = "Amazon-Advertising-API-ClientId"
SCOPE_HEADER = "Amazon-Advertising-API-Scope"


class AdsApiError(ApiError):
    """An Ads error answer, with extra response headers (Retry-After)."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status, code, message)
        self.headers = dict(headers or {})


def unauthorized(details: str) -> AdsApiError:
    return AdsApiError(401, "UNAUTHORIZED", details)


def _renderer(style: str) -> Callable[[ApiError], Response]:
    def render(error: ApiError) -> Response:
        if error.status == 401:
            body = {"code": "UNAUTHORIZED", "details": error.message}
        elif style == "reporting":
            body = {"code": error.code, "detail": error.message}
        elif style == "sp":
            body = {"code": error.code, "message": error.message}
        else:
            body = {"code": error.code, "details": error.message}
        response = json_response(error.status, body)
        if isinstance(error, AdsApiError):
            response.headers.update(error.headers)
        return response

    return render


def _retry_after(seconds: float, whole: bool) -> str:
    """Seconds as Amazon sends them (whole); fractions only when the sandbox runs faster."""
    if whole:
        return str(max(1, math.ceil(seconds)))
    return f"{max(seconds, 0.001):.3g}"


def _throttled(style: str, headers: dict[str, str]) -> AdsApiError:
    if style == "sp":
        return AdsApiError(429, "THROTTLED", "Request was throttled. Retry later.", headers)
    return AdsApiError(429, "429", "Too Many Requests", headers)


def _check_headers(state: SandboxState, request: Request, scoped: bool) -> AccountState:
    authorization = (request.header("Authorization") or "").strip()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized(
            "Missing or malformed Authorization header: send 'Bearer <access token>'."
        )
    account = state.account_for_token(token.strip())
    if account is None:
        raise unauthorized("The access token is invalid or has expired.")
    client_id = (request.header(CLIENT_ID_HEADER) or "").strip()
    if not client_id:
        raise unauthorized(f"Missing {CLIENT_ID_HEADER} header.")
    if client_id != account.account.ads_client_id:
        raise unauthorized(
            f"{CLIENT_ID_HEADER} does not match the app the access token was issued to."
        )
    if scoped:
        scope = (request.header(SCOPE_HEADER) or "").strip()
        if not scope:
            raise unauthorized(f"Missing {SCOPE_HEADER} header: send the profileId.")
        if profile_of(account, scope) is None:
            raise unauthorized(f"Not authorized to access scope {scope}")
    return account


def ads_family(
    operation: str, style: str, scoped: bool = True, limit: RateLimit | None = None
) -> ApiFamily:
    """The family of one Ads operation: it knows the operation, so throttle faults (with their
    Retry-After) and the operation's token bucket are applied here, after the header check."""

    def authenticate(state: SandboxState, request: Request) -> AccountState:
        account = _check_headers(state, request, scoped)
        fault = state.take_fault(("throttle",), operation, None, account.seller_id)
        if fault is not None:
            if fault.delay_seconds > 0:
                time.sleep(fault.delay_seconds)
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = _retry_after(fault.retry_after, whole=False)
            raise _throttled(style, headers)
        if limit is not None:
            with state.lock:
                if not state.take_rate_token(account, operation, limit):
                    bucket = account.buckets[operation]
                    wait = (1.0 - bucket.tokens) / bucket.rate
                    whole = state.config.speed_factor <= 1
                    raise _throttled(style, {"Retry-After": _retry_after(wait, whole)})
        return account

    return ApiFamily(name="amazon-ads", render_error=_renderer(style), authenticate=authenticate)


def scoped_profile(account: AccountState, request: Request) -> AdsProfile:
    """The profile in the Scope header (already checked by the family)."""
    profile = profile_of(account, request.header(SCOPE_HEADER))
    if profile is None:  # pragma: no cover - authenticate rejected it already
        raise unauthorized("Not authorized to access scope")
    return profile


def media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()

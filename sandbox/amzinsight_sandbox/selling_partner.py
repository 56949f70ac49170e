"""Login with Amazon and what every SP-API operation shares: the access-token check and
Amazon's error envelope {"errors": [{"code", "message", "details"}]}."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from amzinsight_sandbox.routing import ApiError, ApiFamily, Request, Response, Router, json_response
from amzinsight_sandbox.state import ACCESS_TOKEN_SECONDS, AccountState, SandboxState

DENIED = "Access to requested resource is denied."


def sp_api_error(error: ApiError) -> Response:
    return json_response(
        error.status,
        {"errors": [{"code": error.code, "message": error.message, "details": error.details}]},
    )


def authenticate_sp_api(state: SandboxState, request: Request) -> AccountState:
    token = request.header("x-amz-access-token")
    if not token:
        raise ApiError(403, "Unauthorized", DENIED, "The request has no access token.")
    account = state.account_for_token(token)
    if account is None:
        raise ApiError(
            403,
            "Unauthorized",
            DENIED,
            "The access token you provided is revoked, malformed or invalid.",
        )
    return account


SP_API = ApiFamily(
    name="sp-api",
    render_error=sp_api_error,
    authenticate=authenticate_sp_api,
    rate_limit_header="x-amzn-RateLimit-Limit",
)


def parse_time(value: object, name: str) -> datetime:
    """An ISO 8601 date-time as SP-API accepts it; a time without zone counts as UTC."""
    if not isinstance(value, str):
        raise ApiError(400, "InvalidInput", f"{name} must be an ISO 8601 date-time string.")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            400, "InvalidInput", f"Invalid {name} {value!r}: use ISO 8601 date-time."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


# --- Login with Amazon -------------------------------------------------------------------------


def lwa_error(error: ApiError) -> Response:
    body = {"error": error.code, "error_description": error.message}
    response = Response(error.status, json.dumps(body).encode("utf-8"))
    response.content_type = "application/json;charset=UTF-8"
    return response


LWA = ApiFamily(name="lwa", render_error=lwa_error)


def exchange_refresh_token(state: SandboxState, _account: object, request: Request) -> Response:
    """POST /auth/o2/token: a refresh token for an access token, Amazon's way."""
    form = request.form()
    grant_type = form.get("grant_type")
    if grant_type != "refresh_token":
        if not grant_type:
            raise ApiError(
                400, "invalid_request", "The request is missing a required parameter : grant_type"
            )
        raise ApiError(
            400,
            "unsupported_grant_type",
            f"The authorization grant type is not supported: {grant_type}",
        )
    for parameter in ("client_id", "client_secret", "refresh_token"):
        if not form.get(parameter):
            raise ApiError(
                400, "invalid_request", f"The request is missing a required parameter : {parameter}"
            )
    clients = [
        account
        for account in state.accounts.values()
        if account.account.lwa_client_id == form["client_id"]
        and account.account.lwa_client_secret == form["client_secret"]
    ]
    if not clients:
        raise ApiError(401, "invalid_client", "Client authentication failed")
    account = next((a for a in clients if a.account.refresh_token == form["refresh_token"]), None)
    if account is None:
        raise ApiError(
            400, "invalid_grant", "The request has an invalid grant parameter : refresh_token"
        )
    body = {
        "access_token": state.issue_access_token(account.seller_id, form["client_id"]),
        "refresh_token": account.account.refresh_token,
        "token_type": "bearer",
        "expires_in": ACCESS_TOKEN_SECONDS,
    }
    response = Response(200, json.dumps(body).encode("utf-8"))
    response.content_type = "application/json;charset=UTF-8"
    return response


def register(router: Router) -> None:
    router.add("POST", "/auth/o2/token", "token", exchange_refresh_token, LWA)

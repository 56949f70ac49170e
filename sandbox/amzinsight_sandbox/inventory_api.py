"""FBA Inventory API v1: getInventorySummaries, paged 50 at a time with short-lived tokens."""

from __future__ import annotations

from typing import Any

from amzinsight_sandbox.inventory import inventory_summaries
from amzinsight_sandbox.routing import ApiError, RateLimit, Request, Response, Router, json_response
from amzinsight_sandbox.selling_partner import SP_API, parse_time
from amzinsight_sandbox.state import AccountState, SandboxState

GET_INVENTORY_SUMMARIES = RateLimit(2.0, 2)
PAGE_SIZE = 50
MAX_SELLER_SKUS = 50


def _invalid(message: str) -> ApiError:
    return ApiError(400, "InvalidInput", message)


def get_inventory_summaries(
    state: SandboxState, account: AccountState, request: Request
) -> Response:
    granularity_type = request.query_value("granularityType")
    if granularity_type != "Marketplace":
        raise _invalid("granularityType must be Marketplace.")
    marketplace_id = request.query_value("granularityId")
    marketplace_ids = request.query_values("marketplaceIds")
    if not marketplace_id or not marketplace_ids:
        raise _invalid("granularityId and marketplaceIds are required.")
    countries = {m.marketplace_id: m.country_code for m in account.account.marketplace_list}
    if marketplace_id not in countries or marketplace_ids[0] not in countries:
        raise _invalid(
            f"Invalid marketplaceId {marketplace_id}: the seller is not registered there."
        )
    details = (request.query_value("details") or "false").lower() == "true"
    start_text = request.query_value("startDateTime")
    changed_since = parse_time(start_text, "startDateTime").timestamp() if start_text else None
    skus = request.query_values("sellerSkus")
    if len(skus) > MAX_SELLER_SKUS:
        raise _invalid(f"sellerSkus accepts at most {MAX_SELLER_SKUS} SKUs.")
    if not skus and request.query_value("sellerSku"):
        skus = [request.query_value("sellerSku") or ""]

    offset = 0
    token = request.query_value("nextToken")
    if token:
        stored = state.next_token(token)
        if stored is None or stored[1].get("seller_id") != account.seller_id:
            raise _invalid("Invalid nextToken.")
        age, data = stored
        if age > state.config.next_token_ttl_seconds:
            raise _invalid("The nextToken has expired. Request the first page again.")
        offset = int(data["offset"])

    summaries = [
        summary
        for updated, summary in inventory_summaries(
            account.truth, countries[marketplace_id], details
        )
        # startDateTime wins over the SKU filters, as Amazon documents.
        if (changed_since is None and (not skus or summary["sellerSku"] in skus))
        or (changed_since is not None and updated >= changed_since)
    ]
    page = summaries[offset : offset + PAGE_SIZE]
    body: dict[str, Any] = {
        "payload": {
            "granularity": {"granularityType": "Marketplace", "granularityId": marketplace_id},
            "inventorySummaries": page,
        }
    }
    if offset + PAGE_SIZE < len(summaries):
        next_token = state.store_next_token(
            {"seller_id": account.seller_id, "offset": offset + PAGE_SIZE}
        )
        body["pagination"] = {"nextToken": next_token}
    return json_response(200, body)


def register(router: Router) -> None:
    router.add(
        "GET",
        "/fba/inventory/v1/summaries",
        "getInventorySummaries",
        get_inventory_summaries,
        SP_API,
        GET_INVENTORY_SUMMARIES,
    )

"""Catalog Items API 2022-04-01: getCatalogItem for the seller's own ASINs (children and
variation parents)."""

from __future__ import annotations

from amzinsight.marketplaces import MARKETPLACES
from amzinsight_sandbox.listings import CATALOG_INCLUDED_DATA, catalog_item
from amzinsight_sandbox.routing import ApiError, RateLimit, Request, Response, Router, json_response
from amzinsight_sandbox.selling_partner import SP_API
from amzinsight_sandbox.state import AccountState, SandboxState

GET_CATALOG_ITEM = RateLimit(2.0, 2)
_BY_ID = {m.marketplace_id: m for m in MARKETPLACES.values()}


def get_catalog_item(state: SandboxState, account: AccountState, request: Request) -> Response:
    asin = request.path_params["asin"]
    marketplace_ids = request.query_values("marketplaceIds")
    if not marketplace_ids:
        raise ApiError(400, "InvalidInput", "marketplaceIds is required.")
    unknown = [m for m in marketplace_ids if m not in _BY_ID]
    if unknown:
        raise ApiError(400, "InvalidInput", f"Invalid marketplaceIds: {', '.join(unknown)}.")
    included = request.query_values("includedData") or ["summaries"]
    invalid = [name for name in included if name not in CATALOG_INCLUDED_DATA]
    if invalid:
        raise ApiError(400, "InvalidInput", f"Invalid includedData: {', '.join(invalid)}.")
    item = catalog_item(account.truth, asin, [_BY_ID[m] for m in marketplace_ids], included)
    if item is None:
        raise ApiError(
            404,
            "NOT_FOUND",
            f"Requested item '{asin}' not found in marketplace(s) {','.join(marketplace_ids)}.",
        )
    return json_response(200, item)


def register(router: Router) -> None:
    router.add(
        "GET",
        "/catalog/2022-04-01/items/{asin}",
        "getCatalogItem",
        get_catalog_item,
        SP_API,
        GET_CATALOG_ITEM,
    )

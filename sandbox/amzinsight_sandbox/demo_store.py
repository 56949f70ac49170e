"""`up --demo`: the sandbox's demo seller registered as a store of the app."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.db.tables import stores
from amzinsight.stores import Store, StoreEndpoints, add_store, get_store
from amzinsight_sandbox.config import demo_account


def register_demo_store(engine: Engine, sandbox_url: str, slug: str = "demo") -> Store:
    """`up --demo`: the sandbox's demo seller as a store, pointing at where the sandbox runs now."""
    account = demo_account()
    endpoints = StoreEndpoints(sandbox_url, f"{sandbox_url}/auth/o2/token", sandbox_url)
    with engine.begin() as connection:
        updated = connection.execute(
            sa.update(stores)
            .where(stores.c.slug == slug)
            .values(
                sp_api_endpoint=endpoints.sp_api_endpoint,
                lwa_token_url=endpoints.lwa_token_url,
                ads_api_endpoint=endpoints.ads_api_endpoint,
            )
        ).rowcount
    if updated:
        return get_store(engine, slug)
    return add_store(
        engine,
        slug=slug,
        name=account.name,
        country_codes=list(account.marketplaces),
        seller_id=account.seller_id,
        endpoints=endpoints,
        is_sandbox=True,
    )

"""Registered seller accounts ("stores") and their marketplaces.

Only what identifies a store and where its Amazon lives is kept in the database; credentials stay
in the environment (AMZ_STORES__<SLUG>__*), encrypted.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.db.tables import marketplaces, stores
from amzinsight.errors import ConfigError
from amzinsight.marketplaces import marketplace_for

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


@dataclass(frozen=True)
class StoreEndpoints:
    """Where this store's Amazon lives; None means Amazon's real host for the region."""

    sp_api_endpoint: str | None = None
    lwa_token_url: str | None = None
    ads_api_endpoint: str | None = None


@dataclass(frozen=True)
class Store:
    id: int
    slug: str
    name: str
    region: str
    is_sandbox: bool
    country_codes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def add_store(
    engine: Engine,
    slug: str,
    name: str,
    country_codes: list[str],
    seller_id: str | None = None,
    endpoints: StoreEndpoints | None = None,
    is_sandbox: bool = False,
) -> Store:
    """Register a store with its marketplaces; they must share one region (one SP-API host)."""
    if not SLUG_PATTERN.match(slug):
        raise ConfigError(
            f"Store slug {slug!r} is not valid: use 2-40 lowercase letters, digits and _, "
            "starting with a letter."
        )
    chosen = [marketplace_for(code) for code in dict.fromkeys(c.upper() for c in country_codes)]
    regions = {m.region for m in chosen}
    if len(regions) != 1:
        raise ConfigError(
            "One store is one seller account in one region: "
            f"{', '.join(m.country_code for m in chosen)} span regions "
            f"{', '.join(sorted(regions))}."
        )
    endpoints = endpoints or StoreEndpoints()
    with engine.begin() as connection:
        if connection.execute(sa.select(stores.c.id).where(stores.c.slug == slug)).first():
            raise ConfigError(f"A store named {slug!r} is already registered.")
        store_id = connection.execute(
            sa.insert(stores)
            .values(
                slug=slug,
                name=name,
                region=regions.pop(),
                seller_id=seller_id,
                is_sandbox=is_sandbox,
                sp_api_endpoint=endpoints.sp_api_endpoint,
                lwa_token_url=endpoints.lwa_token_url,
                ads_api_endpoint=endpoints.ads_api_endpoint,
            )
            .returning(stores.c.id)
        ).scalar_one()
        connection.execute(
            sa.insert(marketplaces),
            [
                {
                    "store_id": store_id,
                    "marketplace_id": m.marketplace_id,
                    "country_code": m.country_code,
                    "currency": m.currency,
                    "time_zone": m.time_zone,
                    "domain": m.domain,
                }
                for m in chosen
            ],
        )
    return get_store(engine, slug)


def list_stores(engine: Engine) -> list[Store]:
    """Every registered store with its marketplace country codes, by slug."""
    query = (
        sa.select(
            stores.c.id,
            stores.c.slug,
            stores.c.name,
            stores.c.region,
            stores.c.is_sandbox,
            sa.func.coalesce(
                sa.func.array_agg(
                    sa.func.coalesce(marketplaces.c.country_code, marketplaces.c.marketplace_id)
                ).filter(marketplaces.c.id.is_not(None)),
                sa.literal([], sa.ARRAY(sa.Text)),
            ).label("country_codes"),
        )
        .select_from(stores.outerjoin(marketplaces, marketplaces.c.store_id == stores.c.id))
        .group_by(stores.c.id)
        .order_by(stores.c.slug)
    )
    with engine.connect() as connection:
        return [
            Store(
                id=row.id,
                slug=row.slug,
                name=row.name,
                region=row.region,
                is_sandbox=row.is_sandbox,
                country_codes=sorted(row.country_codes),
            )
            for row in connection.execute(query)
        ]


def get_store(engine: Engine, slug: str) -> Store:
    for store in list_stores(engine):
        if store.slug == slug:
            return store
    raise ConfigError(f"No store named {slug!r}: see `amzinsight store list`.")


def register_demo_store(database_url: str) -> str:
    """`up --demo`: the sandbox Amazon arrives with the SP-API sync engine; say so honestly."""
    return (
        "--demo: the sandbox Amazon is not available yet (it comes with the SP-API sync engine); "
        "no demo store was registered."
    )

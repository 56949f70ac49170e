"""Registered seller accounts ("stores") and their marketplaces.

Only what identifies a store and where its Amazon lives is kept in the database; credentials stay
in the environment (AMZ_STORES__<SLUG>__*), encrypted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.db.tables import ads_profiles, marketplaces, stores
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
class StoreMarketplace:
    marketplace_id: str
    country_code: str | None
    currency: str
    time_zone: str


@dataclass(frozen=True)
class Store:
    id: int
    slug: str
    name: str
    region: str
    is_sandbox: bool
    seller_id: str | None = None
    endpoints: StoreEndpoints = field(default_factory=StoreEndpoints)
    marketplaces: list[StoreMarketplace] = field(default_factory=list)

    @property
    def country_codes(self) -> list[str]:
        return sorted(m.country_code or m.marketplace_id for m in self.marketplaces)

    def marketplace(self, marketplace_id: str | None = None) -> StoreMarketplace:
        """One of the store's marketplaces; without an id, the only one (or a clear error)."""
        if marketplace_id is None:
            if len(self.marketplaces) == 1:
                return self.marketplaces[0]
            known = ", ".join(m.marketplace_id for m in self.marketplaces)
            raise ConfigError(
                f"Store {self.slug} sells in several marketplaces ({known}): name one."
            )
        for market in self.marketplaces:
            if marketplace_id in (market.marketplace_id, market.country_code):
                return market
        raise ConfigError(f"Store {self.slug} has no marketplace {marketplace_id!r}.")

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "country_codes": self.country_codes}


def add_store(
    engine: Engine,
    slug: str,
    name: str,
    country_codes: list[str],
    seller_id: str | None = None,
    endpoints: StoreEndpoints | None = None,
    is_sandbox: bool = False,
    region: str | None = None,
) -> Store:
    """Register a store with its marketplaces; they must share one region (one SP-API host)."""
    if not SLUG_PATTERN.match(slug):
        raise ConfigError(
            f"Store slug {slug!r} is not valid: use 2-40 lowercase letters, digits and _, "
            "starting with a letter."
        )
    if not name.strip():
        raise ConfigError(f"Store {slug} needs a name people recognise (--name).")
    chosen = [marketplace_for(code) for code in dict.fromkeys(c.upper() for c in country_codes)]
    regions = {m.region for m in chosen}
    if len(regions) != 1:
        raise ConfigError(
            "One store is one seller account in one region: "
            f"{', '.join(m.country_code for m in chosen)} span regions "
            f"{', '.join(sorted(regions))}."
        )
    if region is not None and regions != {region}:
        raise ConfigError(
            f"Region {region} does not match the marketplaces' region {', '.join(sorted(regions))}."
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
    """Every registered store with its marketplaces, by slug."""
    with engine.connect() as connection:
        store_rows = connection.execute(sa.select(stores).order_by(stores.c.slug)).all()
        market_rows = connection.execute(
            sa.select(marketplaces)
            .where(marketplaces.c.is_enabled)
            .order_by(marketplaces.c.store_id, marketplaces.c.id)
        ).all()
    by_store: dict[int, list[StoreMarketplace]] = {}
    for row in market_rows:
        by_store.setdefault(row.store_id, []).append(
            StoreMarketplace(row.marketplace_id, row.country_code, row.currency, row.time_zone)
        )
    return [
        Store(
            id=row.id,
            slug=row.slug,
            name=row.name,
            region=row.region,
            is_sandbox=row.is_sandbox,
            seller_id=row.seller_id,
            endpoints=StoreEndpoints(row.sp_api_endpoint, row.lwa_token_url, row.ads_api_endpoint),
            marketplaces=by_store.get(row.id, []),
        )
        for row in store_rows
    ]


def never_synced(engine: Engine) -> list[str]:
    """Slugs of stores never synced from Amazon: they get a first sync right away (a file
    imported by hand, or the demo's ratings, is no first sync)."""
    from amzinsight.db.tables import AMAZON_SOURCES, sync_runs

    synced = sa.exists().where(
        sync_runs.c.store_id == stores.c.id, sync_runs.c.source.in_(AMAZON_SOURCES)
    )
    query = sa.select(stores.c.slug).where(~synced).order_by(stores.c.slug)
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


def get_store(engine: Engine, slug: str) -> Store:
    for store in list_stores(engine):
        if store.slug == slug:
            return store
    raise ConfigError(f"No store named {slug!r}: see `amzinsight store list`.")


def get_store_by_id(engine: Engine, store_id: int) -> Store:
    """The store behind an id (query functions take ids: they are what the cache keys carry)."""
    for store in list_stores(engine):
        if store.id == store_id:
            return store
    raise ConfigError(f"No store with id {store_id}.")


def ads_profile_ids(store_id: int, marketplace_ids: Sequence[str]) -> sa.Select[tuple[int]]:
    """The store's Ads profiles in the chosen marketplaces (one profile per marketplace), as a
    subquery for `profile_id IN (...)` filters on the ads tables."""
    return sa.select(ads_profiles.c.profile_id).where(
        ads_profiles.c.store_id == store_id,
        ads_profiles.c.marketplace_id.in_(list(marketplace_ids)),
    )

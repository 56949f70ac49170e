"""The Redis query cache on real PostgreSQL and Redis: hits, data-version freshness, no pickle."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl
import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.cache import (
    KEY_PREFIX,
    QueryCache,
    bump_data_version,
    cache_key,
    database_namespace,
    store_key_pattern,
)
from amzinsight.db.engine import get_engine
from amzinsight.db.tables import stores
from amzinsight.stores import add_store

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

CALLS: list[tuple] = []


def priced_days(engine: Engine, store_id: int, start: date, days: int) -> pl.DataFrame:
    """A stand-in query that counts its calls and returns Decimal money."""
    CALLS.append((store_id, start, days))
    with engine.connect() as connection:
        slug = connection.execute(sa.select(stores.c.slug).where(stores.c.id == store_id)).scalar()
    return pl.DataFrame(
        {"slug": [slug] * days, "day": [start] * days, "amount": [Decimal("10.05")] * days},
        schema={"slug": pl.String, "day": pl.Date, "amount": pl.Decimal(12, 2)},
    )


@pytest.fixture
def setup(migrated_database_url: str, redis_url: str) -> tuple[Engine, redis.Redis, int]:
    engine = get_engine(migrated_database_url)
    store = add_store(engine, slug="acme_us", name="Acme US", country_codes=["US"])
    CALLS.clear()
    return engine, redis.Redis.from_url(redis_url), store.id


def test_a_second_call_is_served_from_redis_as_arrow(setup) -> None:
    engine, client, store_id = setup
    cache = QueryCache(engine, client, ttl_seconds=60)
    first = cache.frame(priced_days, store_id, date(2026, 3, 1), 3)
    second = cache.frame(priced_days, store_id, date(2026, 3, 1), 3)
    assert len(CALLS) == 1
    assert first.equals(second)
    assert second.schema["amount"] == pl.Decimal(12, 2)
    assert second["amount"].sum() == Decimal("30.15")
    keys = client.keys(f"{KEY_PREFIX}:*")
    namespace = database_namespace(engine)
    assert len(keys) == 1 and keys[0].decode().startswith(f"{KEY_PREFIX}:{namespace}:{store_id}:0:")
    assert client.keys(store_key_pattern(engine, store_id)) == keys
    payload = client.get(keys[0])
    assert payload.startswith(b"ARROW1")  # Arrow IPC file, never a pickle
    assert 0 < client.ttl(keys[0]) <= 60


def test_other_arguments_are_other_entries(setup) -> None:
    engine, client, store_id = setup
    cache = QueryCache(engine, client, ttl_seconds=60)
    cache.frame(priced_days, store_id, date(2026, 3, 1), 3)
    assert cache.frame(priced_days, store_id, date(2026, 3, 2), 3)["day"][0] == date(2026, 3, 2)
    assert cache.frame(priced_days, store_id, date(2026, 3, 1), 4).height == 4
    assert len(CALLS) == 3


def test_an_ingestion_run_makes_the_next_view_fresh(setup) -> None:
    engine, client, store_id = setup
    cache = QueryCache(engine, client, ttl_seconds=60)
    cache.frame(priced_days, store_id, date(2026, 3, 1), 2)
    with engine.begin() as connection:
        bump_data_version(connection, store_id)
        connection.execute(sa.update(stores).values(slug="acme_renamed"))
    fresh = cache.frame(priced_days, store_id, date(2026, 3, 1), 2)
    assert len(CALLS) == 2
    assert fresh["slug"][0] == "acme_renamed"
    namespace = database_namespace(engine)
    assert cache_key(namespace, priced_days, store_id, 1, (date(2026, 3, 1), 2)) in {
        key.decode() for key in client.keys(f"{KEY_PREFIX}:*")
    }


def test_without_redis_the_query_still_answers(setup) -> None:
    engine, _, store_id = setup
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    cache = QueryCache(engine, down, ttl_seconds=60)
    result = cache.frame(priced_days, store_id, date(2026, 3, 1), 2)
    assert result.height == 2 and cache.redis_failed
    cache.frame(priced_days, store_id, date(2026, 3, 1), 2)
    assert len(CALLS) == 2
    assert (
        QueryCache(engine, None, 60).frame(priced_days, store_id, date(2026, 3, 1), 1).height == 1
    )


def test_two_databases_sharing_a_redis_never_share_entries(
    setup, migrated_database_url: str
) -> None:
    engine, client, store_id = setup
    QueryCache(engine, client, 60).frame(priced_days, store_id, date(2026, 3, 1), 1)
    other = get_engine(migrated_database_url.rsplit("/", 1)[0] + "/postgres")
    assert database_namespace(other) != database_namespace(engine)
    assert client.keys(store_key_pattern(other, store_id)) == []


def test_arguments_must_be_plain_values(setup) -> None:
    engine, client, store_id = setup
    with pytest.raises(TypeError, match="plain values"):
        QueryCache(engine, client, 60).frame(priced_days, store_id, object(), 1)

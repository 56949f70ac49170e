"""Query results cached in Redis by (function, arguments, store data version), as Arrow IPC.

Every write that changes what a query returns (an ingestion run, an edit, a correction, a
redaction) calls `bump_data_version` in its transaction, and the version is part of the key, so
the next view is fresh without deleting anything; old entries age out with the TTL. Payloads are
Arrow IPC written by polars, never pickle: a cache entry cannot run code. Keys start with
`amz:query:<database>:<store id>:` (database: a short hash of the database's address, so two
databases sharing a Redis never read each other's results), so deleting a store's data can find
all of its entries.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import sqlalchemy as sa
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.engine import Engine

from amzinsight.db.tables import stores

logger = logging.getLogger(__name__)

KEY_PREFIX = "amz:query"

Query = Callable[..., pl.DataFrame]


def database_namespace(engine: Engine) -> str:
    """A short, stable name for the database behind `engine` (its address without password)."""
    address = engine.url.render_as_string(hide_password=True)
    return hashlib.sha256(address.encode()).hexdigest()[:10]


def store_key_pattern(engine: Engine, store_id: int) -> str:
    """Every cached query of one store (for the privacy summary and deletion)."""
    return f"{KEY_PREFIX}:{database_namespace(engine)}:{store_id}:*"


def bump_data_version(connection: sa.Connection, store_id: int) -> None:
    """Every cached query result of this store becomes stale (call it in the writing transaction,
    so no reader sees the new rows under the old version)."""
    connection.execute(
        sa.update(stores)
        .where(stores.c.id == store_id)
        .values(data_version=stores.c.data_version + 1)
    )


def data_version(engine: Engine, store_id: int) -> int:
    with engine.connect() as connection:
        version = connection.execute(
            sa.select(stores.c.data_version).where(stores.c.id == store_id)
        ).scalar_one_or_none()
    return int(version or 0)


def cache_key(
    namespace: str, query: Query, store_id: int, version: int, args: tuple[Any, ...]
) -> str:
    """`amz:query:<database>:<store>:<version>:<module.function>:<hash of the arguments>`."""
    name = f"{query.__module__}.{query.__qualname__}"
    encoded = json.dumps(args, default=_encode_argument, separators=(",", ":"))
    digest = hashlib.sha256(encoded.encode()).hexdigest()[:24]
    return f"{KEY_PREFIX}:{namespace}:{store_id}:{version}:{name}:{digest}"


def _encode_argument(value: Any) -> str:
    if isinstance(value, datetime | date):
        return f"{type(value).__name__}:{value.isoformat()}"
    if isinstance(value, Decimal):
        return f"decimal:{value}"
    raise TypeError(f"cache arguments must be plain values, not {type(value).__name__}")


class QueryCache:
    """Runs `query(engine, store_id, *args)` once per data version and TTL; Redis optional.

    Without Redis (None, or an error on the way) the query simply runs: a cache must never be
    the reason a page fails. `redis_failed` tells the caller to say so.
    """

    def __init__(self, engine: Engine, redis: Redis | None, ttl_seconds: int) -> None:
        self.engine = engine
        self.redis = redis
        self.ttl_seconds = ttl_seconds
        self.redis_failed = False
        self.namespace = database_namespace(engine)

    def frame(self, query: Query, store_id: int, *args: Any) -> pl.DataFrame:
        if self.redis is None or self.redis_failed:
            return query(self.engine, store_id, *args)
        version = data_version(self.engine, store_id)
        key = cache_key(self.namespace, query, store_id, version, args)
        try:
            payload = self.redis.get(key)
        except RedisError as error:
            self._give_up(error)
            return query(self.engine, store_id, *args)
        if payload is not None:
            return pl.read_ipc(io.BytesIO(payload))  # type: ignore[arg-type]
        result = query(self.engine, store_id, *args)
        buffer = io.BytesIO()
        result.write_ipc(buffer, compression="lz4")
        try:
            self.redis.set(key, buffer.getvalue(), ex=self.ttl_seconds)
        except RedisError as error:
            self._give_up(error)
        return result

    def _give_up(self, error: RedisError) -> None:
        self.redis_failed = True
        logger.warning("Redis cache unavailable, querying directly: %s", type(error).__name__)

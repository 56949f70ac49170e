"""Process-wide resources for the pages: settings and the database engine (cached, never data)."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.engine import Engine

from amzinsight.cache import Query, QueryCache
from amzinsight.config import Settings, get_settings
from amzinsight.errors import AmzInsightError
from amzinsight.runtime import Runtime, build_runtime


def settings() -> Settings:
    return get_settings()


@st.cache_resource(show_spinner="Connecting to the database...")
def _runtime_for(_current: Settings, identity: str) -> Runtime:
    """Cached per database, data directory and archive (the leading _ skips hashing settings)."""
    return build_runtime(_current)


def runtime() -> Runtime:
    """Engine and archive, or a clear error on the page (and a stop) when they are unreachable."""
    try:
        current = settings()
        identity = "|".join(
            str(part)
            for part in (
                current.database_url,
                current.data_dir,
                current.s3.bucket,
                current.s3.endpoint_url,
            )
        )
        return _runtime_for(current, identity)
    except AmzInsightError as error:
        st.error(str(error))
        st.stop()
        raise  # st.stop() raises; this satisfies the type checker


def engine() -> Engine:
    return runtime().engine


def show_error(error: AmzInsightError) -> None:
    """The one way pages report a problem a user can meet: one sentence, no traceback."""
    st.error(str(error))


@st.cache_resource(show_spinner=False)
def _redis_client(redis_url: str | None, data_dir: str) -> Redis:
    from pathlib import Path

    from amzinsight.embedded import redis_url_for

    return Redis.from_url(redis_url_for(redis_url, Path(data_dir)), socket_connect_timeout=2)


def redis_or_none() -> Redis | None:
    """Redis for queueing and caching, or None (the page says so once) when it is down."""
    current = settings()
    try:
        client = _redis_client(current.redis_url, str(current.data_dir))
        client.ping()
    except (RedisError, AmzInsightError):
        if not st.session_state.get("redis_down_reported"):
            st.session_state["redis_down_reported"] = True
            st.toast("Redis is not reachable: pages work without cache and queue.")
        return None
    return client


def query_cache() -> QueryCache:
    """A cache over this run's engine and Redis (None when down: queries then run directly)."""
    return QueryCache(engine(), redis_or_none(), settings().cache.query_ttl_seconds)


def cached(query: Query, store_id: int, *args: Any) -> pl.DataFrame:
    """`query(engine, store_id, *args)` through the Redis cache: what every page calls for data."""
    return query_cache().frame(query, store_id, *args)

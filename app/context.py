"""Process-wide resources for the pages: settings and the database engine (cached, never data),
and who is making a change (the app has no login: a trusted proxy header, or a name per session).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
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
        st.error(_as_text(error))
        st.stop()
        raise  # st.stop() raises; this satisfies the type checker


def engine() -> Engine:
    return runtime().engine


def show_error(error: AmzInsightError) -> None:
    """The one way pages report a problem a user can meet: one sentence, no traceback, shown as
    text (it often quotes a file, a value or Amazon's answer)."""
    st.error(_as_text(error))


def _as_text(value: object) -> str:
    """app.components.as_text, imported on first use: app.components imports app.filters, which
    imports this module."""
    from app.components import as_text

    return as_text(value)


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


# --- who makes a change --------------------------------------------------------------------------

USER_KEY = "user_name"  # the name this session gave (session mode), cleaned
USER_INPUT_KEY = "user_name_input"
USER_NAME_MAX_CHARS = 80


def clean_user_name(raw: str | None) -> str:
    """A name fit for the audit log: no control characters, whitespace collapsed, trimmed, at most
    USER_NAME_MAX_CHARS long; "" when nothing is left."""
    if not raw:
        return ""
    printable = "".join(
        " " if unicodedata.category(character).startswith(("C", "Z")) else character
        for character in raw
    )
    return " ".join(printable.split())[:USER_NAME_MAX_CHARS].strip()


def _request_headers() -> Mapping[str, str]:
    """The headers of the request that opened this session (tests replace this)."""
    return st.context.headers


def known_user() -> str | None:
    """Who is making changes, or None when the app cannot tell (no header, no name yet)."""
    header = settings().trusted_user_header
    if header:
        name = clean_user_name(_request_headers().get(header))
    else:
        name = clean_user_name(st.session_state.get(USER_KEY))
    if not name or any(secret in name for secret in settings().secret_values()):
        return None
    return name


def current_user() -> str:
    """The person a change is recorded under; when unknown, the page says why and stops, so a
    change is never recorded under a guess.

    With AMZ_TRUSTED_USER_HEADER set, the name comes from that header (set by the reverse proxy
    that signs people in); a request without it may change nothing. Otherwise it is the name
    given in the sidebar once per session.
    """
    name = known_user()
    if name is not None:
        return name
    header = settings().trusted_user_header
    if header:
        st.error(
            f"Changes are refused: the request carries no {header} header naming you. Open the "
            "app through the sign-in proxy (or ask whoever runs it to set the header)."
        )
    else:
        st.warning("**Who is making this change?** Enter your name in the sidebar, then try again.")
    st.stop()
    raise RuntimeError("unreachable: st.stop() raises")


def _tidy_user_input() -> None:
    """Show the name as it is recorded (trimmed, one space between words)."""
    st.session_state[USER_INPUT_KEY] = clean_user_name(st.session_state.get(USER_INPUT_KEY))


def render_user() -> None:
    """The sidebar's "who am I": the proxy's user, or a name asked once per session."""
    header = settings().trusted_user_header
    if header:
        name = known_user()
        st.sidebar.caption(
            f"Changes are recorded as **{_as_text(name)}**."
            if name
            else f"No {header} header from the sign-in proxy: changes are refused."
        )
        return
    if USER_INPUT_KEY not in st.session_state:  # a page switch keeps the name given
        st.session_state[USER_INPUT_KEY] = st.session_state.get(USER_KEY, "")
    given = st.sidebar.text_input(
        "Your name",
        key=USER_INPUT_KEY,
        max_chars=USER_NAME_MAX_CHARS,
        on_change=_tidy_user_input,
        placeholder="Asked once, recorded with your changes",
        help="There is no login: the change logs record the name you give here.",
    )
    st.session_state[USER_KEY] = clean_user_name(given)

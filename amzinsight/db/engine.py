"""One SQLAlchemy engine per database URL, always on the psycopg 3 driver."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def normalize_database_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` URLs and use the psycopg 3 driver for them."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def get_engine(url: str) -> Engine:
    """A pooled engine, shared by every caller in the process that uses the same URL."""
    key = normalize_database_url(url)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = sa.create_engine(
                key,
                pool_pre_ping=True,
                # PostgreSQL's JIT compiles any plan its cost model calls expensive; for the
                # pages' sub-second queries that compile alone took 2 s of 2.1 s (EXPLAIN
                # ANALYZE of profit_by_asin on the page benchmark's store), and the loads are
                # COPY and index work it cannot speed up.
                connect_args={"options": "-c jit=off"},
            )
            _engines[key] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (before a database is dropped, and at shutdown)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()

"""Shared fixtures: real PostgreSQL and Redis on this machine, each test on its own database.

With AMZ_REQUIRE_SERVICES=1 (as CI sets it) a missing service fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import redis
from psycopg import sql

ADMIN_DSN = os.environ.get("AMZ_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_REDIS_URL = os.environ.get("AMZ_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _services_required() -> bool:
    return os.environ.get("AMZ_REQUIRE_SERVICES", "").strip().lower() in {"1", "true", "yes"}


def service_missing(what: str, error: Exception) -> None:
    """Skip locally, fail in CI: a test that needs a server must never pass vacuously there."""
    message = f"{what} is not reachable ({type(error).__name__}: {error})"
    if _services_required():
        pytest.fail(message + " and AMZ_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> None:
    """No test reads the developer's own AMZ_* variables or .env file."""
    for name in list(os.environ):
        if name.startswith("AMZ_") and name not in {"AMZ_REQUIRE_SERVICES"}:
            if not name.startswith("AMZ_TEST_"):
                monkeypatch.delenv(name)
    monkeypatch.delenv("SP_API_DEFAULT_MARKETPLACE", raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    from amzinsight.config import get_settings

    get_settings.cache_clear()


@pytest.fixture
def database_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the machine's server, dropped afterwards."""
    try:
        admin = psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        service_missing("PostgreSQL at " + ADMIN_DSN.split("@")[-1], error)
        raise
    name = f"amz_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        base = ADMIN_DSN.rsplit("/", 1)[0]
        try:
            yield f"{base}/{name}"
        finally:
            from amzinsight.db.engine import dispose_engines

            dispose_engines()
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def migrated_database_url(database_url: str) -> str:
    """A fresh database with every migration applied."""
    from amzinsight.db.migrate import upgrade

    upgrade(database_url)
    return database_url


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The machine's Redis on a test database number, emptied before and after."""
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.ConnectionError as error:
        service_missing("Redis at " + TEST_REDIS_URL, error)
        raise
    client.flushdb()
    try:
        yield TEST_REDIS_URL
    finally:
        client.flushdb()
        client.close()

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
        is_test_control = name.startswith("AMZ_TEST_") or name == "AMZ_REQUIRE_SERVICES"
        if name.startswith("AMZ_") and not is_test_control:
            monkeypatch.delenv(name)
    monkeypatch.delenv("SP_API_DEFAULT_MARKETPLACE", raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    # Nothing a test starts may fall back to the developer's ~/.amzinsight.
    monkeypatch.setenv("AMZ_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    from amzinsight.config import get_settings

    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _app_tests_use_the_machines_redis(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, _isolated_environment: None
) -> None:
    """Without AMZ_REDIS_URL a page starts an embedded Redis that outlives the test; pages under
    AppTest use the test Redis instead (a test that sets AMZ_REDIS_URL itself overrides this)."""
    if request.node.get_closest_marker("app"):
        monkeypatch.setenv("AMZ_REDIS_URL", TEST_REDIS_URL)


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


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server over HTTP on a free local port, as the app would reach MinIO or S3."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh bucket on the moto server, with AMZ_S3_* pointing at it."""
    import boto3

    name = f"amz-test-{uuid.uuid4().hex[:10]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=name)
    for variable, value in {
        "AMZ_S3_BUCKET": name,
        "AMZ_S3_ENDPOINT_URL": s3_endpoint,
        "AMZ_S3_REGION": "us-east-1",
        "AMZ_S3_ACCESS_KEY_ID": "testing",
        "AMZ_S3_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(variable, value)
    yield name
    listed = client.list_objects_v2(Bucket=name).get("Contents", [])
    for item in listed:
        client.delete_object(Bucket=name, Key=item["Key"])
    client.delete_bucket(Bucket=name)


DEMO_SLUG = "demo"
DEMO_SYNC_DAYS = 60


@pytest.fixture(scope="session")
def demo_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database holding the sandbox demo store after a full sync of its last 60 days, with
    the unit costs and ratings `up --demo` gives it (seed_demo_extras).

    Built once per test session through the real path (sandbox over HTTP -> clients -> archive
    -> PostgreSQL) and shared read-only by page and query tests: tests must not change it.
    """
    import contextlib
    import io

    from amzinsight.cli import main as cli_main
    from amzinsight.db.engine import get_engine
    from amzinsight.db.migrate import upgrade
    from amzinsight.runtime import build_runtime
    from amzinsight.sandbox.config import SandboxConfig, demo_account, demo_environment
    from amzinsight.sandbox.demo_extras import seed_demo_extras
    from amzinsight.sandbox.server import start_sandbox
    from amzinsight.stores import get_store, register_demo_store

    try:
        admin = psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        service_missing("PostgreSQL at " + ADMIN_DSN.split("@")[-1], error)
        raise
    name = f"amz_test_demo_{uuid.uuid4().hex[:8]}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"{ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    account = demo_account(asins=12, days=DEMO_SYNC_DAYS + 30)
    config = SandboxConfig(accounts=[account], processing_delay_seconds=0, speed_factor=1000)
    try:
        upgrade(url)
        with start_sandbox(config) as sandbox, pytest.MonkeyPatch.context() as patch:
            for variable, value in demo_environment(account, DEMO_SLUG).items():
                patch.setenv(variable, value)
            patch.setenv("AMZ_DATABASE_URL", url)
            patch.setenv("AMZ_SYNC_INITIAL_DAYS", str(DEMO_SYNC_DAYS))
            # session fixtures start before the autouse isolation: never ~/.amzinsight/archive
            patch.setenv("AMZ_DATA_DIR", str(tmp_path_factory.mktemp("demo-data")))
            from amzinsight.config import get_settings

            get_settings.cache_clear()
            register_demo_store(get_engine(url), sandbox.url, DEMO_SLUG)
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()) as errors,
            ):
                exit_code = cli_main(["sync", DEMO_SLUG])
            assert exit_code == 0, errors.getvalue()
            runtime = build_runtime()
            store = get_store(runtime.engine, DEMO_SLUG)
            seed_demo_extras(runtime.engine, runtime.archive, store, account, DEMO_SYNC_DAYS)
            get_settings.cache_clear()
        yield url
    finally:
        from amzinsight.db.engine import dispose_engines

        dispose_engines()
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.close()

"""Shared fixtures: real PostgreSQL and Redis on this machine, each test on its own database.

With AMZ_REQUIRE_SERVICES=1 (as CI sets it) a missing service fails the test instead of skipping it.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import redis
from psycopg import sql

TEST_METER_SPEED = 500
ADMIN_DSN = os.environ.get("AMZ_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _redis_database(offset: int) -> str:
    """The test Redis database number `offset` below this process's own. Each pytest-xdist
    worker takes two numbers of its own (gw0: 15 and 14, gw1: 13 and 12), so parallel workers
    never flush each other's keys."""
    base = os.environ.get("AMZ_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    prefix, number = base.rsplit("/", 1)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    index = int(worker[2:]) if worker.startswith("gw") else 0
    return f"{prefix}/{int(number) - 2 * index - offset}"


TEST_REDIS_URL = _redis_database(0)


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
    # Amazon's per-application meters (a Sales and Traffic report every 15 minutes) on the clock
    # of the slowest sandbox a test syncs with (speed factor 500); faster sandboxes allow more.
    monkeypatch.setenv("AMZ_SYNC_METER_SPEED", str(TEST_METER_SPEED))
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


def _admin_connection() -> psycopg.Connection:
    try:
        return psycopg.connect(ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        service_missing("PostgreSQL at " + ADMIN_DSN.split("@")[-1], error)
        raise


def _url_of(name: str) -> str:
    return f"{ADMIN_DSN.rsplit('/', 1)[0]}/{name}"


@contextlib.contextmanager
def _scratch_database(prefix: str, template: str | None = None) -> Iterator[str]:
    """A database of its own (empty, or a copy of `template`), dropped afterwards.

    A template copy is a file copy on the server (about 0.2 s, against 0.7 s for running every
    migration); PostgreSQL refuses it while anything is connected to the template, so the
    engines are disposed first and a brief clash with another disposal is retried."""
    import time

    from amzinsight.db.engine import dispose_engines

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as admin:
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        for attempt in range(20):
            dispose_engines()
            try:
                admin.execute(create)
                break
            except psycopg.errors.ObjectInUse:
                if attempt == 19:
                    raise
                time.sleep(0.25)
        try:
            yield _url_of(name)
        finally:
            dispose_engines()
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def database_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the machine's server, dropped afterwards."""
    with _scratch_database("amz_test") as url:
        yield url


@pytest.fixture(scope="session")
def _migrated_template() -> Iterator[str]:
    """One database per test session with every migration applied: the template of each
    test's own migrated database."""
    from amzinsight.db.engine import dispose_engines
    from amzinsight.db.migrate import upgrade

    with _scratch_database("amz_test_template") as url:
        upgrade(url)
        dispose_engines()
        yield url.rsplit("/", 1)[1]


@pytest.fixture
def migrated_database_url(_migrated_template: str) -> Iterator[str]:
    """A fresh database with every migration applied (a copy of the session's template)."""
    with _scratch_database("amz_test", template=_migrated_template) as url:
        yield url


@pytest.fixture
def demo_copy(demo_database_url: str) -> Iterator[str]:
    """A private copy of the demo database, for tests that compute, approve or reject
    recommendations or otherwise write: the shared one must not change."""
    with _scratch_database(
        "amz_test_democopy", template=demo_database_url.rsplit("/", 1)[1]
    ) as url:
        yield url


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


@pytest.fixture
def private_redis_url(redis_url: str) -> Iterator[str]:
    """A second test Redis database, emptied before and after: for tests whose counts must be
    exact or whose page cancels jobs and re-registers the schedule."""
    url = _redis_database(1)
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    client.flushdb()
    try:
        yield url
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
def demo_database_url(
    tmp_path_factory: pytest.TempPathFactory, _migrated_template: str
) -> Iterator[str]:
    """A database holding the sandbox demo store after a full sync of its last 60 days, with
    the unit costs and ratings `up --demo` gives it (seed_demo_extras).

    Built once per test session through the real path (sandbox over HTTP -> clients -> archive
    -> PostgreSQL) and shared read-only by page and query tests: tests must not change it.
    """
    import io

    from amzinsight_sandbox.config import SandboxConfig, demo_account, demo_environment
    from amzinsight_sandbox.demo_extras import seed_demo_extras
    from amzinsight_sandbox.demo_store import register_demo_store
    from amzinsight_sandbox.server import start_sandbox

    from amzinsight.db.engine import get_engine
    from amzinsight.runtime import build_runtime
    from amzinsight.stores import get_store
    from launcher.cli import main as cli_main

    account = demo_account(asins=12, days=DEMO_SYNC_DAYS + 30)
    config = SandboxConfig(accounts=[account], processing_delay_seconds=0, speed_factor=1000)
    with (
        _scratch_database("amz_test_demo", template=_migrated_template) as url,
        start_sandbox(config) as sandbox,
        pytest.MonkeyPatch.context() as patch,
    ):
        for variable, value in demo_environment(account, DEMO_SLUG).items():
            patch.setenv(variable, value)
        patch.setenv("AMZ_DATABASE_URL", url)
        patch.setenv("AMZ_SYNC_INITIAL_DAYS", str(DEMO_SYNC_DAYS))
        patch.setenv("AMZ_SYNC_METER_SPEED", str(config.speed_factor))
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
        patch.undo()
        yield url

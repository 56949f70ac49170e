"""The embedded defaults are real servers: they start, accept a connection, keep data, and stop."""

from __future__ import annotations

import tempfile
from pathlib import Path

import psutil
import pytest
import redis
import sqlalchemy as sa

from amzinsight.db.engine import dispose_engines, get_engine
from amzinsight.embedded import start_postgres, start_redis
from amzinsight.errors import ServiceUnavailableError

pytestmark = pytest.mark.slow


def _processes_using(path: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(path) in cmdline:
            found.append(process)
    return found


@pytest.fixture
def short_data_dir() -> Path:
    # PostgreSQL's socket lives in the data directory; pytest's tmp_path can be too long for it.
    return Path(tempfile.mkdtemp(prefix="amz-emb-"))


def test_embedded_postgres_starts_accepts_a_connection_and_stops(short_data_dir: Path) -> None:
    server = start_postgres(short_data_dir)
    try:
        engine = get_engine(server.url)
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE IF NOT EXISTS probe (n int)"))
            connection.execute(sa.text("INSERT INTO probe VALUES (42)"))
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT sum(n) FROM probe")).scalar() == 42
            assert "PostgreSQL" in connection.execute(sa.text("SELECT version()")).scalar()
    finally:
        dispose_engines()
        server.stop()
    assert _processes_using(short_data_dir / "postgres") == []


def test_embedded_redis_starts_keeps_data_across_restarts_and_stops(short_data_dir: Path) -> None:
    first = start_redis(short_data_dir)
    client = redis.Redis.from_url(first.url)
    client.set("amz:probe", "kept")
    client.close()
    first.stop()
    assert _processes_using(short_data_dir) == []

    second = start_redis(short_data_dir)
    try:
        client = redis.Redis.from_url(second.url)
        assert client.get("amz:probe") == b"kept"
        client.close()
    finally:
        second.stop()


def test_a_data_directory_too_long_for_the_socket_is_refused_clearly() -> None:
    with pytest.raises(ServiceUnavailableError, match="AMZ_DATA_DIR"):
        start_postgres(Path("/tmp") / ("x" * 120))

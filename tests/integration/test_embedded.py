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


JOIN_AND_STOP = """
import sys
from pathlib import Path
from amzinsight.embedded import start_postgres, start_redis
data_dir = Path(sys.argv[1])
postgres, redis_server = start_postgres(data_dir), start_redis(data_dir)
print(postgres.started, redis_server.started)
redis_server.stop()
postgres.stop()
"""


def test_a_process_that_joined_the_servers_never_stops_them(short_data_dir: Path) -> None:
    """A second process (another `amzinsight` command, a second `up`) joins the servers the first
    started; its stop, and its exit, leave them running for the first."""
    import subprocess
    import sys

    postgres, redis_server = start_postgres(short_data_dir), start_redis(short_data_dir)
    try:
        assert postgres.started and redis_server.started
        joined = subprocess.run(
            [sys.executable, "-c", JOIN_AND_STOP, str(short_data_dir)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert joined.returncode == 0, joined.stderr
        assert joined.stdout.split() == ["False", "False"]
        client = redis.Redis.from_url(redis_server.url)
        assert client.ping()
        client.close()
        with get_engine(postgres.url).connect() as connection:
            assert connection.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        dispose_engines()
        redis_server.stop()
        postgres.stop()
    assert _processes_using(short_data_dir) == []

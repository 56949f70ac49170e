"""Every page in a real headless Chromium, served by `streamlit run` on the synced demo store.

Uses Debian's /usr/bin/chromium (never a downloaded browser). A page fails on any Streamlit
exception box or error alert, a KPI tile whose text is cut (at 1280 and 1440 px wide), or any
request to a host other than the app's own (an intranet tool makes none). Screenshots land in
artifacts/screenshots/ (CI keeps them).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from amzinsight.rules.periods import date_range_for, format_range, local_today
from app.navigation import PAGES as NAVIGATION
from tests.conftest import TEST_REDIS_URL, service_missing

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("AMZ_TEST_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
# url paths streamlit derives from the page file names; "" is the default page (Overview)
PAGES = ["" if index == 0 else stem for index, (stem, _, _) in enumerate(NAVIGATION)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serve_app(database_url: str, data_dir: Path, log: Path) -> Iterator[str]:
    """`streamlit run app/main.py` on a free local port against `database_url`; yields its URL."""
    if not CHROMIUM.exists():
        service_missing(f"Chromium at {CHROMIUM}", FileNotFoundError(str(CHROMIUM)))
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AMZ_") or key.startswith("AMZ_TEST_")
    }
    env.update(
        AMZ_DATABASE_URL=database_url, AMZ_REDIS_URL=TEST_REDIS_URL, AMZ_DATA_DIR=str(data_dir)
    )
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
def app_url(demo_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_app(
        demo_database_url,
        tmp_path_factory.mktemp("browser-data"),
        tmp_path_factory.mktemp("browser-log") / "streamlit.log",
    ) as url:
        yield url


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


LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]"}
# Every element of a KPI tile that Streamlit cuts with an ellipsis when its text does not fit.
CUT_TILE_TEXT = """() => [...document.querySelectorAll(
    '[data-testid="stMetricLabel"], [data-testid="stMetricValue"], [data-testid="stMetricDelta"]'
)].flatMap(part => [part, ...part.querySelectorAll('*')])
  .filter(element => element.scrollWidth > element.clientWidth)
  .map(element => element.closest('[data-testid="stMetric"]').innerText.replace(/\\s+/g, ' '))"""


def _offline_page(browser, width: int) -> tuple[object, list[str]]:
    """A page that may only talk to the app: any other request is aborted and recorded."""
    page = browser.new_page(viewport={"width": width, "height": 1000})
    outside: list[str] = []

    def only_local(route) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in LOCAL_HOSTS:
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", only_local)
    return page, outside


def _open(page, url: str) -> None:
    """Load `url` and wait until the script has run and every chart and font has drawn."""
    page.goto(url, wait_until="networkidle", timeout=60_000)
    page.wait_for_selector('[data-testid="stSidebar"]', timeout=60_000)
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000
    )
    page.wait_for_function(
        "[...document.querySelectorAll('[data-testid=\"stPlotlyChart\"]')]"
        ".every(chart => chart.querySelector('svg.main-svg'))",
        timeout=60_000,
    )
    page.wait_for_function(  # tables and other elements still loading show a skeleton
        "!document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=60_000
    )
    page.evaluate("document.fonts.ready.then(() => true)")
    page.wait_for_timeout(1000)


@pytest.mark.parametrize("width", [1280, 1440])
@pytest.mark.parametrize("path", PAGES, ids=[p or "overview" for p in PAGES])
def test_every_page_renders_in_chromium(app_url: str, browser, path: str, width: int) -> None:
    page, outside = _offline_page(browser, width)
    try:
        _open(page, f"{app_url}/{path}")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = f"{path or 'overview'}-{width}.png"
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)
        exceptions = page.locator('[data-testid="stException"]')
        assert exceptions.count() == 0, exceptions.first.inner_text()
        errors = page.locator('[data-testid="stAlertContentError"]')
        assert errors.count() == 0, errors.first.inner_text()
        main = page.locator('[data-testid="stMain"]').inner_text()
        assert "No stores yet" not in main  # the demo store is there
        assert len(main.strip()) > 40, main
        assert outside == [], "the app asked for something outside the intranet"
        assert page.evaluate(CUT_TILE_TEXT) == [], f"KPI tiles cut at {width} px wide"
    finally:
        page.close()


def test_the_url_keeps_the_filters_across_pages_and_a_reload(app_url: str, browser) -> None:
    page, outside = _offline_page(browser, 1280)
    try:
        _open(page, f"{app_url}/?range=month-to-date&compare=last-year&grain=week&store=x")
        query = parse_qs(urlsplit(page.url).query)
        assert query["range"] == ["month-to-date"] and query["compare"] == ["last-year"]
        assert query["store"] == ["demo"]  # the unknown store fell back to the only one
        page.get_by_role("link", name="Sales").first.click()
        page.wait_for_url(lambda url: "/sales?" in url and "range=" in url, timeout=60_000)
        page.wait_for_selector(
            '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000
        )
        _open(page, page.url)  # a reload of what the address bar shows after switching page
        page.screenshot(path=str(SCREENSHOTS / "sales-month-to-date-1280.png"), full_page=True)
        query = parse_qs(urlsplit(page.url).query)
        assert query["range"] == ["month-to-date"] and query["grain"] == ["week"]
        today = local_today("America/Los_Angeles")  # the demo store's first marketplace, US
        chosen = format_range(date_range_for("Month to date", today))
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
        assert chosen in sidebar, sidebar  # the range month to date means, as the caption says
        assert f"{today:%d %b %Y} not reported" in sidebar  # today is, until Amazon reports it
        assert outside == []
    finally:
        page.close()

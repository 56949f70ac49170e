"""The Sync page in a real headless Chromium: a run that finishes while the page is open shows on
its card without a reload (the live job list reruns the page when the store's runs change).

AppTest cannot run a fragment on its timer, so this needs `streamlit run` and a browser
(Debian's /usr/bin/chromium, never a downloaded one).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from amzinsight.db.engine import get_engine
from amzinsight.db.tables import sync_runs
from amzinsight.stores import add_store
from app.labels import format_timestamp
from tests.app.test_browser import CHROMIUM, serve_app

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


@pytest.fixture
def sync_page_url(migrated_database_url: str, tmp_path: Path) -> Iterator[str]:
    with serve_app(migrated_database_url, tmp_path / "data", tmp_path / "streamlit.log") as url:
        yield f"{url}/sync"


def _card_text(page, title: str) -> str:
    """The text of the bordered card whose bold title is `title`."""
    return page.evaluate(
        """title => {
            const heading = [...document.querySelectorAll('strong')]
                .find(element => element.innerText.trim() === title);
            const card = heading && heading.closest('[data-testid="stVerticalBlockBorderWrapper"], '
                + '[data-testid="stVerticalBlock"]');
            return card ? card.innerText : '';
        }""",
        title,
    )


def test_a_run_that_finishes_shows_on_its_card_without_a_reload(
    migrated_database_url: str, sync_page_url: str
) -> None:
    from playwright.sync_api import sync_playwright

    engine = get_engine(migrated_database_url)
    store = add_store(engine, slug="acme_us", name="Acme US", country_codes=["US"])
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(sync_page_url, wait_until="networkidle", timeout=60_000)
            page.get_by_text("Nothing queued or running for this store.").wait_for(timeout=30_000)
            assert "Never synced" in _card_text(page, "Orders")

            # What a worker does when the Sync now job loads the report: the run succeeds.
            finished = datetime.now(UTC).replace(microsecond=0)
            with engine.begin() as connection:
                connection.execute(
                    sa.insert(sync_runs).values(
                        store_id=store.id,
                        source="sp_api",
                        report_type="orders",
                        status="succeeded",
                        rows_parsed=3,
                        rows_upserted=3,
                        started_at=finished,
                        finished_at=finished,
                        triggered_by="sync page",
                    )
                )
            shown = f"Last success: {format_timestamp(finished)}"
            page.get_by_text(shown).wait_for(timeout=20_000)  # no reload: the fragment reruns
            assert shown in _card_text(page, "Orders")
            assert "Never synced" in _card_text(page, "Settlements")  # the others are unchanged
        finally:
            browser.close()

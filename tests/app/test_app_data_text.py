"""Text from data is shown as text: a sync run's error that quotes a file's content (or Amazon's
answer) holding Markdown reaches the Sync page and the Overview's alerts with no image to fetch,
no link behind words and no bold left, and reads exactly as it was written."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from amzinsight.config import get_settings
from amzinsight.db.engine import get_engine
from amzinsight.db.tables import sync_runs
from amzinsight.reports import report_title
from amzinsight.stores import add_store
from app.components import as_text
from tests.unit.test_data_text import as_seen, unescaped_punctuation

pytestmark = [pytest.mark.app, pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "app" / "main.py")
PLANTED = (
    "line 2 of the file: ![x](http://example.invalid/a.png) then "
    "[click](http://example.invalid) and **urgent**"
)
STORE_NAME = "Acme *US*"
# Markup that would render: an image, a link (its text and its target) or bold.
MARKUP = ("![", "](", "[click]", "**", "*US*")


@pytest.fixture
def failed_sync(
    migrated_database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store whose latest Orders sync failed with an error that quotes Markdown."""
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    get_settings.cache_clear()
    engine = get_engine(migrated_database_url)
    store = add_store(engine, slug="acme_us", name=STORE_NAME, country_codes=["US"])
    finished = datetime.now(UTC).replace(microsecond=0)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(sync_runs).values(
                store_id=store.id,
                source="sp_api",
                report_type="orders",
                status="failed",
                error=PLANTED,
                started_at=finished,
                finished_at=finished,
                triggered_by="sync page",
            )
        )


def assert_shown_as_text(shown: str, text: str) -> None:
    for markup in MARKUP:
        assert markup not in shown, markup
    assert unescaped_punctuation(shown) == []
    assert as_seen(shown) == text  # what a person reads: the characters written, nothing else


def test_a_sync_error_quoting_markdown_shows_as_text(failed_sync: None) -> None:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]

    # the Overview: the store's name as its heading, the failed sync as an alert
    (heading,) = [block.value for block in at.markdown if block.value.startswith("#### ")]
    assert heading == r"#### Acme \*US\*"
    assert_shown_as_text(heading.removeprefix("#### "), STORE_NAME)
    (alert,) = [block.value for block in at.error if "sync failed" in block.value]
    assert_shown_as_text(alert, f"The latest {report_title('orders')} sync failed: {PLANTED}")

    # the Sync page: the Orders card's latest error
    at.switch_page(str(ROOT / "pages" / "sync.py")).run()
    assert not at.exception, [e.value for e in at.exception]
    (error,) = [block.value for block in at.error]
    assert r"!\[x\]\(http\:\/\/example\.invalid\/a\.png\)" in error
    assert r"\[click\]\(http\:\/\/example\.invalid\)" in error
    assert r"\*\*urgent\*\*" in error
    assert error == as_text(PLANTED)
    assert_shown_as_text(error, PLANTED)

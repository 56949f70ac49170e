"""No page may ever show a traceback: every page of the navigation, for every marketplace of the
demo store, before and after some US recommendations were approved (a CA view once crashed on
them: "The recommendations are in USD, not CAD")."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from amzinsight.db.engine import get_engine
from amzinsight.stores import get_store
from app.navigation import PAGES
from tests.app.test_app_advertising import with_recommendations
from tests.conftest import DEMO_SLUG

pytestmark = [pytest.mark.app, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "app" / "main.py")


def problems(at: AppTest) -> list[str]:
    """Exceptions and st.error blocks anywhere on the page (main area and sidebar)."""
    return [f"exception: {e.value}" for e in at.exception] + [f"error: {e.value}" for e in at.error]


def open_every_page(url: str, monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, str], list]:
    """Every page for every marketplace; what went wrong on each, keyed by (page, country)."""
    monkeypatch.setenv("AMZ_DATABASE_URL", url)
    store = get_store(get_engine(url), DEMO_SLUG)
    assert len(store.marketplaces) >= 2  # US and CA
    found = {}
    for market in store.marketplaces:
        at = AppTest.from_file(ENTRY, default_timeout=90)
        at.run()
        at.sidebar.selectbox(key="filters_marketplace").set_value(market.marketplace_id).run()
        for stem, _, _ in PAGES:
            at.switch_page(str(ROOT / "pages" / f"{stem}.py")).run()
            chosen = at.sidebar.selectbox(key="filters_marketplace").value
            assert chosen == market.marketplace_id, (stem, chosen)
            found[(stem, market.country_code)] = problems(at)
    return found


def test_every_page_for_every_marketplace_of_the_demo_store(
    demo_copy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = open_every_page(demo_copy, monkeypatch)
    assert len(found) == len(PAGES) * 2
    assert {key: value for key, value in found.items() if value} == {}


def test_every_page_after_us_recommendations_were_approved(
    demo_copy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_recommendations(demo_copy, approve_in="US")
    found = open_every_page(demo_copy, monkeypatch)
    assert {key: value for key, value in found.items() if value} == {}

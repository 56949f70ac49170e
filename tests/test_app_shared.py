"""What every page shares: the Redis query cache behind them, and working on without Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from streamlit.testing.v1 import AppTest

from amzinsight.cache import KEY_PREFIX, store_key_pattern
from amzinsight.db.engine import get_engine
from amzinsight.stores import add_store, get_store
from app.navigation import PAGES as NAVIGATION

pytestmark = [pytest.mark.app, pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parent.parent
ENTRY = str(ROOT / "app" / "main.py")
PAGES = [stem for stem, _, _ in NAVIGATION]


def _app() -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_pages_fill_the_cache_and_serve_the_next_view_from_it(
    demo_database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", demo_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    client = redis.Redis.from_url(redis_url)
    at = _app()
    store = get_store(get_engine(demo_database_url), "demo")
    keys = client.keys(store_key_pattern(get_engine(demo_database_url), store.id))
    assert keys, "the Overview's queries went to Redis"
    assert all(client.get(key).startswith(b"ARROW1") for key in keys)
    shown = [(m.label, m.value) for m in at.metric]
    again = _app()
    assert [(m.label, m.value) for m in again.metric] == shown
    assert sorted(client.keys(f"{KEY_PREFIX}:*")) == sorted(keys)  # nothing new: all hits


def test_without_redis_every_page_works_and_says_so_once(
    demo_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", demo_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    at = _app()
    toasts = [t.value for t in at.toast]
    assert any("Redis is not reachable" in t for t in toasts), toasts
    assert {m.label for m in at.metric} >= {"Revenue", "Ad spend"}
    for page in PAGES[1:]:
        at.switch_page(str(ROOT / "pages" / f"{page}.py")).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not [t.value for t in at.toast if "Redis" in t.value], page  # said once


def test_choosing_another_store_shows_its_own_figures(
    migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    engine = get_engine(migrated_database_url)
    add_store(engine, slug="acme_us", name="Acme US", country_codes=["US"])
    add_store(engine, slug="acme_eu", name="Acme EU", country_codes=["DE", "FR"], region="eu")
    at = _app()
    assert at.sidebar.selectbox(key="filters_store").value == "acme_eu"
    assert [o for o in at.sidebar.selectbox(key="filters_marketplace").options] == [
        "DE (EUR)",
        "FR (EUR)",
    ]
    assert {m.label: m.value for m in at.metric}["Revenue"] == "€0.00"
    at.sidebar.selectbox(key="filters_store").set_value("acme_us").run()
    assert not at.exception
    assert at.sidebar.selectbox(key="filters_marketplace").options == ["US (USD)"]
    assert {m.label: m.value for m in at.metric}["Revenue"] == "$0.00"
    assert any("Acme US" in block.value for block in at.markdown)


def test_no_page_renders_raw_html() -> None:
    """Data (titles, search terms, errors) can hold markup; Streamlit escapes it unless told not to,
    so no page or shared component may tell it not to."""
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("pages", "app")
        for path in sorted((ROOT / folder).glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "unsafe_allow_html" in line or "st.html(" in line or "components.v1" in line
    ]
    assert offenders == []

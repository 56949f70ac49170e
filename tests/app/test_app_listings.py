"""The Listings page through AppTest: an empty store, the synced demo store (read-only) whose
shown titles and search terms must equal the listings analytics for the same range, and a store
built here whose ratings and terms have numbers known in advance."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from amzinsight.analytics.listings import keyword_coverage, listing_content, rating_trend
from amzinsight.db.engine import get_engine
from amzinsight.db.tables import product_ratings
from amzinsight.rules.periods import DateRange, date_range_for, local_today
from amzinsight.stores import Store, add_store, get_store
from app.components import as_text
from tests.conftest import DEMO_SLUG
from tests.integration.test_listings import (
    ASIN,
    END,
    RATINGS,
    START,
    US,
    insert,
    insert_ads,
    insert_listing,
)

pytestmark = [pytest.mark.app, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "app" / "main.py")
PAGE = str(ROOT / "pages" / "listings.py")


def open_page(query_asin: str | None = None) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if query_asin:
        at.query_params["asin"] = query_asin
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> str:
    return " ".join(str(element.value) for element in elements)


def test_empty_store_names_the_syncs_that_fill_the_page(
    migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    add_store(get_engine(migrated_database_url), slug="acme_us", name="Acme", country_codes=["US"])

    at = open_page()

    info = texts(at.info)
    assert "No listings for this marketplace yet" in info
    assert "**Listings**" in info and "**Catalog**" in info
    assert "Sponsored Products search terms" in info and "sp_search_term" not in info
    assert not at.dataframe
    assert "listings_asin" not in [box.key for box in at.selectbox]


def test_no_store_says_how_to_add_one(
    migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    at = open_page()
    assert "No stores yet" in texts(at.info)
    assert "Listings and Catalog syncs" in texts(at.info)


# --- the demo store -----------------------------------------------------------------------------


@pytest.fixture
def demo(demo_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("AMZ_DATABASE_URL", demo_database_url)
    return get_store(get_engine(demo_database_url), DEMO_SLUG)


def demo_range(store: Store, preset: str) -> tuple[str, DateRange]:
    """The marketplace the page opens on (the store's first) and the range a preset means."""
    market = store.marketplaces[0]
    return market.marketplace_id, date_range_for(preset, local_today(market.time_zone))


def terms_for(store: Store, url: str, asin: str, preset: str) -> pl.DataFrame:
    marketplace_id, dates = demo_range(store, preset)
    return keyword_coverage(
        get_engine(url), store.id, (marketplace_id,), asin, dates.start, dates.end
    )


def shown_terms(at: AppTest) -> pl.DataFrame:
    (table,) = [t for t in at.dataframe if "search_term" in t.value.columns]
    return pl.from_pandas(table.value[["search_term", "coverage", "orders_7d", "clicks"]])


def metrics_of(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def busiest_asin(store: Store, url: str) -> tuple[str, pl.DataFrame]:
    """The demo ASIN with the most converting terms in the last 30 days (some not listed)."""
    marketplace_id, _ = demo_range(store, "Last 30 days")
    content = listing_content(get_engine(url), store.id, (marketplace_id,))
    best = max(
        content["asin"].unique().to_list(),
        key=lambda asin: terms_for(store, url, asin, "Last 30 days").height,
    )
    return best, terms_for(store, url, best, "Last 30 days")


def test_demo_store_shows_the_listing_and_its_search_terms(
    demo: Store, demo_database_url: str
) -> None:
    asin, expected = busiest_asin(demo, demo_database_url)
    assert expected.height > 0
    marketplace_id, _ = demo_range(demo, "Last 30 days")
    content = listing_content(get_engine(demo_database_url), demo.id, (marketplace_id,))
    title = content.filter(pl.col("asin") == asin)["title"][0]

    at = open_page()
    at.selectbox(key="listings_asin").set_value(asin).run()
    assert not at.exception, [e.value for e in at.exception]

    assert as_text(title) in [h.value for h in at.subheader]  # a title is data: shown as text
    assert "of 249 bytes" in texts(at.markdown)
    shown = shown_terms(at)
    assert shown["search_term"].to_list() == expected["search_term"].to_list()
    assert shown["orders_7d"].to_list() == expected["orders_7d"].to_list()
    assert shown["clicks"].to_list() == expected["clicks"].to_list()
    assert shown["coverage"].to_list() == expected["coverage"].to_list()
    missing = expected.filter(pl.col("coverage") == "missing").height
    summary = texts([*at.warning, *at.success])
    assert f"{missing} converting terms not in the listing" in summary
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Converting terms"] == str(expected.height)
    assert metrics["Not in the listing"] == str(missing)
    assert metrics["7-day orders"] == f"{expected['orders_7d'].sum():,}"
    assert {b.label for b in at.get("download_button")} >= {"CSV", "XLSX"}
    # ratings come only from an imported CSV (no SP-API endpoint): drawn when the demo has them,
    # said so when not, never drawn as zeros
    _, window = demo_range(demo, "Last 30 days")
    ratings = rating_trend(
        get_engine(demo_database_url), demo.id, (marketplace_id,), asin, window.start,
        window.end, "day",
    )  # fmt: skip
    if ratings.is_empty():
        assert "No ratings for this ASIN" in texts(at.info)
    else:
        assert {"Rating", "Reviews"} <= set(metrics_of(at))
        legends = [
            trace["name"]
            for chart in at.get("plotly_chart")
            for trace in json.loads(chart.proto.spec)["data"]
        ]
        assert {"Star rating", "Reviews"} <= set(legends)

    # a shorter range shows the terms of that range
    at.sidebar.selectbox(key="filters_preset").set_value("Last 7 days").run()
    assert not at.exception, [e.value for e in at.exception]
    week = terms_for(demo, demo_database_url, asin, "Last 7 days")
    assert week["orders_7d"].sum() < expected["orders_7d"].sum()
    if week.is_empty():
        assert "No search terms with 1 or more 7-day orders" in texts(at.info)
    else:
        assert shown_terms(at)["orders_7d"].to_list() == week["orders_7d"].to_list()


def test_changing_the_asin_changes_the_title_and_a_link_chooses_the_asin(
    demo: Store, demo_database_url: str
) -> None:
    marketplace_id, _ = demo_range(demo, "Last 30 days")
    content = listing_content(get_engine(demo_database_url), demo.id, (marketplace_id,))
    first, second = content.unique("asin", keep="first", maintain_order=True).head(2).to_dicts()
    assert first["title"] != second["title"]

    at = open_page()
    assert at.selectbox(key="listings_asin").value == first["asin"]
    assert as_text(first["title"]) in [h.value for h in at.subheader]

    at.selectbox(key="listings_asin").set_value(second["asin"]).run()
    headers = [h.value for h in at.subheader]
    assert as_text(second["title"]) in headers and as_text(first["title"]) not in headers

    linked = open_page(query_asin=second["asin"])
    assert linked.selectbox(key="listings_asin").value == second["asin"]
    assert as_text(second["title"]) in [h.value for h in linked.subheader]


# --- a store built here: ratings and search terms with known numbers ------------------------------


def test_ratings_and_terms_of_a_custom_range(
    migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    engine = get_engine(migrated_database_url)
    store = add_store(engine, slug="acme_us", name="Acme", country_codes=["US"])
    insert_listing(engine, store)
    insert_ads(engine, store)
    insert(
        engine,
        product_ratings,
        [
            {
                "store_id": store.id,
                "marketplace_id": US,
                "asin": asin,
                "snapshot_date": day,
                "rating": Decimal(rating),
                "review_count": reviews,
            }
            for asin, day, rating, reviews in RATINGS
        ],
    )
    expected = keyword_coverage(engine, store.id, (US,), ASIN, START, END)

    at = open_page(query_asin=ASIN)
    at.sidebar.selectbox(key="filters_preset").set_value("Custom").run()
    at.sidebar.date_input(key="filters_custom_range").set_value((START, END)).run()
    assert not at.exception, [e.value for e in at.exception]

    assert at.selectbox(key="listings_asin").value == ASIN
    metrics = {m.label: m.value for m in at.metric}
    # the last snapshot in March: 4.45 stars, 118 reviews (RATINGS)
    assert metrics["Rating"] == "4.45"
    assert metrics["Reviews"] == "118"
    assert metrics["Converting terms"] == "3"
    assert metrics["7-day ad sales"] == "$164.99"  # 90.00 + 45.00 + 29.99
    assert len(at.get("plotly_chart")) == 2
    shown = shown_terms(at)
    assert shown["search_term"].to_list() == expected["search_term"].to_list()
    assert shown["coverage"].to_list() == ["title", "missing", "backend terms"]
    assert "1 converting terms not in the listing" in texts(at.warning)
    # the listing's own findings: a short title and 3 of 5 bullets
    assert any("3 of 5 bullet points" in w.value for w in at.warning)
    assert "of 249 bytes" in texts(at.markdown)

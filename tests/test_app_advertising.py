"""The Advertising page's Performance tab through AppTest: empty store, and the synced demo store.

The figures on the page must be the analytics functions' (and so store_metrics') for the range
the sidebar chose; the demo database is shared and read-only.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql
from streamlit.testing.v1 import AppTest

from amzinsight.analytics.ads_performance import (
    ad_group_performance,
    ads_kpis,
    campaign_performance,
    target_performance,
)
from amzinsight.analytics.ads_policy import BidPolicy
from amzinsight.analytics.bid_actions import decide
from amzinsight.analytics.bids import recommend, save_recommendations
from amzinsight.analytics.metrics import store_metrics
from amzinsight.analytics.periods import date_range_for, local_today
from amzinsight.db.engine import dispose_engines, get_engine
from amzinsight.db.tables import ads_profiles, bid_recommendations
from amzinsight.stores import Store, add_store, get_store, list_stores
from app.components import format_money
from tests.conftest import ADMIN_DSN, DEMO_SLUG

pytestmark = [pytest.mark.app, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parent.parent
ENTRY = str(ROOT / "app" / "main.py")
PAGE = str(ROOT / "pages" / "advertising.py")


@pytest.fixture
def demo_copy(demo_database_url: str) -> Iterator[str]:
    """A private copy of the demo database (a template copy takes a fraction of a second), for
    tests that compute, approve or reject recommendations: the shared one must not change."""
    name = f"amz_test_democopy_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        for attempt in range(20):
            dispose_engines()  # CREATE DATABASE ... TEMPLATE needs the template unused
            try:
                admin.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(name),
                        sql.Identifier(demo_database_url.rsplit("/", 1)[1]),
                    )
                )
                break
            except psycopg.errors.ObjectInUse:
                if attempt == 19:
                    raise
                time.sleep(0.25)
        try:
            yield f"{ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
        finally:
            dispose_engines()
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def with_recommendations(url: str, approve_in: str | None = "US", approve: int = 5) -> Store:
    """Compute and save the demo store's recommendations (as the page's button does), and
    approve the first `approve` of the marketplace `approve_in` (a country code)."""
    engine = get_engine(url)
    store = get_store(engine, DEMO_SLUG)
    recs = recommend(engine, store, BidPolicy(), date.today())
    save_recommendations(engine, store.id, recs, recs.data_through)
    if approve_in is not None:
        market = next(m for m in store.marketplaces if m.country_code == approve_in)
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(bid_recommendations.c.id, bid_recommendations.c.kind)
                .join(
                    ads_profiles,
                    sa.and_(
                        ads_profiles.c.store_id == bid_recommendations.c.store_id,
                        ads_profiles.c.profile_id == bid_recommendations.c.profile_id,
                    ),
                )
                .where(
                    bid_recommendations.c.store_id == store.id,
                    ads_profiles.c.marketplace_id == market.marketplace_id,
                )
                .order_by(bid_recommendations.c.id)
            ).all()
        # some of every kind: bids, harvests and negatives all go to the bulk sheet
        chosen = [
            rec_id
            for kind in ("bid", "harvest", "negative")
            for rec_id in [i for i, k in rows if k == kind][:approve]
        ]
        assert decide(engine, store.id, chosen, True, "test") == len(chosen) > 0
    return store


def advertising_page() -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    (value,) = [m.value for m in at.metric if m.label == label]
    return value


def table(at: AppTest, column: str):
    """The one table on the page with this column (each drill-down level has its own)."""
    (found,) = [frame.value for frame in at.dataframe if column in frame.value.columns]
    return found


def test_empty_store_names_the_ads_syncs(
    migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    add_store(
        get_engine(migrated_database_url), slug="acme_us", name="Acme US", country_codes=["US"]
    )
    at = advertising_page()
    info = " ".join(block.value for block in at.info)
    assert "No Sponsored Products data for this range yet" in info
    assert "sp_campaigns" in info and "sp_search_term" in info
    assert metric(at, "Ad spend") == "-"  # unknown, not $0.00
    assert metric(at, "ACoS") == "-"
    assert all(s.key != "advertising_campaign" for s in at.selectbox)
    assert any("No recommendations yet" in c.value for c in at.caption)  # the other tab


@pytest.fixture
def demo(demo_database_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, str]:
    monkeypatch.setenv("AMZ_DATABASE_URL", demo_database_url)
    (store,) = [s for s in list_stores(get_engine(demo_database_url)) if s.slug == DEMO_SLUG]
    return store, demo_database_url


def test_demo_store_shows_its_spend_and_follows_the_date_filter(demo) -> None:
    store, url = demo
    engine = get_engine(url)
    market = store.marketplaces[0]  # the sidebar's default marketplace
    ids = (market.marketplace_id,)
    today = local_today(market.time_zone)
    at = advertising_page()
    assert at.sidebar.selectbox(key="filters_marketplace").value == market.marketplace_id

    month = date_range_for("Last 30 days", today)
    (kpis,) = ads_kpis(engine, store.id, ids, month.start, month.end).iter_rows(named=True)
    ads = store_metrics(engine, store, month.start, month.end, market.marketplace_id)["ads"]
    assert f"{kpis['spend']:.2f}" == ads["spend"]
    assert metric(at, "Ad spend") == format_money(kpis["spend"], market.currency)
    assert metric(at, "Ad sales (7-day)") == format_money(kpis["sales_7d"], market.currency)
    assert metric(at, "ACoS") == f"{ads['acos']:.1%}"
    assert metric(at, "Clicks") == f"{ads['clicks']:,}"
    assert len(at.get("plotly_chart")) == 2
    assert any("still settling" in c.value for c in at.caption)
    campaigns = table(at, "campaign_name")
    expected = campaign_performance(engine, store.id, ids, month.start, month.end)
    assert list(campaigns["campaign_name"]) == expected["campaign_name"].to_list()

    at.sidebar.selectbox(key="filters_preset").set_value("Last 7 days").run()
    assert not at.exception, [e.value for e in at.exception]
    week = date_range_for("Last 7 days", today)
    (weekly,) = ads_kpis(engine, store.id, ids, week.start, week.end).iter_rows(named=True)
    assert weekly["spend"] != kpis["spend"]
    assert metric(at, "Ad spend") == format_money(weekly["spend"], market.currency)


def test_picking_a_campaign_shows_its_ad_groups_then_targets(demo) -> None:
    store, url = demo
    engine = get_engine(url)
    market = store.marketplaces[0]
    ids = (market.marketplace_id,)
    month = date_range_for("Last 30 days", local_today(market.time_zone))
    campaigns = campaign_performance(engine, store.id, ids, month.start, month.end)
    assert campaigns.height >= 2
    at = advertising_page()
    first, second = campaigns["campaign_id"][0], campaigns["campaign_id"][1]
    assert at.selectbox(key="advertising_campaign").value == first

    at.selectbox(key="advertising_campaign").set_value(second).run()
    assert not at.exception, [e.value for e in at.exception]
    groups = ad_group_performance(engine, store.id, ids, month.start, month.end, second)
    shown = table(at, "ad_group_name")
    assert list(shown["ad_group_name"]) == groups["ad_group_name"].to_list()
    assert sorted(shown["ad_group_name"]) != sorted(
        ad_group_performance(engine, store.id, ids, month.start, month.end, first)[
            "ad_group_name"
        ].to_list()
    )

    ad_group = groups["ad_group_id"][0]
    assert at.selectbox(key="advertising_ad_group").value == ad_group
    targets = target_performance(engine, store.id, ids, month.start, month.end, ad_group)
    assert list(table(at, "bid")["target"]) == targets["target"].to_list()

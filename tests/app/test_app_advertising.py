"""The Advertising page's Performance tab through AppTest: empty store, and the synced demo store.

The figures on the page must be the analytics functions' (and so store_metrics') for the range
the sidebar chose; the demo database is shared and read-only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue
from rq.job import Job
from streamlit.testing.v1 import AppTest

from amzinsight.analytics.ads_performance import (
    ad_group_performance,
    ads_kpis,
    campaign_performance,
    target_performance,
)
from amzinsight.analytics.metrics import store_metrics
from amzinsight.bidding.policy import BidPolicy
from amzinsight.bidding.recommend import recommend
from amzinsight.bidding.review import recommendation_review
from amzinsight.bidding.store import decide, save_recommendations
from amzinsight.db.engine import get_engine
from amzinsight.db.tables import ads_profiles, ads_targets, bid_changes, bid_recommendations
from amzinsight.rules.periods import date_range_for, local_today
from amzinsight.stores import Store, add_store, get_store, list_stores
from app.components import format_money
from app.context import USER_INPUT_KEY
from tests.conftest import DEMO_SLUG, DEMO_SYNC_DAYS
from tests.integration.test_long_jobs import run_jobs

pytestmark = [pytest.mark.app, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "app" / "main.py")
PAGE = str(ROOT / "pages" / "advertising.py")


def with_recommendations(url: str, approve_in: str | None = "US", approve: int = 5) -> Store:
    """Compute and save the demo store's recommendations (as the page's button does), and
    approve the first `approve` of the marketplace `approve_in` (a country code)."""
    engine = get_engine(url)
    store = get_store(engine, DEMO_SLUG)
    today = local_today(store.marketplaces[0].time_zone)  # the page's default marketplace
    recs = recommend(engine, store, BidPolicy(), today)
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


def give_name(at: AppTest, name: str) -> None:
    """Who makes the changes (the sidebar asks once per session)."""
    at.sidebar.text_input(key=USER_INPUT_KEY).input(name).run()
    assert not at.exception, [e.value for e in at.exception]


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


def labels(frame) -> dict[str, str]:
    """Column name -> the label a person sees (the table's column config)."""
    config = json.loads(frame.proto.columns)
    return {
        name: (config.get(name, {}).get("label") or name)
        for name in frame.value.columns
        if config.get(name, {}).get("hidden") is not True
    }


def choose_marketplace(at: AppTest, country: str, store: Store) -> None:
    market = next(m for m in store.marketplaces if m.country_code == country)
    at.sidebar.selectbox(key="filters_marketplace").set_value(market.marketplace_id).run()
    assert not at.exception, [e.value for e in at.exception]


def test_recommendations_read_as_a_review_in_each_marketplace(
    demo_copy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", demo_copy)
    store = with_recommendations(demo_copy, approve_in="US")
    engine = get_engine(demo_copy)
    at = advertising_page()
    for country, money in (("US", "dollar"), ("CA", "CA$%,.2f")):
        choose_marketplace(at, country, store)
        market = next(m for m in store.marketplaces if m.country_code == country)
        review = recommendation_review(engine, store.id, (market.marketplace_id,))
        assert set(review["currency"]) == {market.currency}
        frame = at.dataframe(key="advertising_recommendations")
        shown = frame.value
        expected = review.filter(pl.col("status").is_in(["proposed", "approved"]))
        assert sorted(shown["id"]) == sorted(expected["id"].to_list())
        seen = labels(frame)
        assert seen["target"] == "Keyword or target" and seen["deciding_fact"] == "Decided by"
        assert seen["net_effect"] == "Net effect, 30 days"
        assert all("_" not in label for name, label in seen.items() if name != "id"), seen
        config = json.loads(frame.proto.columns)
        assert config["proposed_bid"]["type_config"]["format"] == money
        # people's words, never Amazon's codes or None
        assert set(shown["kind"]) <= {"Bid", "Harvest", "Negative"}
        assert set(shown["direction"]) <= {"Raise", "Lower", "Add", "Negate"}
        assert not shown[["target", "match_type", "campaign", "reason"]].isna().any().any()
        bids = shown[shown["kind"] == "Bid"]
        assert "unknown" not in set(bids["target"]) and "unknown" not in set(bids["campaign"])
        assert not any(text.isdigit() for text in bids["target"])  # text, not a target id
        # largest net effect first, the ones that cannot be estimated last
        effects = [float(v) for v in shown["net_effect"] if v is not None and v == v]
        assert effects == sorted(effects, reverse=True)
        assert shown["net_effect"].isna().sum() == (shown["kind"] == "Harvest").sum()
    # the CA view has no approved rows: its bulk sheet is empty, never the US rows
    assert [b.label for b in at.get("download_button") if "Bulk sheet" in b.label] == [
        "Bulk sheet (0 approved)"
    ]
    product_targets = recommendation_review(
        engine, store.id, tuple(m.marketplace_id for m in store.marketplaces)
    ).filter(pl.col("match_type") == "Product target")
    assert product_targets["target"].str.starts_with('asin="B0').all()


def test_filter_read_in_full_and_approve_the_filtered_set(
    demo_copy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", demo_copy)
    store = with_recommendations(demo_copy, approve_in=None)
    engine = get_engine(demo_copy)
    us = store.marketplaces[0]
    at = advertising_page()
    give_name(at, "Dana")
    at.multiselect(key="advertising_rec_kinds").set_value(["negative"]).run()
    shown = at.dataframe(key="advertising_recommendations").value
    assert set(shown["kind"]) == {"Negative"} and set(shown["direction"]) == {"Negate"}
    campaign = shown["campaign"].iloc[0]
    at.selectbox(key="advertising_rec_campaign").set_value(campaign).run()
    shown = at.dataframe(key="advertising_recommendations").value
    assert set(shown["campaign"]) == {campaign} and len(shown) >= 1

    # a selected row shows its whole reason and its evidence in words
    at.session_state["advertising_recommendations"] = {
        "selection": {"rows": [0], "columns": [], "cells": []}
    }
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    review = recommendation_review(engine, store.id, (us.marketplace_id,))
    (first,) = review.filter(pl.col("id") == int(shown["id"].iloc[0])).to_dicts()
    texts = [t.value for t in at.text]
    assert first["reason"] in texts  # in full, not cut off
    assert any("Expected over 30 days: spend -$" in t for t in texts), texts
    assert any("Decided by: " in t for t in texts)

    ids = sorted(int(i) for i in shown["id"])
    (approve_all,) = [b for b in at.button if b.key == "advertising_approve_all"]
    assert approve_all.label == f"Approve all {len(ids)} shown"
    approve_all.click().run()
    assert not at.exception, [e.value for e in at.exception]
    with engine.connect() as connection:
        approved = connection.execute(
            sa.select(bid_recommendations.c.id)
            .where(bid_recommendations.c.status == "approved")
            .order_by(bid_recommendations.c.id)
        ).scalars()
        assert list(approved) == ids  # exactly the filtered set
        deciders = connection.execute(
            sa.select(bid_recommendations.c.decided_by)
            .where(bid_recommendations.c.status == "approved")
            .distinct()
        ).scalars()
        assert list(deciders) == ["Dana"]  # the name given, not the page's
    (sheet,) = [b for b in at.get("download_button") if "Bulk sheet" in b.label]
    assert sheet.label == f"Bulk sheet ({len(ids)} approved)"

    at.multiselect(key="advertising_rec_kinds").set_value(["harvest"]).run()
    at.selectbox(key="advertising_rec_campaign").set_value("Every campaign").run()
    harvests = at.dataframe(key="advertising_recommendations").value
    # the rows shown changed: the old selection (row 0 of the negatives) no longer holds
    assert at.button(key="advertising_approve").label == "Approve 0 selected"
    at.button(key="advertising_reject_all").click().run()
    with engine.connect() as connection:
        rejected = connection.execute(
            sa.select(sa.func.count()).where(bid_recommendations.c.status == "rejected")
        ).scalar_one()
    assert rejected == len(harvests) > 0


def test_change_log_in_words_and_local_time(
    demo_copy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", demo_copy)
    engine = get_engine(demo_copy)
    store = get_store(engine, DEMO_SLUG)
    us = store.marketplaces[0]
    with engine.begin() as connection:
        profile_id, target_id, text = connection.execute(
            sa.select(ads_targets.c.profile_id, ads_targets.c.target_id, ads_targets.c.keyword_text)
            .join(ads_profiles, ads_profiles.c.profile_id == ads_targets.c.profile_id)
            .where(
                ads_profiles.c.marketplace_id == us.marketplace_id, ads_targets.c.kind == "keyword"
            )
            .limit(1)
        ).one()
        connection.execute(
            sa.insert(bid_changes).values(
                store_id=store.id, profile_id=profile_id, entity_type="keyword",
                entity_id=target_id, field="bid", before_bid=Decimal("0.80"),
                after_bid=Decimal("0.56"), before_value="0.80", after_value="0.56",
                applied_by="advertising page", succeeded=True, amazon_response={"code": "SUCCESS"},
                applied_at=datetime(2026, 3, 12, 21, 5, 7, 123456, tzinfo=UTC),
            )
        )  # fmt: skip
    at = advertising_page()
    frame = at.dataframe(key="advertising_changes")
    (row,) = frame.value.to_dict("records")
    # 21:05 UTC is 14:05 in Los Angeles (PDT): no ISO string, no microseconds
    assert row["when"] == "12 Mar 2026 14:05"
    assert (row["target"], row["entity"], row["field"]) == (text, "Keyword", "Bid")
    assert (row["before"], row["after"], row["outcome"]) == ("$0.80", "$0.56", "Applied")
    seen = labels(frame)
    assert seen["when"] == "When" and seen["applied_by"] == "By"
    assert all("_" not in label for name, label in seen.items() if name != "id"), seen
    choose_marketplace(at, "CA", store)
    assert any(c.value == "Nothing applied yet." for c in at.caption)  # a US change


def queued(redis_url: str) -> list[str]:
    return Queue("ingest", connection=Redis.from_url(redis_url)).get_job_ids()


def statuses(at: AppTest) -> dict[str, str]:
    """Each st.status on the page: label -> state (running, complete or error)."""
    return {status.label: status.state for status in at.status}


def test_recompute_runs_in_the_worker_and_a_second_click_finds_it(
    demo_copy: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", demo_copy)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    engine = get_engine(demo_copy)
    store = get_store(engine, DEMO_SLUG)
    us = store.marketplaces[0]
    identifier = f"recompute-{DEMO_SLUG}-{local_today(us.time_zone).isoformat()}"
    at = advertising_page()

    at.button(key="advertising_recompute").click().run()
    at.button(key="advertising_recompute").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert queued(redis_url) == [identifier]  # the second click found the queued job
    assert [toast.value for toast in at.toast] == ["A recompute is already queued or running."]
    waiting = "Computing bid, harvest and negative recommendations: waiting for a worker"
    assert statuses(at)[waiting] == "running"

    run_jobs(Redis.from_url(redis_url))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    count = Job.fetch(identifier, connection=Redis.from_url(redis_url)).return_value()["count"]
    assert count > 0
    assert statuses(at)[f"{count} recommendations"] == "complete"
    review = recommendation_review(engine, store.id, (us.marketplace_id,))
    expected = review.filter(pl.col("status").is_in(["proposed", "approved"]))
    shown = at.dataframe(key="advertising_recommendations").value
    assert sorted(shown["id"]) == sorted(expected["id"].to_list()) and len(shown) > 0


def test_apply_and_undo_run_in_the_worker_under_the_name_given(
    demo_copy: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page only queues: Amazon (the sandbox serving the demo seller) hears nothing until
    the worker runs the job, and the change log names who asked."""
    from amzinsight_sandbox import SandboxConfig, demo_account, demo_environment, start_sandbox
    from amzinsight_sandbox.demo_store import register_demo_store

    monkeypatch.setenv("AMZ_DATABASE_URL", demo_copy)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    engine = get_engine(demo_copy)
    account = demo_account(asins=12, days=DEMO_SYNC_DAYS + 30)  # the demo store's seller
    with start_sandbox(SandboxConfig(accounts=[account], processing_delay_seconds=0)) as sandbox:
        for name, value in demo_environment(account, DEMO_SLUG).items():
            monkeypatch.setenv(name, value)
        register_demo_store(engine, sandbox.url, DEMO_SLUG)
        with_recommendations(demo_copy, approve_in="US", approve=2)
        at = advertising_page()

        at.button(key="advertising_apply").click().run()
        assert any("Who is making this change?" in w.value for w in at.warning)
        assert queued(redis_url) == []  # nothing is sent under a guessed name
        give_name(at, "Dana")
        at.button(key="advertising_apply").click().run()
        at.button(key="advertising_apply").click().run()
        assert queued(redis_url) == [f"apply-{DEMO_SLUG}"]
        assert [toast.value for toast in at.toast] == ["An apply is already queued or running."]
        assert sandbox.requests() == []  # the page never calls Amazon

        run_jobs(Redis.from_url(redis_url))
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert sandbox.requests() != []
        with engine.connect() as connection:
            counts = dict(
                connection.execute(
                    sa.select(bid_recommendations.c.status, sa.func.count())
                    .where(bid_recommendations.c.status.in_(["approved", "applied"]))
                    .group_by(bid_recommendations.c.status)
                ).all()
            )
        applied, refused = counts.get("applied", 0), counts.get("approved", 0)
        assert applied > 0
        label = f"{applied} applied, {refused} refused"
        assert statuses(at)[label] == ("complete" if not refused else "error")
        changes = at.dataframe(key="advertising_changes").value
        assert set(changes["applied_by"]) == {"Dana"}
        assert "Applied" in set(changes["outcome"])

        bid_changes_applied = (changes["outcome"] == "Applied") & (changes["field"] == "Bid")
        first_applied = int(changes.index[bid_changes_applied][0])
        at.session_state["advertising_changes"] = {
            "selection": {"rows": [first_applied], "columns": [], "cells": []}
        }
        at.run()
        at.button(key="advertising_undo").click().run()
        assert queued(redis_url) == [f"undo-{DEMO_SLUG}"]
        run_jobs(Redis.from_url(redis_url))
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert statuses(at)["1 reverted, 0 refused"] == "complete"
        changes = at.dataframe(key="advertising_changes").value
        assert list(changes["outcome"]).count("Undone") == 1
        assert set(changes["applied_by"]) == {"Dana"}

"""Amazon Ads ingestion: fixture files through `import` (totals from the files), and the sync."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from amzinsight_sandbox import (
    Fault,
    RunningSandbox,
    SandboxConfig,
    demo_account,
    demo_environment,
    start_sandbox,
)

from amzinsight.analytics.ads_performance import ads_kpis, ads_over_time
from amzinsight.config import Settings
from amzinsight.db import tables
from amzinsight.errors import ConfigError, ReportFailedError
from amzinsight.ingest.imports import import_file
from amzinsight.ingest.sync import (
    client_for,
    plan_tasks,
    prepare_ads,
    run_task,
)
from amzinsight.reports import get_report
from amzinsight.runtime import Runtime, build_runtime
from amzinsight.sources.sp_api import RetryPolicy
from amzinsight.stores import Store, StoreEndpoints, add_store

pytestmark = pytest.mark.postgres

FIXTURES = Path(__file__).parents[1] / "fixtures"
PROFILE = "3927415508812264"
US = "ATVPDKIKX0DER"
DAILY = {
    "sp_campaigns": ("ads_sp_campaigns.json", tables.ads_campaign_daily),
    "sp_ad_groups": ("ads_sp_ad_groups.json", tables.ads_campaign_daily),
    "sp_targeting": ("ads_sp_targeting.json", tables.ads_target_daily),
    "sp_search_term": ("ads_sp_search_term.json", tables.ads_search_term_daily),
    "sp_advertised_product": (
        "ads_sp_advertised_product.json",
        tables.ads_advertised_product_daily,
    ),
}


@pytest.fixture
def runtime(migrated_database_url: str, tmp_path: Path) -> Runtime:
    return build_runtime(Settings(database_url=migrated_database_url, data_dir=tmp_path))


@pytest.fixture
def store(runtime: Runtime) -> Store:
    return add_store(runtime.engine, slug="brewlane", name="Brewlane", country_codes=["US"])


def _import(runtime: Runtime, store: Store, name: str, key: str) -> int:
    outcome = import_file(
        runtime.engine, runtime.archive, store, FIXTURES / name, key, profile_id=PROFILE,
    )  # fmt: skip
    assert outcome.status == "succeeded"
    return outcome.rows_upserted


def _totals_from_file(name: str) -> dict[str, dict[str, Decimal]]:
    by_day: dict[str, dict[str, Decimal]] = {}
    for row in json.loads((FIXTURES / name).read_text()):
        day = by_day.setdefault(row["date"], {"cost": Decimal(0), "sales_7d": Decimal(0)})
        day["cost"] += Decimal(str(row["cost"]))
        day["sales_7d"] += Decimal(str(row["sales7d"]))
    return by_day


@pytest.mark.parametrize("key", sorted(DAILY))
def test_each_daily_ads_fixture_imports_with_the_file_totals(
    runtime: Runtime, store: Store, key: str
) -> None:
    name, table = DAILY[key]
    _import(runtime, store, name, key)

    expected = _totals_from_file(name)
    ad_group_level = {"sp_campaigns": False, "sp_ad_groups": True}.get(key)
    query = sa.select(
        table.c.report_date, sa.func.sum(table.c.cost), sa.func.sum(table.c.sales_7d)
    ).group_by(table.c.report_date)
    if ad_group_level is not None:  # both levels share a table; count one level at a time
        query = query.where((table.c.ad_group_id != "") == ad_group_level)
    with runtime.engine.connect() as connection:
        stored = {day.isoformat(): (cost, sales) for day, cost, sales in connection.execute(query)}
        profiles = set(connection.execute(sa.select(table.c.profile_id)).scalars())
    assert profiles == {PROFILE}
    assert stored == {day: (t["cost"], t["sales_7d"]) for day, t in expected.items()}


def test_importing_twice_leaves_identical_rows(runtime: Runtime, store: Store) -> None:
    _import(runtime, store, "ads_sp_targeting.json", "sp_targeting")
    with runtime.engine.connect() as connection:
        before = connection.execute(sa.select(tables.ads_target_daily)).all()
    assert _import(runtime, store, "ads_sp_targeting.json", "sp_targeting") == 0
    with runtime.engine.connect() as connection:
        assert connection.execute(sa.select(tables.ads_target_daily)).all() == before


def test_days_within_the_settle_window_of_the_read_are_settling(
    runtime: Runtime, store: Store
) -> None:
    outcome = import_file(
        runtime.engine, runtime.archive, store, FIXTURES / "ads_sp_campaigns.json", "sp_campaigns",
        profile_id=PROFILE, now=datetime(2026, 3, 12, 20, tzinfo=UTC),
    )  # fmt: skip
    assert outcome.status == "succeeded"

    def settling_on(read: datetime, settle_days: int) -> dict[date, bool]:
        frame = ads_over_time(
            runtime.engine, store.id, (US,), date(2026, 3, 10), date(2026, 3, 11), "day",
            settle_days=settle_days, now=read,
        )  # fmt: skip
        return dict(zip(frame["period"], frame["settling"], strict=True))

    on_import_day = datetime(2026, 3, 12, 20, tzinfo=UTC)
    assert settling_on(on_import_day, 1) == {date(2026, 3, 10): False, date(2026, 3, 11): True}
    assert settling_on(on_import_day, 2) == {date(2026, 3, 10): True, date(2026, 3, 11): True}
    # The same rows, read a day later: 11 March has settled without being imported again.
    a_day_later = on_import_day + timedelta(days=1)
    assert settling_on(a_day_later, 1) == {date(2026, 3, 10): False, date(2026, 3, 11): False}


def test_entities_fill_campaigns_ad_groups_and_targets(runtime: Runtime, store: Store) -> None:
    _import(runtime, store, "ads_sp_entities.json", "sp_entities")
    document = json.loads((FIXTURES / "ads_sp_entities.json").read_text())
    with runtime.engine.connect() as connection:
        campaigns = connection.execute(sa.select(tables.ads_campaigns)).mappings().all()
        ad_groups = connection.execute(sa.select(tables.ads_ad_groups)).mappings().all()
        targets = connection.execute(sa.select(tables.ads_targets)).mappings().all()
    assert {c["campaign_id"] for c in campaigns} == {c["campaignId"] for c in document["campaigns"]}
    assert len(ad_groups) == len(document["adGroups"])
    keyword_bids = {k["keywordId"]: Decimal(str(k["bid"])) for k in document["keywords"]}
    stored_bids = {t["target_id"]: t["bid"] for t in targets if t["kind"] == "keyword"}
    assert stored_bids == keyword_bids


def test_an_ads_file_without_a_profile_is_refused_clearly(runtime: Runtime, store: Store) -> None:
    with pytest.raises(ConfigError, match="--profile"):
        import_file(
            runtime.engine,
            runtime.archive,
            store,
            FIXTURES / "ads_sp_campaigns.json",
            "sp_campaigns",
        )


# --- end to end: sandbox Amazon Ads -> our client -> moto S3 -> PostgreSQL -----------------------


FAST = RetryPolicy(
    poll_initial_seconds=0.05,
    poll_max_seconds=0.2,
    poll_timeout_seconds=30,
    server_error_base_seconds=0.01,
    max_backoff_seconds=0.5,
)
ACCOUNT = demo_account(asins=10, days=60)
RECENT = ACCOUNT.today - timedelta(days=1)
# Late evening UTC: the marketplace's (Los Angeles) date is the sandbox account's today too.
NOW = datetime.combine(ACCOUNT.today, time(20, 0), tzinfo=UTC)
OLD = ACCOUNT.today - timedelta(days=20)


@pytest.fixture(scope="module")
def ads_sandbox() -> RunningSandbox:
    config = SandboxConfig(accounts=[ACCOUNT], processing_delay_seconds=0.1, speed_factor=500)
    with start_sandbox(config) as running:
        yield running


@pytest.fixture
def ads_runtime(
    ads_sandbox: RunningSandbox,
    migrated_database_url: str,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Runtime:
    ads_sandbox.reset()
    for name, value in demo_environment(ACCOUNT).items():
        monkeypatch.setenv(name, value)
    return build_runtime(Settings(database_url=migrated_database_url))


@pytest.fixture
def ads_store(ads_runtime: Runtime, ads_sandbox: RunningSandbox) -> Store:
    store = add_store(
        ads_runtime.engine,
        slug="demo",
        name=ACCOUNT.name,
        country_codes=["US"],
        endpoints=StoreEndpoints(ads_sandbox.url, ads_sandbox.lwa_token_url, ads_sandbox.url),
        is_sandbox=True,
    )
    assert prepare_ads(ads_runtime.engine, ads_runtime.settings, store)
    return store


def _sync(runtime: Runtime, store: Store, key: str, start=None, end=None, now=NOW):  # type: ignore[no-untyped-def]
    outcomes = []
    for task in plan_tasks(runtime.engine, store, get_report(key), 30, start, end, now=now):
        client = client_for(runtime.settings, store, task, FAST)
        outcomes.extend(run_task(runtime.engine, runtime.archive, client, store, task, now=now))
    return outcomes


def _day_totals(runtime: Runtime, table: sa.Table, day: date, ad_group_rows: bool | None = None):  # type: ignore[no-untyped-def]
    query = sa.select(sa.func.sum(table.c.clicks), sa.func.sum(table.c.cost)).where(
        table.c.report_date == day
    )
    if ad_group_rows is not None:
        query = query.where((table.c.ad_group_id != "") == ad_group_rows)
    with runtime.engine.connect() as connection:
        return tuple(connection.execute(query).one())


def test_profiles_are_recorded_per_marketplace(ads_runtime: Runtime, ads_store: Store) -> None:
    with ads_runtime.engine.connect() as connection:
        rows = connection.execute(sa.select(tables.ads_profiles)).mappings().all()
    assert [(r["marketplace_id"], r["currency"]) for r in rows] == [("ATVPDKIKX0DER", "USD")]


def test_each_ads_report_loads_and_the_levels_agree(ads_runtime: Runtime, ads_store: Store) -> None:
    for key in (
        "sp_campaigns", "sp_ad_groups", "sp_targeting", "sp_search_term",
        "sp_advertised_product", "sp_purchased_product",
    ):  # fmt: skip
        outcomes = _sync(ads_runtime, ads_store, key, OLD, OLD)
        assert [o.status for o in outcomes] == ["succeeded"], key
    campaigns = _day_totals(ads_runtime, tables.ads_campaign_daily, OLD, ad_group_rows=False)
    ad_groups = _day_totals(ads_runtime, tables.ads_campaign_daily, OLD, ad_group_rows=True)
    targeting = _day_totals(ads_runtime, tables.ads_target_daily, OLD)
    advertised = _day_totals(ads_runtime, tables.ads_advertised_product_daily, OLD)
    search_terms = _day_totals(ads_runtime, tables.ads_search_term_daily, OLD)
    assert campaigns[0] > 0
    assert campaigns == ad_groups == targeting == advertised
    assert search_terms[0] <= targeting[0] and search_terms[1] <= targeting[1]


def test_a_restated_day_is_updated_not_duplicated_and_recent_days_settle(
    ads_runtime: Runtime, ads_store: Store
) -> None:
    _sync(ads_runtime, ads_store, "sp_campaigns", RECENT, RECENT)
    with ads_runtime.engine.connect() as connection:
        count = connection.execute(
            sa.select(sa.func.count()).select_from(tables.ads_campaign_daily)
        ).scalar()
        before = connection.execute(
            sa.select(sa.func.sum(tables.ads_campaign_daily.c.sales_7d))
        ).scalar()
    (second,) = _sync(ads_runtime, ads_store, "sp_campaigns", RECENT, RECENT)
    with ads_runtime.engine.connect() as connection:
        after = connection.execute(
            sa.select(sa.func.sum(tables.ads_campaign_daily.c.sales_7d))
        ).scalar()
        rows = connection.execute(sa.select(tables.ads_campaign_daily)).mappings().all()
    assert second.rows_upserted > 0 and after > before  # Amazon added late conversions
    assert len(rows) == count  # updated in place

    def settling(day: date) -> bool:
        kpis = ads_kpis(ads_runtime.engine, ads_store.id, (US,), day, day, now=NOW)
        return bool(kpis["settling_days"][0])

    _sync(ads_runtime, ads_store, "sp_campaigns", OLD, OLD)
    assert (settling(RECENT), settling(OLD)) == (True, False)


def test_a_failed_ads_report_fails_the_run_and_changes_nothing(
    ads_runtime: Runtime, ads_store: Store, ads_sandbox: RunningSandbox
) -> None:
    ads_sandbox.set_faults([Fault("ads_failed", report_type="spTargeting")])
    with pytest.raises(ReportFailedError, match="failed report"):
        _sync(ads_runtime, ads_store, "sp_targeting", OLD, OLD)
    with ads_runtime.engine.connect() as connection:
        assert (
            connection.execute(
                sa.select(sa.func.count()).select_from(tables.ads_target_daily)
            ).scalar()
            == 0
        )
        (run,) = connection.execute(sa.select(tables.sync_runs)).mappings().all()
    assert run["status"] == "failed" and "failed report" in run["error"]


@pytest.mark.parametrize("retry_after", [0.05, None], ids=["with-retry-after", "without"])
def test_429s_with_and_without_retry_after_complete(
    ads_runtime: Runtime, ads_store: Store, ads_sandbox: RunningSandbox, retry_after: float | None
) -> None:
    ads_sandbox.set_faults(
        [Fault("throttle", operation="createAsyncReport", count=3, retry_after=retry_after)]
    )
    (outcome,) = _sync(ads_runtime, ads_store, "sp_campaigns", OLD, OLD)
    assert outcome.status == "succeeded"
    assert sum(r["status"] == 429 for r in ads_sandbox.requests()) == 3


def _keyword_bids(runtime: Runtime, store: Store) -> dict[str, Decimal]:
    from amzinsight.ingest.sync import ads_client_for, ads_profiles_by_marketplace

    client = ads_client_for(runtime.settings, store, FAST)
    profile = ads_profiles_by_marketplace(runtime.engine, store.id)["ATVPDKIKX0DER"]
    return {
        str(k["keywordId"]): Decimal(str(k["bid"]))
        for k in client.list_entities(profile, "keywords")
    }


def test_apply_sends_only_approved_changes_records_each_item_and_undo_restores(
    ads_runtime: Runtime, ads_store: Store, ads_sandbox: RunningSandbox
) -> None:
    from amzinsight.bidding.apply import apply_approved, undo
    from amzinsight.ingest.sync import ads_client_for

    (entities,) = _sync(ads_runtime, ads_store, "sp_entities")
    assert entities.status == "succeeded"
    with ads_runtime.engine.connect() as connection:
        keywords = (
            connection.execute(
                sa.select(tables.ads_targets)
                .where(
                    tables.ads_targets.c.kind == "keyword", tables.ads_targets.c.state == "ENABLED"
                )
                .order_by(tables.ads_targets.c.target_id)
                .limit(2)
            )
            .mappings()
            .all()
        )
    first, second = keywords
    original = _keyword_bids(ads_runtime, ads_store)
    assert original[first["target_id"]] == first["bid"]  # the snapshot matches Amazon

    def recommendation(keyword, bid: str, status: str) -> dict:  # type: ignore[no-untyped-def]
        return {
            "store_id": ads_store.id, "profile_id": keyword["profile_id"], "kind": "bid",
            "entity_id": f"{keyword['target_id']}-{bid}", "generated_for": OLD,
            "campaign_id": keyword["campaign_id"], "ad_group_id": keyword["ad_group_id"],
            "target_id": keyword["target_id"], "current_bid": keyword["bid"],
            "recommended_bid": Decimal(bid), "currency": "USD", "status": status,
            "reason": "test",
        }  # fmt: skip

    with ads_runtime.engine.begin() as connection:
        approved_ok, approved_bad, proposed = connection.execute(
            sa.insert(tables.bid_recommendations)
            .values(
                [
                    recommendation(first, "0.77", "approved"),
                    recommendation(second, "0.01", "approved"),  # below Amazon's minimum bid
                    recommendation(second, "0.66", "proposed"),  # never approved: never sent
                ]
            )
            .returning(tables.bid_recommendations.c.id)
        ).scalars()

    client = ads_client_for(ads_runtime.settings, ads_store, FAST)
    result = apply_approved(ads_runtime.engine, client, ads_store.id, "tester")

    assert result.applied == [approved_ok] and list(result.failed) == [approved_bad]
    after = _keyword_bids(ads_runtime, ads_store)
    assert after[first["target_id"]] == Decimal("0.77")
    assert after[second["target_id"]] == original[second["target_id"]]
    with ads_runtime.engine.connect() as connection:
        statuses = dict(
            connection.execute(
                sa.select(tables.bid_recommendations.c.id, tables.bid_recommendations.c.status)
            ).all()
        )
        changes = connection.execute(sa.select(tables.bid_changes).order_by("id")).mappings().all()
    assert statuses == {approved_ok: "applied", approved_bad: "approved", proposed: "proposed"}
    assert [(c["recommendation_id"], c["succeeded"]) for c in changes] == [
        (approved_ok, True),
        (approved_bad, False),
    ]
    assert changes[0]["before_bid"] == first["bid"] and changes[0]["after_bid"] == Decimal("0.77")
    assert changes[0]["applied_by"] == "tester" and changes[1]["amazon_response"]

    undone = undo(ads_runtime.engine, client, ads_store.id, [changes[0]["id"]], "tester")

    assert undone.applied == [approved_ok] and not undone.failed
    assert _keyword_bids(ads_runtime, ads_store)[first["target_id"]] == first["bid"]
    with ads_runtime.engine.connect() as connection:
        status = connection.execute(
            sa.select(tables.bid_recommendations.c.status).where(
                tables.bid_recommendations.c.id == approved_ok
            )
        ).scalar()
        link = connection.execute(
            sa.select(tables.bid_changes.c.undone_by_change_id).where(
                tables.bid_changes.c.id == changes[0]["id"]
            )
        ).scalar()
    assert status == "undone" and link is not None


def test_the_engine_recommends_on_a_synced_sandbox_store(
    ads_runtime: Runtime, ads_store: Store
) -> None:
    from amzinsight.bidding.policy import BidPolicy
    from amzinsight.bidding.recommend import recommend
    from amzinsight.bidding.store import save_recommendations

    _sync(ads_runtime, ads_store, "sp_entities")
    start = ACCOUNT.today - timedelta(days=30)
    for key in ("sp_targeting", "sp_search_term", "sp_advertised_product"):
        assert all(
            o.status == "succeeded" for o in _sync(ads_runtime, ads_store, key, start, RECENT)
        )

    recs = recommend(ads_runtime.engine, ads_store, BidPolicy(), ACCOUNT.today)
    first = save_recommendations(ads_runtime.engine, ads_store.id, recs, recs.data_through)
    again = save_recommendations(ads_runtime.engine, ads_store.id, recs, recs.data_through)

    assert recs.count > 0 and first == recs.count and again == 0
    stored = recs.stored()
    assert stored.filter(pl.col("reason").str.len_chars() < 20).is_empty()
    bids = recs.bids
    if bids.height:
        policy = BidPolicy()
        assert all(
            Decimal(str(policy.min_bid)) <= bid <= Decimal(str(policy.max_bid))
            for bid in bids["recommended_bid"]
        )


def test_metrics_ads_block_is_the_seven_day_campaign_totals(
    ads_runtime: Runtime, ads_store: Store
) -> None:
    from amzinsight.analytics.metrics import store_metrics

    _sync(ads_runtime, ads_store, "sp_campaigns", OLD, OLD + timedelta(days=1))
    _sync(ads_runtime, ads_store, "sp_ad_groups", OLD, OLD + timedelta(days=1))
    with ads_runtime.engine.connect() as connection:
        spend, sales, orders = connection.execute(
            sa.select(
                sa.func.sum(tables.ads_campaign_daily.c.cost),
                sa.func.sum(tables.ads_campaign_daily.c.sales_7d),
                sa.func.sum(tables.ads_campaign_daily.c.purchases_7d),
            ).where(tables.ads_campaign_daily.c.ad_group_id == "")
        ).one()
    ads = store_metrics(ads_runtime.engine, ads_store, OLD, OLD + timedelta(days=1))["ads"]
    assert ads["spend"] == f"{spend:.2f}" and ads["sales"] == f"{sales:.2f}"
    assert ads["orders"] == orders
    assert ads["acos"] == round(float(spend / sales), 4)


def test_purchased_products_import_with_their_other_sku_sales(
    runtime: Runtime, store: Store
) -> None:
    _import(runtime, store, "ads_sp_purchased_product.json", "sp_purchased_product")
    expected: dict[str, Decimal] = {}
    for row in json.loads((FIXTURES / "ads_sp_purchased_product.json").read_text()):
        expected[row["date"]] = expected.get(row["date"], Decimal(0)) + Decimal(
            str(row["salesOtherSku7d"])
        )
    table = tables.ads_purchased_product_daily
    with runtime.engine.connect() as connection:
        stored = dict(
            connection.execute(
                sa.select(table.c.report_date, sa.func.sum(table.c.sales_other_sku_7d)).group_by(
                    table.c.report_date
                )
            ).all()
        )
    assert {day.isoformat(): total for day, total in stored.items()} == expected

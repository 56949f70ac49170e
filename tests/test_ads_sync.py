"""Amazon Ads ingestion: fixture files through `import` (totals from the files), and the sync."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from amzinsight.config import Settings
from amzinsight.db import tables
from amzinsight.errors import ConfigError
from amzinsight.ingest.imports import import_file
from amzinsight.runtime import Runtime, build_runtime
from amzinsight.stores import Store, add_store

pytestmark = pytest.mark.postgres

FIXTURES = Path(__file__).parent / "fixtures"
PROFILE = "3927415508812264"
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
        now=None, settle_days=3,
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


def test_rows_younger_than_the_settle_window_are_flagged(runtime: Runtime, store: Store) -> None:
    from datetime import UTC, datetime

    outcome = import_file(
        runtime.engine, runtime.archive, store, FIXTURES / "ads_sp_campaigns.json", "sp_campaigns",
        profile_id=PROFILE, now=datetime(2026, 3, 12, 20, tzinfo=UTC), settle_days=1,
    )  # fmt: skip
    assert outcome.status == "succeeded"
    with runtime.engine.connect() as connection:
        flags = dict(
            connection.execute(
                sa.select(
                    tables.ads_campaign_daily.c.report_date, tables.ads_campaign_daily.c.is_settling
                ).distinct()
            ).all()
        )
    assert flags == {date(2026, 3, 10): False, date(2026, 3, 11): True}


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

"""Data rights: the per-store summary and complete deletion, against PostgreSQL, Redis and S3.

Two stores get the same fixture files, some hand-written rows (COGS, settings, recommendations,
changes, corrections), cache entries and archived raw files. Deleting one must remove every row of
it in every table with a store_id column (found by walking the schema, so a table added later is
covered), all its raw files and cache keys, and leave the other store exactly as it was.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.cache import QueryCache, store_key_pattern
from amzinsight.config import Settings, get_settings
from amzinsight.db import tables
from amzinsight.errors import ConfigError
from amzinsight.ingest.archive import S3Archive, store_prefix
from amzinsight.ingest.imports import import_file
from amzinsight.privacy import credential_variables, data_summary, delete_store, store_tables
from amzinsight.runtime import Runtime, build_runtime
from amzinsight.stores import Store, add_store
from launcher.cli import main

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

FIXTURES = Path(__file__).parents[1] / "fixtures"
NOW = datetime(2026, 3, 11, 20, 0, tzinfo=UTC)
PROFILE = "3927415508812264"
FILES = [
    ("sales_and_traffic_2026-03-10.json", None),
    ("all_orders.tsv", None),
    ("settlement_v2.tsv", None),
    ("fba_inventory.tsv", None),
    ("inventory_summaries.json", None),
    ("merchant_listings.tsv", None),
    ("catalog_items.json", None),
    ("product_ratings.csv", None),
    ("amazon_files/finances_list_transactions.json", None),
    ("ads_sp_entities.json", "sp_entities"),
    ("ads_sp_campaigns.json", "sp_campaigns"),
    ("ads_sp_ad_groups.json", "sp_ad_groups"),
    ("ads_sp_targeting.json", "sp_targeting"),
    ("ads_sp_search_term.json", "sp_search_term"),
    ("ads_sp_advertised_product.json", "sp_advertised_product"),
    ("ads_sp_purchased_product.json", "sp_purchased_product"),
]
CACHED_FRAMES = 3  # QueryCache entries made per store


# --- setup ---------------------------------------------------------------------------------------


@pytest.fixture(params=["local", "s3"])
def runtime(
    request: pytest.FixtureRequest,
    migrated_database_url: str,
    private_redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Runtime:
    """Settings from the environment, as the CLI reads them (S3 via the moto bucket's AMZ_S3_*)."""
    if request.param == "s3":
        request.getfixturevalue("s3_bucket")
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", private_redis_url)
    get_settings.cache_clear()
    built = build_runtime(Settings())
    assert isinstance(built.archive, S3Archive) == (request.param == "s3")
    return built


@pytest.fixture
def client(private_redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(private_redis_url)
    yield connection
    connection.close()


def orders_per_day(engine: Engine, store_id: int, _label: str = "") -> pl.DataFrame:
    query = sa.select(tables.orders.c.purchase_local_date, sa.func.count()).where(
        tables.orders.c.store_id == store_id
    )
    with engine.connect() as connection:
        rows = connection.execute(query.group_by(tables.orders.c.purchase_local_date)).all()
    return pl.DataFrame(
        {"day": [row[0] for row in rows], "orders": [row[1] for row in rows]},
        schema={"day": pl.Date, "orders": pl.Int64},
    )


def fill_store(runtime: Runtime, client: redis.Redis, slug: str) -> Store:
    store = add_store(runtime.engine, slug=slug, name=slug.title(), country_codes=["US"])
    for name, key in FILES:
        outcome = import_file(
            runtime.engine,
            runtime.archive,
            store,
            FIXTURES / name,
            key,
            profile_id=PROFILE,  # the Ads imports register it for the store's marketplace
            now=NOW,
        )
        assert outcome.status == "succeeded", name
    with runtime.engine.begin() as connection:
        connection.execute(
            sa.insert(tables.cogs).values(
                store_id=store.id, sku="BL-KETTLE-1L-BLK", effective_from=date(2026, 1, 1),
                unit_cost=Decimal("12.50"), currency="USD",
            )
        )  # fmt: skip
        connection.execute(
            sa.insert(tables.api_meter_slots).values(
                store_id=store.id, meter_key="sales_traffic_report:0", holder="sync-window",
                slot_at=datetime(2026, 3, 11, 8, 27, tzinfo=UTC), used=True,
            )
        )  # fmt: skip
        connection.execute(
            sa.insert(tables.store_access_checks).values(
                store_id=store.id, api="Reports", position=0, ok=True, sentence="reachable"
            )
        )
        connection.execute(
            sa.insert(tables.inventory_settings).values(
                store_id=store.id, sku="", lead_time_days=30, safety_days=7, target_cover_days=60
            )
        )
        recommendation = connection.execute(
            sa.insert(tables.bid_recommendations)
            .values(
                store_id=store.id, profile_id=PROFILE, kind="bid", entity_id="t1",
                generated_for=date(2026, 3, 11), current_bid=Decimal("1.00"),
                recommended_bid=Decimal("0.80"), currency="USD", status="applied",
            )
            .returning(tables.bid_recommendations.c.id)
        ).scalar_one()  # fmt: skip
        connection.execute(
            sa.insert(tables.bid_changes).values(
                store_id=store.id, recommendation_id=recommendation, profile_id=PROFILE,
                entity_type="keyword", entity_id="t1", field="bid", before_bid=Decimal("1.00"),
                after_bid=Decimal("0.80"), currency="USD", applied_by="tester", succeeded=True,
            )
        )  # fmt: skip
        audit = connection.execute(
            sa.insert(tables.audit_log)
            .values(
                store_id=store.id, store_slug=slug, action="correction", table_name="cogs",
                field="unit_cost", old_value="12.00", new_value="12.50", reason="typo",
                actor="tester",
            )
            .returning(tables.audit_log.c.id)
        ).scalar_one()  # fmt: skip
        connection.execute(
            sa.insert(tables.data_corrections).values(
                store_id=store.id, table_name="cogs", row_key='{"sku":"BL-KETTLE-1L-BLK"}',
                field="unit_cost", old_value="12.00", new_value="12.50", reason="typo",
                audit_log_id=audit,
            )
        )  # fmt: skip
    cache = QueryCache(runtime.engine, client, ttl_seconds=600)
    cache.frame(orders_per_day, store.id)
    cache.frame(orders_per_day, store.id, "a")
    cache.frame(orders_per_day, store.id, "b")
    assert not cache.redis_failed
    return store


@pytest.fixture
def stores(runtime: Runtime, client: redis.Redis) -> tuple[Store, Store]:
    return fill_store(runtime, client, "brewlane"), fill_store(runtime, client, "roastery")


def table_counts(engine: Engine, store_id: int) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(
                sa.select(sa.func.count()).where(table.c.store_id == store_id)
            ).scalar_one()
            for table in tables.metadata.sorted_tables
            if "store_id" in table.c
        }


def snapshot(engine: Engine, store_id: int) -> dict[str, list[Any]]:
    """Every row of one store in every table, to prove it was not touched."""
    with engine.connect() as connection:
        return {
            table.name: sorted(
                connection.execute(sa.select(table).where(table.c.store_id == store_id)).all(),
                key=repr,
            )
            for table in tables.metadata.sorted_tables
            if "store_id" in table.c
        }


def cache_keys(runtime: Runtime, client: redis.Redis, store_id: int) -> set[bytes]:
    return set(client.scan_iter(match=store_key_pattern(runtime.engine, store_id)))


# --- summary -------------------------------------------------------------------------------------


def test_summary_counts_what_was_stored(
    runtime: Runtime, client: redis.Redis, stores: tuple[Store, Store]
) -> None:
    store, _other = stores
    summary = data_summary(runtime.engine, runtime.archive, client, store)
    assert json.loads(json.dumps(summary)) == summary  # plain JSON

    counts = table_counts(runtime.engine, store.id)
    by_table = {
        name: entry
        for group in summary["categories"].values()
        for name, entry in group["tables"].items()
    }
    assert {name: entry["rows"] for name, entry in by_table.items()} == {
        name: count for name, count in counts.items()
    }
    categories = summary["categories"]
    assert categories["sales_and_traffic"]["tables"]["sales_traffic_by_date"]["rows"] == 1
    assert categories["sales_and_traffic"]["tables"]["sales_traffic_by_asin"]["rows"] == 5
    assert categories["sales_and_traffic"]["from"] == "2026-03-10"
    assert categories["sales_and_traffic"]["to"] == "2026-03-10"
    assert categories["orders"]["tables"]["orders"]["rows"] == 11
    assert categories["listings_and_catalog"]["tables"]["listings"]["rows"] == 7
    assert categories["ratings"]["rows"] == 10
    assert (categories["ratings"]["from"], categories["ratings"]["to"]) == (
        "2026-03-10",
        "2026-03-11",
    )
    assert categories["settlements"]["tables"]["settlements"]["rows"] == 1
    assert categories["cogs_and_inventory_settings"]["rows"] == 2
    assert categories["recommendations_and_changes"]["rows"] == 2
    for report in ("ads_campaign_daily", "ads_target_daily", "ads_search_term_daily"):
        assert categories[report]["rows"] > 0
        assert categories[report]["from"] == "2026-03-10"
    assert categories["ads_entities"]["rows"] > 0
    assert "other" not in categories  # every table has a named category

    assert summary["archive"]["files"] == len(FILES)
    assert summary["archive"]["bytes"] == sum((FIXTURES / name).stat().st_size for name, _ in FILES)
    assert summary["archive"]["objects_under_store_prefix"] == len(FILES)
    assert summary["cache"]["keys"] == CACHED_FRAMES
    assert summary["total_rows"] == sum(counts.values())
    assert summary["last_successful_sync"] is not None
    assert set(summary["last_successful_sync_by_report"]) >= {"orders", "sp_campaigns"}

    without_redis = data_summary(runtime.engine, runtime.archive, None, store)
    assert without_redis["cache"]["keys"] is None


# --- deletion ------------------------------------------------------------------------------------


def test_deleting_a_store_removes_all_of_it_and_nothing_else(
    runtime: Runtime, client: redis.Redis, stores: tuple[Store, Store]
) -> None:
    store, other = stores
    before = table_counts(runtime.engine, store.id)
    assert [name for name, count in before.items() if count == 0] == []  # a real test of each
    other_rows = snapshot(runtime.engine, other.id)
    other_files = {
        key: _content(runtime, key) for key in runtime.archive.keys(store_prefix(other.slug))
    }
    other_keys = cache_keys(runtime, client, other.id)
    other_values = {key: client.get(key) for key in other_keys}
    assert len(other_files) == len(FILES) and len(other_keys) == CACHED_FRAMES
    cancelled: list[str] = []

    def cancel(slug: str) -> int:
        cancelled.append(slug)
        return 4

    result = delete_store(
        runtime.engine, runtime.archive, client, store, "brewlane", "alice", cancel_jobs=cancel
    )

    assert json.loads(json.dumps(result)) == result
    # every table with a store_id column, walked from the schema: none keeps a row of the store
    after = table_counts(runtime.engine, store.id)
    assert after == dict.fromkeys(after, 0)
    for table in store_tables():
        assert result["rows"][table.name] == before[table.name], table.name
    assert result["rows"]["stores"] == 1
    with runtime.engine.connect() as connection:
        assert (
            connection.execute(
                sa.select(tables.stores.c.id).where(tables.stores.c.id == store.id)
            ).all()
            == []
        )
        audit = connection.execute(
            sa.select(tables.audit_log).where(tables.audit_log.c.action == "store_deleted")
        ).all()
    assert len(audit) == 1
    row = audit[0]._mapping
    assert (row["store_id"], row["store_slug"], row["actor"]) == (None, "brewlane", "alice")
    assert row["old_value"] is None and row["new_value"] is None and row["row_key"] is None
    assert row["created_at"] is not None

    assert list(runtime.archive.keys(store_prefix(store.slug))) == []
    assert result["archive_files"] == len(FILES)
    assert cache_keys(runtime, client, store.id) == set()
    assert result["cache_keys"] == CACHED_FRAMES
    assert cancelled == ["brewlane"] and result["jobs_cancelled"] == 4
    assert result["unused_credential_variables"] == credential_variables("brewlane")
    assert "AMZ_STORES__BREWLANE__SP_REFRESH_TOKEN" in result["unused_credential_variables"]

    # the other store: every row, raw file and cache entry exactly as before
    assert snapshot(runtime.engine, other.id) == other_rows
    assert {
        key: _content(runtime, key) for key in runtime.archive.keys(store_prefix(other.slug))
    } == other_files
    assert {key: client.get(key) for key in cache_keys(runtime, client, other.id)} == other_values


def test_a_wrong_confirmation_deletes_nothing(
    runtime: Runtime, client: redis.Redis, stores: tuple[Store, Store]
) -> None:
    store, _other = stores
    before = snapshot(runtime.engine, store.id)
    for wrong in ("", "roastery", "Brewlane", "brewlane "):
        with pytest.raises(ConfigError, match="brewlane"):
            delete_store(runtime.engine, runtime.archive, client, store, wrong, "alice")
    assert snapshot(runtime.engine, store.id) == before
    assert len(list(runtime.archive.keys(store_prefix(store.slug)))) == len(FILES)
    assert len(cache_keys(runtime, client, store.id)) == CACHED_FRAMES
    with runtime.engine.connect() as connection:
        assert (
            connection.execute(
                sa.select(sa.func.count()).where(tables.audit_log.c.action == "store_deleted")
            ).scalar_one()
            == 0
        )


def _content(runtime: Runtime, key: str) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "object"
        runtime.archive.download(key, target)
        return target.read_bytes()


# --- CLI -----------------------------------------------------------------------------------------


def test_cli_summary_and_delete(
    runtime: Runtime,
    client: redis.Redis,
    stores: tuple[Store, Store],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workers.jobs import plan_sync
    from workers.queueing import enqueue_unique, live_job

    store, other = stores
    assert main(["privacy", "summary", "brewlane", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["store"] == "brewlane"
    assert summary["archive"]["files"] == len(FILES)
    assert summary["cache"]["keys"] == CACHED_FRAMES
    assert main(["privacy", "summary", "brewlane"]) == 0
    assert "sales_and_traffic" in capsys.readouterr().out

    assert main(["privacy", "summary", "nosuchstore"]) == 2
    assert "nosuchstore" in capsys.readouterr().err

    enqueue_unique(client, plan_sync, "plan-brewlane-orders-cli", args=("brewlane", "orders"))
    enqueue_unique(client, plan_sync, "plan-roastery-orders-cli", args=("roastery", "orders"))

    # typed confirmation: a wrong slug refuses and changes nothing
    monkeypatch.setattr("builtins.input", lambda _prompt: "roastery")
    assert main(["privacy", "delete", "brewlane"]) == 2
    assert "brewlane" in capsys.readouterr().err
    assert table_counts(runtime.engine, store.id)["orders"] == 11

    monkeypatch.setattr("builtins.input", lambda _prompt: "brewlane")
    assert main(["privacy", "delete", "brewlane", "--actor", "bob"]) == 0
    out = capsys.readouterr().out
    assert "store brewlane deleted" in out
    assert "AMZ_STORES__BREWLANE__LWA_CLIENT_SECRET" in out
    assert set(table_counts(runtime.engine, store.id).values()) == {0}
    assert live_job(client, "plan-brewlane-orders-cli") is None
    assert live_job(client, "plan-roastery-orders-cli") is not None
    assert table_counts(runtime.engine, other.id)["orders"] == 11

    assert main(["privacy", "delete", "roastery", "--yes"]) == 0
    assert "store roastery deleted" in capsys.readouterr().out
    assert set(table_counts(runtime.engine, other.id).values()) == {0}
    with runtime.engine.connect() as connection:
        deletions = connection.execute(
            sa.select(tables.audit_log.c.store_slug, tables.audit_log.c.actor)
            .where(tables.audit_log.c.action == "store_deleted")
            .order_by(tables.audit_log.c.id)
        ).all()
    expected = [("brewlane", "bob"), ("roastery", getpass.getuser())]
    assert [tuple(row) for row in deletions] == expected

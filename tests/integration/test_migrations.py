"""The Alembic migrations against a real PostgreSQL, and the schema rules tables.py promises."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.dialects.postgresql import JSONB

from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.db.migrate import current_revision, downgrade, upgrade

HEAD = "0007"  # the newest revision under amzinsight/db/migrations/versions
OWN_STORE_COLUMN_EXEMPT = {"stores", "audit_log"}
# Logs: every event is a new row, so the id is the only key.
EVENT_TABLES = {"sync_runs"}
# raw_reports.archive_key is unique across stores: one archived object, one row.
GLOBAL_KEY_TABLES = {"raw_reports"}
# Tables written by sync runs: they say when and by which run each row was last written.
SYNCED_TABLES = {
    "sales_traffic_by_date",
    "sales_traffic_by_asin",
    "orders",
    "order_items",
    "settlements",
    "settlement_lines",
    "inventory_snapshots",
    "listings",
    "catalog_items",
    "product_ratings",
    "ads_campaigns",
    "ads_ad_groups",
    "ads_targets",
    "ads_campaign_daily",
    "ads_target_daily",
    "ads_search_term_daily",
    "ads_advertised_product_daily",
    "ads_purchased_product_daily",
}
ADS_DAILY_TABLES = {name for name in SYNCED_TABLES if name.endswith("_daily")}
MONEY_WORDS = {"amount", "price", "cost", "sales", "bid", "budget", "tax", "discount", "total"}
NOT_MONEY = {"sales_rank", "sales_rank_category", "sales_channel", "budget_type"}


def _snapshot(connection: sa.Connection) -> dict[str, object]:
    """Everything a migration could change in the public schema, as comparable sorted lists."""

    def rows(query: str) -> list[tuple]:
        return sorted(tuple(row) for row in connection.exec_driver_sql(query))

    return {
        "tables": rows(
            "SELECT table_name, table_type, obj_description(to_regclass(table_name), 'pg_class') "
            "FROM information_schema.tables WHERE table_schema = 'public'"
        ),
        "columns": rows(
            "SELECT table_name, column_name, ordinal_position, data_type, "
            "character_maximum_length, numeric_precision, numeric_scale, is_nullable, "
            "column_default, col_description(to_regclass(table_name), ordinal_position::int) "
            "FROM information_schema.columns WHERE table_schema = 'public'"
        ),
        "constraints": rows(
            "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
        ),
        "indexes": rows(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        ),
        "sequences": rows(
            "SELECT sequence_name, data_type FROM information_schema.sequences "
            "WHERE sequence_schema = 'public'"
        ),
        "types": rows(
            "SELECT typname, typtype FROM pg_type WHERE typnamespace = 'public'::regnamespace"
        ),
        "revision": rows("SELECT version_num FROM alembic_version"),
    }


def _user_tables(connection: sa.Connection) -> set[str]:
    return set(sa.inspect(connection).get_table_names())


def _free_standing_types(connection: sa.Connection) -> list[str]:
    """Types in public that are not a table's own row type or that row type's array (enums...)."""
    return [
        row[0]
        for row in connection.exec_driver_sql(
            "SELECT t.typname FROM pg_type t "
            "WHERE t.typnamespace = 'public'::regnamespace AND t.typrelid = 0 "
            "AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = t.typelem AND e.typrelid <> 0)"
        )
    ]


@pytest.mark.postgres
def test_upgrade_creates_every_table(database_url: str) -> None:
    assert current_revision(database_url) is None

    upgrade(database_url)

    assert current_revision(database_url) == HEAD
    with get_engine(database_url).connect() as connection:
        assert _user_tables(connection) == set(tables.metadata.tables) | {"alembic_version"}
        # Every surrogate id is a bigserial (a sequence default), as tables.py declares.
        defaults = dict(
            connection.exec_driver_sql(
                "SELECT table_name, column_default FROM information_schema.columns "
                "WHERE table_schema = 'public' AND column_name = 'id'"
            ).all()
        )
    for name in tables.metadata.tables:
        assert defaults[name].startswith("nextval("), name


@pytest.mark.postgres
def test_second_upgrade_changes_nothing(database_url: str) -> None:
    upgrade(database_url)
    with get_engine(database_url).connect() as connection:
        before = _snapshot(connection)

    upgrade(database_url)

    with get_engine(database_url).connect() as connection:
        after = _snapshot(connection)
    assert after == before
    assert before["revision"] == [(HEAD,)]
    assert before["constraints"] and before["indexes"] and before["columns"]


@pytest.mark.postgres
def test_concurrent_upgrades_wait_for_each_other(database_url: str) -> None:
    """The app and a worker starting together: the advisory lock lets exactly one migrate.

    Separate processes, as in production. Without the lock, this fails with a duplicate
    pg_type row (two CREATE TABLE of the same table).
    """
    # Plain interpreters, not multiprocessing: a spawned child re-imports the parent's __main__,
    # which AppTest tests earlier in the session leave pointing at the Streamlit app.
    code = "import sys; from amzinsight.db.migrate import upgrade; upgrade(sys.argv[1])"
    processes = [
        subprocess.Popen([sys.executable, "-c", code, database_url], stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    results = [(process.wait(timeout=120), process.stderr.read()) for process in processes]  # type: ignore[union-attr]

    assert [code for code, _ in results] == [0, 0, 0], [err[-500:] for _, err in results]
    assert current_revision(database_url) == HEAD


@pytest.mark.postgres
def test_downgrade_to_base_leaves_nothing(database_url: str) -> None:
    upgrade(database_url)

    downgrade(database_url)

    assert current_revision(database_url) is None
    with get_engine(database_url).connect() as connection:
        assert _user_tables(connection) <= {"alembic_version"}
        if "alembic_version" in _user_tables(connection):
            assert connection.exec_driver_sql("SELECT * FROM alembic_version").all() == []
        assert _free_standing_types(connection) == []
        sequences = connection.exec_driver_sql(
            "SELECT sequence_name FROM information_schema.sequences "
            "WHERE sequence_schema = 'public'"
        ).all()
        assert sequences == []

    # ... and the way back up still works from there.
    upgrade(database_url)
    assert current_revision(database_url) == HEAD


@pytest.mark.postgres
def test_migration_matches_metadata(database_url: str) -> None:
    """tables.py and the migrations describe the same schema (types and defaults included)."""
    upgrade(database_url)
    with get_engine(database_url).connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = compare_metadata(context, tables.metadata)
    assert differences == []


def test_every_table_belongs_to_a_store_and_has_a_natural_key() -> None:
    for table in tables.metadata.sorted_tables:
        assert table.comment, f"{table.name} has no comment saying its grain"
        if table.name in OWN_STORE_COLUMN_EXEMPT:
            continue
        store_id = table.c.get("store_id")
        assert store_id is not None, f"{table.name} has no store_id"
        assert not store_id.nullable, table.name
        foreign_keys = list(store_id.foreign_keys)
        assert len(foreign_keys) == 1, table.name
        assert foreign_keys[0].target_fullname == "stores.id", table.name
        assert foreign_keys[0].ondelete == "CASCADE", table.name

        if table.name in EVENT_TABLES:
            continue
        keys = [
            constraint
            for constraint in table.constraints
            if isinstance(constraint, sa.UniqueConstraint)
            and ("store_id" in constraint.columns or table.name in GLOBAL_KEY_TABLES)
        ]
        assert keys, f"{table.name} has no unique natural key with store_id"
        if table.name != "bid_changes":  # its key is (store_id, recommendation_id, applied_at)
            for column in keys[0].columns:
                assert not column.nullable, f"{table.name}.{column.name}: NULLs defeat the key"


def test_audit_log_outlives_its_store() -> None:
    store_id = tables.audit_log.c.store_id
    assert store_id.nullable
    (foreign_key,) = store_id.foreign_keys
    assert foreign_key.target_fullname == "stores.id"
    assert foreign_key.ondelete == "SET NULL"
    assert isinstance(tables.audit_log.c.store_slug.type, sa.Text)


def test_synced_tables_record_their_run() -> None:
    assert set(tables.metadata.tables) >= SYNCED_TABLES
    for name in SYNCED_TABLES:
        table = tables.metadata.tables[name]
        # Lineage, not a foreign key: a key check per loaded row is too dear (bench/README.md).
        assert not table.c.sync_run_id.foreign_keys, name
        assert table.c.sync_run_id.nullable, name
        assert table.c.loaded_at.server_default is not None, name
    for name in ADS_DAILY_TABLES:
        table = tables.metadata.tables[name]
        assert isinstance(table.c.report_date.type, sa.Date), name
        # Settling depends on the day of the read (rules/settling.py): never stored.
        assert "is_settling" not in table.c, name


def test_money_is_numeric_with_a_currency() -> None:
    for table in tables.metadata.sorted_tables:
        for column in table.columns:
            where = f"{table.name}.{column.name}"
            assert not isinstance(column.type, sa.Float), f"{where} is a float"
            assert not isinstance(column.type, sa.Enum), f"{where}: use text + CHECK, not an enum"
            if isinstance(column.type, sa.DateTime):
                assert column.type.timezone, f"{where} must be timestamptz"
            if isinstance(column.type, sa.JSON):
                assert isinstance(column.type, JSONB), f"{where} must be JSONB"
            words = set(column.name.split("_"))
            is_money_name = bool(words & MONEY_WORDS) and column.name not in NOT_MONEY
            if is_money_name and not isinstance(column.type, sa.Integer | sa.Text):
                assert isinstance(column.type, sa.Numeric), f"{where} is not NUMERIC"
            if isinstance(column.type, sa.Numeric):
                assert column.type.asdecimal, where
                is_ratio = (column.type.precision, column.type.scale) == (9, 4)
                if not is_ratio and column.name != "rating":
                    assert column.type.scale >= 2, where
                    assert "currency" in table.c, f"{where} is money without a currency column"


def test_ads_ids_are_text() -> None:
    id_columns = {"campaign_id", "ad_group_id", "keyword_id", "target_id", "ad_id", "profile_id"}
    for table in tables.metadata.sorted_tables:
        for name in id_columns & set(table.c.keys()):
            assert isinstance(table.c[name].type, sa.Text), f"{table.name}.{name}"


@pytest.mark.postgres
def test_foreign_keys_in_the_database(database_url: str) -> None:
    """The CASCADE / SET NULL rules reached PostgreSQL, not only the metadata."""
    upgrade(database_url)
    with get_engine(database_url).connect() as connection:
        rules = connection.exec_driver_sql(
            "SELECT conrelid::regclass::text, a.attname, confrelid::regclass::text, confdeltype "
            "FROM pg_constraint c JOIN pg_attribute a "
            "ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] WHERE c.contype = 'f'"
        ).all()
    by_column = {(table, column): (target, rule) for table, column, target, rule in rules}
    for name in set(tables.metadata.tables) - OWN_STORE_COLUMN_EXEMPT:
        assert by_column[(name, "store_id")] == ("stores", "c"), name
    assert by_column[("audit_log", "store_id")] == ("stores", "n")
    for name in SYNCED_TABLES:
        assert (name, "sync_run_id") not in by_column, name


@pytest.mark.postgres
def test_deleting_a_store_deletes_its_rows(database_url: str) -> None:
    upgrade(database_url)
    engine = get_engine(database_url)
    with engine.begin() as connection:
        store_id = connection.execute(
            sa.insert(tables.stores)
            .values(slug="acme_us", name="Acme US", region="na")
            .returning(tables.stores.c.id)
        ).scalar_one()
        connection.execute(
            sa.insert(tables.marketplaces).values(
                store_id=store_id,
                marketplace_id="ATVPDKIKX0DER",
                country_code="US",
                currency="USD",
                time_zone="America/Los_Angeles",
                domain="amazon.com",
            )
        )
        run_id = connection.execute(
            sa.insert(tables.sync_runs)
            .values(store_id=store_id, source="sp_api", report_type="sales_traffic")
            .returning(tables.sync_runs.c.id)
        ).scalar_one()
        connection.execute(
            sa.insert(tables.sales_traffic_by_date).values(
                store_id=store_id,
                marketplace_id="ATVPDKIKX0DER",
                report_date=date(2026, 11, 1),
                ordered_product_sales=Decimal("1234.56"),
                currency="USD",
                units_ordered=42,
                buy_box_percentage=Decimal("95.24"),
                sync_run_id=run_id,
            )
        )
        connection.execute(
            sa.insert(tables.audit_log).values(
                store_id=store_id, store_slug="acme_us", action="deletion", actor="test"
            )
        )

    with engine.connect() as connection:
        sales, status = connection.execute(
            sa.select(
                tables.sales_traffic_by_date.c.ordered_product_sales, tables.sync_runs.c.status
            ).join(
                tables.sync_runs,
                tables.sync_runs.c.id == tables.sales_traffic_by_date.c.sync_run_id,
            )
        ).one()
    assert sales == Decimal("1234.56")
    assert status == "queued"

    with engine.begin() as connection:
        connection.execute(sa.delete(tables.stores).where(tables.stores.c.id == store_id))

    with engine.connect() as connection:
        for table in (tables.sales_traffic_by_date, tables.marketplaces, tables.sync_runs):
            count = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar()
            assert count == 0, table.name
        audit = connection.execute(
            sa.select(tables.audit_log.c.store_id, tables.audit_log.c.store_slug)
        ).all()
    assert audit == [(None, "acme_us")]


@pytest.mark.postgres
def test_check_constraints_reject_bad_values(database_url: str) -> None:
    upgrade(database_url)
    engine = get_engine(database_url)
    for values in (
        {"slug": "Acme-US", "name": "Acme", "region": "na"},
        {"slug": "acme", "name": "Acme", "region": "us"},
    ):
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            connection.execute(sa.insert(tables.stores).values(**values))

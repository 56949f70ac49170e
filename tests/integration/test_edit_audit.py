"""Edits record the person who made them: one audit entry per changed row (before, after, who),
none for a row saved unchanged, and no edit without a name."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.edits.audit import REORDER_SETTING_ACTION, UNIT_COST_ACTION, change_log
from amzinsight.edits.reorder_settings import save_inventory_settings
from amzinsight.edits.unit_costs import import_cogs_csv, save_cogs
from amzinsight.errors import ConfigError
from amzinsight.stores import Store, add_store

pytestmark = pytest.mark.postgres


@pytest.fixture
def shop(migrated_database_url: str) -> tuple[Engine, Store]:
    engine = get_engine(migrated_database_url)
    return engine, add_store(engine, slug="acme_us", name="Acme US", country_codes=["US"])


def entries(engine: Engine, store: Store, action: str) -> list[tuple[str, str | None, str | None]]:
    log = change_log(engine, store.id, action)
    return list(zip(log["actor"], log["old_value"], log["new_value"], strict=True))[::-1]


def test_unit_costs_log_who_changed_what(shop: tuple[Engine, Store]) -> None:
    engine, store = shop
    cost = {"sku": "MUG-1", "unit_cost": "11.5", "currency": "USD", "effective_from": "2026-03-01"}
    save_cogs(engine, store.id, [cost], actor="anna")
    save_cogs(engine, store.id, [cost], actor="ben")  # the same cost again: nothing to log
    import_cogs_csv(
        engine, store.id, b"sku,unit_cost,currency,effective_from\nMUG-1,12,USD,2026-03-01\n", "cy"
    )

    assert entries(engine, store, UNIT_COST_ACTION) == [
        ("anna", None, "11.5000 USD"),
        ("cy", "11.5000 USD", "12.0000 USD"),
    ]
    log = change_log(engine, store.id, UNIT_COST_ACTION)
    assert log["key"][0] == '{"sku": "MUG-1", "effective_from": "2026-03-01"}'
    assert log["reason"].to_list() == ["CSV import", None]


def test_reorder_settings_log_who_changed_what(shop: tuple[Engine, Store]) -> None:
    engine, store = shop
    save_inventory_settings(
        engine, store.id, [{"sku": "", "lead_time_days": 20, "safety_days": 10}], "anna"
    )
    save_inventory_settings(engine, store.id, [{"sku": "MUG-1", "lead_time_days": 7}], "ben")
    save_inventory_settings(  # the store default unchanged, the SKU's own settings removed
        engine,
        store.id,
        [{"sku": "", "lead_time_days": 20, "safety_days": 10}, {"sku": "MUG-1"}],
        "cy",
    )

    assert entries(engine, store, REORDER_SETTING_ACTION) == [
        ("anna", None, "lead time 20, safety days 10, target cover -"),
        ("ben", None, "lead time 7, safety days -, target cover -"),
        ("cy", "lead time 7, safety days -, target cover -", None),
    ]


def test_an_edit_without_a_name_is_refused(shop: tuple[Engine, Store]) -> None:
    engine, store = shop
    cost = {"sku": "MUG-1", "unit_cost": "1", "currency": "USD", "effective_from": date(2026, 3, 1)}
    with pytest.raises(ConfigError, match="needs the name"):
        save_cogs(engine, store.id, [cost], actor="  ")
    with pytest.raises(ConfigError, match="needs the name"):
        save_inventory_settings(engine, store.id, [{"sku": "", "lead_time_days": 9}], "")
    with engine.connect() as connection:
        for table in (tables.cogs, tables.inventory_settings, tables.audit_log):
            assert connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0

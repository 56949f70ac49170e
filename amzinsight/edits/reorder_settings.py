"""Reorder settings a person edits: lead time, safety days and target cover, per SKU or as
the store default (sku ''). Every restock figure of the Inventory page depends on them.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from amzinsight.analytics.inventory import SETTING_FIELDS
from amzinsight.cache import bump_data_version
from amzinsight.db.tables import inventory_settings
from amzinsight.edits.audit import REORDER_SETTING_ACTION, Change, checked_actor, record_changes
from amzinsight.errors import ConfigError

SETTING_LABELS = {
    "lead_time_days": "lead time",
    "safety_days": "safety days",
    "target_cover_days": "target cover",
}
SETTING_BOUNDS = {
    "lead_time_days": (1, 365),  # a lead time of 0 would mean restocking is instant
    "safety_days": (0, 365),  # 0: no safety stock, a deliberate choice
    "target_cover_days": (1, 365),
}


def save_inventory_settings(
    engine: Engine, store_id: int, rows: Sequence[Mapping[str, Any]], actor: str
) -> int:
    """Write reorder settings: each row a `sku` ('' = store default) and the three day counts.

    A blank value (None or NaN, as an edited table gives it) means "inherit": from the store
    default for a SKU, from the policy for the store default; a row with all three blank
    removes that SKU's settings. Every row is checked before anything is written, and a bad
    value raises one ConfigError naming each problem. Cached results of the store are made
    stale, since every restock figure depends on these. Each changed row goes to the change log
    under `actor`. Returns the number of rows written.
    """
    actor = checked_actor(actor, "Saving reorder settings")
    cleaned: dict[str, dict[str, int | None]] = {}
    problems: list[str] = []
    for row in rows:
        sku = row.get("sku")
        if not isinstance(sku, str):
            problems.append(f"a settings row has no SKU ({sku!r})")
            continue
        sku = sku.strip()
        who = "store default" if sku == "" else f"SKU {sku}"
        if sku in cleaned:
            problems.append(f"{who} is listed twice")
            continue
        values: dict[str, int | None] = {}
        for name in SETTING_FIELDS:
            value, problem = _days_value(row.get(name), name)
            if problem:
                problems.append(f"{who}: {problem}")
            values[name] = value
        cleaned[sku] = values
    if problems:
        shown = "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")
        raise ConfigError(f"Reorder settings not saved: {shown}.")
    table = inventory_settings
    with engine.begin() as connection:
        before = {
            row.sku: _settings_text(dict(row._mapping))
            for row in connection.execute(
                sa.select(table.c.sku, *(table.c[name] for name in SETTING_FIELDS)).where(
                    table.c.store_id == store_id, table.c.sku.in_(list(cleaned))
                )
            )
        }
        changes = [
            Change({"sku": sku}, before.get(sku), _settings_text(values))
            for sku, values in cleaned.items()
        ]
        for sku, values in cleaned.items():
            if all(value is None for value in values.values()):
                connection.execute(
                    sa.delete(table).where(table.c.store_id == store_id, table.c.sku == sku)
                )
                continue
            insert = pg_insert(table).values(store_id=store_id, sku=sku, **values)
            connection.execute(
                insert.on_conflict_do_update(
                    index_elements=[table.c.store_id, table.c.sku],
                    set_={**values, "updated_at": sa.func.now()},
                )
            )
        record_changes(connection, store_id, REORDER_SETTING_ACTION, table, changes, actor)
        bump_data_version(connection, store_id)
    return len(cleaned)


def _settings_text(values: Mapping[str, Any]) -> str | None:
    """`lead time 30, safety days -, target cover 60` (- follows the default); None: no row."""
    if all(values.get(name) is None for name in SETTING_FIELDS):
        return None
    return ", ".join(
        f"{SETTING_LABELS[name]} {'-' if values.get(name) is None else values[name]}"
        for name in SETTING_FIELDS
    )


def _days_value(value: Any, name: str) -> tuple[int | None, str | None]:
    """A whole number of days within the field's bounds, None for blank, or the problem."""
    label = SETTING_LABELS[name]
    low, high = SETTING_BOUNDS[name]
    if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal | None):
        return None, f"{label} must be a whole number of days, not {value!r}"
    number = float(value) if value is not None else math.nan
    if math.isnan(number):
        return None, None
    if not number.is_integer():
        return None, f"{label} must be a whole number of days, not {value}"
    days = int(number)
    if not low <= days <= high:
        return None, f"{label} {days} is out of range: use {low} to {high} days"
    return days, None

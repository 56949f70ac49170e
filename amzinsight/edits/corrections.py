"""Corrections: a person overwrites one stored value (`correct_value`), and every later sync keeps
it (`reapply_corrections`, run inside each load); `corrections` and `correction_history` list
them for the Data & privacy page.

Only the fields of CORRECTABLE can be corrected. Each correction is audited (audit_log, with
the old and new value and the reason) and remembered (data_corrections) in the transaction that
writes it, and makes the store's cached results stale.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from amzinsight.cache import bump_data_version
from amzinsight.db.frames import query_frame
from amzinsight.db.tables import audit_log, data_corrections, metadata, stores
from amzinsight.errors import AmzInsightError
from amzinsight.stores import Store

logger = logging.getLogger(__name__)

CORRECTION_ACTION = "correction"
CORRECTION_KEPT_ACTION = "correction_kept"

# Table -> (its natural key without store_id, the fields a person may correct). Only values a
# person can know better than the file: costs, listing texts, a mis-parsed amount, settings.
CORRECTABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cogs": (("sku", "effective_from"), ("unit_cost",)),
    "listings": (
        ("marketplace_id", "sku"),
        ("item_name", "bullet_points", "backend_search_terms", "item_description"),
    ),
    "settlement_lines": (("settlement_id", "line_no"), ("amount",)),
    "finance_transaction_lines": (("transaction_id", "line_no"), ("amount",)),
    "order_items": (("amazon_order_id", "sku", "asin", "line_no"), ("item_price",)),
    "inventory_settings": (("sku",), ("lead_time_days", "safety_days", "target_cover_days")),
}
# Fields whose value can never be negative (the others, e.g. a settlement amount, can).
NON_NEGATIVE = {"unit_cost", "item_price", "lead_time_days", "safety_days", "target_cover_days"}


class CorrectionError(AmzInsightError):
    """A correction names a field that cannot be corrected, a missing row, or a malformed value."""


def correct_value(
    engine: Engine,
    store: Store,
    table: str,
    key: dict[str, Any],
    column: str,
    new_value: Any,
    reason: str,
    actor: str,
) -> dict[str, Any]:
    """Overwrite one stored value and remember it, so later syncs keep it (`reapply_corrections`).

    The old and new values and the reason go to audit_log and data_corrections in the same
    transaction as the write. data_corrections.old_value is the value the correction replaces
    (what the file said); a second correction of the same field keeps that value.
    """
    target = _correctable_table(table, column)
    row_key = _typed_key(target, key)
    value = _typed_value(target.c[column], new_value)
    if not reason.strip():
        raise CorrectionError("A correction needs a reason (it is kept in the audit log).")
    if not actor.strip():
        raise CorrectionError("A correction needs an actor (who made it) for the audit log.")
    canonical = _canonical_key(row_key)
    new_text = _as_text(value)
    with engine.begin() as connection:
        current = connection.execute(
            sa.select(target.c[column])
            .where(*_key_clauses(target, store.id, row_key))
            .with_for_update()
        ).one_or_none()
        if current is None:
            raise CorrectionError(f"No {table} row of store {store.slug} has the key {canonical}.")
        old_text = _as_text(current[0])
        if old_text == new_text:
            raise CorrectionError(f"{table}.{column} already holds {new_text}: nothing to correct.")
        connection.execute(
            sa.update(target)
            .where(*_key_clauses(target, store.id, row_key))
            .values({column: value})
        )
        audit_id = connection.execute(
            sa.insert(audit_log)
            .values(
                store_id=store.id, store_slug=store.slug, action=CORRECTION_ACTION,
                table_name=table, row_key=json.loads(canonical), field=column,
                old_value=old_text, new_value=new_text, reason=reason.strip(), actor=actor,
            )
            .returning(audit_log.c.id)
        ).scalar_one()  # fmt: skip
        upsert = pg_insert(data_corrections).values(
            store_id=store.id, table_name=table, row_key=canonical, field=column,
            old_value=old_text, new_value=new_text, reason=reason.strip(), audit_log_id=audit_id,
        )  # fmt: skip
        connection.execute(
            upsert.on_conflict_do_update(
                index_elements=["store_id", "table_name", "row_key", "field"],
                set_={
                    "new_value": upsert.excluded.new_value,
                    "reason": upsert.excluded.reason,
                    "audit_log_id": upsert.excluded.audit_log_id,
                    "created_at": sa.func.now(),
                },
            )
        )
        bump_data_version(connection, store.id)
    logger.info("%s.%s corrected for store %s by %s", table, column, store.slug, actor)
    return {"table": table, "key": canonical, "field": column, "old": old_text, "new": new_text}


def reapply_corrections(
    connection: Connection, store_id: int, loaded: Iterable[sa.Table], run_id: int | None
) -> int:
    """After a load, put back every correction the load overwrote; returns how many.

    Runs in the load's transaction, so no reader ever sees the uncorrected value. When the file
    delivered a value other than the one last recorded, the delivered value becomes the
    correction's old_value and a `correction_kept` audit entry names the run: the page then shows
    "Amazon now says X; your correction Y kept". The same value delivered again is not re-logged.
    """
    names = sorted({table.name for table in loaded} & CORRECTABLE.keys())
    if not names:
        return 0
    corrections = connection.execute(
        sa.select(
            data_corrections.c.id, data_corrections.c.table_name, data_corrections.c.row_key,
            data_corrections.c.field, data_corrections.c.old_value, data_corrections.c.new_value,
            audit_log.c.action,
        )
        .select_from(_corrections_with_last_event())
        .where(data_corrections.c.store_id == store_id, data_corrections.c.table_name.in_(names))
        .order_by(data_corrections.c.id)
    ).all()  # fmt: skip
    if not corrections:
        return 0
    slug = connection.execute(sa.select(stores.c.slug).where(stores.c.id == store_id)).scalar()
    reapplied = 0
    for correction in corrections:
        target = metadata.tables[correction.table_name]
        column = target.c[correction.field]
        clauses = _key_clauses(target, store_id, _typed_key(target, json.loads(correction.row_key)))
        current = connection.execute(sa.select(column).where(*clauses)).one_or_none()
        if current is None:
            continue  # the row is gone (a replaced report): nothing to keep the correction on
        delivered = _as_text(current[0])
        if delivered == correction.new_value:
            continue
        corrected = _typed_value(column, _from_text(column, correction.new_value))
        connection.execute(sa.update(target).where(*clauses).values({column.name: corrected}))
        reapplied += 1
        if correction.action == CORRECTION_KEPT_ACTION and delivered == correction.old_value:
            continue
        audit_id = connection.execute(
            sa.insert(audit_log)
            .values(
                store_id=store_id, store_slug=slug, action=CORRECTION_KEPT_ACTION,
                table_name=correction.table_name, row_key=json.loads(correction.row_key),
                field=correction.field, old_value=delivered, new_value=correction.new_value,
                reason=f"sync run {run_id} delivered {delivered}; the correction was kept",
                actor="sync",
            )
            .returning(audit_log.c.id)
        ).scalar_one()  # fmt: skip
        connection.execute(
            sa.update(data_corrections)
            .where(data_corrections.c.id == correction.id)
            .values(old_value=delivered, audit_log_id=audit_id)
        )
    if reapplied:
        logger.info("run %s: %d corrections of store %s kept", run_id, reapplied, slug)
    return reapplied


def corrections(engine: Engine, store_id: int) -> pl.DataFrame:
    """The store's active corrections: what the source last said, the kept value, and why."""
    query = (
        sa.select(
            data_corrections.c.table_name.label("table"),
            data_corrections.c.row_key.label("key"),
            data_corrections.c.field,
            data_corrections.c.old_value.label("source_value"),
            data_corrections.c.new_value.label("corrected_value"),
            data_corrections.c.reason,
            (audit_log.c.action == CORRECTION_KEPT_ACTION).label("sync_disagreed"),
            audit_log.c.created_at.label("last_event_at"),
        )
        .select_from(_corrections_with_last_event())
        .where(data_corrections.c.store_id == store_id)
        .order_by(data_corrections.c.created_at.desc(), data_corrections.c.id.desc())
    )
    return query_frame(engine, query, CORRECTIONS_SCHEMA)


def correction_history(engine: Engine, store_id: int, limit: int = 500) -> pl.DataFrame:
    """Corrections and kept corrections from audit_log, newest first (old and new values)."""
    query = (
        sa.select(
            audit_log.c.created_at.label("at"),
            audit_log.c.action,
            audit_log.c.table_name.label("table"),
            sa.cast(audit_log.c.row_key, sa.Text).label("key"),
            audit_log.c.field,
            audit_log.c.old_value,
            audit_log.c.new_value,
            audit_log.c.reason,
            audit_log.c.actor,
        )
        .where(
            audit_log.c.store_id == store_id,
            audit_log.c.action.in_([CORRECTION_ACTION, CORRECTION_KEPT_ACTION]),
        )
        .order_by(audit_log.c.created_at.desc(), audit_log.c.id.desc())
        .limit(limit)
    )
    return query_frame(engine, query, HISTORY_SCHEMA)


CORRECTIONS_SCHEMA = {
    "table": pl.Utf8, "key": pl.Utf8, "field": pl.Utf8, "source_value": pl.Utf8,
    "corrected_value": pl.Utf8, "reason": pl.Utf8, "sync_disagreed": pl.Boolean,
    "last_event_at": pl.Datetime("us", "UTC"),
}  # fmt: skip
HISTORY_SCHEMA = {
    "at": pl.Datetime("us", "UTC"), "action": pl.Utf8, "table": pl.Utf8, "key": pl.Utf8,
    "field": pl.Utf8, "old_value": pl.Utf8, "new_value": pl.Utf8, "reason": pl.Utf8,
    "actor": pl.Utf8,
}  # fmt: skip


# --- helpers -------------------------------------------------------------------------------------


def _correctable_table(table: str, column: str) -> sa.Table:
    if table not in CORRECTABLE:
        raise CorrectionError(
            f"{table!r} cannot be corrected; correctable tables: {', '.join(sorted(CORRECTABLE))}."
        )
    fields = CORRECTABLE[table][1]
    if column not in fields:
        raise CorrectionError(
            f"{table}.{column} cannot be corrected; correctable fields: {', '.join(fields)}."
        )
    return metadata.tables[table]


def _typed_key(table: sa.Table, key: dict[str, Any]) -> dict[str, Any]:
    """The natural key with each part in its column's type (forms and JSON give strings)."""
    names = CORRECTABLE[table.name][0]
    if set(key) != set(names):
        raise CorrectionError(
            f"A {table.name} row is named by {', '.join(names)}; got {sorted(key)}."
        )
    typed: dict[str, Any] = {}
    for name in names:
        value, column_type = key[name], table.c[name].type
        try:
            if isinstance(column_type, sa.Date) and isinstance(value, str):
                value = date.fromisoformat(value.strip())
            elif isinstance(column_type, sa.Integer) and not isinstance(value, int):
                value = int(str(value).strip())
            elif isinstance(column_type, sa.Text):
                value = str(value).strip()
        except ValueError:
            raise CorrectionError(
                f"{table.name} key {name}={value!r} is not a valid value."
            ) from None
        typed[name] = value
    return typed


def _typed_value(column: sa.Column[Any], value: Any) -> Any:
    """The new value in the column's type: Decimal money at the column's scale, never a float."""
    column_type = column.type
    where = f"{column.table.name}.{column.name}"
    if isinstance(column_type, sa.Numeric):
        if isinstance(value, float | bool) or value is None:
            raise CorrectionError(f"{where} needs an amount like 12.34 (given as text or Decimal).")
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise CorrectionError(f"{where}: {value!r} is not an amount like 12.34.") from None
        scale = column_type.scale or 0
        limit = Decimal(10) ** ((column_type.precision or 14) - scale)
        if not amount.is_finite() or abs(amount) >= limit:
            raise CorrectionError(f"{where}: {value!r} is out of range.")
        if amount != amount.quantize(Decimal(1).scaleb(-scale)):
            raise CorrectionError(f"{where} takes at most {scale} decimal places, not {value!r}.")
        amount = amount.quantize(Decimal(1).scaleb(-scale))
        if column.name in NON_NEGATIVE and amount < 0:
            raise CorrectionError(f"{where} cannot be negative.")
        return amount
    if isinstance(column_type, sa.Integer):
        try:
            number = int(str(value).strip()) if not isinstance(value, bool) else None
        except ValueError:
            number = None
        if number is None or (column.name in NON_NEGATIVE and number < 0):
            raise CorrectionError(f"{where} needs a whole number of 0 or more, not {value!r}.")
        return number
    if isinstance(column_type, JSONB):  # bullet points: a list, or one bullet per line
        bullets = value.splitlines() if isinstance(value, str) else value
        if not isinstance(bullets, list) or not all(isinstance(b, str) for b in bullets):
            raise CorrectionError(f"{where} needs a list of texts (one bullet per line).")
        cleaned = [bullet.strip() for bullet in bullets if bullet.strip()]
        if not cleaned:
            raise CorrectionError(f"{where} needs at least one bullet.")
        return cleaned
    if not isinstance(value, str) or not value.strip():
        raise CorrectionError(f"{where} needs a text that is not empty.")
    return value.strip()


def _as_text(value: Any) -> str | None:
    """The one text form stored values and corrections are compared and audited in."""
    if value is None:
        return None
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _from_text(column: sa.Column[Any], text: str | None) -> Any:
    if text is not None and isinstance(column.type, JSONB):
        return json.loads(text)
    return text


def _canonical_key(key: dict[str, Any]) -> str:
    plain = {
        name: value.isoformat() if isinstance(value, date) else value for name, value in key.items()
    }
    return json.dumps(plain, sort_keys=True, separators=(",", ":"))


def _key_clauses(
    table: sa.Table, store_id: int, key: dict[str, Any]
) -> list[sa.ColumnElement[bool]]:
    return [table.c.store_id == store_id, *(table.c[name] == value for name, value in key.items())]


def _corrections_with_last_event() -> sa.Join:
    """data_corrections with the audit entry it last points to (the correction, or a kept one)."""
    return data_corrections.outerjoin(audit_log, data_corrections.c.audit_log_id == audit_log.c.id)

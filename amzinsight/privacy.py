"""Data rights: what is stored about a store: `data_summary`; deleting all of it: `delete_store`;
correcting a value so that syncs keep it: `correct_value` and `reapply_corrections`; dropping
order shipping details after the retention period: `redact_order_shipping`.

Both walk `tables.metadata`, so a table added later is summarised (under "other") and deleted
without a change here. Cache keys are found with SCAN on `store_key_pattern`, archived raw files
by the keys in raw_reports and the store's key prefix. Queued and scheduled RQ jobs are cancelled
through a callable the caller supplies (amzinsight never imports RQ).
"""

from __future__ import annotations

import gzip
import itertools
import json
import logging
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from redis import Redis
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from amzinsight.cache import store_key_pattern
from amzinsight.config import StoreCredentials
from amzinsight.db.frames import query_frame
from amzinsight.db.tables import (
    audit_log,
    data_corrections,
    metadata,
    orders,
    raw_reports,
    stores,
    sync_runs,
)
from amzinsight.errors import AmzInsightError, ConfigError
from amzinsight.ingest.archive import RawArchive, file_digest, store_prefix
from amzinsight.ingest.documents import is_gzip
from amzinsight.reports.flatfile import header_names, slash_dates_day_first, timestamp
from amzinsight.stores import Store

logger = logging.getLogger(__name__)

CancelJobs = Callable[[str], int]

DELETION_ACTION = "store_deleted"
OTHER_CATEGORY = "other"

# Table -> (data category, the column whose min/max is the period covered; None: no such column).
TABLE_CATEGORIES: dict[str, tuple[str, str | None]] = {
    "marketplaces": ("store_setup", None),
    "sales_traffic_by_date": ("sales_and_traffic", "report_date"),
    "sales_traffic_by_asin": ("sales_and_traffic", "report_date"),
    "orders": ("orders", "purchase_local_date"),
    "order_items": ("orders", None),
    "settlements": ("settlements", "deposit_date"),
    "settlement_lines": ("settlements", "posted_date"),
    "inventory_snapshots": ("inventory", "snapshot_date"),
    "listings": ("listings_and_catalog", None),
    "catalog_items": ("listings_and_catalog", None),
    "product_ratings": ("ratings", "snapshot_date"),
    "ads_campaign_daily": ("ads_campaign_daily", "report_date"),
    "ads_target_daily": ("ads_target_daily", "report_date"),
    "ads_search_term_daily": ("ads_search_term_daily", "report_date"),
    "ads_advertised_product_daily": ("ads_advertised_product_daily", "report_date"),
    "ads_purchased_product_daily": ("ads_purchased_product_daily", "report_date"),
    "ads_profiles": ("ads_entities", None),
    "ads_campaigns": ("ads_entities", None),
    "ads_ad_groups": ("ads_entities", None),
    "ads_targets": ("ads_entities", None),
    "bid_recommendations": ("recommendations_and_changes", "generated_for"),
    "bid_changes": ("recommendations_and_changes", "applied_at"),
    "cogs": ("cogs_and_inventory_settings", "effective_from"),
    "inventory_settings": ("cogs_and_inventory_settings", None),
    "data_corrections": ("corrections_and_audit", "created_at"),
    "audit_log": ("corrections_and_audit", "created_at"),
    "sync_runs": ("sync_runs_and_raw_reports", "requested_at"),
    "raw_reports": ("sync_runs_and_raw_reports", "fetched_at"),
}


def store_tables() -> list[sa.Table]:
    """Every table with a store_id column, children before parents (the order to delete in)."""
    return [
        table
        for table in reversed(metadata.sorted_tables)
        if "store_id" in table.c and table.name != stores.name
    ]


def data_summary(
    engine: Engine, archive: RawArchive, redis_client: Redis | None, store: Store
) -> dict[str, Any]:
    """What is stored about one store, per data category; plain JSON (ISO dates, no Decimal)."""
    categories: dict[str, dict[str, Any]] = {}
    with engine.connect() as connection:
        for table in sorted(store_tables(), key=lambda t: t.name):
            category, date_column = TABLE_CATEGORIES.get(table.name, (OTHER_CATEGORY, None))
            entry = _table_summary(connection, table, store.id, date_column)
            group = categories.setdefault(category, {"rows": 0, "from": None, "to": None})
            group.setdefault("tables", {})[table.name] = entry
            group["rows"] += entry["rows"]
            group["from"] = _earliest(group["from"], entry["from"])
            group["to"] = _latest(group["to"], entry["to"])
        archived = connection.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(raw_reports.c.bytes), 0)).where(
                raw_reports.c.store_id == store.id
            )
        ).one()
        last_syncs = _last_successful_syncs(connection, store.id)
    cache_keys = None if redis_client is None else len(_cache_keys(engine, redis_client, store.id))
    return {
        "store": store.slug,
        "store_name": store.name,
        "generated_at": datetime.now(UTC).isoformat(),
        "categories": categories,
        "total_rows": sum(group["rows"] for group in categories.values()),
        "last_successful_sync": max(last_syncs.values(), default=None),
        "last_successful_sync_by_report": last_syncs,
        "archive": {
            "files": int(archived[0]),
            "bytes": int(archived[1]),
            "objects_under_store_prefix": sum(1 for _ in archive.keys(store_prefix(store.slug))),
        },
        "cache": {"keys": cache_keys},
    }


def delete_store(
    engine: Engine,
    archive: RawArchive,
    redis_client: Redis | None,
    store: Store,
    confirm_slug: str,
    actor: str,
    cancel_jobs: CancelJobs | None = None,
) -> dict[str, Any]:
    """Delete every row, archived raw file, cache key and queued job of one store.

    Refuses unless `confirm_slug` is the store's slug. Rows and the audit_log entry are written in
    one transaction, and the archive is emptied before it commits: if the archive fails, nothing
    is deleted from the database and the command can simply be run again. Jobs are cancelled
    after the commit, so that a schedule refresh no longer sees the store.
    """
    if confirm_slug != store.slug:
        raise ConfigError(
            f"Deletion not confirmed: type the store's slug {store.slug!r} exactly to delete it."
        )
    if not actor:
        raise ConfigError("Deletion needs an actor (who asked for it) for the audit log.")
    rows: dict[str, int] = {}
    with engine.begin() as connection:
        found = connection.execute(
            sa.select(stores.c.id).where(stores.c.id == store.id).with_for_update()
        ).scalar_one_or_none()
        if found is None:
            raise ConfigError(f"Store {store.slug} does not exist (already deleted?).")
        keys = list(
            connection.execute(
                sa.select(raw_reports.c.archive_key).where(raw_reports.c.store_id == store.id)
            ).scalars()
        )
        for table in store_tables():
            deleted = connection.execute(sa.delete(table).where(table.c.store_id == store.id))
            rows[table.name] = int(deleted.rowcount or 0)
        deleted_store = connection.execute(sa.delete(stores).where(stores.c.id == store.id))
        rows[stores.name] = int(deleted_store.rowcount or 0)
        connection.execute(
            sa.insert(audit_log).values(
                store_id=None, store_slug=store.slug, action=DELETION_ACTION, actor=actor
            )
        )
        archive_deleted = _delete_archive(archive, store.slug, keys)
    cache_deleted = _delete_cache(engine, redis_client, store.id)
    jobs_cancelled = int(cancel_jobs(store.slug)) if cancel_jobs is not None else None
    logger.info("store %s deleted by %s", store.slug, actor)
    return {
        "store": store.slug,
        "rows": rows,
        "total_rows": sum(rows.values()),
        "archive_files": archive_deleted,
        "cache_keys": cache_deleted,
        "jobs_cancelled": jobs_cancelled,
        "unused_credential_variables": credential_variables(store.slug),
    }


def credential_variables(slug: str) -> list[str]:
    """The AMZ_STORES__<SLUG>__* names a store's credentials are read from (names, never values)."""
    return [f"AMZ_STORES__{slug.upper()}__{name.upper()}" for name in StoreCredentials.model_fields]


# --- helpers -------------------------------------------------------------------------------------


def _table_summary(
    connection: Connection, table: sa.Table, store_id: int, date_column: str | None
) -> dict[str, Any]:
    columns: list[Any] = [sa.func.count()]
    if date_column is not None:
        columns += [sa.func.min(table.c[date_column]), sa.func.max(table.c[date_column])]
    result = connection.execute(sa.select(*columns).where(table.c.store_id == store_id)).one()
    first = _iso(result[1]) if date_column is not None else None
    last = _iso(result[2]) if date_column is not None else None
    return {"rows": int(result[0]), "date_column": date_column, "from": first, "to": last}


def _last_successful_syncs(connection: Connection, store_id: int) -> dict[str, str]:
    query = (
        sa.select(sync_runs.c.report_type, sa.func.max(sync_runs.c.finished_at))
        .where(sync_runs.c.store_id == store_id, sync_runs.c.status == "succeeded")
        .group_by(sync_runs.c.report_type)
        .order_by(sync_runs.c.report_type)
    )
    return {
        report: iso
        for report, finished in connection.execute(query)
        if (iso := _iso(finished)) is not None
    }


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _earliest(a: str | None, b: str | None) -> str | None:
    # Dates and timestamps of one category mix; compare on their date part, keep the first seen.
    if a is None or b is None:
        return a or b
    return a if a[:10] <= b[:10] else b


def _latest(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if a[:10] >= b[:10] else b


def _cache_keys(engine: Engine, redis_client: Redis, store_id: int) -> list[bytes]:
    pattern = store_key_pattern(engine, store_id)
    return list(redis_client.scan_iter(match=pattern, count=1000))


def _delete_cache(engine: Engine, redis_client: Redis | None, store_id: int) -> int | None:
    if redis_client is None:
        return None
    keys = _cache_keys(engine, redis_client, store_id)
    deleted = 0
    for start in range(0, len(keys), 500):
        deleted += int(redis_client.delete(*keys[start : start + 500]))
    return deleted


def _delete_archive(archive: RawArchive, slug: str, keys: Iterable[str]) -> int:
    """The store's prefix, then recorded keys outside it (older layouts); returns objects gone."""
    prefix = store_prefix(slug)
    deleted = archive.delete_prefix(prefix)
    for key in keys:
        # Only an exact object: another key that merely starts with this one is left alone.
        if not key.startswith(prefix) and list(archive.keys(key)) == [key]:
            deleted += archive.delete_prefix(key)
    return deleted


# --- corrections ---------------------------------------------------------------------------------

CORRECTION_ACTION = "correction"
CORRECTION_KEPT_ACTION = "correction_kept"
REDACTION_ACTION = "orders_shipping_redacted"

# Table -> (its natural key without store_id, the fields a person may correct). Only values a
# person can know better than the file: costs, listing texts, a mis-parsed amount, settings.
CORRECTABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cogs": (("sku", "effective_from"), ("unit_cost",)),
    "listings": (
        ("marketplace_id", "sku"),
        ("item_name", "bullet_points", "backend_search_terms", "item_description"),
    ),
    "settlement_lines": (("settlement_id", "line_no"), ("amount",)),
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
        _bump_data_version(connection, store.id)
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


# --- retention -----------------------------------------------------------------------------------


def redact_order_shipping(engine: Engine, older_than_days: int, now: datetime) -> dict[str, int]:
    """Blank city, state and postal code of orders bought more than N days before `now`.

    Every store at once (the setting is global). Country stays: it is not personal and the
    marketplace analyses use it. Orders that a later sync wrote back are blanked again. Returns
    orders redacted per store slug; each store's count is one audit_log entry.
    """
    if older_than_days < 1:
        raise ConfigError("The order retention must be at least 1 day.")
    cutoff = now - timedelta(days=older_than_days)
    holds_address = sa.or_(
        orders.c.ship_city.is_not(None),
        orders.c.ship_state.is_not(None),
        orders.c.ship_postal_code.is_not(None),
    )
    old_enough = sa.or_(
        orders.c.purchase_date < cutoff,
        sa.and_(orders.c.purchase_date.is_(None), orders.c.purchase_local_date < cutoff.date()),
    )
    redacted: dict[str, int] = {}
    with engine.begin() as connection:
        store_ids = connection.execute(
            sa.update(orders)
            .where(holds_address, old_enough)
            .values(ship_city=None, ship_state=None, ship_postal_code=None, ship_redacted_at=now)
            .returning(orders.c.store_id)
        ).scalars()
        counts: dict[int, int] = {}
        for store_id in store_ids:
            counts[store_id] = counts.get(store_id, 0) + 1
        slugs: dict[int, str] = {
            store_id: slug
            for store_id, slug in connection.execute(
                sa.select(stores.c.id, stores.c.slug).where(stores.c.id.in_(counts))
            )
        }
        for store_id, count in sorted(counts.items()):
            connection.execute(
                sa.insert(audit_log).values(
                    store_id=store_id, store_slug=slugs[store_id], action=REDACTION_ACTION,
                    new_value=str(count), reason=f"order retention {older_than_days} days",
                    actor="retention",
                )
            )  # fmt: skip
            _bump_data_version(connection, store_id)
            redacted[slugs[store_id]] = count
    logger.info("order shipping details redacted: %s", redacted or "none due")
    return redacted


# --- correction helpers --------------------------------------------------------------------------


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


def _typed_value(column: sa.Column, value: Any) -> Any:
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


def _from_text(column: sa.Column, text: str | None) -> Any:
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


def _bump_data_version(connection: Connection, store_id: int) -> None:
    """Cached query results of the store become stale (as after an ingestion run)."""
    connection.execute(
        sa.update(stores)
        .where(stores.c.id == store_id)
        .values(data_version=stores.c.data_version + 1)
    )


# --- retention in the raw archive ----------------------------------------------------------------

ARCHIVE_REDACTION_ACTION = "archived_orders_shipping_redacted"
_SHIPPING_HEADERS = ("ship-city", "ship-state", "ship-postal-code")
_PURCHASE_HEADER = "purchase-date"
_LINES_PER_BATCH = 50_000


def redact_archived_orders(
    engine: Engine, archive: RawArchive, older_than_days: int, now: datetime
) -> dict[str, int]:
    """Blank city, state and postal code in archived order reports, for lines bought before the
    cutoff, so that `replay` cannot bring back what `redact_order_shipping` removed.

    Works on the bytes (tab-separated, any ASCII-compatible charset, gzip kept gzip), so every
    other byte of the file stays as Amazon sent it. A file is written back under its key only
    when a value changes; raw_reports then gets its new sha256 and size. Returns files rewritten
    per store slug; each store's count is one audit_log entry.
    """
    from amzinsight.reports.orders import SPEC as ORDERS_SPEC

    if older_than_days < 1:
        raise ConfigError("The order retention must be at least 1 day.")
    cutoff = now - timedelta(days=older_than_days)
    # A window's local start date can be up to a day ahead of the UTC instant it begins at.
    query = (
        sa.select(
            raw_reports.c.id, raw_reports.c.archive_key, raw_reports.c.sha256,
            raw_reports.c.marketplace_id, stores.c.id.label("store_id"), stores.c.slug,
        )
        .join(stores, stores.c.id == raw_reports.c.store_id)
        .where(
            raw_reports.c.report_type == ORDERS_SPEC.key,
            sa.or_(
                raw_reports.c.data_start.is_(None),
                raw_reports.c.data_start <= cutoff.date() + timedelta(days=1),
            ),
        )
        .order_by(raw_reports.c.id)
    )  # fmt: skip
    with engine.connect() as connection:
        documents = connection.execute(query).all()
    rewritten: dict[int, int] = {}
    slugs: dict[int, str] = {}
    for document in documents:
        with tempfile.TemporaryDirectory(prefix="amz-redact-") as scratch:
            original = Path(scratch) / "original"
            try:
                archive.download(document.archive_key, original)
            except FileNotFoundError:  # recorded but gone (e.g. another data dir): nothing kept
                logger.warning("archived order file %s is missing", document.archive_key)
                continue
            redacted = Path(scratch) / "redacted"
            day_first = slash_dates_day_first(document.marketplace_id, None)
            changed = _redact_order_file(original, redacted, cutoff, day_first)
            current = redacted if changed else original
            if changed:
                archive.put_file(
                    document.archive_key,
                    redacted,
                    {"report-type": ORDERS_SPEC.key, "store": document.slug},
                )
            sha256, size = file_digest(current)
        if changed or sha256 != document.sha256:  # also heals a run that died before this update
            with engine.begin() as connection:
                connection.execute(
                    sa.update(raw_reports)
                    .where(raw_reports.c.id == document.id)
                    .values(sha256=sha256, bytes=size)
                )
        if changed:
            rewritten[document.store_id] = rewritten.get(document.store_id, 0) + 1
            slugs[document.store_id] = document.slug
    with engine.begin() as connection:
        for store_id, count in sorted(rewritten.items()):
            connection.execute(
                sa.insert(audit_log).values(
                    store_id=store_id, store_slug=slugs[store_id],
                    action=ARCHIVE_REDACTION_ACTION, table_name=raw_reports.name,
                    new_value=str(count), reason=f"order retention {older_than_days} days",
                    actor="retention",
                )
            )  # fmt: skip
    redacted_files = {slugs[store_id]: count for store_id, count in sorted(rewritten.items())}
    logger.info("archived order files redacted: %s", redacted_files or "none due")
    return redacted_files


def _redact_order_file(source: Path, destination: Path, cutoff: datetime, day_first: bool) -> bool:
    """Copy an order report line by line, shipping columns blanked on lines bought before cutoff;
    True when a value was blanked. A file without those columns is left as it is."""
    compressed = is_gzip(source)
    opener: Callable[..., Any] = gzip.open if compressed else open
    changed = False
    with opener(source, "rb") as reader, opener(destination, "wb") as writer:
        header = reader.readline()
        writer.write(header)
        names = header_names(header)
        if _PURCHASE_HEADER not in names or not set(_SHIPPING_HEADERS) & set(names):
            return False
        date_at = names.index(_PURCHASE_HEADER)
        blank_at = [names.index(name) for name in _SHIPPING_HEADERS if name in names]
        while batch := list(itertools.islice(reader, _LINES_PER_BATCH)):
            changed |= _redact_lines(batch, writer, date_at, blank_at, cutoff, day_first)
    return changed


def _redact_lines(
    lines: list[bytes], writer: Any, date_at: int, blank_at: list[int], cutoff: datetime,
    day_first: bool,
) -> bool:  # fmt: skip
    split = []
    for line in lines:
        body = line.rstrip(b"\r\n")
        split.append((body.split(b"\t"), line[len(body) :]))
    purchase = [
        fields[date_at].decode("latin-1") if len(fields) > date_at else None for fields, _ in split
    ]
    # The parser's own timestamp rules (ISO, "UTC", day-first slash dates) decide a line's age.
    bought = pl.DataFrame({"text": purchase}, schema={"text": pl.Utf8}).select(
        timestamp(pl.col("text"), day_first)
    )["text"]
    changed = False
    for (fields, ending), instant in zip(split, bought, strict=True):
        if instant is not None and instant < cutoff:
            for index in blank_at:
                if index < len(fields) and fields[index]:
                    fields[index] = b""
                    changed = True
        writer.write(b"\t".join(fields) + ending)
    return changed

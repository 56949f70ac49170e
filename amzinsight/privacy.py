"""Data rights: what is stored about a store: `data_summary`; deleting all of it: `delete_store`;
dropping order shipping details after the retention period: `redact_order_shipping` and, in the
raw archive, `redact_archived_orders`. (Correcting a value: `amzinsight.edits.corrections`.)

The summary and the deletion walk `tables.metadata`, so a table added later is summarised (under
"other") and deleted without a change here. Cache keys are found with SCAN on
`store_key_pattern`, archived raw files by the keys in raw_reports and the store's key prefix.
Queued and scheduled RQ jobs are cancelled through a callable the caller supplies (amzinsight
never imports RQ).
"""

from __future__ import annotations

import gzip
import itertools
import logging
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from redis import Redis
from sqlalchemy.engine import Connection, Engine

from amzinsight.cache import bump_data_version, store_key_pattern
from amzinsight.config import StoreCredentials
from amzinsight.db.tables import (
    audit_log,
    metadata,
    orders,
    raw_reports,
    stores,
    sync_runs,
)
from amzinsight.errors import ConfigError
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
    "store_access_checks": ("store_setup", None),
    "sales_traffic_by_date": ("sales_and_traffic", "report_date"),
    "sales_traffic_by_asin": ("sales_and_traffic", "report_date"),
    "orders": ("orders", "purchase_local_date"),
    "order_items": ("orders", None),
    "settlements": ("settlements", "deposit_date"),
    "settlement_lines": ("settlements", "posted_date"),
    "finance_transactions": ("settlements", "posted_date"),
    "finance_transaction_lines": ("settlements", "posted_date"),
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
    "api_meter_slots": ("sync_runs_and_raw_reports", "slot_at"),
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


# --- retention -----------------------------------------------------------------------------------

REDACTION_ACTION = "orders_shipping_redacted"


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
            bump_data_version(connection, store_id)
            redacted[slugs[store_id]] = count
    logger.info("order shipping details redacted: %s", redacted or "none due")
    return redacted


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

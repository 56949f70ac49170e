"""Who changed what: each edit writes one audit_log entry per row it changes, in its own
transaction, and the pages read them back as that edit's change log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from amzinsight.db.frames import query_frame
from amzinsight.db.tables import audit_log, stores
from amzinsight.errors import ConfigError

UNIT_COST_ACTION = "unit_cost"
REORDER_SETTING_ACTION = "reorder_setting"


@dataclass(frozen=True)
class Change:
    """One row an edit changed: its natural key, and its value before and after (None: absent)."""

    row_key: dict[str, Any]
    old_value: str | None
    new_value: str | None


def checked_actor(actor: str, what: str) -> str:
    """The person an edit is recorded under; an edit without one is refused, never guessed."""
    if not actor or not actor.strip():
        raise ConfigError(f"{what} needs the name of whoever makes it, for the change log.")
    return actor.strip()


def record_changes(
    connection: Connection,
    store_id: int,
    action: str,
    table: sa.Table,
    changes: Sequence[Change],
    actor: str,
    reason: str | None = None,
) -> None:
    """Audit entries for the changed rows, written in the edit's own transaction."""
    entries = [change for change in changes if change.old_value != change.new_value]
    if not entries:
        return
    slug = connection.execute(sa.select(stores.c.slug).where(stores.c.id == store_id)).scalar()
    connection.execute(
        sa.insert(audit_log),
        [
            {
                "store_id": store_id,
                "store_slug": slug,
                "action": action,
                "table_name": table.name,
                "row_key": change.row_key,
                "old_value": change.old_value,
                "new_value": change.new_value,
                "reason": reason,
                "actor": actor,
            }
            for change in entries
        ],
    )


CHANGE_LOG_SCHEMA = {
    "at": pl.Datetime("us", "UTC"),
    "key": pl.Utf8,
    "old_value": pl.Utf8,
    "new_value": pl.Utf8,
    "reason": pl.Utf8,
    "actor": pl.Utf8,
}


def change_log(engine: Engine, store_id: int, action: str, limit: int = 200) -> pl.DataFrame:
    """One edit's audit entries for a store, newest first: when, which row, before, after, who."""
    query = (
        sa.select(
            audit_log.c.created_at.label("at"),
            sa.cast(audit_log.c.row_key, sa.Text).label("key"),
            audit_log.c.old_value,
            audit_log.c.new_value,
            audit_log.c.reason,
            audit_log.c.actor,
        )
        .where(audit_log.c.store_id == store_id, audit_log.c.action == action)
        .order_by(audit_log.c.created_at.desc(), audit_log.c.id.desc())
        .limit(limit)
    )
    return query_frame(engine, query, CHANGE_LOG_SCHEMA)

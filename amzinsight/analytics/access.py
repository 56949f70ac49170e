"""The last check of which Amazon APIs a store reaches, as recorded by amzinsight/ingest/access.py:
the Sync page shows it without calling Amazon."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.db.tables import store_access_checks


@dataclass(frozen=True)
class RecordedAccess:
    """One API as last checked: ok True reachable, False missing, None unknown or not checked."""

    api: str
    ok: bool | None
    sentence: str
    checked_at: datetime


def last_access_check(engine: Engine, store_id: int) -> list[RecordedAccess]:
    """The store's last check in the order it was made; empty when it was never checked."""
    table = store_access_checks
    query = (
        sa.select(table.c.api, table.c.ok, table.c.sentence, table.c.checked_at)
        .where(table.c.store_id == store_id)
        .order_by(table.c.position)
    )
    with engine.connect() as connection:
        return [RecordedAccess(*row) for row in connection.execute(query)]

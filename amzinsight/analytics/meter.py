"""When Amazon's Sales and Traffic meter lets the next report go: for the Sync page, read-only
(the slots are taken by amzinsight/ingest/meter.py; the rule is amzinsight/rules/meter.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.db.tables import api_meter_slots
from amzinsight.rules.meter import Meter, next_slot


@dataclass(frozen=True)
class MeterState:
    next_free: datetime
    """The earliest slot a new request would get."""
    reserved_ahead: int
    """Slots taken for later: windows waiting for their turn."""
    used_today: int
    """Requests made in the last (meter) day."""


def meter_state(
    engine: Engine, meter: Meter, store_id: int, now: datetime | None = None
) -> MeterState | None:
    """The meter this store's syncs count against (the key of its latest slot: every store on
    the same application shares it), or None when the store never requested such a report."""
    now = now or datetime.now(UTC)
    slots = api_meter_slots
    with engine.connect() as connection:
        key = connection.execute(
            sa.select(slots.c.meter_key)
            .where(slots.c.store_id == store_id)
            .order_by(slots.c.slot_at.desc())
            .limit(1)
        ).scalar()
        if key is None:
            return None
        rows = connection.execute(
            sa.select(slots.c.slot_at, slots.c.used)
            .where(slots.c.meter_key == key, slots.c.slot_at > now - meter.day)
            .order_by(slots.c.slot_at)
        ).all()
    taken = [row.slot_at for row in rows]
    return MeterState(
        next_free=next_slot(meter, taken, now),
        reserved_ahead=sum(1 for row in rows if not row.used and row.slot_at > now),
        used_today=sum(1 for row in rows if row.used),
    )

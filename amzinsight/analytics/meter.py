"""When Amazon's Sales and Traffic meter lets the next report go: for the Sync page, read-only
(the slots are taken by amzinsight/ingest/meter.py; the rule is amzinsight/rules/meter.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.db.tables import api_meter_slots
from amzinsight.rules.meter import Meter, meter_key, next_slot


@dataclass(frozen=True)
class MeterState:
    next_free: datetime
    """The earliest slot a new request would get."""
    reserved_ahead: int
    """Slots taken for later: windows waiting for their turn."""
    used_today: int
    """Requests made in the last (meter) day."""


def meter_state(
    engine: Engine, meter: Meter, application: str | None, now: datetime | None = None
) -> MeterState:
    now = now or datetime.now(UTC)
    slots = api_meter_slots
    key = meter_key(meter, application)
    with engine.connect() as connection:
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

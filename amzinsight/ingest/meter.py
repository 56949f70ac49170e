"""Amazon's meters on single operations, kept by reserving every call before making it.

Since April 2026 Amazon allows GET_SALES_AND_TRAFFIC_REPORT to be requested once every 15
minutes and 96 times in 24 hours per application, across every seller the application serves
(Amazon support in github amzn/selling-partner-api-models issue 5210; docs/amazon-formats.md
8.1). A request beyond it is refused with 429 QuotaExceeded and wastes nothing but time, yet a
loop of such refusals never loads a day. So every call under a meter first takes a slot here, in
PostgreSQL under an advisory lock: concurrent jobs, three clicks on "Sync now" and the schedule
get consecutive slots, never two in one interval, never more than the day allows. A slot is held
by the sync window that needs it (its job id): asking again returns the same slot, so a window
waiting for its slot does not take a second one. A slot in the future means: come back then
(the worker schedules the window's job for that time; the CLI waits for it).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.db.tables import api_meter_slots
from amzinsight.errors import AmzInsightError
from amzinsight.rules.meter import Meter, meter_interval_label, next_slot


class MeterWait(AmzInsightError):
    """The call's slot is later than now: the caller comes back at `slot_at`."""

    def __init__(self, meter: Meter, slot_at: datetime, key: str, holder: str) -> None:
        self.meter = meter
        self.slot_at = slot_at
        self.key = key
        self.holder = holder
        super().__init__(
            f"Amazon allows a Sales and Traffic report once every "
            f"{meter_interval_label(meter)} and {meter.per_day} a day per application; "
            f"this one is due at {slot_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC."
        )


def reserve(
    engine: Engine,
    meter: Meter,
    key: str,
    holder: str,
    store_id: int,
    now: datetime | None = None,
) -> datetime | None:
    """When `holder` may make its call: its reserved slot, else the next free one, now reserved;
    None when the holder made its call less than an interval ago (a second job of the same window,
    such as a click's, arriving just after the scheduled one: the window is loaded already).

    A slot at or before now is used at once (the caller calls now); a later one stays reserved
    for the holder until it asks again at that time.
    """
    now = now or datetime.now(UTC)
    slots = api_meter_slots
    slot_at: datetime
    with engine.begin() as connection:
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(key))))
        just_used = connection.execute(
            sa.select(sa.func.count()).where(
                slots.c.meter_key == key,
                slots.c.holder == holder,
                slots.c.used,
                slots.c.slot_at > now - meter.interval,
            )
        ).scalar()
        if just_used:
            return None
        mine = connection.execute(
            sa.select(slots.c.id, slots.c.slot_at)
            .where(slots.c.meter_key == key, slots.c.holder == holder, ~slots.c.used)
            .order_by(slots.c.slot_at)
            .limit(1)
        ).first()
        if mine is not None:
            slot_id, slot_at = mine[0], mine[1]
        else:
            taken = connection.execute(
                sa.select(slots.c.slot_at)
                .where(slots.c.meter_key == key, slots.c.slot_at > now - meter.day)
                .order_by(slots.c.slot_at)
            ).scalars()
            slot_at = next_slot(meter, list(taken), now)
            slot_id = connection.execute(
                sa.insert(slots)
                .values(store_id=store_id, meter_key=key, holder=holder, slot_at=slot_at)
                .returning(slots.c.id)
            ).scalar_one()
        if slot_at <= now:
            connection.execute(sa.update(slots).where(slots.c.id == slot_id).values(used=True))
        # Slots older than a day no longer count: keep the table small.
        connection.execute(
            sa.delete(slots).where(slots.c.meter_key == key, slots.c.slot_at < now - 2 * meter.day)
        )
    return slot_at


def finish_estimate(
    engine: Engine, meter: Meter, key: str, calls: int, now: datetime | None = None
) -> datetime:
    """When `calls` more calls under the meter could all have been made, reserving nothing."""
    now = now or datetime.now(UTC)
    slots = api_meter_slots
    with engine.connect() as connection:
        taken = list(
            connection.execute(
                sa.select(slots.c.slot_at)
                .where(slots.c.meter_key == key, slots.c.slot_at > now - meter.day)
                .order_by(slots.c.slot_at)
            ).scalars()
        )
    finish = now
    for _ in range(calls):
        finish = next_slot(meter, taken, now)
        taken.append(finish)
    return finish

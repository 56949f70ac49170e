"""Amazon's per-application meter on Sales and Traffic reports, kept in PostgreSQL: every call
takes a slot first; slots keep the interval and the daily cap whoever asks, however many at once.
"""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.ingest.meter import (
    SALES_TRAFFIC_METER,
    Meter,
    finish_estimate,
    meter_key,
    next_slot,
    reserve,
)

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
METER = Meter("test", timedelta(minutes=15), 4, timedelta(hours=2))


def test_next_slot_keeps_the_interval_and_the_daily_cap() -> None:
    assert next_slot(METER, [], NOW) == NOW
    assert next_slot(METER, [NOW - timedelta(minutes=5)], NOW) == NOW + timedelta(minutes=10)
    assert next_slot(METER, [NOW - timedelta(hours=1)], NOW) == NOW
    four = [NOW - timedelta(minutes=90 - 15 * n) for n in range(4)]  # 4 in the last 2 hours
    assert next_slot(METER, four, NOW) == four[0] + METER.day
    assert SALES_TRAFFIC_METER.at_speed(900).interval == timedelta(seconds=1)


def add_store(engine: sa.Engine) -> int:
    with engine.begin() as connection:
        return int(
            connection.execute(
                sa.insert(tables.stores)
                .values(slug="shop", name="Shop", region="na")
                .returning(tables.stores.c.id)
            ).scalar_one()
        )


def test_a_holder_keeps_its_slot_and_uses_it_once(migrated_database_url: str) -> None:
    engine = get_engine(migrated_database_url)
    store = add_store(engine)
    key = meter_key(METER, "amzn1.application-oa2-client.test")

    first = reserve(engine, METER, key, "window-a", store, NOW)
    waiting = reserve(engine, METER, key, "window-b", store, NOW)
    again = reserve(engine, METER, key, "window-b", store, NOW + timedelta(minutes=1))
    used = reserve(engine, METER, key, "window-b", store, NOW + timedelta(minutes=15))
    just_done = reserve(engine, METER, key, "window-b", store, NOW + timedelta(minutes=16))
    next_day = reserve(engine, METER, key, "window-b", store, NOW + timedelta(minutes=31))

    assert first == NOW
    assert waiting == again == used == NOW + timedelta(minutes=15)  # one slot, not three
    assert just_done is None  # a second job of the window, just after: it is loaded already
    assert next_day == NOW + timedelta(minutes=31)  # a later pull takes a new slot
    assert "amzn1" not in key  # the application is a digest in the table


def test_concurrent_reservations_never_share_an_interval(migrated_database_url: str) -> None:
    engine = get_engine(migrated_database_url)
    store_id = add_store(engine)
    key = meter_key(METER, "app")
    found: list[datetime] = []
    start = threading.Barrier(6)

    def click(number: int) -> None:
        start.wait()
        found.append(reserve(engine, METER, key, f"click-{number}", store_id, NOW))

    threads = [threading.Thread(target=click, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    slots = sorted(found)
    assert len(set(slots)) == 6
    assert all(b - a >= METER.interval for a, b in itertools.pairwise(slots))
    in_two_hours = [slot for slot in slots if slot < NOW + METER.day]
    assert len(in_two_hours) <= METER.per_day
    with engine.connect() as connection:
        count = connection.execute(sa.select(sa.func.count()).select_from(tables.api_meter_slots))
        assert count.scalar() == 6


def test_the_plan_says_when_the_metered_calls_can_be_done(migrated_database_url: str) -> None:
    engine = get_engine(migrated_database_url)
    store = add_store(engine)
    key = meter_key(METER, "app")
    reserve(engine, METER, key, "scheduled", store, NOW)

    done = finish_estimate(engine, METER, key, 3, NOW)

    assert done == NOW + 3 * METER.interval  # after the taken slot, three more, 15 minutes apart
    with engine.connect() as connection:  # an estimate reserves nothing
        count = connection.execute(sa.select(sa.func.count()).select_from(tables.api_meter_slots))
        assert count.scalar() == 1

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
from amzinsight.ingest.meter import finish_estimate, reserve
from amzinsight.rules.meter import SALES_TRAFFIC_METER, Meter, meter_key, next_slot

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


@pytest.mark.redis
def test_a_window_whose_slot_is_later_comes_back_then_as_a_scheduled_job(
    migrated_database_url: str, private_redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's side: a Sales and Traffic window whose slot is 15 minutes away (Amazon's
    pace) makes no call; its job is scheduled for the slot, which stays the window's."""
    from amzinsight_sandbox import demo_account, demo_environment
    from redis import Redis
    from rq_scheduler import Scheduler

    from amzinsight.config import get_settings
    from amzinsight.stores import StoreEndpoints, add_store
    from workers.connection import INGEST_QUEUE
    from workers.jobs import sync_window

    account = demo_account(asins=4, days=10)
    for name, value in demo_environment(account, "shop").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", private_redis_url)
    monkeypatch.setenv("AMZ_SYNC_METER_SPEED", "1")  # Amazon's own clock: 15 minutes a slot
    get_settings.cache_clear()
    engine = get_engine(migrated_database_url)
    closed = "http://127.0.0.1:9"  # nothing listens: the test fails if a call is made
    store = add_store(
        engine, slug="shop", name="Shop", country_codes=["US"],
        endpoints=StoreEndpoints(closed, closed + "/auth/o2/token", closed), is_sandbox=True,
    )  # fmt: skip
    key = meter_key(SALES_TRAFFIC_METER, account.lwa_client_id)
    taken = datetime.now(UTC)
    reserve(engine, SALES_TRAFFIC_METER, key, "another window", store.id, taken)
    day = "2026-12-01"

    result = sync_window("shop", "sales_traffic", "ATVPDKIKX0DER", day, day, "click")

    slot = taken + SALES_TRAFFIC_METER.interval
    assert result["runs"] == [] and result["waiting_until"] == slot.isoformat()
    again = sync_window("shop", "sales_traffic", "ATVPDKIKX0DER", day, day, "click")
    assert again["waiting_until"] == slot.isoformat()  # the same slot: a click takes no second
    scheduler = Scheduler(queue_name=INGEST_QUEUE, connection=Redis.from_url(private_redis_url))
    (job,) = [job for job in scheduler.get_jobs() if "-at-" in job.id]  # one, not two
    assert job.args == ("shop", "sales_traffic", "ATVPDKIKX0DER", day, day, "click")
    with engine.connect() as connection:
        slots = connection.execute(sa.select(sa.func.count()).select_from(tables.api_meter_slots))
        assert slots.scalar() == 2
        runs = connection.execute(sa.select(sa.func.count()).select_from(tables.sync_runs))
        assert runs.scalar() == 0


def test_the_sync_page_reads_the_next_free_slot_without_taking_it(
    migrated_database_url: str,
) -> None:
    from amzinsight.analytics.meter import meter_state

    engine = get_engine(migrated_database_url)
    store = add_store(engine)
    key = meter_key(METER, "app")
    reserve(engine, METER, key, "done", store, NOW)
    reserve(engine, METER, key, "waiting", store, NOW)  # its slot is 15 minutes later

    state = meter_state(engine, METER, store, NOW + timedelta(minutes=1))

    assert state is not None
    assert state.used_today == 1 and state.reserved_ahead == 1
    assert state.next_free == NOW + 2 * METER.interval
    assert meter_state(engine, METER, store + 1, NOW) is None  # a store that asked for none

"""The declared schedule on a real Redis: registering twice changes nothing, removals cancel."""

from __future__ import annotations

import pytest
from redis import Redis
from rq_scheduler import Scheduler

from workers.schedule import ScheduledJob, declared_schedule, register_schedule

pytestmark = pytest.mark.redis

STORES = ["acme_us", "acme_eu"]


@pytest.fixture
def scheduler(redis_url: str) -> Scheduler:
    return Scheduler(queue_name="default", connection=Redis.from_url(redis_url))


def _ids(scheduler: Scheduler) -> list[str]:
    return sorted(job.id for job in scheduler.get_jobs())


def test_registering_twice_changes_nothing(scheduler: Scheduler) -> None:
    declared = declared_schedule(STORES)
    first = register_schedule(scheduler, declared)
    second = register_schedule(scheduler, declared)

    assert sorted(first["added"]) == sorted(job.id for job in declared)
    assert second["added"] == [] and second["changed"] == [] and second["cancelled"] == []
    assert _ids(scheduler) == sorted(job.id for job in declared)


def test_a_job_removed_from_the_list_is_cancelled(scheduler: Scheduler) -> None:
    extra = ScheduledJob("sync-demo-orders", "0 * * * *", "workers.jobs.fail_abandoned_runs")
    register_schedule(scheduler, [*declared_schedule(STORES), extra])
    assert extra.id in _ids(scheduler)

    report = register_schedule(scheduler, declared_schedule(STORES))

    assert report["cancelled"] == [extra.id]
    assert extra.id not in _ids(scheduler)


def test_a_changed_cron_string_is_rescheduled(scheduler: Scheduler) -> None:
    job = ScheduledJob("sync-demo-orders", "0 * * * *", "workers.jobs.fail_abandoned_runs")
    register_schedule(scheduler, [job])
    moved = ScheduledJob("sync-demo-orders", "30 * * * *", job.func)

    report = register_schedule(scheduler, [moved])

    assert report["changed"] == [job.id]
    (stored,) = scheduler.get_jobs()
    assert stored.meta["cron_string"] == "30 * * * *"


def test_jobs_it_did_not_create_are_left_alone(scheduler: Scheduler) -> None:
    from datetime import timedelta

    foreign = scheduler.enqueue_in(timedelta(hours=1), "workers.jobs.fail_abandoned_runs")
    register_schedule(scheduler, [])
    assert foreign.id in _ids(scheduler)


def test_every_store_gets_every_report_type_and_a_removed_store_is_cancelled(
    scheduler: Scheduler,
) -> None:
    register_schedule(scheduler, declared_schedule(STORES))
    ids = _ids(scheduler)
    assert "plan-acme_us-orders" in ids and "plan-acme_eu-settlement" in ids

    report = register_schedule(scheduler, declared_schedule(["acme_us"]))

    assert sorted(report["cancelled"]) == sorted(i for i in ids if i.startswith("plan-acme_eu-"))
    assert not any(i.startswith("plan-acme_eu-") for i in _ids(scheduler))


def test_every_scheduled_report_is_a_registered_report_type() -> None:
    from amzinsight.reports import REPORTS
    from workers.schedule import REPORT_SCHEDULE

    assert set(REPORT_SCHEDULE) <= set(REPORTS)
    assert set(REPORT_SCHEDULE) == {k for k, s in REPORTS.items() if s.acquisition != "file"} - {
        "fba_inventory"  # the inventory API is scheduled instead; the report stays available
    }

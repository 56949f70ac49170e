"""The declared schedule, and its idempotent registration with rq-scheduler.

Registering the same list twice changes nothing; a job removed from the list is cancelled;
a job whose cron string changed is rescheduled. Only jobs this module created are touched.
"""

from __future__ import annotations

from dataclasses import dataclass

from rq_scheduler import Scheduler

from workers.connection import DEFAULT_QUEUE

OWNER_META_KEY = "amzinsight_schedule"


@dataclass(frozen=True)
class ScheduledJob:
    """One periodic job; a stable `id` (letters, digits, `_`, `-`) makes re-registering a no-op."""

    id: str
    cron: str
    func: str  # dotted path, so the scheduler process need not import the job's dependencies
    args: tuple[str | int, ...] = ()
    queue: str = DEFAULT_QUEUE


def declared_schedule() -> list[ScheduledJob]:
    """Every periodic job. Per-store report syncs join this list with the sync engine."""
    return [
        ScheduledJob(
            id="housekeeping-fail-abandoned-runs",
            cron="*/15 * * * *",
            func="workers.jobs.fail_abandoned_runs",
        ),
    ]


def register_schedule(scheduler: Scheduler, declared: list[ScheduledJob]) -> dict[str, list[str]]:
    """Make the scheduler hold exactly `declared`; returns what was added, changed and cancelled."""
    wanted = {job.id: job for job in declared}
    existing = {job.id: job for job in scheduler.get_jobs() if job.meta.get(OWNER_META_KEY) is True}
    report: dict[str, list[str]] = {"added": [], "changed": [], "unchanged": [], "cancelled": []}
    for job_id, job in existing.items():
        if job_id not in wanted:
            scheduler.cancel(job)
            job.delete()
            report["cancelled"].append(job_id)
    for job_id, spec in wanted.items():
        current = existing.get(job_id)
        if current is not None and _same(current, spec):
            report["unchanged"].append(job_id)
            continue
        if current is not None:
            scheduler.cancel(current)
        scheduler.cron(
            spec.cron,
            func=spec.func,
            args=list(spec.args),
            id=spec.id,
            queue_name=spec.queue,
            meta={OWNER_META_KEY: True},
        )
        report["changed" if current is not None else "added"].append(job_id)
    return report


def _same(job, spec: ScheduledJob) -> bool:  # type: ignore[no-untyped-def]
    return (
        job.meta.get("cron_string") == spec.cron
        and job.func_name == spec.func
        and tuple(job.args) == spec.args
        and job.origin == spec.queue
    )

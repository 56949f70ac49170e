"""The declared schedule, and its idempotent registration with rq-scheduler.

Registering the same list twice changes nothing; a job removed from the list is cancelled;
a job whose cron string changed is rescheduled. Only jobs this module created are touched.
"""

from __future__ import annotations

from dataclasses import dataclass

from rq.job import Job
from rq_scheduler import Scheduler

from workers.connection import DEFAULT_QUEUE, INGEST_QUEUE

OWNER_META_KEY = "amzinsight_schedule"


@dataclass(frozen=True)
class ScheduledJob:
    """One periodic job; a stable `id` (letters, digits, `_`, `-`) makes re-registering a no-op."""

    id: str
    cron: str
    func: str  # dotted path, so the scheduler process need not import the job's dependencies
    args: tuple[str | int, ...] = ()
    queue: str = DEFAULT_QUEUE


# When each report type is pulled for every store (cron, UTC). Minutes are spread so that one
# store's syncs do not all hit Amazon's createReport quota (1 per minute) at once.
REPORT_SCHEDULE = {
    "orders": "7 * * * *",  # hourly: orders change status all day
    "inventory_summaries": "17 */4 * * *",  # every 4 hours
    "sales_traffic": "27 8 * * *",  # daily, after Amazon settles yesterday
    # daily: days older than the report's, and the last week again (Amazon fills them in)
    "sales_traffic_history": "17 8 * * *",
    "settlement": "37 9 * * *",  # daily: Amazon publishes settlements every 14 days
    # daily: transactions of the last two weeks again (deferred money released, late arrivals)
    "finance_transactions": "27 9 * * *",
    "listings": "47 9 * * *",  # daily
    "catalog": "57 10 * * *",  # daily, after listings (it looks up their ASINs)
    # Amazon Ads: entities first (bids and states), then the daily reports; each sync re-pulls
    # the last AMZ_ADS_LOOKBACK_DAYS days, which Amazon restates.
    "sp_entities": "3 */4 * * *",
    "sp_campaigns": "13 7 * * *",
    "sp_ad_groups": "23 7 * * *",
    "sp_targeting": "33 7 * * *",
    "sp_search_term": "43 7 * * *",
    "sp_advertised_product": "53 7 * * *",
    "sp_purchased_product": "3 8 * * *",
}


def declared_schedule(store_slugs: list[str], order_retention: bool = False) -> list[ScheduledJob]:
    """Every periodic job: housekeeping, each report type for each registered store, and the
    daily order retention when AMZ_PRIVACY_ORDER_RETENTION_DAYS is set (`order_retention`)."""
    jobs = [
        ScheduledJob(
            id="housekeeping-fail-abandoned-runs",
            cron="*/15 * * * *",
            func="workers.jobs.fail_abandoned_runs",
        ),
        ScheduledJob(
            id="housekeeping-refresh-schedule",
            cron="*/10 * * * *",
            func="workers.jobs.refresh_schedule",
        ),
    ]
    if order_retention:
        jobs.append(
            ScheduledJob(
                id="housekeeping-redact-order-shipping",
                cron="21 3 * * *",  # daily, at a quiet hour
                func="workers.jobs.redact_old_order_shipping",
            )
        )
    for slug in sorted(store_slugs):
        for report_key, cron in REPORT_SCHEDULE.items():
            jobs.append(
                ScheduledJob(
                    id=f"plan-{slug}-{report_key}",
                    cron=cron,
                    func="workers.jobs.plan_sync",
                    args=(slug, report_key),
                    queue=INGEST_QUEUE,
                )
            )
    return jobs


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


def _same(job: Job, spec: ScheduledJob) -> bool:
    return (
        job.meta.get("cron_string") == spec.cron
        and job.func_name == spec.func
        and tuple(job.args) == spec.args
        and job.origin == spec.queue
    )

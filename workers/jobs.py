"""RQ job functions: strings and numbers in, a small dict out; the work happens in amzinsight."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from rq import Retry, get_current_job
from rq.job import Job
from rq_scheduler import Scheduler

from amzinsight.config import Settings, get_settings
from amzinsight.errors import ConfigError
from amzinsight.ingest import runs
from amzinsight.ingest.access import check_and_record
from amzinsight.ingest.meter import MeterWait
from amzinsight.ingest.pipeline import RunRequest, finish_run, start_run
from amzinsight.ingest.sync import (
    SyncTask,
    ads_profiles_by_marketplace,
    client_for,
    is_ads,
    plan_tasks,
    prepare_ads,
    require_sp_credentials,
    run_task,
)
from amzinsight.ingest.windows import DateWindow
from amzinsight.privacy import redact_archived_orders, redact_order_shipping
from amzinsight.reports import get_report
from amzinsight.reports.base import ReportSpec
from amzinsight.rules.periods import local_today
from amzinsight.runtime import Runtime, build_runtime
from amzinsight.stores import Store, StoreMarketplace, get_store, list_stores, never_synced
from workers.connection import DEFAULT_QUEUE, INGEST_QUEUE, redis_connection
from workers.queueing import (
    enqueue_unique,
    job_id,
    live_job,
    report_progress,
    store_jobs,
    sync_retry,
)
from workers.schedule import REPORT_SCHEDULE, declared_schedule, register_schedule

logger = logging.getLogger(__name__)


def plan_sync(store_slug: str, report_key: str, triggered_by: str = "schedule") -> dict[str, Any]:
    """Plan a report's windows from its cursor and enqueue one job per window."""
    runtime = build_runtime()
    store = get_store(runtime.engine, store_slug)
    spec = get_report(report_key)
    if is_ads(spec) and not prepare_ads(runtime.engine, runtime.settings, store):
        return {"windows": 0, "enqueued": 0, "skipped": "no Amazon Ads credentials"}
    if not is_ads(spec):
        _require_credentials(runtime, store, spec, triggered_by)
    tasks = plan_tasks(
        runtime.engine,
        store,
        spec,
        runtime.settings.sync.initial_days,
        ads_lookback_days=runtime.settings.ads.lookback_days,
    )
    connection = redis_connection(runtime.settings)
    created = 0
    retry = sync_retry(runtime.settings.sync.retry_delays_seconds)
    for task in tasks:
        _job, is_new = enqueue_window(connection, store_slug, task, triggered_by, retry)
        created += is_new
    return {"windows": len(tasks), "enqueued": created}


def _require_credentials(
    runtime: Runtime, store: Store, spec: ReportSpec, triggered_by: str
) -> None:
    """Without SP-API credentials every window would fail alike: record one failed run with the
    sentence (the Sync page shows it) and fail this job, which is never retried."""
    try:
        require_sp_credentials(runtime.settings, store.slug)
    except ConfigError as error:
        job = get_current_job()
        request = RunRequest(
            store, spec, "sp_api", job_id=job.id if job else None, triggered_by=triggered_by
        )
        finish_run(runtime.engine, start_run(runtime.engine, request), "failed", str(error))
        raise


def plan_job_id(store_slug: str, report_key: str, trigger: str) -> str:
    return job_id("plan", store_slug, report_key, trigger)


def enqueue_window(
    connection: Any, store_slug: str, task: SyncTask, triggered_by: str, retry: Retry | None
) -> tuple[Job, bool]:
    start = task.window.start.isoformat() if task.window else None
    end = task.window.end.isoformat() if task.window else None
    identifier = window_job_id(store_slug, task.spec.key, task.marketplace, task.window)
    return enqueue_unique(
        connection,
        sync_window,
        identifier,
        args=(store_slug, task.spec.key, task.marketplace.marketplace_id, start, end, triggered_by),
        retry=retry,
        description=f"{task.spec.key} for {store_slug} {start or 'snapshot'}..{end or ''}",
    )


def window_job_id(
    store_slug: str, report_key: str, marketplace: StoreMarketplace, window: DateWindow | None
) -> str:
    """A window's job, or a snapshot's: one a day, the marketplace's local day."""
    marketplace_id = marketplace.marketplace_id
    if window is None:
        today = local_today(marketplace.time_zone)
        return job_id("sync", store_slug, report_key, marketplace_id, today)
    return job_id("sync", store_slug, report_key, marketplace_id, window.start, window.end)


def sync_window(
    store_slug: str,
    report_key: str,
    marketplace_id: str,
    start: str | None,
    end: str | None,
    triggered_by: str = "schedule",
) -> dict[str, Any]:
    """Pull and load one report window; progress goes to job meta and sync_runs."""
    runtime = build_runtime()
    store = get_store(runtime.engine, store_slug)
    spec = get_report(report_key)
    window = (
        DateWindow(date.fromisoformat(start), date.fromisoformat(end)) if start and end else None
    )
    profile_id = ads_profiles_by_marketplace(runtime.engine, store.id).get(marketplace_id)
    task = SyncTask(spec, store.marketplace(marketplace_id), window, profile_id)
    job = get_current_job()

    def progress(message: str) -> None:
        if job is not None:
            job.meta["progress"] = message
            job.save_meta()  # type: ignore[no-untyped-call]  # rq is untyped

    holder = window_job_id(store_slug, report_key, task.marketplace, window)
    try:
        outcomes = run_task(
            runtime.engine,
            runtime.archive,
            client_for(runtime.settings, store, task),
            store,
            task,
            job_id=job.id if job else None,
            triggered_by=triggered_by,
            progress=progress,
            holder=holder,
        )
    except MeterWait as wait:
        # The window keeps its slot: the same job comes back then (one scheduled job per slot).
        connection = redis_connection(runtime.settings)
        scheduler = Scheduler(queue_name=INGEST_QUEUE, connection=connection)
        scheduler.enqueue_at(
            wait.slot_at,
            sync_window,
            store_slug,
            report_key,
            marketplace_id,
            start,
            end,
            triggered_by,
            job_id=f"{holder}-at-{wait.slot_at:%Y%m%dT%H%M%S%f}",
            job_description=f"{report_key} for {store_slug} {start}..{end}, Amazon's meter",
        )
        progress(str(wait))
        return {"runs": [], "statuses": [], "rows": 0, "waiting_until": wait.slot_at.isoformat()}
    return {
        "runs": [outcome.run_id for outcome in outcomes],
        "statuses": [outcome.status for outcome in outcomes],
        "rows": sum(outcome.rows_upserted for outcome in outcomes),
    }


def access_job_id(store_slug: str) -> str:
    return job_id("access", store_slug)


def enqueue_access_check(connection: Any, store_slug: str) -> tuple[Job, bool]:
    """The store's access check, or the one already queued or running (a second click finds it)."""
    return enqueue_unique(
        connection,
        check_store_access,
        access_job_id(store_slug),
        args=(store_slug,),
        retry=None,  # a check is asked for by a person; a retry would only repeat its answer
        description=f"check which Amazon APIs {store_slug} reaches",
    )


def check_store_access(store_slug: str) -> dict[str, Any]:
    """Check which Amazon APIs the store's credentials reach and record it for the Sync page."""
    runtime = build_runtime()
    store = get_store(runtime.engine, store_slug)
    report_progress("Asking Amazon, one call per API", 0.1)
    checks = check_and_record(runtime.engine, runtime.settings, store)
    return {
        "checks": [
            {"api": check.api, "ok": check.ok, "sentence": check.sentence} for check in checks
        ],
        "missing": sum(1 for check in checks if check.ok is False),
    }


def refresh_schedule() -> dict[str, int]:
    """Re-register the schedule so stores added or deleted since are picked up."""
    runtime = build_runtime(get_settings())
    connection = redis_connection(runtime.settings)
    slugs = [store.slug for store in list_stores(runtime.engine)]
    scheduler = Scheduler(queue_name=DEFAULT_QUEUE, connection=connection)
    retention = runtime.settings.privacy.order_retention_days is not None
    report = register_schedule(scheduler, declared_schedule(slugs, order_retention=retention))
    summary = {name: len(ids) for name, ids in report.items()}
    summary["first_syncs"] = enqueue_first_syncs(connection, never_synced(runtime.engine))
    return summary


def enqueue_first_syncs(connection: Any, store_slugs: list[str]) -> int:
    """A store never synced gets every report type now, not at the next cron time."""
    created = 0
    for slug in store_slugs:
        for report_key in REPORT_SCHEDULE:  # listings before catalog, which needs their ASINs
            _job, is_new = enqueue_unique(
                connection,
                plan_sync,
                plan_job_id(slug, report_key, "first"),
                args=(slug, report_key, "first sync"),
                retry=None,
            )
            created += is_new
    return created


def fail_abandoned_runs() -> dict[str, int]:
    """Housekeeping: runs whose RQ job no longer exists or ended without finishing the run."""
    runtime = build_runtime()
    connection = redis_connection(runtime.settings)

    def job_is_alive(identifier: str | None) -> bool:
        return identifier is not None and live_job(connection, identifier) is not None

    return {"failed": runs.fail_abandoned_runs(runtime.engine, job_is_alive)}


def redact_old_order_shipping() -> dict[str, Any]:
    """Daily: blank order shipping details older than AMZ_PRIVACY_ORDER_RETENTION_DAYS, in the
    tables and in the archived order files."""
    runtime = build_runtime()
    days = runtime.settings.privacy.order_retention_days
    if days is None:
        return {"skipped": "AMZ_PRIVACY_ORDER_RETENTION_DAYS is not set"}
    now = datetime.now(UTC)
    redacted = redact_order_shipping(runtime.engine, days, now)
    # The raw files too, or a replay would bring the addresses back (their count is logged).
    redact_archived_orders(runtime.engine, runtime.archive, days, now)
    return {"days": days, "redacted": redacted}


def cancel_store_jobs(settings: Settings, slug: str) -> int:
    """Cancel a deleted store's queued, running and retrying jobs, then drop its scheduled ones.

    Call it after the store is gone from the database: re-registering the schedule then no
    longer declares the store's periodic jobs, so they are cancelled too.
    """
    connection = redis_connection(settings)
    cancelled = 0
    for entry in store_jobs(connection, slug):
        job = live_job(connection, entry["job"])
        if job is not None:
            job.cancel()
            job.delete()
            cancelled += 1
    cancelled += refresh_schedule().get("cancelled", 0)
    return cancelled

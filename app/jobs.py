"""Job control the pages need, over workers/ (pages never import workers themselves)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from redis import Redis

from app.context import redis_or_none, settings
from workers.bidding_jobs import (
    apply_job_id,
    enqueue_apply,
    enqueue_recompute,
    enqueue_undo,
    recompute_job_id,
    undo_job_id,
)
from workers.jobs import (
    access_job_id,
    cancel_store_jobs,
    enqueue_access_check,
    plan_job_id,
    plan_sync,
)
from workers.queueing import JobOutcome, enqueue_unique, job_outcome, store_jobs
from workers.upload_jobs import enqueue_upload


def store_job_canceller() -> Callable[[str], int] | None:
    """Cancels a deleted store's queued and scheduled jobs; None when Redis is down (the page
    then says the jobs were not cancelled, instead of failing after the rows are gone)."""
    if redis_or_none() is None:
        return None
    current = settings()
    return lambda slug: cancel_store_jobs(current, slug)


def queue_sync_now(connection: Redis, store_slug: str, report_key: str) -> bool:
    """Queue the planning of one report's sync from the Sync page; False when one is already
    queued or running (a second click does not queue it twice)."""
    _job, created = enqueue_unique(
        connection,
        plan_sync,
        plan_job_id(store_slug, report_key, "now"),
        args=(store_slug, report_key, "sync page"),
        retry=None,
    )
    return created


def live_store_jobs(connection: Redis, store_slug: str) -> list[dict[str, Any]]:
    """A store's queued, running and retrying jobs with their progress."""
    return store_jobs(connection, store_slug)


# --- long work the pages hand to the worker (ids are deterministic: a second click finds it) ---


def job_state(connection: Redis, identifier: str) -> JobOutcome | None:
    """A job as it stands (waiting, running, or ended with its result); None once gone."""
    return job_outcome(connection, identifier)


def recompute_job(store_slug: str, today: date) -> str:
    return recompute_job_id(store_slug, today)


def apply_job(store_slug: str) -> str:
    return apply_job_id(store_slug)


def undo_job(store_slug: str) -> str:
    return undo_job_id(store_slug)


def queue_recompute(
    connection: Redis, store_slug: str, today: date, target_acos: float | None
) -> tuple[str, bool]:
    """Recompute the store's recommendations as of the marketplace's local `today`; the job id,
    and False when that recompute was already queued or running."""
    job, created = enqueue_recompute(connection, store_slug, today, target_acos)
    return job.id, created


def queue_apply(
    connection: Redis, store_slug: str, recommendation_ids: list[int], actor: str
) -> tuple[str, bool]:
    """Send approved recommendations to Amazon Ads from the worker, recorded under `actor`."""
    job, created = enqueue_apply(connection, store_slug, recommendation_ids, actor)
    return job.id, created


def queue_undo(
    connection: Redis, store_slug: str, change_ids: list[int], actor: str
) -> tuple[str, bool]:
    """Revert applied changes at Amazon Ads from the worker, recorded under `actor`."""
    job, created = enqueue_undo(connection, store_slug, change_ids, actor)
    return job.id, created


def queue_upload(connection: Redis, store_slug: str, name: str, content: bytes) -> tuple[str, bool]:
    """Save an uploaded report file under the data directory and queue its import."""
    job, created = enqueue_upload(connection, settings().data_dir, store_slug, name, content)
    return job.id, created


def access_job(store_slug: str) -> str:
    return access_job_id(store_slug)


def queue_access_check(connection: Redis, store_slug: str) -> tuple[str, bool]:
    """Check which Amazon APIs the store reaches, from the worker (the page never calls Amazon);
    the job id, and False when a check was already queued or running."""
    job, created = enqueue_access_check(connection, store_slug)
    return job.id, created

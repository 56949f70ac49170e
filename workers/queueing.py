"""Enqueue a job under a deterministic id: a second click on "Sync now" finds the running job."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus

from workers.connection import INGEST_QUEUE

LIVE_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
SYNC_JOB_TIMEOUT = 3 * 3600  # a report can stay IN_PROGRESS for a long time at Amazon


def job_id(*parts: str | date | None) -> str:
    """`sync-acme_us-orders-ATVPDKIKX0DER-2026-01-01-2026-01-30`: letters, digits, `_`, `-`."""
    return "-".join(_UNSAFE.sub("_", str(part)) for part in parts if part is not None)


def sync_retry(delays_seconds: list[int]) -> Retry | None:
    """Amazon's throttles and outages clear within minutes: retry after each delay in turn."""
    return Retry(max=len(delays_seconds), interval=delays_seconds) if delays_seconds else None


def enqueue_unique(
    connection: Redis,
    func: Callable[..., Any],
    identifier: str,
    args: tuple[str | int | None, ...] = (),
    queue_name: str = INGEST_QUEUE,
    retry: Retry | None = None,
    description: str | None = None,
) -> tuple[Job, bool]:
    """The live job with this id, or a newly enqueued one; the flag says which."""
    existing = live_job(connection, identifier)
    if existing is not None:
        return existing, False
    _forget_finished(connection, identifier)
    try:
        job = Queue(queue_name, connection=connection).enqueue(
            func,
            args=args,
            job_id=identifier,
            unique=True,
            retry=retry,
            job_timeout=SYNC_JOB_TIMEOUT,
            result_ttl=24 * 3600,
            failure_ttl=7 * 24 * 3600,
            description=description or identifier,
        )
    except DuplicateJobError:  # a concurrent click won the race
        raced = live_job(connection, identifier)
        if raced is None:
            raise
        return raced, False
    return job, True


def live_job(connection: Redis, identifier: str) -> Job | None:
    """The job with this id while it is queued, running, scheduled or waiting; else None."""
    try:
        job = Job.fetch(identifier, connection=connection)
    except NoSuchJobError:
        return None
    return job if job.get_status(refresh=True) in LIVE_STATUSES else None


def _forget_finished(connection: Redis, identifier: str) -> None:
    """Free the id of a finished or failed job; a job a concurrent caller has just enqueued is
    live and stays (deleting it let two callers each create 'the' job)."""
    with contextlib.suppress(NoSuchJobError):
        job = Job.fetch(identifier, connection=connection)
        if job.get_status(refresh=True) not in LIVE_STATUSES:
            job.delete()


def store_jobs(
    connection: Redis, store_slug: str, queue_name: str = INGEST_QUEUE
) -> list[dict[str, Any]]:
    """Queued, running and retrying jobs of one store, with their progress (for the Sync page)."""
    queue = Queue(queue_name, connection=connection)
    registries = {
        "running": queue.started_job_registry,
        "queued": None,
        "retrying": queue.scheduled_job_registry,
    }
    found: list[dict[str, Any]] = []
    prefixes = (f"sync-{store_slug}-", f"plan-{store_slug}-")
    for state, registry in registries.items():
        ids = queue.get_job_ids() if registry is None else registry.get_job_ids()
        for identifier in ids:
            if not identifier.startswith(prefixes):
                continue
            job = (
                Job.fetch(identifier, connection=connection)
                if Job.exists(identifier, connection)
                else None
            )
            if job is None:
                continue
            found.append(
                {
                    "job": identifier,
                    "state": state,
                    "description": job.description,
                    "progress": job.meta.get("progress", ""),
                    "enqueued_at": job.enqueued_at,
                }
            )
    return found

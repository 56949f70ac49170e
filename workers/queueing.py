"""Enqueue a job under a deterministic id: a second click on "Sync now" finds the running job."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from redis import Redis
from rq import Queue, Retry, get_current_job
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
    args: tuple[Any, ...] = (),
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


# Every job id starts with its kind and the store's slug (sync-acme-…, apply-acme-…).
STORE_JOB_KINDS = ("sync", "plan", "recompute", "apply", "undo", "upload", "access")


def store_jobs(
    connection: Redis, store_slug: str, queue_name: str = INGEST_QUEUE
) -> list[dict[str, Any]]:
    """Queued, running and retrying jobs of one store, with their progress: for the Sync page, and
    so that deleting a store cancels every kind of its work."""
    queue = Queue(queue_name, connection=connection)
    registries = {
        "running": queue.started_job_registry,
        "queued": None,
        "retrying": queue.scheduled_job_registry,
    }
    found: list[dict[str, Any]] = []
    own = tuple(f"{kind}-{store_slug}" for kind in STORE_JOB_KINDS)
    for state, registry in registries.items():
        ids = queue.get_job_ids() if registry is None else registry.get_job_ids()
        for identifier in ids:
            if identifier not in own and not identifier.startswith(tuple(i + "-" for i in own)):
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


def report_progress(message: str, fraction: float | None = None) -> None:
    """What the running job is doing (and how far, 0..1), in its meta for the page following it;
    nothing outside a job (a test or the CLI calling the function directly)."""
    job = get_current_job()
    if job is None:
        return
    job.meta["progress"] = message
    if fraction is not None:
        job.meta["fraction"] = min(max(fraction, 0.0), 1.0)
    job.save_meta()  # type: ignore[no-untyped-call]  # rq is untyped


@dataclass(frozen=True)
class JobOutcome:
    """One job as a page shows it: waiting, running, or ended with its result or failure."""

    identifier: str
    state: str  # "queued", "running", "finished" or "failed"
    progress: str
    fraction: float | None
    result: Any  # the job's return value once finished
    failure: str | None  # RQ's record of an exception that failed the job

    @property
    def live(self) -> bool:
        return self.state in {"queued", "running"}


_STATES = {
    JobStatus.QUEUED: "queued",
    JobStatus.DEFERRED: "queued",
    JobStatus.SCHEDULED: "queued",
    JobStatus.STARTED: "running",
    JobStatus.FINISHED: "finished",
}


def job_outcome(connection: Redis, identifier: str) -> JobOutcome | None:
    """The job with this id as it stands now; None once it is gone (expired or deleted)."""
    try:
        job = Job.fetch(identifier, connection=connection)
    except NoSuchJobError:
        return None
    status = job.get_status(refresh=True)
    if status is None:
        return None
    state = _STATES.get(status, "failed")  # failed, stopped or cancelled
    result = job.return_value() if state == "finished" else None
    failure = None
    if state == "failed":
        latest = job.latest_result()
        failure = (latest.exc_string if latest else None) or f"The job was {status.value}."
    fraction = job.meta.get("fraction")
    return JobOutcome(
        identifier=identifier,
        state=state,
        progress=str(job.meta.get("progress", "")),
        fraction=float(fraction) if fraction is not None else None,
        result=result,
        failure=failure,
    )

"""Job control the pages need, over workers/ (pages never import workers themselves)."""

from __future__ import annotations

from collections.abc import Callable

from app.context import redis_or_none, settings
from workers.jobs import cancel_store_jobs


def store_job_canceller() -> Callable[[str], int] | None:
    """Cancels a deleted store's queued and scheduled jobs; None when Redis is down (the page
    then says the jobs were not cancelled, instead of failing after the rows are gone)."""
    if redis_or_none() is None:
        return None
    current = settings()
    return lambda slug: cancel_store_jobs(current, slug)

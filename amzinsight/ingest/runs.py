"""sync_runs bookkeeping that does not belong to a single run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.db.tables import sync_runs

logger = logging.getLogger(__name__)

UNFINISHED_STATUSES = ("queued", "running")


def fail_abandoned_runs(
    engine: Engine,
    job_is_alive: Callable[[str | None], bool],
    older_than: timedelta = timedelta(minutes=30),
    now: datetime | None = None,
) -> int:
    """Mark runs whose job is gone (worker killed, Redis flushed) as failed, so pages stop waiting.

    A run younger than `older_than` is left alone: its job may not be visible yet.
    """
    cutoff = (now or datetime.now(UTC)) - older_than
    with engine.begin() as connection:
        candidates = connection.execute(
            sa.select(sync_runs.c.id, sync_runs.c.job_id).where(
                sync_runs.c.status.in_(UNFINISHED_STATUSES),
                sync_runs.c.requested_at < cutoff,
            )
        ).all()
        abandoned = [row for row in candidates if not job_is_alive(row.job_id)]
        for row in abandoned:
            connection.execute(
                sa.update(sync_runs)
                .where(sync_runs.c.id == row.id, sync_runs.c.status.in_(UNFINISHED_STATUSES))
                .values(
                    status="failed",
                    finished_at=sa.func.now(),
                    error=(
                        "The job running this sync is gone (its worker stopped before it "
                        "finished); the next sync pulls the same window again."
                    ),
                )
            )
    if abandoned:
        logger.warning("marked %d abandoned sync runs as failed", len(abandoned))
    return len(abandoned)

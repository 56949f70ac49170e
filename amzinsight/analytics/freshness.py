"""When each store's data last arrived, per report type: the first thing people check."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.db.tables import sync_runs

FRESHNESS_SQL = sa.text(
    """
    WITH last_success AS (
        SELECT DISTINCT ON (store_id, report_type)
               store_id, report_type, finished_at AS last_success_at,
               window_end AS last_window_end, rows_upserted AS last_rows
        FROM sync_runs
        WHERE status = 'succeeded'
        ORDER BY store_id, report_type, finished_at DESC NULLS LAST
    ),
    latest AS (
        SELECT DISTINCT ON (store_id, report_type)
               store_id, report_type, status AS latest_status, error AS latest_error,
               coalesce(finished_at, started_at, requested_at) AS latest_at
        FROM sync_runs
        ORDER BY store_id, report_type, coalesce(finished_at, started_at, requested_at) DESC
    ),
    failures AS (
        SELECT r.store_id, r.report_type, count(*) AS failures_since_success
        FROM sync_runs r
        LEFT JOIN last_success s USING (store_id, report_type)
        WHERE r.status = 'failed'
          AND (s.last_success_at IS NULL OR r.finished_at > s.last_success_at)
        GROUP BY r.store_id, r.report_type
    )
    SELECT st.slug AS store_slug, st.name AS store_name, l.report_type,
           s.last_success_at, s.last_window_end, s.last_rows,
           l.latest_status, l.latest_error, l.latest_at,
           coalesce(f.failures_since_success, 0) AS failures_since_success
    FROM stores st
    JOIN latest l ON l.store_id = st.id
    LEFT JOIN last_success s ON s.store_id = l.store_id AND s.report_type = l.report_type
    LEFT JOIN failures f ON f.store_id = l.store_id AND f.report_type = l.report_type
    WHERE (CAST(:store_id AS bigint) IS NULL OR st.id = CAST(:store_id AS bigint))
    ORDER BY st.slug, l.report_type
    """
)

FRESHNESS_SCHEMA = pl.Schema(
    {
        "store_slug": pl.String(),
        "store_name": pl.String(),
        "report_type": pl.String(),
        "last_success_at": pl.Datetime("us", "UTC"),
        "last_window_end": pl.Date(),
        "last_rows": pl.Int64(),
        "latest_status": pl.String(),
        "latest_error": pl.String(),
        "latest_at": pl.Datetime("us", "UTC"),
        "failures_since_success": pl.Int64(),
    }
)


def data_freshness(engine: Engine, store_id: int | None = None) -> pl.DataFrame:
    """Per store and report type ever synced: last success, latest outcome, failures since."""
    with engine.connect() as connection:
        rows = connection.execute(FRESHNESS_SQL, {"store_id": store_id}).mappings().all()
    return pl.DataFrame([dict(row) for row in rows], schema=FRESHNESS_SCHEMA, orient="row")


RUNS_SCHEMA = pl.Schema(
    {
        "id": pl.Int64(),
        "report_type": pl.String(),
        "marketplace_id": pl.String(),
        "source": pl.String(),
        "status": pl.String(),
        "window_start": pl.Date(),
        "window_end": pl.Date(),
        "rows_parsed": pl.Int64(),
        "rows_upserted": pl.Int64(),
        "requested_at": pl.Datetime("us", "UTC"),
        "finished_at": pl.Datetime("us", "UTC"),
        "duration_ms": pl.Int64(),
        "triggered_by": pl.String(),
        "job_id": pl.String(),
        "error": pl.String(),
        "notes": pl.String(),
    }
)


def recent_runs(engine: Engine, store_id: int, limit: int = 200) -> pl.DataFrame:
    """The store's latest sync runs, newest first, with their errors: the Sync page's history."""
    columns = [sync_runs.c[name] for name in RUNS_SCHEMA.names()]
    query = (
        sa.select(*columns)
        .where(sync_runs.c.store_id == store_id)
        .order_by(sync_runs.c.requested_at.desc(), sync_runs.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return pl.DataFrame([tuple(row) for row in rows], schema=RUNS_SCHEMA, orient="row")


def run_counts(engine: Engine, store_id: int) -> dict[str, int]:
    """How many of a store's sync runs are in each status."""
    query = (
        sa.select(sync_runs.c.status, sa.func.count())
        .where(sync_runs.c.store_id == store_id)
        .group_by(sync_runs.c.status)
    )
    with engine.connect() as connection:
        return {status: int(count) for status, count in connection.execute(query)}

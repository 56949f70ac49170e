"""Which days Amazon has reported for a marketplace: what KPI comparisons may fairly cover.

A day counts as reported once its GET_SALES_AND_TRAFFIC_REPORT row for the marketplace is stored:
Amazon publishes a day's sales and traffic a day or two after it ends, so today (and often
yesterday) has none yet, and a store synced for 60 days has nothing older to compare with.
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.db.frames import query_frame
from amzinsight.db.tables import sales_traffic_by_date

COVERAGE_SCHEMA: dict[str, pl.DataType] = {
    "first_reported": pl.Date(),
    "last_reported": pl.Date(),
}


def reported_days(engine: Engine, store_id: int, marketplace_id: str) -> pl.DataFrame:
    """One row: the first and last day with sales and traffic data (both null without any)."""
    t = sales_traffic_by_date
    query = sa.select(
        sa.func.min(t.c.report_date).label("first_reported"),
        sa.func.max(t.c.report_date).label("last_reported"),
    ).where(t.c.store_id == store_id, t.c.marketplace_id == marketplace_id)
    return query_frame(engine, query, COVERAGE_SCHEMA)

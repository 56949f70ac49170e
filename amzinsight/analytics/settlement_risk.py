"""Settlements Amazon listed that the store has not loaded, read from sync_runs.

Amazon's getReports lists a settlement for 90 days after it creates it and a settlement cannot be
requested again (selling-partner-api-models#5101, #5285): one whose download failed while listed
is lost once that time passes. One whose file was archived is safe: `amzinsight replay` loads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.db.tables import sync_runs
from amzinsight.reports.settlement import SPEC as SETTLEMENT

AMAZON_LISTING_DAYS = 90
"""getReports lists a report for 90 days after it was created; Amazon creates a settlement within
days of its period's end, so period end + 90 days is about (a little before) its last listed day."""


@dataclass(frozen=True)
class UnloadedSettlement:
    """A settlement listed by Amazon and never loaded; `archived` says its file is kept."""

    amazon_report_id: str
    period_start: date | None
    period_end: date | None
    listed_until: date  # about: Amazon's creation day is not known, the period's end is
    archived: bool
    error: str | None

    @property
    def at_risk(self) -> bool:
        """No copy here: once Amazon stops listing it, it is gone."""
        return not self.archived


def settlements_at_risk(engine: Engine, store_id: int, today: date) -> list[UnloadedSettlement]:
    """Settlements whose every run failed: those without an archived file (at risk) while Amazon
    still lists them, soonest gone first, then those with a file (replay can load them)."""
    runs = sync_runs.c
    latest_failure = (
        sa.select(runs.error)
        .where(
            runs.store_id == store_id,
            runs.amazon_report_id == sa.literal_column("listed.amazon_report_id"),
            runs.status == "failed",
        )
        .order_by(runs.requested_at.desc(), runs.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    listed = (
        sa.select(
            runs.amazon_report_id,
            sa.func.min(runs.window_start).label("period_start"),
            sa.func.max(runs.window_end).label("period_end"),
            sa.func.min(runs.requested_at).label("first_seen"),
            sa.func.bool_or(runs.raw_report_id.is_not(None)).label("archived"),
        )
        .where(
            runs.store_id == store_id,
            runs.report_type == SETTLEMENT.key,
            runs.amazon_report_id.is_not(None),
        )
        .group_by(runs.amazon_report_id)
        .having(
            sa.func.bool_or(runs.status == "failed"),
            sa.not_(sa.func.bool_or(runs.status == "succeeded")),
        )
        .subquery("listed")
    )
    query = sa.select(listed, latest_failure.label("error"))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    found = []
    for row in rows:
        listed_from = row.period_end or row.first_seen.date()
        listed_until = listed_from + timedelta(days=AMAZON_LISTING_DAYS)
        if not row.archived and listed_until < today:
            continue  # Amazon no longer lists it: nothing a sync can do
        found.append(
            UnloadedSettlement(
                amazon_report_id=row.amazon_report_id,
                period_start=row.period_start,
                period_end=row.period_end,
                listed_until=listed_until,
                archived=row.archived,
                error=row.error,
            )
        )
    return sorted(found, key=lambda s: (s.archived, s.listed_until, s.amazon_report_id))

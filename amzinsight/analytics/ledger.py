"""The ledger: every settled amount, from settlement reports where the store has them and from the
Finances API where it does not, as one settlement_lines-shaped table; and the money Amazon still
holds back (DEFERRED).

Why two sources: getReports lists a settlement for 90 days only, and Amazon's Finances API
(v2024-06-19 listTransactions) reaches further back. The rule, documented in README (Finance):
- a settlement report, once stored, is the truth for its settlement: a Finances amount counts
  only when no stored report covers it, by its SETTLEMENT_ID or, where Amazon gives none, by
  its posted time falling in a stored settlement's period of the same currency and marketplace;
- DEFERRED amounts are not paid and never count as settled; they are shown apart.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.db.frames import query_frame
from amzinsight.db.tables import finance_transaction_lines, finance_transactions, settlement_lines
from amzinsight.db.tables import settlements as stored_settlements

SETTLEMENT_REPORT = "Settlement reports"
FINANCES_API = "Finances API"
DEFERRED = "DEFERRED"
MONEY_DTYPE = pl.Decimal(38, 2)

_COLUMNS = (
    "store_id",
    "settlement_id",
    "transaction_type",
    "order_id",
    "shipment_id",
    "marketplace_name",
    "amount_type",
    "amount_description",
    "amount",
    "currency",
    "fulfillment_id",
    "posted_date",
    "sku",
    "quantity_purchased",
)


def _covered_by_a_report(lines: sa.Table) -> sa.Exists:
    """A stored settlement report holds this Finances amount (by id, else by period)."""
    s = stored_settlements
    same_marketplace = sa.or_(
        s.c.marketplace_name.is_(None),
        lines.c.marketplace_name.is_(None),
        sa.func.lower(s.c.marketplace_name) == sa.func.lower(lines.c.marketplace_name),
    )
    in_its_period = sa.and_(
        s.c.currency == lines.c.currency,
        same_marketplace,
        lines.c.posted_at >= s.c.settlement_start,
        lines.c.posted_at < s.c.settlement_end,
    )
    return sa.exists().where(
        s.c.store_id == lines.c.store_id,
        sa.or_(s.c.settlement_id == lines.c.settlement_id, in_its_period),
    )


def ledger_lines() -> sa.Subquery:
    """Settled amounts of every store, with their `source`; filter on store_id outside (the
    planner pushes it into both halves)."""
    report = sa.select(
        *(settlement_lines.c[name] for name in _COLUMNS),
        sa.literal(SETTLEMENT_REPORT).label("source"),
    )
    f = finance_transaction_lines
    finances = sa.select(
        *(f.c[name] for name in _COLUMNS),
        sa.literal(FINANCES_API).label("source"),
    ).where(
        sa.func.coalesce(f.c.status, "") != DEFERRED,
        ~_covered_by_a_report(f),
    )
    return sa.union_all(report, finances).subquery("ledger_lines")


SOURCES_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "currency": pl.String(),
    "lines": pl.Int64(),
    "amount": MONEY_DTYPE,
    "first_posted": pl.Date(),
    "last_posted": pl.Date(),
}


def ledger_sources(
    engine: Engine, store_id: int, start: date, end: date, currency: str | None = None
) -> pl.DataFrame:
    """Where the settled figures of a range came from: lines, sum and posted dates per source."""
    lines = ledger_lines()
    query = (
        sa.select(
            lines.c.source,
            lines.c.currency,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(lines.c.amount), 0),
            sa.func.min(lines.c.posted_date),
            sa.func.max(lines.c.posted_date),
        )
        .where(lines.c.store_id == store_id, lines.c.posted_date.between(start, end))
        .group_by(lines.c.source, lines.c.currency)
        .order_by(lines.c.source, lines.c.currency)
    )
    if currency is not None:
        query = query.where(lines.c.currency == currency)
    with engine.connect() as connection:
        return query_frame(connection, query, SOURCES_SCHEMA)


DEFERRED_SCHEMA: dict[str, pl.DataType] = {
    "currency": pl.String(),
    "marketplace_name": pl.String(),
    "transactions": pl.Int64(),
    "amount": MONEY_DTYPE,
    "next_release": pl.Datetime("us", "UTC"),
    "last_release": pl.Datetime("us", "UTC"),
}


def deferred_money(engine: Engine, store_id: int, currency: str | None = None) -> pl.DataFrame:
    """Money Amazon holds back as DEFERRED (not paid yet), per currency and marketplace, with
    the first and last dates Amazon says it will be released."""
    t = finance_transactions
    query = (
        sa.select(
            t.c.currency,
            t.c.marketplace_name,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(t.c.total_amount), 0),
            sa.func.min(t.c.maturity_at),
            sa.func.max(t.c.maturity_at),
        )
        .where(t.c.store_id == store_id, t.c.status == DEFERRED)
        .group_by(t.c.currency, t.c.marketplace_name)
        .order_by(t.c.currency, t.c.marketplace_name)
    )
    if currency is not None:
        query = query.where(t.c.currency == currency)
    with engine.connect() as connection:
        return query_frame(connection, query, DEFERRED_SCHEMA)

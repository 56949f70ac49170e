"""Reading bid_recommendations and bid_changes: what the Advertising page lists (the stored
recommendations and the log of changes applied) and what an apply sends. Reads only: every
write goes through store.py."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy import RowMapping
from sqlalchemy.engine import Connection, Engine

from amzinsight.db.tables import ads_targets, bid_changes, bid_recommendations
from amzinsight.stores import ads_profile_ids

RECOMMENDATION_COLUMNS = (
    "id",
    "kind",
    "status",
    "source",
    "profile_id",
    "campaign_id",
    "ad_group_id",
    "target_id",
    "search_term",
    "match_type",
    "current_bid",
    "recommended_bid",
    "currency",
    "target_acos",
    "reason",
    "evidence",
    "generated_for",
    "decided_by",
    "decided_at",
)
CHANGE_COLUMNS = (
    "id",
    "recommendation_id",
    "profile_id",
    "entity_type",
    "entity_id",
    "field",
    "before_value",
    "after_value",
    "before_bid",
    "after_bid",
    "applied_by",
    "applied_at",
    "succeeded",
    "amazon_response",
    "undone_by_change_id",
)


def shown_recommendations(
    store_id: int,
    statuses: Sequence[str] | None = None,
    marketplace_ids: Sequence[str] | None = None,
) -> sa.Select[Any]:
    """The rows the page shows: proposals of the latest day, and every decided row (approved,
    rejected, applied, ...); only the marketplaces' Ads profiles when marketplace_ids is given
    (one profile is one currency and one advertiser account, what a bulk sheet may hold)."""
    table = bid_recommendations
    latest = (
        sa.select(sa.func.max(table.c.generated_for)).where(table.c.store_id == store_id)
    ).scalar_subquery()
    query = sa.select(table).where(
        table.c.store_id == store_id,
        sa.or_(table.c.generated_for == latest, table.c.status != "proposed"),
    )
    if statuses:
        query = query.where(table.c.status.in_(list(statuses)))
    if marketplace_ids is not None:
        query = query.where(table.c.profile_id.in_(ads_profile_ids(store_id, marketplace_ids)))
    return query


def stored_recommendations(
    engine: Engine,
    store_id: int,
    statuses: Sequence[str] | None = None,
    marketplace_ids: Sequence[str] | None = None,
) -> pl.DataFrame:
    """shown_recommendations as a frame, by kind then id."""
    rows = shown_recommendations(store_id, statuses, marketplace_ids).subquery()
    query = sa.select(*(rows.c[name] for name in RECOMMENDATION_COLUMNS)).order_by(
        rows.c.kind, rows.c.id
    )
    return _frame(engine, query, RECOMMENDATION_COLUMNS)


def change_log(
    engine: Engine,
    store_id: int,
    limit: int = 500,
    marketplace_ids: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Changes applied through the Ads API, newest first: who, when, before, after, outcome, and
    `target`, the keyword, product target or term changed (only the marketplaces' Ads profiles
    when marketplace_ids is given)."""
    b, r, t = bid_changes, bid_recommendations, ads_targets
    target = sa.func.coalesce(t.c.keyword_text, t.c.expression, r.c.search_term)
    query = (
        sa.select(*(b.c[name] for name in CHANGE_COLUMNS), target.label("target"))
        .select_from(
            b.outerjoin(r, r.c.id == b.c.recommendation_id).outerjoin(
                t,
                sa.and_(
                    t.c.store_id == b.c.store_id,
                    t.c.profile_id == b.c.profile_id,
                    t.c.target_id == b.c.entity_id,
                ),
            )
        )
        .where(b.c.store_id == store_id)
        .order_by(b.c.applied_at.desc(), b.c.id.desc())
        .limit(limit)
    )
    if marketplace_ids is not None:
        query = query.where(b.c.profile_id.in_(ads_profile_ids(store_id, marketplace_ids)))
    return _frame(engine, query, (*CHANGE_COLUMNS, "target"))


def approved_recommendations(
    connection: Connection, store_id: int, ids: Iterable[int] | None = None
) -> list[RowMapping]:
    """The store's approved recommendations (only `ids` when given), as stored."""
    table = bid_recommendations
    query = sa.select(table).where(table.c.store_id == store_id, table.c.status == "approved")
    if ids is not None:
        query = query.where(table.c.id.in_(list(ids)))
    return list(connection.execute(query).mappings())


def _frame(engine: Engine, query: sa.Select[Any], columns: Sequence[str]) -> pl.DataFrame:
    """Rows as a frame; JSON documents (evidence, Amazon's answers) stay JSON text."""
    with engine.connect() as connection:
        rows = [
            {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()}
            for row in connection.execute(query).mappings()
        ]
    if not rows:
        return pl.DataFrame({name: [] for name in columns})
    return pl.DataFrame(rows, infer_schema_length=None)

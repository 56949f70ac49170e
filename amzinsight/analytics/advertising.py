"""What the Advertising page lists: stored recommendations and the log of changes applied."""

from __future__ import annotations

import json
from collections.abc import Sequence

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.db.tables import bid_changes, bid_recommendations
from amzinsight.stores import ads_profile_ids

RECOMMENDATION_COLUMNS = (
    "id",
    "kind",
    "status",
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


def stored_recommendations(
    engine: Engine,
    store_id: int,
    statuses: Sequence[str] | None = None,
    marketplace_ids: Sequence[str] | None = None,
) -> pl.DataFrame:
    """The store's recommendations of the latest day each was generated for, newest first.

    With marketplace_ids, only those marketplaces' Ads profiles: one profile is one currency and
    one advertiser account, which is what a bulk sheet or an apply may hold."""
    table = bid_recommendations
    latest = (
        sa.select(sa.func.max(table.c.generated_for)).where(table.c.store_id == store_id)
    ).scalar_subquery()
    query = (
        sa.select(*(table.c[name] for name in RECOMMENDATION_COLUMNS))
        .where(
            table.c.store_id == store_id,
            sa.or_(table.c.generated_for == latest, table.c.status != "proposed"),
        )
        .order_by(table.c.kind, table.c.id)
    )
    if statuses:
        query = query.where(table.c.status.in_(list(statuses)))
    if marketplace_ids is not None:
        query = query.where(table.c.profile_id.in_(ads_profile_ids(store_id, marketplace_ids)))
    return _frame(engine, query, RECOMMENDATION_COLUMNS)


def change_log(
    engine: Engine,
    store_id: int,
    limit: int = 500,
    marketplace_ids: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Changes applied through the Ads API, newest first: who, when, before, after, outcome
    (only the marketplaces' Ads profiles when marketplace_ids is given)."""
    query = (
        sa.select(*(bid_changes.c[name] for name in CHANGE_COLUMNS))
        .where(bid_changes.c.store_id == store_id)
        .order_by(bid_changes.c.applied_at.desc(), bid_changes.c.id.desc())
        .limit(limit)
    )
    if marketplace_ids is not None:
        query = query.where(
            bid_changes.c.profile_id.in_(ads_profile_ids(store_id, marketplace_ids))
        )
    return _frame(engine, query, CHANGE_COLUMNS)


def _frame(engine: Engine, query: sa.Select, columns: Sequence[str]) -> pl.DataFrame:
    """Rows as a frame; JSON documents (evidence, Amazon's answers) stay JSON text."""
    with engine.connect() as connection:
        rows = [
            {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()}
            for row in connection.execute(query).mappings()
        ]
    if not rows:
        return pl.DataFrame({name: [] for name in columns})
    return pl.DataFrame(rows, infer_schema_length=None)

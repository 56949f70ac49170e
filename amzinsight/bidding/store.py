"""The one writer of bid_recommendations: the bidder's proposals of a day, the Assistant's
keyword proposals, a person's approve / reject, and the status an apply or undo leaves.

Rows have a `source`: the bidder ('bidder') or the Assistant ('assistant'). Saving the bidder's
recommendations replaces only the bidder's own proposals of that day; a row a person decided on
(approved, rejected, applied, ...) is never rewritten by either. (Deleting all of a store's
data is amzinsight.privacy's generic work over every table, this one included.)
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import polars as pl
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from amzinsight.bidding.engine import Recommendations
from amzinsight.bidding.evidence import Evidence
from amzinsight.db.tables import bid_recommendations
from amzinsight.errors import ConfigError

logger = logging.getLogger(__name__)

BIDDER = "bidder"
ASSISTANT = "assistant"
PROPOSED = "proposed"
DECIDABLE = ("proposed", "approved", "rejected")
"""Statuses a person may still change (an applied or undone row is history)."""

_STORED_COLUMNS = (
    "profile_id",
    "kind",
    "entity_id",
    "generated_for",
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
)
_STORED_KEY = ("store_id", "profile_id", "kind", "entity_id", "generated_for")


def save_recommendations(
    engine: Engine,
    store_id: int,
    recs: Recommendations | pl.DataFrame,
    generated_for: date,
) -> int:
    """Insert the bidder's new recommendations (source 'bidder') and refresh its proposed ones;
    returns rows inserted or changed.

    Rows a person already decided on (approved, rejected, applied, ...) are never touched, nor
    are another source's proposals (the Assistant's keywords); the bidder's proposed rows of the
    same day that the engine no longer makes are removed, so running the engine twice for a day
    leaves the same rows.
    """
    if isinstance(recs, Recommendations):
        frame, profiles = recs.stored(), list(recs.profile_ids)
    else:
        frame = recs
        if "evidence" in frame.columns and isinstance(frame.schema["evidence"], pl.Struct):
            frame = frame.with_columns(pl.col("evidence").struct.json_encode())
        profiles = frame.get_column("profile_id").unique().to_list() if frame.height else []
    frame = frame.with_columns(pl.lit(generated_for).alias("generated_for")).select(_STORED_COLUMNS)
    if frame.select(_STORED_KEY[1:]).is_duplicated().any():
        raise ConfigError("Recommendations repeat an entity for the same day; nothing was saved.")
    stage = sql.Identifier("stage_bid_recommendations")
    target = sql.Identifier(bid_recommendations.name)
    names = sql.SQL(", ").join(map(sql.Identifier, _STORED_COLUMNS))
    data = [c for c in _STORED_COLUMNS if c not in _STORED_KEY]
    with engine.begin() as connection:
        driver = connection.connection.driver_connection
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(stage))
            cursor.execute(
                sql.SQL(
                    "CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
                ).format(stage, names, target)
            )
            copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT CSV)").format(stage, names)
            with cursor.copy(copy_sql) as copy:
                copy.write(frame.write_csv(include_header=False, quote_style="non_numeric"))
            cursor.execute(
                sql.SQL(
                    "DELETE FROM {} t WHERE t.store_id = %s AND t.generated_for = %s"
                    " AND t.profile_id = ANY(%s::text[]) AND t.status = %s"
                    " AND t.source = %s AND NOT EXISTS"
                    " (SELECT 1 FROM {} s WHERE s.profile_id = t.profile_id AND s.kind = t.kind"
                    " AND s.entity_id = t.entity_id)"
                ).format(target, stage),
                (store_id, generated_for, profiles, PROPOSED, BIDDER),
            )
            removed = cursor.rowcount
            updates = sql.SQL(", ").join(
                sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c))
                for c in data
            )
            before = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in data)
            after = sql.SQL(", ").join(
                sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in data
            )
            cursor.execute(
                sql.SQL(
                    "INSERT INTO {} AS t (store_id, source, {}) SELECT %s, %s, {} FROM {}"
                    " ON CONFLICT ({}) DO UPDATE SET {} WHERE t.status = %s AND t.source = %s"
                    " AND ROW({}) IS DISTINCT FROM ROW({})"
                ).format(
                    target,
                    names,
                    names,
                    stage,
                    sql.SQL(", ").join(map(sql.Identifier, _STORED_KEY)),
                    updates,
                    before,
                    after,
                ),
                (store_id, BIDDER, PROPOSED, BIDDER),
            )
            written = int(cursor.rowcount)
    logger.info(
        "store %s: %d recommendations written, %d stale proposals removed for %s",
        store_id,
        written,
        removed,
        generated_for,
    )
    return written


def decide(engine: Engine, store_id: int, ids: Iterable[int], approve: bool, actor: str) -> int:
    """Approve or reject recommendations (not ones already applied); returns how many changed."""
    with engine.begin() as connection:
        result = connection.execute(
            sa.update(bid_recommendations)
            .where(
                bid_recommendations.c.store_id == store_id,
                bid_recommendations.c.id.in_(list(ids)),
                bid_recommendations.c.status.in_(DECIDABLE),
            )
            .values(
                status="approved" if approve else "rejected",
                decided_by=actor,
                decided_at=sa.func.now(),
            )
        )
        return int(result.rowcount)


def mark_applied(connection: Connection, ids: Sequence[int]) -> None:
    """Amazon accepted every item of these recommendations (in the caller's transaction)."""
    if ids:
        connection.execute(
            sa.update(bid_recommendations)
            .where(bid_recommendations.c.id.in_(list(ids)))
            .values(status="applied")
        )


def mark_undone(connection: Connection, recommendation_id: int) -> None:
    """An applied change of this recommendation was reverted (in the caller's transaction)."""
    connection.execute(
        sa.update(bid_recommendations)
        .where(bid_recommendations.c.id == recommendation_id)
        .values(status="undone")
    )


# --- the Assistant's keyword proposals -----------------------------------------------------------


@dataclass(frozen=True)
class AssistantProposal:
    """One keyword the Assistant proposes: a harvest (exact keyword) or a negative exact."""

    profile_id: str
    kind: str
    """harvest or negative."""
    campaign_id: str
    ad_group_id: str
    search_term: str
    match_type: str
    currency: str | None
    reason: str
    evidence: Evidence
    recommended_bid: Decimal | None = None


def save_assistant_proposals(
    engine: Engine, store_id: int, proposals: Sequence[AssistantProposal], today: date
) -> int:
    """Insert the Assistant's proposals as `proposed` rows (source 'assistant'); returns how many
    are new. They are dated the day the Advertising page shows (the latest generated_for, else
    today) and keyed by kind, ad group and term, so sending twice adds nothing and the bidder's
    rows are never touched."""
    if not proposals:
        return 0
    r = bid_recommendations
    with engine.begin() as connection:
        latest = sa.select(sa.func.max(r.c.generated_for)).where(r.c.store_id == store_id)
        day = connection.execute(latest).scalar() or today
        rows = [_assistant_row(store_id, day, proposal) for proposal in proposals]
        statement = pg_insert(r).on_conflict_do_nothing(
            index_elements=["store_id", "profile_id", "kind", "entity_id", "generated_for"]
        )
        return len(connection.execute(statement.returning(r.c.id), rows).all())


def _assistant_row(store_id: int, day: date, proposal: AssistantProposal) -> dict[str, object]:
    key = (
        f"assistant|{proposal.kind}|{proposal.campaign_id}|{proposal.ad_group_id}"
        f"|{proposal.search_term}"
    )
    return {
        "store_id": store_id,
        "profile_id": proposal.profile_id,
        "kind": proposal.kind,
        "entity_id": hashlib.sha256(key.encode()).hexdigest()[:24],
        "generated_for": day,
        "campaign_id": proposal.campaign_id,
        "ad_group_id": proposal.ad_group_id,
        "target_id": None,
        "search_term": proposal.search_term,
        "match_type": proposal.match_type,
        "current_bid": None,
        "recommended_bid": proposal.recommended_bid,
        "currency": proposal.currency,
        "target_acos": None,
        "reason": proposal.reason,
        "evidence": proposal.evidence.to_dict(),
        "status": PROPOSED,
        "source": ASSISTANT,
    }

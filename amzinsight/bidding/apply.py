"""Apply approved recommendations through the Amazon Ads API, and undo applied changes. Nothing
reaches Amazon without an explicit approval (store.decide).

Every change sent is written to bid_changes with before and after, who and when, and Amazon's
per-item answer; an item Amazon refuses stays approved, with its error in that row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.bidding.evidence import Evidence, NegateIn
from amzinsight.bidding.queries import approved_recommendations
from amzinsight.bidding.store import mark_applied, mark_undone
from amzinsight.db.tables import ads_targets, bid_changes
from amzinsight.errors import AmzInsightError
from amzinsight.sources.ads_api import AdsClient, MultiStatus

logger = logging.getLogger(__name__)


@dataclass
class ApplyResult:
    applied: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Item:
    """One entity operation sent to Amazon on behalf of one recommendation."""

    recommendation_id: int
    profile_id: str
    kind: str  # the Ads API entity kind: keywords, targets, negativeKeywords
    method: str  # PUT (update) or POST (create)
    payload: dict[str, Any]
    entity_type: str
    entity_id: str | None
    field: str
    before_bid: Decimal | None = None
    after_bid: Decimal | None = None
    after_value: str | None = None


def apply_approved(
    engine: Engine,
    client: AdsClient,
    store_id: int,
    actor: str,
    ids: Iterable[int] | None = None,
) -> ApplyResult:
    """Send approved recommendations to Amazon Ads and record each item's outcome."""
    with engine.connect() as connection:
        recommendations = approved_recommendations(connection, store_id, ids)
        kinds = _target_kinds(connection, store_id, recommendations)
    result = ApplyResult()
    items = []
    for rec in recommendations:
        try:
            items.extend(_items_for(rec, kinds))
        except _NotApplicable as reason:
            result.failed[rec["id"]] = str(reason)
    for (profile_id, kind, method), batch in _batches(items).items():
        try:
            answer = (client.update if method == "PUT" else client.create)(
                profile_id, kind, [item.payload for item in batch]
            )
        except AmzInsightError as error:
            answer = MultiStatus(
                succeeded=[], failed=[{"index": i, "errors": str(error)} for i in range(len(batch))]
            )
        _record(engine, store_id, actor, batch, answer, result)
    with engine.begin() as connection:
        mark_applied(connection, result.applied)
    return result


def undo(
    engine: Engine, client: AdsClient, store_id: int, change_ids: Iterable[int], actor: str
) -> ApplyResult:
    """Revert applied changes through the API: old bids back, created negatives archived."""
    with engine.connect() as connection:
        changes = list(
            connection.execute(
                sa.select(bid_changes).where(
                    bid_changes.c.store_id == store_id,
                    bid_changes.c.id.in_(list(change_ids)),
                    bid_changes.c.succeeded.is_(True),
                    bid_changes.c.undone_by_change_id.is_(None),
                    bid_changes.c.entity_id.is_not(None),
                )
            ).mappings()
        )
    items = [(change["id"], _reverting(change)) for change in changes]
    result = ApplyResult()
    for original_id, item in items:
        try:
            answer = client.update(item.profile_id, item.kind, [item.payload])
        except AmzInsightError as error:
            answer = MultiStatus(succeeded=[], failed=[{"index": 0, "errors": str(error)}])
        new_ids = _record(engine, store_id, actor, [item], answer, result)
        if answer.succeeded:
            with engine.begin() as connection:
                connection.execute(
                    sa.update(bid_changes)
                    .where(bid_changes.c.id == original_id)
                    .values(undone_by_change_id=new_ids[0])
                )
                if item.recommendation_id is not None:
                    mark_undone(connection, item.recommendation_id)
    return result


def _reverting(change: Any) -> _Item:
    """The operation that undoes one applied change."""
    is_keyword = change["entity_type"] == "keyword"
    if change["field"] == "bid" and change["before_bid"] is not None:
        return _Item(
            recommendation_id=change["recommendation_id"],
            profile_id=change["profile_id"],
            kind="keywords" if is_keyword else "targets",
            method="PUT",
            payload={
                "keywordId" if is_keyword else "targetId": change["entity_id"],
                "bid": float(change["before_bid"]),
            },
            entity_type=change["entity_type"],
            entity_id=change["entity_id"],
            field="bid",
            before_bid=change["after_bid"],
            after_bid=change["before_bid"],
        )
    # a keyword or negative keyword this app created: archive it
    kind, id_key = {
        "keyword": ("keywords", "keywordId"),
        "negative_keyword": ("negativeKeywords", "negativeKeywordId"),
        "campaign_negative_keyword": ("campaignNegativeKeywords", "campaignNegativeKeywordId"),
    }[change["entity_type"]]
    return _Item(
        recommendation_id=change["recommendation_id"],
        profile_id=change["profile_id"],
        kind=kind,
        method="PUT",
        payload={id_key: change["entity_id"], "state": "ARCHIVED"},
        entity_type=change["entity_type"],
        entity_id=change["entity_id"],
        field="state",
        after_value="ARCHIVED",
    )


def _target_kinds(
    connection: sa.Connection, store_id: int, recommendations: list[Any]
) -> dict[str, str]:
    ids = [rec["target_id"] for rec in recommendations if rec["kind"] == "bid" and rec["target_id"]]
    if not ids:
        return {}
    rows = connection.execute(
        sa.select(ads_targets.c.target_id, ads_targets.c.kind).where(
            ads_targets.c.store_id == store_id, ads_targets.c.target_id.in_(ids)
        )
    )
    return {target_id: kind for target_id, kind in rows}


def _items_for(rec: Any, kinds: dict[str, str]) -> list[_Item]:
    evidence = Evidence.from_json(rec["evidence"])
    if rec["kind"] == "bid":
        is_keyword = kinds.get(rec["target_id"], "keyword") == "keyword"
        id_key, kind = ("keywordId", "keywords") if is_keyword else ("targetId", "targets")
        return [
            _Item(
                rec["id"], rec["profile_id"], kind, "PUT",
                {id_key: rec["target_id"], "bid": float(rec["recommended_bid"])},
                "keyword" if is_keyword else "product_target", rec["target_id"], "bid",
                before_bid=rec["current_bid"], after_bid=rec["recommended_bid"],
            )
        ]  # fmt: skip
    negative_match = (
        "NEGATIVE_PHRASE" if "PHRASE" in (rec["match_type"] or "").upper() else "NEGATIVE_EXACT"
    )
    if rec["kind"] == "negative":
        return [_negative_item(rec, rec["campaign_id"], rec["ad_group_id"], negative_match)]
    # harvest: the converting term becomes an exact keyword in its destination ad group, and a
    # negative exact in every source ad group so the two stop competing (evidence.negate_in).
    campaign = evidence.destination_campaign_id
    ad_group = evidence.destination_ad_group_id
    if not (campaign and ad_group):
        raise _NotApplicable("no manual ad group advertises this product: add the keyword by hand")
    keyword = _Item(
        rec["id"], rec["profile_id"], "keywords", "POST",
        {
            "campaignId": campaign, "adGroupId": ad_group, "keywordText": rec["search_term"],
            "matchType": "EXACT", "state": "ENABLED", "bid": float(rec["recommended_bid"]),
        },
        "keyword", None, "bid", after_bid=rec["recommended_bid"],
        after_value=f"EXACT {rec['search_term']}",
    )  # fmt: skip
    sources = evidence.negate_in or (
        NegateIn(campaign_id=rec["campaign_id"], ad_group_id=rec["ad_group_id"]),
    )
    negatives = [
        _negative_item(rec, source.campaign_id, source.ad_group_id, "NEGATIVE_EXACT")
        for source in sources
    ]
    return [keyword, *negatives]


class _NotApplicable(Exception):
    """A recommendation that cannot be sent to Amazon as it stands (it stays approved)."""


def _negative_item(rec: Any, campaign_id: str | None, ad_group_id: str | None, match: str) -> _Item:
    """Ad-group negatives go to negativeKeywords; campaign-wide ones (n-grams) have their own."""
    payload: dict[str, Any]
    if ad_group_id:
        kind, entity = "negativeKeywords", "negative_keyword"
        payload = {"campaignId": campaign_id, "adGroupId": ad_group_id}
    else:
        kind, entity = "campaignNegativeKeywords", "campaign_negative_keyword"
        payload = {"campaignId": campaign_id}
    payload |= {"keywordText": rec["search_term"], "matchType": match, "state": "ENABLED"}
    return _Item(
        rec["id"], rec["profile_id"], kind, "POST", payload, entity, None, "negative",
        after_value=f"{match} {rec['search_term']}",
    )  # fmt: skip


def _batches(items: list[_Item]) -> dict[tuple[str, str, str], list[_Item]]:
    batches: dict[tuple[str, str, str], list[_Item]] = {}
    for item in items:
        batches.setdefault((item.profile_id, item.kind, item.method), []).append(item)
    return batches


def _record(
    engine: Engine,
    store_id: int,
    actor: str,
    batch: list[_Item],
    answer: MultiStatus,
    result: ApplyResult,
) -> list[int]:
    """One bid_changes row per item, in order; returns their ids."""
    by_index: dict[int, tuple[bool, Any]] = {}
    for success in answer.succeeded:
        by_index[int(success.get("index", 0))] = (True, success)
    for error in answer.failed:
        by_index[int(error.get("index", 0))] = (False, error)
    moment = datetime.now(UTC)
    ids = []
    with engine.begin() as connection:
        for index, item in enumerate(batch):
            ok, detail = by_index.get(index, (False, {"errors": "Amazon did not answer this item"}))
            created_id = _created_id(detail) if ok and item.method == "POST" else None
            ids.append(
                connection.execute(
                    sa.insert(bid_changes)
                    .values(
                        store_id=store_id,
                        recommendation_id=item.recommendation_id,
                        profile_id=item.profile_id,
                        entity_type=item.entity_type,
                        entity_id=item.entity_id or created_id,
                        field=item.field,
                        before_value=None if item.before_bid is None else str(item.before_bid),
                        after_value=item.after_value
                        or (None if item.after_bid is None else str(item.after_bid)),
                        before_bid=item.before_bid,
                        after_bid=item.after_bid,
                        applied_by=actor,
                        applied_at=moment + timedelta(microseconds=index),
                        amazon_response=detail,
                        succeeded=ok,
                    )
                    .returning(bid_changes.c.id)
                ).scalar_one()
            )
            if item.recommendation_id is not None:
                if ok:
                    result.applied.append(item.recommendation_id)
                else:
                    result.failed[item.recommendation_id] = _error_text(detail)
    result.applied = [rec for rec in dict.fromkeys(result.applied) if rec not in result.failed]
    return ids


def _created_id(detail: Any) -> str | None:
    for key in ("keywordId", "negativeKeywordId", "campaignNegativeKeywordId", "targetId"):
        if isinstance(detail, dict) and detail.get(key):
            return str(detail[key])
    return None


def _error_text(detail: Any) -> str:
    errors = detail.get("errors") if isinstance(detail, dict) else detail
    return str(errors)[:500]

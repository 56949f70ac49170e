"""The Advertising page's long and external work, run by the worker: recompute the bid, harvest and
negative recommendations, apply approved ones through the Amazon Ads API, undo applied changes.

Pages never call Amazon: only these jobs build the Ads client. Each job has a deterministic id
(a second click finds the job already queued or running), reports progress in its meta, and
ends with a small dict; an error a person can act on (a missing credential, an unknown store)
ends the job with {"error": sentence} for the page to show, never a traceback.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from redis import Redis
from rq.job import Job

from amzinsight.bidding.apply import ApplyResult, apply_approved, undo
from amzinsight.bidding.policy import BidPolicy
from amzinsight.bidding.recommend import recommend
from amzinsight.bidding.store import save_recommendations
from amzinsight.errors import AmzInsightError
from amzinsight.ingest.sync import ads_client_for
from amzinsight.runtime import build_runtime
from amzinsight.stores import get_store
from workers.queueing import enqueue_unique, job_id, report_progress

logger = logging.getLogger(__name__)


def recompute_job_id(store_slug: str, today: date) -> str:
    """One recompute per store and day: the engine's rows are the store's, dated by that day."""
    return job_id("recompute", store_slug, today)


def apply_job_id(store_slug: str) -> str:
    return job_id("apply", store_slug)


def undo_job_id(store_slug: str) -> str:
    return job_id("undo", store_slug)


def enqueue_recompute(
    connection: Redis, store_slug: str, today: date, target_acos: float | None = None
) -> tuple[Job, bool]:
    """`today` is the local date of the marketplace the person looks at (Amazon's report dates
    are local): the lookback ends the day before it."""
    return enqueue_unique(
        connection,
        recompute_recommendations,
        recompute_job_id(store_slug, today),
        args=(store_slug, today.isoformat(), target_acos),
        description=f"recompute the recommendations of {store_slug} for {today}",
    )


def enqueue_apply(
    connection: Redis, store_slug: str, recommendation_ids: list[int], actor: str
) -> tuple[Job, bool]:
    """Send exactly the approved rows the person saw (ids), recorded under their name."""
    return enqueue_unique(
        connection,
        apply_approved_bids,
        apply_job_id(store_slug),
        args=(store_slug, [int(i) for i in recommendation_ids], actor),
        description=f"apply {len(recommendation_ids)} approved changes for {store_slug}",
    )


def enqueue_undo(
    connection: Redis, store_slug: str, change_ids: list[int], actor: str
) -> tuple[Job, bool]:
    return enqueue_unique(
        connection,
        undo_bid_changes,
        undo_job_id(store_slug),
        args=(store_slug, [int(i) for i in change_ids], actor),
        description=f"undo {len(change_ids)} applied changes for {store_slug}",
    )


def recompute_recommendations(
    store_slug: str, today: str, target_acos: float | None = None
) -> dict[str, Any]:
    """Recompute the store's recommendations as of `today` and save them as proposed: rows a
    person decided on and the Assistant's proposals stay (save_recommendations' rules)."""
    try:
        runtime = build_runtime()
        store = get_store(runtime.engine, store_slug)
        report_progress("Computing bid, harvest and negative recommendations", 0.1)
        policy = BidPolicy(settle_days=runtime.settings.ads.settle_days)
        recs = recommend(runtime.engine, store, policy, date.fromisoformat(today), target_acos)
        report_progress(f"Saving {recs.count} recommendations", 0.8)
        changed = save_recommendations(runtime.engine, store.id, recs, recs.data_through)
    except AmzInsightError as error:
        return _refused("recompute", store_slug, error)
    report_progress(f"{recs.count} recommendations", 1.0)
    return {
        "count": recs.count,
        "changed": changed,
        "data_through": recs.data_through.isoformat(),
    }


def apply_approved_bids(
    store_slug: str, recommendation_ids: list[int], actor: str
) -> dict[str, Any]:
    """Send approved recommendations to Amazon Ads; each item's answer goes to the change log
    under `actor`, the person who asked."""
    try:
        runtime = build_runtime()
        store = get_store(runtime.engine, store_slug)
        report_progress(f"Sending {len(recommendation_ids)} approved changes to Amazon Ads", 0.1)
        result = apply_approved(
            runtime.engine,
            ads_client_for(runtime.settings, store),
            store.id,
            actor,
            recommendation_ids,
        )
    except AmzInsightError as error:
        return _refused("apply", store_slug, error)
    return _answered(result)


def undo_bid_changes(store_slug: str, change_ids: list[int], actor: str) -> dict[str, Any]:
    """Revert applied changes through the Ads API, recorded under `actor`."""
    try:
        runtime = build_runtime()
        store = get_store(runtime.engine, store_slug)
        report_progress(f"Reverting {len(change_ids)} changes at Amazon Ads", 0.1)
        result = undo(
            runtime.engine, ads_client_for(runtime.settings, store), store.id, change_ids, actor
        )
    except AmzInsightError as error:
        return _refused("undo", store_slug, error)
    return _answered(result)


def _answered(result: ApplyResult) -> dict[str, Any]:
    report_progress(f"{len(result.applied)} done, {len(result.failed)} refused", 1.0)
    return {"applied": list(result.applied), "failed": dict(result.failed)}


def _refused(work: str, store_slug: str, error: AmzInsightError) -> dict[str, Any]:
    logger.warning("%s for %s not done: %s", work, store_slug, error)
    return {"error": str(error)}

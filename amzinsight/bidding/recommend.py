"""A store's recommendations: read each Ads profile's inputs, run the engine, combine."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy.engine import Engine

from amzinsight.bidding.engine import Recommendations, combine, recommend_profile
from amzinsight.bidding.frames import lookback_window
from amzinsight.bidding.inputs import load_inputs, store_profiles
from amzinsight.bidding.policy import BidPolicy
from amzinsight.stores import Store

logger = logging.getLogger(__name__)


def recommend(
    engine: Engine,
    store: Store,
    policy: BidPolicy,
    today: date,
    target_acos: float | None = None,
) -> Recommendations:
    """Bid, harvest and negative recommendations for every Ads profile of the store."""
    by_profile = []
    for profile_id in store_profiles(engine, store.id):
        inputs = load_inputs(engine, store.id, profile_id, today, policy)
        found = recommend_profile(inputs, policy, target_acos)
        logger.info(
            "store %s profile %s: %d bid, %d harvest, %d negative recommendations",
            store.slug,
            profile_id,
            found.bids.height,
            found.harvest.height,
            found.negatives.height,
        )
        by_profile.append((profile_id, found))
    return combine(by_profile, lookback_window(today, policy)[1])

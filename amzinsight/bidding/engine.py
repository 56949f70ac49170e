"""The engine for one Ads profile: inputs in, bid, harvest and negative recommendations out.

Pure: no database, no clock, no network. `inputs.load_inputs` reads an EngineInputs from
PostgreSQL and `recommend.recommend` runs this for every profile of a store; a test (or a
benchmark) hands it frames made in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from amzinsight.bidding.bids import recommend_bids
from amzinsight.bidding.frames import cover_for_targets, empty_recommendations, resolve_target_acos
from amzinsight.bidding.harvest import recommend_harvest
from amzinsight.bidding.negatives import recommend_negatives
from amzinsight.bidding.policy import BidPolicy


@dataclass(frozen=True)
class EngineInputs:
    """Everything the engine reads for one Ads profile, summed by SQL over the lookback window."""

    profile_id: str
    currency: str
    marketplace_id: str | None
    today: date
    window_start: date
    window_end: date
    targets: pl.DataFrame
    performance: pl.DataFrame
    search_terms: pl.DataFrame
    campaigns: pl.DataFrame
    """campaign_id, name, state, targeting_type, target_acos (user's), break_even_acos."""
    advertised: pl.DataFrame
    """campaign_id, ad_group_id, asin, sku: which products each ad group advertises."""
    cover_by_ad_group: pl.DataFrame
    """ad_group_id, asin, days_of_cover: the advertised ASIN with the least stock left."""
    break_even: pl.DataFrame
    """sku, price, fees, unit_cost, break_even_acos (per unit, in the profile's currency)."""


@dataclass(frozen=True)
class ProfileRecommendations:
    """One profile's recommendations, one frame per kind (frames.RECOMMENDATION_SCHEMA and
    `evidence`)."""

    bids: pl.DataFrame
    harvest: pl.DataFrame
    negatives: pl.DataFrame


@dataclass(frozen=True)
class Recommendations:
    """The engine's output for a store: one frame per kind, each row with a reason."""

    bids: pl.DataFrame
    harvest: pl.DataFrame
    negatives: pl.DataFrame
    profile_ids: tuple[str, ...]
    data_through: date
    """The last data day the lookback reaches: the natural `generated_for`."""

    def stored(self) -> pl.DataFrame:
        """All kinds in bid_recommendations' shape, evidence as JSON text."""
        frames = [
            frame.with_columns(pl.col("evidence").struct.json_encode())
            for frame in (self.bids, self.harvest, self.negatives)
        ]
        return pl.concat(frames, how="vertical")

    @property
    def count(self) -> int:
        return self.bids.height + self.harvest.height + self.negatives.height


def recommend_profile(
    inputs: EngineInputs, policy: BidPolicy, target_acos: float | None = None
) -> ProfileRecommendations:
    """Bids, harvest and negatives for one profile; target_acos is the store's chosen target
    (campaigns' own targets come first, see frames.resolve_target_acos)."""
    targets_acos = resolve_target_acos(inputs.campaigns, policy, target_acos)
    bids = recommend_bids(
        inputs.targets,
        inputs.performance,
        policy,
        targets_acos,
        cover_for_targets(inputs.targets, inputs.cover_by_ad_group),
        inputs.today,
        currency=inputs.currency,
    )
    harvest = recommend_harvest(
        inputs.search_terms,
        policy,
        targets_acos,
        targets=inputs.targets,
        advertised=inputs.advertised,
        cover_by_ad_group=inputs.cover_by_ad_group,
        today=inputs.today,
        currency=inputs.currency,
    )
    negatives = recommend_negatives(
        inputs.search_terms,
        policy,
        targets_acos,
        targets=inputs.targets,
        skip_terms=harvest.get_column("search_term"),
        today=inputs.today,
        currency=inputs.currency,
    )
    return ProfileRecommendations(bids=bids, harvest=harvest, negatives=negatives)


def combine(
    by_profile: Sequence[tuple[str, ProfileRecommendations]], data_through: date
) -> Recommendations:
    """The profiles' recommendations as one store's, each row with its profile_id."""

    def combined(frames: list[pl.DataFrame]) -> pl.DataFrame:
        if not frames:
            return empty_recommendations().select(
                pl.lit(None, dtype=pl.String).alias("profile_id"), pl.all()
            )
        return pl.concat(frames, how="vertical_relaxed")

    def tagged(frames: Sequence[tuple[str, pl.DataFrame]]) -> list[pl.DataFrame]:
        return [
            frame.select(pl.lit(profile_id).alias("profile_id"), pl.all())
            for profile_id, frame in frames
        ]

    return Recommendations(
        bids=combined(tagged([(p, found.bids) for p, found in by_profile])),
        harvest=combined(tagged([(p, found.harvest) for p, found in by_profile])),
        negatives=combined(tagged([(p, found.negatives) for p, found in by_profile])),
        profile_ids=tuple(profile_id for profile_id, _ in by_profile),
        data_through=data_through,
    )

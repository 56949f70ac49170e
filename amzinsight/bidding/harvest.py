"""Harvest: search terms that convert at or under the target ACoS in auto, broad or phrase
sources become exact keywords, negated (exact) in the sources so the two stop competing. Pure:
frames in, a frame out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import polars as pl

from amzinsight.bidding.evidence import Action
from amzinsight.bidding.frames import (
    ASIN_TERM,
    EPSILON,
    MONEY,
    NO_QUERY_TERM,
    TARGET_COLUMNS,
    cents_to_money,
    cover_frame,
    enabled,
    ensure,
    evidence_struct,
    frame_currency,
    negate_in_struct,
    stable_ids,
    with_target_acos,
)
from amzinsight.bidding.policy import BidPolicy
from amzinsight.bidding.search_terms import keyword_frame, mark_negated, search_term_rows
from amzinsight.bidding.smoothing import smoothed_rates
from amzinsight.bidding.text import cover_text, int_text, money_text, pct, percent_text, place_text


def _harvest_destinations(
    targets: pl.DataFrame | None, advertised: pl.DataFrame | None
) -> pl.LazyFrame:
    """For each source ad group: the manual ad group (another one) that advertises one of the
    same ASINs, preferring the one with the most exact keywords."""
    schema = {
        "ad_group_id": pl.String(),
        "destination_campaign_id": pl.String(),
        "destination_ad_group_id": pl.String(),
        "destination_campaign_name": pl.String(),
        "destination_ad_group_name": pl.String(),
    }
    if targets is None or advertised is None or advertised.is_empty():
        return pl.LazyFrame(schema=schema)
    lazy = ensure(targets.lazy(), TARGET_COLUMNS)
    candidates = (
        lazy.filter(
            (pl.col("kind") == "keyword")
            & (pl.col("targeting_type").str.to_uppercase() != "AUTO").fill_null(True)
            & enabled("state")
            & enabled("campaign_state")
            & enabled("ad_group_state")
        )
        .group_by("ad_group_id")
        .agg(
            destination_campaign_id=pl.col("campaign_id").first(),
            destination_campaign_name=pl.col("campaign_name").first(),
            destination_ad_group_name=pl.col("ad_group_name").first(),
            exact_keywords=(pl.col("match_type").str.to_uppercase() == "EXACT").sum(),
        )
        .rename({"ad_group_id": "destination_ad_group_id"})
    )
    products = (
        advertised.lazy()
        .select(pl.col("ad_group_id").cast(pl.String), pl.col("asin").cast(pl.String))
        .drop_nulls()
        .unique()
    )
    offered = products.rename({"ad_group_id": "destination_ad_group_id"}).join(
        candidates, on="destination_ad_group_id"
    )
    return (
        products.join(offered, on="asin")
        .filter(pl.col("ad_group_id") != pl.col("destination_ad_group_id"))
        .sort(
            ["ad_group_id", "exact_keywords", "destination_ad_group_id"],
            descending=[False, True, False],
        )
        .group_by("ad_group_id", maintain_order=True)
        .first()
        .select(list(schema))
    )


def recommend_harvest(
    search_terms: pl.DataFrame | pl.LazyFrame,
    policy: BidPolicy,
    target_acos_by_campaign: Mapping[str, float] | pl.DataFrame | None,
    *,
    targets: pl.DataFrame | None = None,
    advertised: pl.DataFrame | None = None,
    cover_by_ad_group: pl.DataFrame | None = None,
    today: date | None = None,
    currency: str | None = None,
) -> pl.DataFrame:
    """Converting search terms from auto, broad and phrase sources -> exact keywords.

    One row per term (the profile needs the keyword once): at least harvest_min_orders orders at
    an ACoS at or under target, not yet an exact keyword anywhere in the profile. It carries a
    starting bid (the term's CPC + harvest_bid_uplift, capped at its value-per-click bid);
    campaign_id / ad_group_id are the source with the most clicks (where the negative exact
    goes); evidence.destination_campaign_id / destination_ad_group_id is where the exact keyword
    goes (a manual ad group advertising the same product; null when there is none, and then the
    harvest must not be applied); evidence.negate_in lists every source ad group to negate it in.
    """
    currency = currency if currency is not None else frame_currency(targets)
    keywords = keyword_frame(targets)
    rows = (
        search_term_rows(search_terms, today, policy)
        .filter(
            pl.col("eligible")
            & (pl.col("term") != NO_QUERY_TERM)
            & ~pl.col("term").str.contains(ASIN_TERM)
            & (pl.col("clicks") > 0)
        )
        .pipe(with_target_acos, target_acos_by_campaign, policy)
        .pipe(mark_negated, keywords)
        .join(cover_frame(cover_by_ad_group, "ad_group_id"), on="ad_group_id", how="left")
        .with_columns(
            label=pl.format(
                "{} {}",
                pl.col("source"),
                place_text("campaign", "ad_group"),
            )
        )
    )
    # Sources by clicks, most first: the top one lends its prior and its destination.
    terms = (
        rows.sort("clicks", "campaign_id", "ad_group_id", descending=[True, False, False])
        .group_by("term", maintain_order=True)
        .agg(
            pl.col("clicks").sum(),
            pl.col("orders").sum(),
            pl.col("cost").sum(),
            pl.col("sales").sum(),
            # the strictest target among the sources, and where it comes from
            pl.col("target_acos").min(),
            pl.col("target_source").sort_by("target_acos").first(),
            pl.col("prior_cvr").first(),
            pl.col("prior_aov").first(),
            pl.col("campaign_id").first().alias("top_campaign_id"),
            pl.col("ad_group_id").first().alias("top_ad_group_id"),
            pl.col("days_of_cover").min(),
            pl.col("cover_asin").sort_by("days_of_cover", nulls_last=True).first(),
            pl.col("label").alias("sources"),
            negate_in_struct(
                "campaign_id",
                "ad_group_id",
                "campaign_name",
                "ad_group_name",
                "source",
                pl.col("clicks").cast(pl.Int64),
                pl.col("orders").cast(pl.Int64),
            )
            .filter(~pl.col("already_negated"))
            .alias("negate_in"),
        )
    )
    exact_keywords = keywords.filter(
        (pl.col("kind") == "keyword") & (pl.col("match_type") == "EXACT")
    ).select("term")
    terms = (
        terms.filter(
            (pl.col("orders") >= policy.harvest_min_orders)
            & (pl.col("sales") > 0)
            & (
                pl.col("cost") / pl.col("sales")
                <= pl.col("target_acos") * policy.harvest_max_acos_ratio + EPSILON
            )
        )
        .join(exact_keywords, on="term", how="anti")
        .pipe(smoothed_rates, policy)
        .join(
            _harvest_destinations(targets, advertised),
            left_on="top_ad_group_id",
            right_on="ad_group_id",
            how="left",
        )
    )
    terms = terms.with_columns(
        value_bid=pl.col("cvr") * pl.col("aov") * pl.col("target_acos"),
        cpc=pl.col("cost") / pl.col("clicks"),
        low_cover=(pl.col("days_of_cover") < policy.low_cover_days).fill_null(False),
    ).with_columns(
        new_cents=(
            pl.min_horizontal(pl.col("cpc") * (1 + policy.harvest_bid_uplift), pl.col("value_bid"))
            * 100
            + 1e-6
        )
        .floor()
        .clip(policy.min_bid_cents, policy.max_bid_cents)
        .cast(pl.Int64),
    )
    terms = terms.with_columns(reason=_harvest_reason(policy, currency))
    result = terms.select(
        pl.lit("harvest").alias("kind"),
        pl.col("term").alias("entity_id"),
        pl.lit(Action.HARVEST).alias("action"),
        pl.col("top_campaign_id").alias("campaign_id"),
        pl.col("top_ad_group_id").alias("ad_group_id"),
        pl.lit(None, dtype=pl.String).alias("target_id"),
        pl.col("term").alias("search_term"),
        pl.lit("EXACT").alias("match_type"),
        pl.lit(None, dtype=MONEY).alias("current_bid"),
        cents_to_money(pl.col("new_cents")).alias("recommended_bid"),
        pl.lit(currency or None, dtype=pl.String).alias("currency"),
        pl.col("target_acos").round(4),
        "low_cover",
        "reason",
        evidence_struct(
            pl.lit(Action.HARVEST).alias("action"),
            pl.lit("keyword").alias("entity_type"),
            pl.col("clicks").cast(pl.Int64),
            pl.col("orders").cast(pl.Int64),
            pl.col("cost").round(2),
            pl.col("sales").round(2),
            (pl.col("cost") / pl.col("sales")).round(4).alias("acos_7d"),
            pl.col("cvr").round(6),
            pl.col("prior_cvr").round(6),
            pl.col("aov").round(2),
            pl.col("cpc").round(4),
            pl.col("value_bid").round(4),
            pl.col("target_acos").round(4),
            "target_source",
            "destination_campaign_id",
            "destination_ad_group_id",
            "destination_campaign_name",
            "destination_ad_group_name",
            "negate_in",
            pl.col("days_of_cover").round(1),
            "cover_asin",
            "low_cover",
        ),
    )
    frame = result.sort("search_term").collect()
    return frame.with_columns(stable_ids(("harvest|" + frame["search_term"]).alias("entity_id")))


def _harvest_reason(policy: BidPolicy, currency: str) -> pl.Expr:
    def money(expr: pl.Expr) -> pl.Expr:
        return money_text(expr, currency)

    destination = (
        pl.when(pl.col("destination_ad_group_id").is_null())
        .then(pl.lit("; no manual ad group advertises the same product yet: create one for it"))
        .otherwise(pl.format(" in {}", place_text("destination_campaign", "destination_ad_group")))
    )
    negate = pl.col("negate_in").list.len()
    reason = pl.format(
        '"{}": {} orders from {} clicks, 7-day ACoS {} (target {}, {}), CVR {}, AOV {} from {}'
        " -> exact keyword at {} (CPC {} + {}, value bid {}){}{}",
        pl.col("term"),
        int_text(pl.col("orders")),
        int_text(pl.col("clicks")),
        percent_text(pl.col("cost") / pl.col("sales")),
        percent_text(pl.col("target_acos")),
        pl.col("target_source"),
        percent_text(pl.col("cvr")),
        money(pl.col("aov")),
        pl.col("sources").list.join("; "),
        money(pl.col("new_cents") / 100),
        money(pl.col("cpc")),
        pl.lit(pct(policy.harvest_bid_uplift)),
        money(pl.col("value_bid")),
        destination,
        pl.when(negate > 0)
        .then(
            pl.format(
                "; negative exact in {} source ad group(s) to stop cannibalisation",
                negate.cast(pl.String),
            )
        )
        .otherwise(pl.lit("")),
    )
    return (
        pl.when(pl.col("low_cover"))
        .then(pl.format("{}; low stock: {}", reason, cover_text(policy)))
        .otherwise(reason)
    )

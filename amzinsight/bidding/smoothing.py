"""Conversion rate and order value smoothed toward the data around a row (Bayesian shrinkage):
a target with a few clicks borrows its ad group's rates, the ad group its campaign's, the
campaign the profile's, and the profile BidPolicy.default_cvr."""

from __future__ import annotations

import polars as pl

from amzinsight.bidding.frames import UNITS, FrameT, exact_units
from amzinsight.bidding.policy import BidPolicy


def _shrink_rate(successes: pl.Expr, trials: pl.Expr, prior: pl.Expr, strength: float) -> pl.Expr:
    return (successes + strength * prior) / (trials + strength)


def _shrink_aov(sales: pl.Expr, orders: pl.Expr, prior: pl.Expr, strength: float) -> pl.Expr:
    """Order value shrunk toward prior; with no prior (no orders above) the raw value, if any."""
    raw = pl.when(orders > 0).then(sales / orders)
    return (
        pl.when(prior.is_null()).then(raw).otherwise(_shrink_rate(sales, orders, prior, strength))
    )


def smoothed_rates(frame: FrameT, policy: BidPolicy) -> FrameT:
    """Add `cvr` and `aov`: Bayesian (beta-binomial / gamma-style) shrinkage toward the priors.

    Needs clicks, orders, sales, prior_cvr and prior_aov. cvr = (orders + k x prior_cvr) /
    (clicks + k) with k = policy.cvr_prior_clicks, so no clicks gives the prior and many clicks
    the raw rate; aov likewise with policy.aov_prior_orders pseudo-orders.
    """
    clicks, orders, sales = pl.col("clicks"), pl.col("orders"), pl.col("sales")
    return frame.with_columns(
        cvr=_shrink_rate(orders, clicks, pl.col("prior_cvr"), policy.cvr_prior_clicks),
        aov=_shrink_aov(sales, orders, pl.col("prior_aov"), policy.aov_prior_orders),
    )


def with_priors(rows: pl.LazyFrame, policy: BidPolicy) -> pl.LazyFrame:
    """prior_cvr and prior_aov for every row, from the data around it, each row counted once:
    the rest of its ad group, smoothed toward the other ad groups of its campaign, smoothed
    toward the other campaigns of the profile, smoothed toward policy.default_cvr. Needs clicks,
    orders, sales, campaign_id, ad_group_id."""
    k, ka = policy.cvr_prior_clicks, policy.aov_prior_orders
    own = pl.lit("\x00") + pl.int_range(pl.len()).cast(pl.String)
    rows = rows.with_columns(
        _campaign=pl.coalesce(pl.col("campaign_id"), own),
        _ad_group=pl.coalesce(pl.col("ad_group_id"), own),
    )
    metrics = ("clicks", "orders", "sales")

    def total(metric: str) -> pl.Expr:  # exact (integer) sums: order-free, hence repeatable
        return exact_units(pl.col(metric), metric).sum()

    rows = rows.with_columns(
        *((total(m) / UNITS[m]).alias(f"_p_{m}") for m in metrics),
        *((total(m).over("_campaign") / UNITS[m]).alias(f"_c_{m}") for m in metrics),
        *((total(m).over("_ad_group") / UNITS[m]).alias(f"_a_{m}") for m in metrics),
    )

    def rest(outer: str, inner: str, metric: str) -> pl.Expr:
        inside = pl.col(inner) if inner in metrics else pl.col(f"_{inner}_{metric}")
        return (pl.col(f"_{outer}_{metric}") - inside).clip(lower_bound=0)

    rows = rows.with_columns(
        _profile_cvr=_shrink_rate(
            rest("p", "c", "orders"), rest("p", "c", "clicks"), pl.lit(policy.default_cvr), k
        ),
        # Order value is mostly the price: with no other campaign selling, use the profile's own.
        _profile_aov=pl.when(rest("p", "c", "orders") > 0)
        .then(rest("p", "c", "sales") / rest("p", "c", "orders"))
        .when(pl.col("_p_orders") > 0)
        .then(pl.col("_p_sales") / pl.col("_p_orders")),
    )
    rows = rows.with_columns(
        _campaign_cvr=_shrink_rate(
            rest("c", "a", "orders"), rest("c", "a", "clicks"), pl.col("_profile_cvr"), k
        ),
        _campaign_aov=_shrink_aov(
            rest("c", "a", "sales"), rest("c", "a", "orders"), pl.col("_profile_aov"), ka
        ),
    )
    rows = rows.with_columns(
        prior_cvr=_shrink_rate(
            rest("a", "orders", "orders"),
            rest("a", "clicks", "clicks"),
            pl.col("_campaign_cvr"),
            k,
        ),
        prior_aov=_shrink_aov(
            rest("a", "sales", "sales"),
            rest("a", "orders", "orders"),
            pl.col("_campaign_aov"),
            ka,
        ),
    )
    return rows.drop(
        "_campaign",
        "_ad_group",
        *(f"_{level}_{m}" for level in "pca" for m in metrics),
        "_profile_cvr",
        "_profile_aov",
        "_campaign_cvr",
        "_campaign_aov",
    )

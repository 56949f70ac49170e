"""Bids for keywords and product targets: raise, lower or cut, each with its reason.

The value-based bid is what a click is worth at the target ACoS (smoothed CVR x AOV x target);
the policy's dead band, step limits, clamps, cooldown, no-sale cut and low-cover rule decide how
far the bid moves toward it. Vectorised polars over per-target totals: one pass for 100,000
targets, no Python loop per row. Pure: frames in, a frame out, no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import polars as pl

from amzinsight.bidding.evidence import Action, Cause, Limit
from amzinsight.bidding.frames import (
    BIDDABLE_KINDS,
    EPSILON,
    METRICS,
    MOVES,
    TARGET_COLUMNS,
    cents_to_money,
    cover_frame,
    enabled,
    ensure,
    evidence_struct,
    frame_currency,
    lookback_window,
    metric_totals,
    with_target_acos,
)
from amzinsight.bidding.policy import BidPolicy
from amzinsight.bidding.smoothing import smoothed_rates, with_priors
from amzinsight.bidding.text import (
    cover_text,
    int_text,
    money_scalar,
    money_text,
    pct,
    percent_text,
)


def _biddable_targets(targets: pl.DataFrame) -> pl.LazyFrame:
    lazy = ensure(targets.lazy(), TARGET_COLUMNS)
    return (
        lazy.filter(
            pl.col("kind").is_in(BIDDABLE_KINDS).fill_null(True)
            & enabled("state")
            & enabled("campaign_state")
            & enabled("ad_group_state")
        )
        .with_columns(
            current_bid=pl.coalesce(
                pl.col("bid").cast(pl.Float64), pl.col("default_bid").cast(pl.Float64)
            ),
            entity_type=pl.col("kind").fill_null("keyword"),
        )
        .filter(pl.col("current_bid") > 0)
        .select(
            pl.col("target_id").cast(pl.String),
            pl.col("campaign_id").cast(pl.String),
            pl.col("ad_group_id").cast(pl.String),
            "entity_type",
            "match_type",
            "keyword_text",
            "expression",
            "campaign_name",
            "ad_group_name",
            "current_bid",
            pl.col("last_bid_change").cast(pl.Date),
            pl.lit(True).alias("_biddable"),
        )
    )


def recommend_bids(
    targets: pl.DataFrame,
    performance: pl.DataFrame | pl.LazyFrame,
    policy: BidPolicy,
    target_acos_by_campaign: Mapping[str, float] | pl.DataFrame | None,
    cover_by_target: pl.DataFrame | None,
    today: date,
    *,
    currency: str | None = None,
    include_holds: bool = False,
) -> pl.DataFrame:
    """One row per bid to change (raise, lower, cut), each with its reason and evidence.

    The value-based bid is CVR x AOV x target ACoS, both rates smoothed toward the ad group and
    campaign; then the dead band, the step limits, the min/max clamps, the cooldown, the no-sale
    cut and the low-cover rule apply, in that spirit: never more than one step, never a raise on
    stock that runs out. With include_holds, targets left alone come too (action hold, wait,
    cooldown, at_min, low_cover, no_value), each with why.
    """
    currency = currency if currency is not None else frame_currency(targets)
    start, end = lookback_window(today, policy)
    totals = metric_totals(
        performance, ["target_id"], today, policy, carry=("campaign_id", "ad_group_id")
    ).with_columns(pl.col("target_id").cast(pl.String))
    rows = (
        _biddable_targets(targets)
        .join(totals, on="target_id", how="full", coalesce=True, suffix="_perf")
        .with_columns(
            campaign_id=pl.coalesce("campaign_id", pl.col("campaign_id_perf").cast(pl.String)),
            ad_group_id=pl.coalesce("ad_group_id", pl.col("ad_group_id_perf").cast(pl.String)),
            _biddable=pl.col("_biddable").fill_null(False),
        )
        .with_columns(pl.col(name).fill_null(0.0) for name in METRICS)
        .drop("campaign_id_perf", "ad_group_id_perf")
    )
    rows = with_priors(rows, policy).filter(pl.col("_biddable"))
    rows = with_target_acos(rows, target_acos_by_campaign, policy)
    rows = rows.join(cover_frame(cover_by_target, "target_id"), on="target_id", how="left")
    rows = smoothed_rates(rows, policy)
    rows = _decide_bids(rows, policy, today)
    rows = rows.with_columns(cause=_bid_cause(), limit=_bid_limit(policy))
    rows = rows.with_columns(reason=_bid_reason(policy, currency, start))
    if not include_holds:
        rows = rows.filter(pl.col("action").is_in(MOVES))
    moved = pl.col("action").is_in(MOVES)
    result = rows.select(
        pl.lit("bid").alias("kind"),
        pl.col("target_id").alias("entity_id"),
        "action",
        "campaign_id",
        "ad_group_id",
        "target_id",
        pl.lit(None, dtype=pl.String).alias("search_term"),
        "match_type",
        cents_to_money(pl.col("current_cents")).alias("current_bid"),
        pl.when(moved).then(cents_to_money(pl.col("new_cents"))).alias("recommended_bid"),
        pl.lit(currency or None, dtype=pl.String).alias("currency"),
        pl.col("target_acos").round(4),
        "low_cover",
        "reason",
        evidence_struct(
            "action",
            "entity_type",
            "keyword_text",
            "expression",
            "campaign_name",
            "ad_group_name",
            pl.col("impressions").cast(pl.Int64),
            pl.col("clicks").cast(pl.Int64),
            pl.col("orders").cast(pl.Int64),
            pl.col("cost").round(2),
            pl.col("sales").round(2),
            pl.when(pl.col("sales") > 0)
            .then(pl.col("cost") / pl.col("sales"))
            .round(4)
            .alias("acos_7d"),
            pl.when(pl.col("clicks") > 0)
            .then(pl.col("orders") / pl.col("clicks"))
            .round(4)
            .alias("raw_cvr"),
            pl.col("cvr").round(6),
            pl.col("prior_cvr").round(6),
            pl.col("aov").round(2),
            pl.col("prior_aov").round(2),
            pl.col("target_acos").round(4),
            "target_source",
            pl.col("value_bid").round(4),
            pl.col("current_bid").round(4),
            (pl.col("new_cents") / 100).round(2).alias("proposed_bid"),
            pl.col("days_of_cover").round(1),
            "cover_asin",
            "low_cover",
            "days_since_change",
            "cause",
            "limit",
            pl.lit(start.isoformat()).alias("window_start"),
            pl.lit(end.isoformat()).alias("window_end"),
        ),
    )
    return result.sort("campaign_id", "ad_group_id", "target_id", nulls_last=True).collect()


def _decide_bids(rows: pl.LazyFrame, policy: BidPolicy, today: date) -> pl.LazyFrame:
    current = pl.col("current_bid")
    rows = rows.with_columns(
        value_bid=pl.col("cvr") * pl.col("aov") * pl.col("target_acos"),
        clicks_per_order=1 / pl.col("prior_cvr"),
        cost_per_order=pl.col("prior_aov") * pl.col("target_acos"),
        days_since_change=(pl.lit(today) - pl.col("last_bid_change")).dt.total_days(),
        low_cover=(pl.col("days_of_cover") < policy.low_cover_days).fill_null(False),
        current_cents=(current * 100).round(0, mode="half_away_from_zero").cast(pl.Int64),
        up_cap=current * (1 + policy.max_step_up),
        down_cap=current * (1 - policy.max_step_down),
    )
    no_sale = (pl.col("orders") == 0) & (
        (pl.col("clicks") >= policy.no_sale_click_factor * pl.col("clicks_per_order"))
        | (pl.col("cost") >= policy.no_sale_spend_factor * pl.col("cost_per_order")).fill_null(
            False
        )
    )
    rows = rows.with_columns(
        no_sale=no_sale & (pl.col("clicks") > 0),
        in_cooldown=(pl.col("days_since_change") < policy.cooldown_days).fill_null(False),
        in_band=((pl.col("value_bid") / current - 1).abs() <= policy.dead_band + EPSILON),
        aim=pl.col("value_bid").clip(pl.col("down_cap"), pl.col("up_cap")),
    )
    rows = rows.with_columns(
        aim=pl.when(pl.col("no_sale")).then(pl.col("down_cap")).otherwise(pl.col("aim")),
    )
    # To the nearest cent, but never outside the step limits: rounding must not add to a step.
    rows = rows.with_columns(
        new_cents=(pl.col("aim") * 100)
        .round(0, mode="half_away_from_zero")
        .clip(
            (pl.col("down_cap") * 100 - 1e-6).ceil(),
            (pl.col("up_cap") * 100 + 1e-6).floor(),
        )
        .clip(policy.min_bid_cents, policy.max_bid_cents)
        .cast(pl.Int64),
        would_raise=(pl.col("aim") > current).fill_null(False),
    )
    new = pl.col("new_cents") / 100
    moves_up = new > current + EPSILON
    moves_down = new < current - EPSILON
    action = (
        pl.when(pl.col("in_cooldown"))
        .then(pl.lit(Action.COOLDOWN))
        .when(pl.col("no_sale") & moves_down)
        .then(pl.lit(Action.CUT))
        .when(pl.col("no_sale"))
        .then(pl.lit(Action.AT_MIN))
        .when(pl.col("clicks") < policy.min_clicks)
        .then(pl.lit(Action.WAIT))
        .when(pl.col("value_bid").is_null())
        .then(pl.lit(Action.NO_VALUE))
        .when(pl.col("in_band"))
        .then(pl.lit(Action.HOLD))
        .when(pl.col("would_raise") & pl.col("low_cover"))
        .then(pl.lit(Action.LOW_COVER))
        .when(moves_up)
        .then(pl.lit(Action.RAISE))
        .when(moves_down)
        .then(pl.lit(Action.LOWER))
        .otherwise(pl.lit(Action.ROUNDING))
    )
    return rows.with_columns(action=action)


def _bid_cause() -> pl.Expr:
    """Which fact decided a raise or lower, so its reason can lead with it (a seller reads "ACoS
    17.8%, target 30% -> lower" as wrong when smoothing or the bid's distance above the CPC
    decided it): `acos` (ACoS on the side of the target the move follows), `smoothing` (the
    target's own clicks alone would not move it that way; the ad group's conversion does),
    `bid_vs_cpc` (the bid, not the price paid per click, is off the value of a click),
    `no_sales_yet` (no orders, too few clicks for a cut: valued from the ad group), `no_sale`
    (a cut); holds keep their action."""
    action, target = pl.col("action"), pl.col("target_acos")
    acos = pl.col("cost") / pl.col("sales")
    raw_value = pl.col("sales") / pl.col("clicks") * target
    current = pl.col("current_bid")
    follows_acos = ((action == Action.LOWER) & (acos > target)) | (
        (action == Action.RAISE) & (acos < target)
    )
    raw_agrees = ((action == Action.LOWER) & (raw_value < current)) | (
        (action == Action.RAISE) & (raw_value > current)
    )
    return (
        pl.when(action == Action.CUT)
        .then(pl.lit(Cause.NO_SALE))
        .when(~action.is_in([Action.RAISE, Action.LOWER]))
        .then(action)
        .when(pl.col("sales") <= 0)
        .then(pl.lit(Cause.NO_SALES_YET))
        .when(follows_acos)
        .then(pl.lit(Cause.ACOS))
        .when(raw_agrees)
        .then(pl.lit(Cause.BID_VS_CPC))
        .otherwise(pl.lit(Cause.SMOOTHING))
    )


def _bid_limit(policy: BidPolicy) -> pl.Expr:
    """What capped the new bid, if anything: min_bid, max_bid, max_step_up or max_step_down."""
    return (
        pl.when(~pl.col("action").is_in(MOVES))
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("new_cents") == policy.min_bid_cents)
        .then(pl.lit(Limit.MIN_BID))
        .when(pl.col("new_cents") == policy.max_bid_cents)
        .then(pl.lit(Limit.MAX_BID))
        .when(pl.col("aim") >= pl.col("up_cap") - EPSILON)
        .then(pl.lit(Limit.MAX_STEP_UP))
        .when(pl.col("aim") <= pl.col("down_cap") + EPSILON)
        .then(pl.lit(Limit.MAX_STEP_DOWN))
    )


def _cause_text(currency: str) -> pl.Expr:
    """The deciding fact of a raise or lower, in words (see _bid_cause)."""

    def money(expr: pl.Expr) -> pl.Expr:
        return money_text(expr, currency)

    lower = pl.col("action") == Action.LOWER
    acos = percent_text(pl.col("cost") / pl.col("sales"))
    target = percent_text(pl.col("target_acos"))
    side = pl.when(pl.col("cost") / pl.col("sales") > pl.col("target_acos"))
    over_under = side.then(pl.lit("over")).otherwise(pl.lit("under"))
    worth = money(pl.col("value_bid"))
    bid = money(pl.col("current_cents") / 100)
    more_less = pl.when(lower).then(pl.lit("less")).otherwise(pl.lit("more"))
    cause = pl.col("cause")
    return (
        pl.when(cause == Cause.ACOS)
        .then(pl.format("7-day ACoS {} is {} the target {}", acos, over_under, target))
        .when(cause == Cause.SMOOTHING)
        .then(
            pl.format(
                "smoothing toward the ad group decides it: {} orders from {} clicks ({}) are"
                " pulled toward the ad group's {} to CVR {}, so a click is worth {}, {} than the"
                " bid {} (its own numbers alone would not {} it), though 7-day ACoS {} is {} the"
                " target {}",
                int_text(pl.col("orders")),
                int_text(pl.col("clicks")),
                percent_text(pl.col("orders") / pl.col("clicks")),
                percent_text(pl.col("prior_cvr")),
                percent_text(pl.col("cvr")),
                worth,
                more_less,
                bid,
                pl.col("action"),
                acos,
                over_under,
                target,
            )
        )
        .when(cause == Cause.BID_VS_CPC)
        .then(
            pl.format(
                "the bid {} is {} what a click is worth at the target ({}), though at an average"
                " CPC of {} the 7-day ACoS {} is {} the target {}",
                bid,
                pl.when(lower).then(pl.lit("above")).otherwise(pl.lit("below")),
                worth,
                money(pl.col("cost") / pl.col("clicks")),
                acos,
                over_under,
                target,
            )
        )
        .otherwise(
            pl.format(
                "no orders yet from {} clicks, too few to call it a non-seller: at the ad group's"
                " conversion ({}) and order value ({}) a click is worth {}, {} than the bid {}",
                int_text(pl.col("clicks")),
                percent_text(pl.col("cvr")),
                money(pl.col("aov")),
                worth,
                more_less,
                bid,
            )
        )
    )


def _bid_reason(policy: BidPolicy, currency: str, start: date) -> pl.Expr:
    def money(name: str) -> pl.Expr:
        return money_text(pl.col(name), currency)

    current_text = money_text(pl.col("current_cents") / 100, currency)
    new_text = money_text(pl.col("new_cents") / 100, currency)
    performance = (
        pl.when(pl.col("sales") > 0)
        .then(
            pl.format(
                "7-day ACoS {} ({} spend, {} sales, {} clicks, {} orders)",
                percent_text(pl.col("cost") / pl.col("sales")),
                money("cost"),
                money("sales"),
                int_text(pl.col("clicks")),
                int_text(pl.col("orders")),
            )
        )
        .otherwise(
            pl.format(
                "no 7-day sales ({} spend, {} clicks)", money("cost"), int_text(pl.col("clicks"))
            )
        )
    )
    value = pl.format(
        "CVR {} (smoothed from {}/{} toward ad group {}), AOV {}, target ACoS {} ({})"
        " -> bid {}; now {}",
        percent_text(pl.col("cvr")),
        int_text(pl.col("orders")),
        int_text(pl.col("clicks")),
        percent_text(pl.col("prior_cvr")),
        money("aov"),
        percent_text(pl.col("target_acos")),
        pl.col("target_source"),
        money("value_bid"),
        current_text,
    )
    limit = (
        pl.when(pl.col("limit") == Limit.MIN_BID)
        .then(pl.lit(f" (min bid {money_scalar(policy.min_bid, currency)})"))
        .when(pl.col("limit") == Limit.MAX_BID)
        .then(pl.lit(f" (max bid {money_scalar(policy.max_bid, currency)})"))
        .when(pl.col("limit") == Limit.MAX_STEP_UP)
        .then(pl.lit(f" (max step +{pct(policy.max_step_up)})"))
        .when(pl.col("limit") == Limit.MAX_STEP_DOWN)
        .then(pl.lit(f" (max step -{pct(policy.max_step_down)})"))
        .otherwise(pl.lit(""))
    )
    no_orders = pl.format(
        "No orders from {} clicks and {} spend (one order expected per {} clicks{})",
        int_text(pl.col("clicks")),
        money("cost"),
        int_text(pl.col("clicks_per_order")),
        pl.when(pl.col("cost_per_order").is_not_null())
        .then(
            pl.format(
                " or {} at target ACoS {}",
                money("cost_per_order"),
                percent_text(pl.col("target_acos")),
            )
        )
        .otherwise(pl.lit("")),
    )
    action = pl.col("action")
    reason = (
        pl.when(action.is_in([Action.RAISE, Action.LOWER]))
        .then(
            pl.format(
                "{} to {}{}: {}. {}; {}",
                pl.when(action == Action.RAISE).then(pl.lit("Raise")).otherwise(pl.lit("Lower")),
                new_text,
                limit,
                _cause_text(currency),
                performance,
                value,
            )
        )
        .when(action == Action.CUT)
        .then(pl.format("{} -> cut to {}{}; now {}", no_orders, new_text, limit, current_text))
        .when(action == Action.AT_MIN)
        .then(pl.format("{}; already at the minimum bid {}", no_orders, current_text))
        .when(action == Action.COOLDOWN)
        .then(
            pl.format(
                "Bid changed {} (cooldown {} days); now {}",
                pl.when(pl.col("days_since_change") <= 0)
                .then(pl.lit("today"))
                .when(pl.col("days_since_change") == 1)
                .then(pl.lit("1 day ago"))
                .otherwise(pl.format("{} days ago", int_text(pl.col("days_since_change")))),
                pl.lit(str(policy.cooldown_days)),
                current_text,
            )
        )
        .when(action == Action.WAIT)
        .then(
            pl.format(
                "Waiting for evidence: {} of {} clicks since {} ({} spend); now {}",
                int_text(pl.col("clicks")),
                pl.lit(str(policy.min_clicks)),
                pl.lit(start.isoformat()),
                money("cost"),
                current_text,
            )
        )
        .when(action == Action.NO_VALUE)
        .then(
            pl.format("No 7-day sales in this profile yet to value a click; now {}", current_text)
        )
        .when(action == Action.HOLD)
        .then(
            pl.format(
                "{}; {}; within the ±{} dead band, keep",
                performance,
                value,
                pl.lit(pct(policy.dead_band)),
            )
        )
        .when(action == Action.LOW_COVER)
        .then(
            pl.format(
                "{}; {}; would raise to {}, but {}: keep",
                performance,
                value,
                new_text,
                cover_text(policy),
            )
        )
        .when(pl.col("current_cents") <= policy.min_bid_cents)
        .then(pl.format("{}; {}; already at the minimum bid, keep", performance, value))
        .when(pl.col("current_cents") >= policy.max_bid_cents)
        .then(pl.format("{}; {}; already at the maximum bid, keep", performance, value))
        .otherwise(pl.format("{}; {}; the change rounds to nothing, keep", performance, value))
    )
    flagged = pl.col("low_cover") & (action != "low_cover")
    return (
        pl.when(flagged)
        .then(pl.format("{}; low stock: {}", reason, cover_text(policy)))
        .otherwise(reason)
    )

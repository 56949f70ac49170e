"""Bid, harvest and negative recommendations for Sponsored Products, with the reason for each.

The math is vectorised polars over per-target (or per-search-term) totals: one pass for 100,000
targets, no Python loop per row. Every ACoS, order and sale is 7-day attribution (purchases_7d,
sales_7d); rows flagged is_settling are ignored. Thresholds live in ads_policy.BidPolicy.

Frames in (column names as in the tables; money may be Decimal or float):
- targets: target_id, kind, campaign_id, ad_group_id, match_type, keyword_text, expression,
  state, bid, default_bid, last_bid_change (date), and optionally campaign_state,
  ad_group_state, campaign_name, ad_group_name, targeting_type, currency.
- performance: target_id, campaign_id, ad_group_id, clicks, cost, purchases_7d, sales_7d, and
  optionally impressions; per day (with report_date and is_settling: the lookback window and the
  settling filter are applied here) or already summed per target (as load_inputs returns it).
- search_terms: campaign_id, ad_group_id, search_term, keyword_type / match_type,
  targeting_type, the same metrics, optionally campaign_name, ad_group_name, per day or summed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

import polars as pl
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.engine import Engine

from amzinsight.analytics.ads_policy import BidPolicy
from amzinsight.db.frames import query_frame
from amzinsight.db.tables import (
    ads_ad_groups,
    ads_advertised_product_daily,
    ads_campaigns,
    ads_profiles,
    ads_search_term_daily,
    ads_target_daily,
    ads_targets,
    bid_changes,
    bid_recommendations,
    cogs,
    inventory_snapshots,
    listings,
    marketplaces,
    order_items,
    orders,
    sales_traffic_by_asin,
    settlement_lines,
)
from amzinsight.errors import ConfigError
from amzinsight.stores import Store

logger = logging.getLogger(__name__)

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

BIDDABLE_KINDS = ("keyword", "product_target")
MOVES = ("raise", "lower", "cut")
"""Bid actions that become recommendations; the others (hold, wait, ...) say why not."""
ASIN_TERM = r"^b0[0-9a-z]{8}$"
"""Search terms that are ASINs (product-page clicks): product targets, never keywords."""
NO_QUERY_TERM = "*"
"""Amazon's search term for placements without a query (docs/amazon-formats.md 4.2)."""
CURRENCY_SYMBOLS = {
    "USD": "$",
    "CAD": "CA$",  # as the pages write it
    "MXN": "MX$",
    "BRL": "R$",
    "AUD": "A$",
    "SGD": "S$",
    "GBP": "£",
    "EUR": "€",
    "JPY": "¥",
    "INR": "₹",
}
_MONEY = pl.Decimal(12, 2)
_METRICS = {
    "impressions": "impressions",
    "clicks": "clicks",
    "cost": "cost",
    "orders": "purchases_7d",
    "sales": "sales_7d",
}
_UNITS = {"impressions": 1, "clicks": 1, "cost": 100, "orders": 1, "sales": 100}
"""How many stored units make one: money is summed in cents."""
_EPSILON = 1e-9

RECOMMENDATION_SCHEMA = pl.Schema(
    {
        "kind": pl.String(),
        "entity_id": pl.String(),
        "action": pl.String(),
        "campaign_id": pl.String(),
        "ad_group_id": pl.String(),
        "target_id": pl.String(),
        "search_term": pl.String(),
        "match_type": pl.String(),
        "current_bid": _MONEY,
        "recommended_bid": _MONEY,
        "currency": pl.String(),
        "target_acos": pl.Float64(),
        "low_cover": pl.Boolean(),
        "reason": pl.String(),
    }
)
"""Columns of every recommendation frame, followed by `evidence` (a struct: the numbers used)."""


# --- inputs ----------------------------------------------------------------------------------


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


def lookback_window(today: date, policy: BidPolicy) -> tuple[date, date]:
    """The days the engine reads: lookback_days up to yesterday (today is never complete)."""
    return today - timedelta(days=policy.lookback_days), today - timedelta(days=1)


# --- smoothing -------------------------------------------------------------------------------


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


def _with_priors(rows: pl.LazyFrame, policy: BidPolicy) -> pl.LazyFrame:
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
        return _exact_units(pl.col(metric), metric).sum()

    rows = rows.with_columns(
        *((total(m) / _UNITS[m]).alias(f"_p_{m}") for m in metrics),
        *((total(m).over("_campaign") / _UNITS[m]).alias(f"_c_{m}") for m in metrics),
        *((total(m).over("_ad_group") / _UNITS[m]).alias(f"_a_{m}") for m in metrics),
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


# --- frame plumbing ----------------------------------------------------------------------------


def _ensure(frame: pl.LazyFrame, columns: Mapping[str, pl.DataType]) -> pl.LazyFrame:
    """Add the optional columns a caller left out, as nulls of the right type."""
    present = set(frame.collect_schema().names())
    missing = [
        pl.lit(None, dtype=dtype).alias(n) for n, dtype in columns.items() if n not in present
    ]
    return frame.with_columns(missing) if missing else frame


def _metric_totals(
    frame: pl.DataFrame | pl.LazyFrame,
    keys: list[str],
    today: date | None,
    policy: BidPolicy,
    carry: Collection[str] = (),
) -> pl.LazyFrame:
    """Sum the 7-day metrics per key over the lookback window, settling rows left out."""
    lazy = frame.lazy()
    names = set(lazy.collect_schema().names())
    if "is_settling" in names:
        lazy = lazy.filter(~pl.col("is_settling").fill_null(False))
    if "report_date" in names and today is not None:
        start, end = lookback_window(today, policy)
        lazy = lazy.filter(pl.col("report_date").is_between(start, end))
    # Sums in whole cents (and whole counts) are exact, so they do not depend on the order in
    # which polars' threads add the rows: the same data always gives the same recommendations.
    sums = [
        (
            (_exact_units(pl.col(source), name).sum() / _UNITS[name])
            if source in names
            else pl.lit(0.0, dtype=pl.Float64)
        ).alias(name)
        for name, source in _METRICS.items()
    ]
    carried = [
        pl.col(name).drop_nulls().first()
        if name in names
        else pl.lit(None, dtype=pl.String).alias(name)
        for name in carry
    ]
    return lazy.group_by(keys, maintain_order=True).agg(*sums, *carried)


def _exact_units(value: pl.Expr, name: str) -> pl.Expr:
    """A metric as whole units (cents for money) in Int64, for exact, order-free sums."""
    return (value.cast(pl.Float64).fill_null(0) * _UNITS[name]).round(0).cast(pl.Int64)


def _enabled(column: str) -> pl.Expr:
    return pl.col(column).is_null() | (pl.col(column).str.to_uppercase() == "ENABLED")


def _campaign_targets(
    target_acos_by_campaign: Mapping[str, float] | pl.DataFrame | None,
) -> pl.LazyFrame:
    schema = {"campaign_id": pl.String(), "target_acos": pl.Float64(), "target_source": pl.String()}
    if target_acos_by_campaign is None:
        return pl.LazyFrame(schema=schema)
    if isinstance(target_acos_by_campaign, pl.DataFrame):
        frame = _ensure(target_acos_by_campaign.lazy(), {"target_source": pl.String()})
        return frame.select(
            pl.col("campaign_id").cast(pl.String),
            pl.col("target_acos").cast(pl.Float64),
            pl.col("target_source").fill_null("campaign target"),
        )
    return pl.LazyFrame(
        {
            "campaign_id": list(target_acos_by_campaign),
            "target_acos": [float(v) for v in target_acos_by_campaign.values()],
            "target_source": ["campaign target"] * len(target_acos_by_campaign),
        },
        schema=schema,
    )


def _with_target_acos(
    rows: pl.LazyFrame,
    target_acos_by_campaign: Mapping[str, float] | pl.DataFrame | None,
    policy: BidPolicy,
) -> pl.LazyFrame:
    return rows.join(
        _campaign_targets(target_acos_by_campaign), on="campaign_id", how="left"
    ).with_columns(
        pl.col("target_acos").fill_null(policy.target_acos),
        pl.col("target_source").fill_null("default target"),
    )


def _frame_currency(frame: pl.DataFrame | None) -> str:
    if frame is None or "currency" not in frame.columns:
        return ""
    present = frame.get_column("currency").drop_nulls()
    return str(present[0]) if len(present) else ""


def _stable_ids(parts: pl.Series) -> pl.Series:
    """Short sha256 ids of text keys; stable across polars versions, unlike Series.hash."""
    return pl.Series(
        parts.name,
        [hashlib.sha256(p.encode()).hexdigest()[:24] for p in parts.to_list()],
        dtype=pl.String,
    )


def _cents_to_money(cents: pl.Expr) -> pl.Expr:
    return (cents.cast(_MONEY) / 100).cast(_MONEY)


def _empty_recommendations() -> pl.DataFrame:
    frame = pl.DataFrame(schema=RECOMMENDATION_SCHEMA)
    return frame.with_columns(
        pl.lit(None, dtype=pl.Struct({"action": pl.String})).alias("evidence")
    )


# --- words and numbers for the reasons -----------------------------------------------------------


def _affixes(currency: str) -> tuple[str, str]:
    if currency in CURRENCY_SYMBOLS:
        return CURRENCY_SYMBOLS[currency], ""
    return "", f" {currency}" if currency else ""


def _money_text(expr: pl.Expr, currency: str) -> pl.Expr:
    """$24.90: rounded half away from zero to the cent, with the currency."""
    cents = (expr * 100).round(0, mode="half_away_from_zero").cast(pl.Int64)
    prefix, suffix = _affixes(currency)
    units = (cents.abs() // 100).cast(pl.String)
    fraction = (cents.abs() % 100).cast(pl.String).str.zfill(2)
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, pl.lit(prefix), units, pl.lit("."), fraction, pl.lit(suffix)])


def _percent_text(expr: pl.Expr) -> pl.Expr:
    """4.1%, 30%: one decimal, none when it is zero."""
    tenths = (expr * 1000).round(0, mode="half_away_from_zero").cast(pl.Int64)
    whole = (tenths // 10).cast(pl.String)
    return (
        pl.when(tenths % 10 == 0)
        .then(whole + "%")
        .otherwise(pl.format("{}.{}%", whole, (tenths % 10).cast(pl.String)))
    )


def _int_text(expr: pl.Expr) -> pl.Expr:
    return expr.round(0, mode="half_away_from_zero").cast(pl.Int64).cast(pl.String)


def _pct(value: float) -> str:
    text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _money_scalar(value: float, currency: str) -> str:
    prefix, suffix = _affixes(currency)
    return f"{prefix}{value:.2f}{suffix}"


def _cover_text(policy: BidPolicy) -> pl.Expr:
    return pl.format(
        "{} days of cover for {} (under {})",
        _int_text(pl.col("days_of_cover")),
        pl.coalesce(pl.col("cover_asin"), pl.lit("the advertised product")),
        pl.lit(f"{policy.low_cover_days:g}"),
    )


def _place_text(campaign: str, ad_group: str | None) -> pl.Expr:
    parts = [pl.coalesce(pl.col(f"{campaign}_name"), pl.col(f"{campaign}_id"), pl.lit("?"))]
    if ad_group is not None:
        parts += [
            pl.lit(" / "),
            pl.coalesce(pl.col(f"{ad_group}_name"), pl.col(f"{ad_group}_id"), pl.lit("?")),
        ]
    return pl.concat_str(parts)


# --- bids --------------------------------------------------------------------------------------


_TARGET_COLUMNS: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "state": pl.String(),
    "campaign_state": pl.String(),
    "ad_group_state": pl.String(),
    "campaign_name": pl.String(),
    "ad_group_name": pl.String(),
    "match_type": pl.String(),
    "keyword_text": pl.String(),
    "expression": pl.String(),
    "targeting_type": pl.String(),
    "bid": pl.Float64(),
    "default_bid": pl.Float64(),
    "last_bid_change": pl.Date(),
    "campaign_id": pl.String(),
    "ad_group_id": pl.String(),
}


def _biddable_targets(targets: pl.DataFrame) -> pl.LazyFrame:
    lazy = _ensure(targets.lazy(), _TARGET_COLUMNS)
    return (
        lazy.filter(
            pl.col("kind").is_in(BIDDABLE_KINDS).fill_null(True)
            & _enabled("state")
            & _enabled("campaign_state")
            & _enabled("ad_group_state")
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


def _cover_frame(cover: pl.DataFrame | None, key: str) -> pl.LazyFrame:
    schema = {key: pl.String(), "days_of_cover": pl.Float64(), "cover_asin": pl.String()}
    if cover is None:
        return pl.LazyFrame(schema=schema)
    lazy = _ensure(cover.lazy(), {"asin": pl.String()})
    return lazy.select(
        pl.col(key).cast(pl.String),
        pl.col("days_of_cover").cast(pl.Float64),
        pl.col("asin").cast(pl.String).alias("cover_asin"),
    ).unique(key, keep="first")


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
    currency = currency if currency is not None else _frame_currency(targets)
    start, end = lookback_window(today, policy)
    totals = _metric_totals(
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
        .with_columns(pl.col(name).fill_null(0.0) for name in _METRICS)
        .drop("campaign_id_perf", "ad_group_id_perf")
    )
    rows = _with_priors(rows, policy).filter(pl.col("_biddable"))
    rows = _with_target_acos(rows, target_acos_by_campaign, policy)
    rows = rows.join(_cover_frame(cover_by_target, "target_id"), on="target_id", how="left")
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
        _cents_to_money(pl.col("current_cents")).alias("current_bid"),
        pl.when(moved).then(_cents_to_money(pl.col("new_cents"))).alias("recommended_bid"),
        pl.lit(currency or None, dtype=pl.String).alias("currency"),
        pl.col("target_acos").round(4),
        "low_cover",
        "reason",
        pl.struct(
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
        ).alias("evidence"),
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
        in_band=((pl.col("value_bid") / current - 1).abs() <= policy.dead_band + _EPSILON),
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
    moves_up = new > current + _EPSILON
    moves_down = new < current - _EPSILON
    action = (
        pl.when(pl.col("in_cooldown"))
        .then(pl.lit("cooldown"))
        .when(pl.col("no_sale") & moves_down)
        .then(pl.lit("cut"))
        .when(pl.col("no_sale"))
        .then(pl.lit("at_min"))
        .when(pl.col("clicks") < policy.min_clicks)
        .then(pl.lit("wait"))
        .when(pl.col("value_bid").is_null())
        .then(pl.lit("no_value"))
        .when(pl.col("in_band"))
        .then(pl.lit("hold"))
        .when(pl.col("would_raise") & pl.col("low_cover"))
        .then(pl.lit("low_cover"))
        .when(moves_up)
        .then(pl.lit("raise"))
        .when(moves_down)
        .then(pl.lit("lower"))
        .otherwise(pl.lit("rounding"))
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
    follows_acos = ((action == "lower") & (acos > target)) | ((action == "raise") & (acos < target))
    raw_agrees = ((action == "lower") & (raw_value < current)) | (
        (action == "raise") & (raw_value > current)
    )
    return (
        pl.when(action == "cut")
        .then(pl.lit("no_sale"))
        .when(~action.is_in(["raise", "lower"]))
        .then(action)
        .when(pl.col("sales") <= 0)
        .then(pl.lit("no_sales_yet"))
        .when(follows_acos)
        .then(pl.lit("acos"))
        .when(raw_agrees)
        .then(pl.lit("bid_vs_cpc"))
        .otherwise(pl.lit("smoothing"))
    )


def _bid_limit(policy: BidPolicy) -> pl.Expr:
    """What capped the new bid, if anything: min_bid, max_bid, max_step_up or max_step_down."""
    return (
        pl.when(~pl.col("action").is_in(MOVES))
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("new_cents") == policy.min_bid_cents)
        .then(pl.lit("min_bid"))
        .when(pl.col("new_cents") == policy.max_bid_cents)
        .then(pl.lit("max_bid"))
        .when(pl.col("aim") >= pl.col("up_cap") - _EPSILON)
        .then(pl.lit("max_step_up"))
        .when(pl.col("aim") <= pl.col("down_cap") + _EPSILON)
        .then(pl.lit("max_step_down"))
    )


def _cause_text(currency: str) -> pl.Expr:
    """The deciding fact of a raise or lower, in words (see _bid_cause)."""

    def money(expr: pl.Expr) -> pl.Expr:
        return _money_text(expr, currency)

    lower = pl.col("action") == "lower"
    acos = _percent_text(pl.col("cost") / pl.col("sales"))
    target = _percent_text(pl.col("target_acos"))
    side = pl.when(pl.col("cost") / pl.col("sales") > pl.col("target_acos"))
    over_under = side.then(pl.lit("over")).otherwise(pl.lit("under"))
    worth = money(pl.col("value_bid"))
    bid = money(pl.col("current_cents") / 100)
    more_less = pl.when(lower).then(pl.lit("less")).otherwise(pl.lit("more"))
    cause = pl.col("cause")
    return (
        pl.when(cause == "acos")
        .then(pl.format("7-day ACoS {} is {} the target {}", acos, over_under, target))
        .when(cause == "smoothing")
        .then(
            pl.format(
                "smoothing toward the ad group decides it: {} orders from {} clicks ({}) are"
                " pulled toward the ad group's {} to CVR {}, so a click is worth {}, {} than the"
                " bid {} (its own numbers alone would not {} it), though 7-day ACoS {} is {} the"
                " target {}",
                _int_text(pl.col("orders")),
                _int_text(pl.col("clicks")),
                _percent_text(pl.col("orders") / pl.col("clicks")),
                _percent_text(pl.col("prior_cvr")),
                _percent_text(pl.col("cvr")),
                worth,
                more_less,
                bid,
                pl.col("action"),
                acos,
                over_under,
                target,
            )
        )
        .when(cause == "bid_vs_cpc")
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
                _int_text(pl.col("clicks")),
                _percent_text(pl.col("cvr")),
                money(pl.col("aov")),
                worth,
                more_less,
                bid,
            )
        )
    )


def _bid_reason(policy: BidPolicy, currency: str, start: date) -> pl.Expr:
    def money(name: str) -> pl.Expr:
        return _money_text(pl.col(name), currency)

    current_text = _money_text(pl.col("current_cents") / 100, currency)
    new_text = _money_text(pl.col("new_cents") / 100, currency)
    performance = (
        pl.when(pl.col("sales") > 0)
        .then(
            pl.format(
                "7-day ACoS {} ({} spend, {} sales, {} clicks, {} orders)",
                _percent_text(pl.col("cost") / pl.col("sales")),
                money("cost"),
                money("sales"),
                _int_text(pl.col("clicks")),
                _int_text(pl.col("orders")),
            )
        )
        .otherwise(
            pl.format(
                "no 7-day sales ({} spend, {} clicks)", money("cost"), _int_text(pl.col("clicks"))
            )
        )
    )
    value = pl.format(
        "CVR {} (smoothed from {}/{} toward ad group {}), AOV {}, target ACoS {} ({})"
        " -> bid {}; now {}",
        _percent_text(pl.col("cvr")),
        _int_text(pl.col("orders")),
        _int_text(pl.col("clicks")),
        _percent_text(pl.col("prior_cvr")),
        money("aov"),
        _percent_text(pl.col("target_acos")),
        pl.col("target_source"),
        money("value_bid"),
        current_text,
    )
    limit = (
        pl.when(pl.col("limit") == "min_bid")
        .then(pl.lit(f" (min bid {_money_scalar(policy.min_bid, currency)})"))
        .when(pl.col("limit") == "max_bid")
        .then(pl.lit(f" (max bid {_money_scalar(policy.max_bid, currency)})"))
        .when(pl.col("limit") == "max_step_up")
        .then(pl.lit(f" (max step +{_pct(policy.max_step_up)})"))
        .when(pl.col("limit") == "max_step_down")
        .then(pl.lit(f" (max step -{_pct(policy.max_step_down)})"))
        .otherwise(pl.lit(""))
    )
    no_orders = pl.format(
        "No orders from {} clicks and {} spend (one order expected per {} clicks{})",
        _int_text(pl.col("clicks")),
        money("cost"),
        _int_text(pl.col("clicks_per_order")),
        pl.when(pl.col("cost_per_order").is_not_null())
        .then(
            pl.format(
                " or {} at target ACoS {}",
                money("cost_per_order"),
                _percent_text(pl.col("target_acos")),
            )
        )
        .otherwise(pl.lit("")),
    )
    action = pl.col("action")
    reason = (
        pl.when(action.is_in(["raise", "lower"]))
        .then(
            pl.format(
                "{} to {}{}: {}. {}; {}",
                pl.when(action == "raise").then(pl.lit("Raise")).otherwise(pl.lit("Lower")),
                new_text,
                limit,
                _cause_text(currency),
                performance,
                value,
            )
        )
        .when(action == "cut")
        .then(pl.format("{} -> cut to {}{}; now {}", no_orders, new_text, limit, current_text))
        .when(action == "at_min")
        .then(pl.format("{}; already at the minimum bid {}", no_orders, current_text))
        .when(action == "cooldown")
        .then(
            pl.format(
                "Bid changed {} (cooldown {} days); now {}",
                pl.when(pl.col("days_since_change") <= 0)
                .then(pl.lit("today"))
                .when(pl.col("days_since_change") == 1)
                .then(pl.lit("1 day ago"))
                .otherwise(pl.format("{} days ago", _int_text(pl.col("days_since_change")))),
                pl.lit(str(policy.cooldown_days)),
                current_text,
            )
        )
        .when(action == "wait")
        .then(
            pl.format(
                "Waiting for evidence: {} of {} clicks since {} ({} spend); now {}",
                _int_text(pl.col("clicks")),
                pl.lit(str(policy.min_clicks)),
                pl.lit(start.isoformat()),
                money("cost"),
                current_text,
            )
        )
        .when(action == "no_value")
        .then(
            pl.format("No 7-day sales in this profile yet to value a click; now {}", current_text)
        )
        .when(action == "hold")
        .then(
            pl.format(
                "{}; {}; within the ±{} dead band, keep",
                performance,
                value,
                pl.lit(_pct(policy.dead_band)),
            )
        )
        .when(action == "low_cover")
        .then(
            pl.format(
                "{}; {}; would raise to {}, but {}: keep",
                performance,
                value,
                new_text,
                _cover_text(policy),
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
        .then(pl.format("{}; low stock: {}", reason, _cover_text(policy)))
        .otherwise(reason)
    )


# --- search terms: harvest and negatives ---------------------------------------------------------

_SEARCH_TERM_COLUMNS: dict[str, pl.DataType] = {
    "keyword_type": pl.String(),
    "match_type": pl.String(),
    "targeting_type": pl.String(),
    "campaign_name": pl.String(),
    "ad_group_name": pl.String(),
}


def _search_term_rows(
    search_terms: pl.DataFrame | pl.LazyFrame, today: date | None, policy: BidPolicy
) -> pl.LazyFrame:
    """Totals per (campaign, ad group, normalised term, eligible source) with ad-group priors.

    Eligible sources are auto campaigns and broad or phrase keywords: the ones whose search terms
    are worth harvesting or negating (an exact keyword's terms are its own bid's business)."""
    lazy = _ensure(search_terms.lazy(), _SEARCH_TERM_COLUMNS)
    source_type = pl.coalesce(pl.col("keyword_type"), pl.col("match_type")).str.to_uppercase()
    is_auto = (pl.col("targeting_type").str.to_uppercase() == "AUTO").fill_null(False) | (
        source_type == "TARGETING_EXPRESSION_PREDEFINED"
    ).fill_null(False)
    lazy = lazy.with_columns(
        pl.col("campaign_id").cast(pl.String),
        pl.col("ad_group_id").cast(pl.String),
        term=pl.col("search_term")
        .str.to_lowercase()
        .str.strip_chars()
        .str.replace_all(r"\s+", " "),
        source=pl.when(is_auto).then(pl.lit("auto")).otherwise(source_type.str.to_lowercase()),
        eligible=(is_auto | source_type.is_in(["BROAD", "PHRASE"])).fill_null(False),
    )
    totals = _metric_totals(
        lazy,
        ["campaign_id", "ad_group_id", "term", "eligible"],
        today,
        policy,
        carry=("campaign_name", "ad_group_name", "source"),
    )
    return _with_priors(totals, policy)


def _normalised(text: pl.Expr) -> pl.Expr:
    return text.str.to_lowercase().str.strip_chars().str.replace_all(r"\s+", " ")


def _keyword_frame(targets: pl.DataFrame | None) -> pl.LazyFrame:
    """Non-archived keywords and negatives: kind, campaign, ad group, match type, text."""
    schema = {
        "kind": pl.String(),
        "campaign_id": pl.String(),
        "ad_group_id": pl.String(),
        "match_type": pl.String(),
        "term": pl.String(),
        "state": pl.String(),
        "targeting_type": pl.String(),
        "campaign_state": pl.String(),
        "ad_group_state": pl.String(),
    }
    if targets is None:
        return pl.LazyFrame(schema=schema)
    lazy = _ensure(targets.lazy(), {**_TARGET_COLUMNS, "keyword_text": pl.String()})
    return lazy.filter(
        pl.col("keyword_text").is_not_null()
        & (pl.col("state").str.to_uppercase() != "ARCHIVED").fill_null(True)
    ).select(
        "kind",
        pl.col("campaign_id").cast(pl.String),
        pl.col("ad_group_id").cast(pl.String),
        pl.col("match_type").str.to_uppercase().str.replace_all("[^A-Z]", ""),
        _normalised(pl.col("keyword_text")).alias("term"),
        "state",
        "targeting_type",
        "campaign_state",
        "ad_group_state",
    )


def _negated_exact(keywords: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Terms already negated exact: per ad group, and per campaign."""
    negative_exact = pl.col("match_type") == "NEGATIVEEXACT"
    by_ad_group = keywords.filter((pl.col("kind") == "negative_keyword") & negative_exact).select(
        "ad_group_id", "term", pl.lit(True).alias("_negated_in_ad_group")
    )
    by_campaign = keywords.filter(
        (pl.col("kind") == "campaign_negative_keyword") & negative_exact
    ).select("campaign_id", "term", pl.lit(True).alias("_negated_in_campaign"))
    return by_ad_group.unique(), by_campaign.unique()


def _mark_negated(rows: pl.LazyFrame, keywords: pl.LazyFrame) -> pl.LazyFrame:
    by_ad_group, by_campaign = _negated_exact(keywords)
    return (
        rows.join(by_ad_group, on=["ad_group_id", "term"], how="left")
        .join(by_campaign, on=["campaign_id", "term"], how="left")
        .with_columns(
            already_negated=pl.col("_negated_in_ad_group").fill_null(False)
            | pl.col("_negated_in_campaign").fill_null(False)
        )
        .drop("_negated_in_ad_group", "_negated_in_campaign")
    )


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
    lazy = _ensure(targets.lazy(), _TARGET_COLUMNS)
    candidates = (
        lazy.filter(
            (pl.col("kind") == "keyword")
            & (pl.col("targeting_type").str.to_uppercase() != "AUTO").fill_null(True)
            & _enabled("state")
            & _enabled("campaign_state")
            & _enabled("ad_group_state")
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
    currency = currency if currency is not None else _frame_currency(targets)
    keywords = _keyword_frame(targets)
    rows = (
        _search_term_rows(search_terms, today, policy)
        .filter(
            pl.col("eligible")
            & (pl.col("term") != NO_QUERY_TERM)
            & ~pl.col("term").str.contains(ASIN_TERM)
            & (pl.col("clicks") > 0)
        )
        .pipe(_with_target_acos, target_acos_by_campaign, policy)
        .pipe(_mark_negated, keywords)
        .join(_cover_frame(cover_by_ad_group, "ad_group_id"), on="ad_group_id", how="left")
        .with_columns(
            label=pl.format(
                "{} {}",
                pl.col("source"),
                _place_text("campaign", "ad_group"),
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
            pl.struct(
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
                <= pl.col("target_acos") * policy.harvest_max_acos_ratio + _EPSILON
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
        pl.lit("harvest").alias("action"),
        pl.col("top_campaign_id").alias("campaign_id"),
        pl.col("top_ad_group_id").alias("ad_group_id"),
        pl.lit(None, dtype=pl.String).alias("target_id"),
        pl.col("term").alias("search_term"),
        pl.lit("EXACT").alias("match_type"),
        pl.lit(None, dtype=_MONEY).alias("current_bid"),
        _cents_to_money(pl.col("new_cents")).alias("recommended_bid"),
        pl.lit(currency or None, dtype=pl.String).alias("currency"),
        pl.col("target_acos").round(4),
        "low_cover",
        "reason",
        pl.struct(
            pl.lit("harvest").alias("action"),
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
        ).alias("evidence"),
    )
    frame = result.sort("search_term").collect()
    return frame.with_columns(_stable_ids(("harvest|" + frame["search_term"]).alias("entity_id")))


def _harvest_reason(policy: BidPolicy, currency: str) -> pl.Expr:
    def money(expr: pl.Expr) -> pl.Expr:
        return _money_text(expr, currency)

    destination = (
        pl.when(pl.col("destination_ad_group_id").is_null())
        .then(pl.lit("; no manual ad group advertises the same product yet: create one for it"))
        .otherwise(pl.format(" in {}", _place_text("destination_campaign", "destination_ad_group")))
    )
    negate = pl.col("negate_in").list.len()
    reason = pl.format(
        '"{}": {} orders from {} clicks, 7-day ACoS {} (target {}, {}), CVR {}, AOV {} from {}'
        " -> exact keyword at {} (CPC {} + {}, value bid {}){}{}",
        pl.col("term"),
        _int_text(pl.col("orders")),
        _int_text(pl.col("clicks")),
        _percent_text(pl.col("cost") / pl.col("sales")),
        _percent_text(pl.col("target_acos")),
        pl.col("target_source"),
        _percent_text(pl.col("cvr")),
        money(pl.col("aov")),
        pl.col("sources").list.join("; "),
        money(pl.col("new_cents") / 100),
        money(pl.col("cpc")),
        pl.lit(_pct(policy.harvest_bid_uplift)),
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
        .then(pl.format("{}; low stock: {}", reason, _cover_text(policy)))
        .otherwise(reason)
    )


def _ngrams(frame: pl.LazyFrame, text: str, max_words: int) -> pl.LazyFrame:
    """Every row of frame once per distinct 1..max_words word sequence of its text, as `gram`."""
    columns = frame.collect_schema().names()
    words = (
        frame.with_columns(_row=pl.int_range(pl.len()), _word=pl.col(text).str.split(" "))
        .explode("_word")
        .filter(pl.col("_word") != "")
    )

    def following(i: int) -> pl.Expr:
        """The word i places on in the same row (a plain shift: a window per row is slow)."""
        same_row = pl.col("_row").shift(-i) == pl.col("_row")
        return pl.when(same_row).then(pl.col("_word").shift(-i))

    grams = [
        words.with_columns(
            gram=pl.concat_str([following(i) for i in range(n)], separator=" ")
        ).drop_nulls("gram")
        for n in range(1, max_words + 1)
    ]
    return pl.concat(grams).unique(["_row", "gram"]).select(*columns, "gram")


def recommend_negatives(
    search_terms: pl.DataFrame | pl.LazyFrame,
    policy: BidPolicy,
    target_acos_by_campaign: Mapping[str, float] | pl.DataFrame | None,
    *,
    targets: pl.DataFrame | None = None,
    skip_terms: Collection[str] | pl.Series | None = None,
    today: date | None = None,
    currency: str | None = None,
) -> pl.DataFrame:
    """Wasted spend from auto, broad and phrase sources -> negatives.

    - negative exact in the ad group: a term with 0 orders after negative_min_clicks clicks, or
      after spending negative_spend_factor x the expected cost per order (ad group AOV x target
      ACoS) over at least negative_spend_min_clicks clicks;
    - negative phrase in the campaign: a 1..ngram_max_words word n-gram found in at least
      ngram_min_terms terms with ngram_min_clicks clicks between them and 0 orders, that is not
      part of one of the campaign's own keywords (it would block them).
    Terms already negated, ASIN terms, '*' and skip_terms (those being harvested) are left out.
    """
    currency = currency if currency is not None else _frame_currency(targets)
    keywords = _keyword_frame(targets)
    skipped = pl.LazyFrame(
        {"term": list(skip_terms) if skip_terms is not None else []}, schema={"term": pl.String}
    )
    rows = (
        _search_term_rows(search_terms, today, policy)
        .filter(
            pl.col("eligible")
            & (pl.col("term") != NO_QUERY_TERM)
            & ~pl.col("term").str.contains(ASIN_TERM)
        )
        .pipe(_with_target_acos, target_acos_by_campaign, policy)
        .pipe(_mark_negated, keywords)
        .join(skipped, on="term", how="anti")
        .with_columns(
            clicks_per_order=1 / pl.col("prior_cvr"),
            cost_per_order=pl.col("prior_aov") * pl.col("target_acos"),
        )
        .collect()  # both kinds read these rows: compute them once
        .lazy()
    )
    ngram_rows = _ngram_negatives(rows, keywords, policy, currency).collect().lazy()
    exact = rows.filter(
        ~pl.col("already_negated")
        & (pl.col("orders") == 0)
        & (
            (pl.col("clicks") >= policy.negative_min_clicks)
            | (
                (pl.col("cost") >= policy.negative_spend_factor * pl.col("cost_per_order"))
                & (pl.col("clicks") >= policy.negative_spend_min_clicks)
            ).fill_null(False)
        )
    )
    # A term that contains a proposed negative phrase is already covered by it.
    covered = (
        _ngrams(exact.select("campaign_id", "ad_group_id", "term"), "term", policy.ngram_max_words)
        .join(
            ngram_rows.select("campaign_id", pl.col("search_term").alias("gram")),
            on=["campaign_id", "gram"],
            how="semi",
        )
        .select("campaign_id", "ad_group_id", "term")
        .unique()
    )
    exact = exact.join(
        covered, on=["campaign_id", "ad_group_id", "term"], how="anti", nulls_equal=True
    )
    by_clicks = pl.col("clicks") >= policy.negative_min_clicks
    exact_rows = exact.with_columns(
        cause=pl.when(by_clicks).then(pl.lit("no_sale_clicks")).otherwise(pl.lit("no_sale_spend")),
        # the rule that fired comes first: the clicks rule, else the spend rule
        reason=pl.format(
            '"{}": no orders from {} clicks and {} spend (7-day): {} -> negative exact in {}',
            pl.col("term"),
            _int_text(pl.col("clicks")),
            _money_text(pl.col("cost"), currency),
            pl.when(by_clicks)
            .then(
                pl.format(
                    "{} clicks or more without an order (one order expected per {} clicks{})",
                    pl.lit(str(policy.negative_min_clicks)),
                    _int_text(pl.col("clicks_per_order")),
                    pl.when(pl.col("cost_per_order").is_not_null())
                    .then(
                        pl.format(
                            " or {} at target ACoS {}",
                            _money_text(pl.col("cost_per_order"), currency),
                            _percent_text(pl.col("target_acos")),
                        )
                    )
                    .otherwise(pl.lit("")),
                )
            )
            .otherwise(
                pl.format(
                    "spent more than one order may cost ({} at target ACoS {}; one order expected"
                    " per {} clicks)",
                    _money_text(pl.col("cost_per_order"), currency),
                    _percent_text(pl.col("target_acos")),
                    _int_text(pl.col("clicks_per_order")),
                )
            ),
            _place_text("campaign", "ad_group"),
        ),
    ).select(
        pl.lit("negative").alias("kind"),
        pl.concat_str(
            [pl.lit("negative|exact"), "campaign_id", "ad_group_id", "term"],
            separator="|",
            ignore_nulls=True,
        ).alias("entity_id"),
        pl.lit("negative_exact").alias("action"),
        "campaign_id",
        "ad_group_id",
        pl.lit(None, dtype=pl.String).alias("target_id"),
        pl.col("term").alias("search_term"),
        pl.lit("NEGATIVE_EXACT").alias("match_type"),
        pl.lit(None, dtype=_MONEY).alias("current_bid"),
        pl.lit(None, dtype=_MONEY).alias("recommended_bid"),
        pl.lit(currency or None, dtype=pl.String).alias("currency"),
        pl.col("target_acos").round(4),
        pl.lit(False).alias("low_cover"),
        "reason",
        pl.struct(
            pl.lit("negative_exact").alias("action"),
            pl.lit("negative_keyword").alias("entity_type"),
            "campaign_name",
            "ad_group_name",
            "source",
            pl.col("clicks").cast(pl.Int64),
            pl.col("orders").cast(pl.Int64),
            pl.col("cost").round(2),
            pl.col("prior_cvr").round(4),
            pl.col("prior_aov").round(2),
            pl.col("clicks_per_order").round(1),
            pl.col("cost_per_order").round(2),
            pl.col("target_acos").round(4),
            "target_source",
            "cause",
            pl.lit(0, dtype=pl.Int64).alias("terms"),
            pl.lit([], dtype=pl.List(pl.String)).alias("examples"),
        ).alias("evidence"),
    )
    frame = (
        pl.concat([exact_rows, ngram_rows], how="vertical")
        .sort("match_type", "campaign_id", "ad_group_id", "search_term", nulls_last=True)
        .collect()
    )
    return frame.with_columns(_stable_ids(frame["entity_id"]))


def _ngram_negatives(
    rows: pl.LazyFrame, keywords: pl.LazyFrame, policy: BidPolicy, currency: str
) -> pl.LazyFrame:
    per_term = rows.group_by("campaign_id", "term").agg(
        pl.col("clicks").sum(),
        pl.col("orders").sum(),
        pl.col("cost").sum(),
        pl.col("campaign_name").first(),
        pl.col("target_acos").first(),
        pl.col("target_source").first(),
    )
    grams = _ngrams(per_term, "term", policy.ngram_max_words).collect().lazy()
    stats = (
        grams.group_by("campaign_id", "gram")
        .agg(
            pl.len().alias("terms"),
            pl.col("clicks").sum(),
            pl.col("orders").sum(),
            pl.col("cost").sum(),
            pl.col("campaign_name").first(),
            pl.col("target_acos").first(),
            pl.col("target_source").first(),
        )
        .filter(
            (pl.col("terms") >= policy.ngram_min_terms)
            & (pl.col("clicks") >= policy.ngram_min_clicks)
            & (pl.col("orders") == 0)
            & (pl.col("gram").str.len_chars() >= 2)
            & ~pl.col("gram").is_in(list(policy.ngram_stopwords))
        )
    )
    # Examples only for the few n-grams that qualify: sorting every group's terms is the slow part.
    examples = (
        grams.join(stats.select("campaign_id", "gram"), on=["campaign_id", "gram"], how="semi")
        .sort("clicks", "term", descending=[True, False])
        .group_by("campaign_id", "gram")
        .agg(pl.col("term").head(3).alias("examples"))
    )
    stats = stats.join(examples, on=["campaign_id", "gram"], how="left")
    own_keywords = keywords.filter(
        pl.col("kind").is_in(BIDDABLE_KINDS)
        & (pl.col("state").str.to_uppercase() != "ARCHIVED").fill_null(True)
    ).select("campaign_id", "term")
    own_grams = _ngrams(own_keywords, "term", policy.ngram_max_words).select("campaign_id", "gram")
    negated_phrases = keywords.filter(
        pl.col("kind").is_in(["campaign_negative_keyword", "negative_keyword"])
        & (pl.col("match_type") == "NEGATIVEPHRASE")
    ).select("campaign_id", pl.col("term").alias("gram"))
    stats = stats.join(own_grams, on=["campaign_id", "gram"], how="anti").join(
        negated_phrases, on=["campaign_id", "gram"], how="anti"
    )
    # A qualifying single word already covers every longer n-gram that contains it.
    words = stats.filter(~pl.col("gram").str.contains(" ")).select(
        "campaign_id", pl.col("gram").alias("_word")
    )
    longer = (
        stats.filter(pl.col("gram").str.contains(" "))
        .select("campaign_id", "gram", _word=pl.col("gram").str.split(" "))
        .explode("_word")
        .join(words, on=["campaign_id", "_word"], how="semi")
        .select("campaign_id", "gram")
        .unique()
    )
    stats = stats.join(longer, on=["campaign_id", "gram"], how="anti")
    return stats.select(
        pl.lit("negative").alias("kind"),
        pl.concat_str(
            [pl.lit("negative|phrase"), "campaign_id", "gram"], separator="|", ignore_nulls=True
        ).alias("entity_id"),
        pl.lit("negative_phrase").alias("action"),
        "campaign_id",
        pl.lit(None, dtype=pl.String).alias("ad_group_id"),
        pl.lit(None, dtype=pl.String).alias("target_id"),
        pl.col("gram").alias("search_term"),
        pl.lit("NEGATIVE_PHRASE").alias("match_type"),
        pl.lit(None, dtype=_MONEY).alias("current_bid"),
        pl.lit(None, dtype=_MONEY).alias("recommended_bid"),
        pl.lit(currency or None, dtype=pl.String).alias("currency"),
        pl.col("target_acos").round(4),
        pl.lit(False).alias("low_cover"),
        pl.format(
            '"{}": in {} search terms with {} clicks, {} spend and no orders (7-day), e.g. {}'
            " -> negative phrase in campaign {}",
            pl.col("gram"),
            pl.col("terms").cast(pl.String),
            _int_text(pl.col("clicks")),
            _money_text(pl.col("cost"), currency),
            pl.col("examples").list.join(", "),
            pl.coalesce(pl.col("campaign_name"), pl.col("campaign_id")),
        ).alias("reason"),
        pl.struct(
            pl.lit("negative_phrase").alias("action"),
            pl.lit("campaign_negative_keyword").alias("entity_type"),
            "campaign_name",
            pl.lit(None, dtype=pl.String).alias("ad_group_name"),
            pl.lit("search terms").alias("source"),
            pl.col("clicks").cast(pl.Int64),
            pl.col("orders").cast(pl.Int64),
            pl.col("cost").round(2),
            pl.lit(None, dtype=pl.Float64).alias("prior_cvr"),
            pl.lit(None, dtype=pl.Float64).alias("prior_aov"),
            pl.lit(None, dtype=pl.Float64).alias("clicks_per_order"),
            pl.lit(None, dtype=pl.Float64).alias("cost_per_order"),
            pl.col("target_acos").round(4),
            "target_source",
            pl.lit("ngram").alias("cause"),
            pl.col("terms").cast(pl.Int64),
            "examples",
        ).alias("evidence"),
    )


# --- targets per campaign ------------------------------------------------------------------------


def resolve_target_acos(
    campaigns: pl.DataFrame, policy: BidPolicy, store_target: float | None = None
) -> pl.DataFrame:
    """campaign_id, target_acos, target_source: the campaign's own target, else the store's
    chosen one, else break-even ACoS (when COGS are known), else the policy default."""
    if store_target is not None and not 0 < store_target < 1:
        raise ConfigError(
            f"Target ACoS {store_target} is not a fraction between 0 and 1 (0.30 is 30%)."
        )
    lazy = _ensure(campaigns.lazy(), {"target_acos": pl.Float64(), "break_even_acos": pl.Float64()})
    break_even = pl.col("break_even_acos").clip(lower_bound=policy.break_even_floor)
    store = pl.lit(store_target, dtype=pl.Float64)
    return lazy.select(
        pl.col("campaign_id").cast(pl.String),
        pl.coalesce(pl.col("target_acos"), store, break_even, pl.lit(policy.target_acos)).alias(
            "target_acos"
        ),
        pl.when(pl.col("target_acos").is_not_null())
        .then(pl.lit("campaign target"))
        .when(store.is_not_null())
        .then(pl.lit("store target"))
        .when(pl.col("break_even_acos").is_not_null())
        .then(pl.lit("break-even"))
        .otherwise(pl.lit("default target"))
        .alias("target_source"),
    ).collect()


def cover_for_targets(targets: pl.DataFrame, cover_by_ad_group: pl.DataFrame) -> pl.DataFrame:
    """target_id, days_of_cover, asin: each target gets its ad group's lowest cover."""
    return (
        targets.lazy()
        .select(pl.col("target_id").cast(pl.String), pl.col("ad_group_id").cast(pl.String))
        .join(cover_by_ad_group.lazy(), on="ad_group_id")
        .select("target_id", "days_of_cover", "asin")
        .collect()
    )


# --- SQL: what the engine reads ------------------------------------------------------------------


def _total(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.cast(sa.func.coalesce(sa.func.sum(column), 0), sa.Float)


def load_inputs(
    engine: Engine, store_id: int, profile_id: str, today: date, policy: BidPolicy
) -> EngineInputs:
    """One profile's inputs, aggregated in PostgreSQL: per-target and per-search-term 7-day totals
    over the lookback (settling rows excluded), the last applied bid change per target, the
    campaigns with their targets and break-even ACoS, and days of cover per advertised ASIN."""
    start, end = lookback_window(today, policy)
    with engine.connect() as connection:
        profile = connection.execute(
            sa.select(
                ads_profiles.c.marketplace_id, ads_profiles.c.currency, ads_profiles.c.time_zone
            ).where(ads_profiles.c.store_id == store_id, ads_profiles.c.profile_id == profile_id)
        ).first()
        marketplace_id = profile.marketplace_id if profile else None
        time_zone = (profile.time_zone if profile else None) or "UTC"
        currency = (profile.currency if profile else None) or _store_currency(
            connection, store_id, marketplace_id
        )
        targets = _load_targets(connection, store_id, profile_id, time_zone)
        performance = _load_performance(connection, store_id, profile_id, start, end)
        campaigns = _load_campaigns(connection, store_id, profile_id)
        search_terms = _load_search_terms(connection, store_id, profile_id, start, end).join(
            campaigns.select("campaign_id", "targeting_type"), on="campaign_id", how="left"
        )
        advertised = _load_advertised(connection, store_id, profile_id, start, end)
        cover = _load_cover(connection, store_id, marketplace_id, today, policy)
        break_even = _load_break_even(connection, store_id, marketplace_id, currency, today, policy)
    cover_by_ad_group = (
        advertised.join(cover, on="asin")
        .sort("ad_group_id", "days_of_cover", nulls_last=True)
        .group_by("ad_group_id", maintain_order=True)
        .first()
        .select("ad_group_id", "asin", "days_of_cover")
    )
    campaign_break_even = (
        advertised.join(break_even.drop_nulls("break_even_acos"), on="sku")
        .group_by("campaign_id")
        .agg(pl.col("break_even_acos").min())
    )
    campaigns = campaigns.join(campaign_break_even, on="campaign_id", how="left")
    if currency is None:
        currency = _frame_currency(targets)
    return EngineInputs(
        profile_id=profile_id,
        currency=currency or "",
        marketplace_id=marketplace_id,
        today=today,
        window_start=start,
        window_end=end,
        targets=targets,
        performance=performance,
        search_terms=search_terms,
        campaigns=campaigns,
        advertised=advertised,
        cover_by_ad_group=cover_by_ad_group,
        break_even=break_even,
    )


def _store_currency(
    connection: sa.Connection, store_id: int, marketplace_id: str | None
) -> str | None:
    statement = sa.select(marketplaces.c.currency).where(marketplaces.c.store_id == store_id)
    if marketplace_id:
        statement = statement.where(marketplaces.c.marketplace_id == marketplace_id)
    found = sorted({row.currency for row in connection.execute(statement)})
    return found[0] if len(found) == 1 else None


def _load_targets(
    connection: sa.Connection, store_id: int, profile_id: str, time_zone: str
) -> pl.DataFrame:
    t, g, c, b = ads_targets, ads_ad_groups, ads_campaigns, bid_changes
    last = (
        sa.select(b.c.entity_id, sa.func.max(b.c.applied_at).label("applied_at"))
        .where(
            b.c.store_id == store_id,
            b.c.profile_id == profile_id,
            b.c.field == "bid",
            b.c.succeeded.is_not(False),
            b.c.entity_id.is_not(None),
        )
        .group_by(b.c.entity_id)
        .subquery()
    )
    statement = (
        sa.select(
            t.c.target_id,
            t.c.kind,
            t.c.campaign_id,
            t.c.ad_group_id,
            t.c.keyword_text,
            t.c.expression,
            t.c.match_type,
            t.c.state,
            sa.cast(t.c.bid, sa.Float),
            t.c.currency,
            sa.cast(g.c.default_bid, sa.Float),
            g.c.state,
            g.c.name,
            c.c.state,
            c.c.name,
            c.c.targeting_type,
            sa.cast(sa.func.timezone(time_zone, last.c.applied_at), sa.Date),
        )
        .select_from(
            t.outerjoin(
                g,
                sa.and_(
                    g.c.store_id == t.c.store_id,
                    g.c.profile_id == t.c.profile_id,
                    g.c.ad_group_id == t.c.ad_group_id,
                ),
            )
            .outerjoin(
                c,
                sa.and_(
                    c.c.store_id == t.c.store_id,
                    c.c.profile_id == t.c.profile_id,
                    c.c.campaign_id == t.c.campaign_id,
                ),
            )
            .outerjoin(last, last.c.entity_id == t.c.target_id)
        )
        .where(
            t.c.store_id == store_id,
            t.c.profile_id == profile_id,
            sa.func.upper(sa.func.coalesce(t.c.state, "")) != "ARCHIVED",
        )
        .order_by(t.c.target_id)
    )
    return query_frame(
        connection,
        statement,
        {
            "target_id": pl.String(),
            "kind": pl.String(),
            "campaign_id": pl.String(),
            "ad_group_id": pl.String(),
            "keyword_text": pl.String(),
            "expression": pl.String(),
            "match_type": pl.String(),
            "state": pl.String(),
            "bid": pl.Float64(),
            "currency": pl.String(),
            "default_bid": pl.Float64(),
            "ad_group_state": pl.String(),
            "ad_group_name": pl.String(),
            "campaign_state": pl.String(),
            "campaign_name": pl.String(),
            "targeting_type": pl.String(),
            "last_bid_change": pl.Date(),
        },
    )


def _load_performance(
    connection: sa.Connection, store_id: int, profile_id: str, start: date, end: date
) -> pl.DataFrame:
    d = ads_target_daily
    statement = (
        sa.select(
            d.c.target_id,
            sa.func.max(d.c.campaign_id),
            sa.func.max(d.c.ad_group_id),
            _total(d.c.impressions),
            _total(d.c.clicks),
            _total(d.c.cost),
            _total(d.c.purchases_7d),
            _total(d.c.sales_7d),
        )
        .where(
            d.c.store_id == store_id,
            d.c.profile_id == profile_id,
            d.c.report_date.between(start, end),
            sa.not_(d.c.is_settling),
        )
        .group_by(d.c.target_id)
    )
    return query_frame(
        connection,
        statement,
        {
            "target_id": pl.String(),
            "campaign_id": pl.String(),
            "ad_group_id": pl.String(),
            "impressions": pl.Float64(),
            "clicks": pl.Float64(),
            "cost": pl.Float64(),
            "purchases_7d": pl.Float64(),
            "sales_7d": pl.Float64(),
        },
    )


def _load_search_terms(
    connection: sa.Connection, store_id: int, profile_id: str, start: date, end: date
) -> pl.DataFrame:
    s = ads_search_term_daily
    statement = (
        sa.select(
            s.c.campaign_id,
            s.c.ad_group_id,
            s.c.target_id,
            s.c.search_term,
            sa.func.max(s.c.keyword_type),
            sa.func.max(s.c.match_type),
            sa.func.max(s.c.campaign_name),
            sa.func.max(s.c.ad_group_name),
            _total(s.c.impressions),
            _total(s.c.clicks),
            _total(s.c.cost),
            _total(s.c.purchases_7d),
            _total(s.c.sales_7d),
        )
        .where(
            s.c.store_id == store_id,
            s.c.profile_id == profile_id,
            s.c.report_date.between(start, end),
            sa.not_(s.c.is_settling),
        )
        .group_by(s.c.campaign_id, s.c.ad_group_id, s.c.target_id, s.c.search_term)
    )
    return query_frame(
        connection,
        statement,
        {
            "campaign_id": pl.String(),
            "ad_group_id": pl.String(),
            "target_id": pl.String(),
            "search_term": pl.String(),
            "keyword_type": pl.String(),
            "match_type": pl.String(),
            "campaign_name": pl.String(),
            "ad_group_name": pl.String(),
            "impressions": pl.Float64(),
            "clicks": pl.Float64(),
            "cost": pl.Float64(),
            "purchases_7d": pl.Float64(),
            "sales_7d": pl.Float64(),
        },
    )


def _load_campaigns(connection: sa.Connection, store_id: int, profile_id: str) -> pl.DataFrame:
    c = ads_campaigns
    statement = sa.select(
        c.c.campaign_id,
        c.c.name,
        c.c.state,
        c.c.targeting_type,
        sa.cast(c.c.target_acos, sa.Float),
    ).where(c.c.store_id == store_id, c.c.profile_id == profile_id)
    return query_frame(
        connection,
        statement,
        {
            "campaign_id": pl.String(),
            "name": pl.String(),
            "state": pl.String(),
            "targeting_type": pl.String(),
            "target_acos": pl.Float64(),
        },
    )


def _load_advertised(
    connection: sa.Connection, store_id: int, profile_id: str, start: date, end: date
) -> pl.DataFrame:
    a = ads_advertised_product_daily
    statement = (
        sa.select(a.c.campaign_id, a.c.ad_group_id, a.c.advertised_asin, a.c.advertised_sku)
        .where(
            a.c.store_id == store_id,
            a.c.profile_id == profile_id,
            a.c.report_date.between(start, end),
        )
        .distinct()
    )
    return query_frame(
        connection,
        statement,
        {
            "campaign_id": pl.String(),
            "ad_group_id": pl.String(),
            "asin": pl.String(),
            "sku": pl.String(),
        },
    )


def _load_cover(
    connection: sa.Connection,
    store_id: int,
    marketplace_id: str | None,
    today: date,
    policy: BidPolicy,
) -> pl.DataFrame:
    """asin, days_of_cover: fulfillable units in the latest snapshot / units sold per day.

    Units sold come from Sales and Traffic by child ASIN, or from order lines (not cancelled)
    where that report has no row for the ASIN. No sales and stock left: no cover figure (nothing
    to run out); no stock: 0 days."""
    i = inventory_snapshots
    in_market = [i.c.store_id == store_id]
    if marketplace_id:
        in_market.append(i.c.marketplace_id == marketplace_id)
    latest = sa.select(sa.func.max(i.c.snapshot_date)).where(*in_market, i.c.snapshot_date <= today)
    asin = sa.func.coalesce(i.c.asin, i.c.sku)
    stock = query_frame(
        connection,
        sa.select(asin, _total(i.c.fulfillable_quantity))
        .where(*in_market, i.c.snapshot_date == latest.scalar_subquery())
        .group_by(asin),
        {"asin": pl.String(), "fulfillable": pl.Float64()},
    )
    since, until = today - timedelta(days=policy.velocity_days), today - timedelta(days=1)
    st = sales_traffic_by_asin
    traffic_filter = [
        st.c.store_id == store_id,
        st.c.report_date.between(since, until),
        st.c.child_asin != "",
    ]
    if marketplace_id:
        traffic_filter.append(st.c.marketplace_id == marketplace_id)
    traffic = query_frame(
        connection,
        sa.select(st.c.child_asin, _total(st.c.units_ordered))
        .where(*traffic_filter)
        .group_by(st.c.child_asin),
        {"asin": pl.String(), "traffic_units": pl.Float64()},
    )
    o, oi = orders, order_items
    order_filter = [
        o.c.store_id == store_id,
        o.c.purchase_local_date.between(since, until),
        o.c.order_status.is_distinct_from("Cancelled"),
        oi.c.asin != "",
    ]
    if marketplace_id:
        order_filter.append(o.c.marketplace_id == marketplace_id)
    ordered = query_frame(
        connection,
        sa.select(oi.c.asin, _total(oi.c.quantity))
        .select_from(
            oi.join(
                o,
                sa.and_(o.c.store_id == oi.c.store_id, o.c.amazon_order_id == oi.c.amazon_order_id),
            )
        )
        .where(*order_filter)
        .group_by(oi.c.asin),
        {"asin": pl.String(), "order_units": pl.Float64()},
    )
    per_day = pl.coalesce("traffic_units", "order_units").fill_null(0) / policy.velocity_days
    return (
        stock.join(traffic, on="asin", how="left")
        .join(ordered, on="asin", how="left")
        .select(
            "asin",
            pl.when(pl.col("fulfillable") <= 0)
            .then(0.0)
            .when(per_day > 0)
            .then(pl.col("fulfillable") / per_day)
            .alias("days_of_cover"),
        )
    )


def _load_break_even(
    connection: sa.Connection,
    store_id: int,
    marketplace_id: str | None,
    currency: str | None,
    today: date,
    policy: BidPolicy,
) -> pl.DataFrame:
    """sku, price, fees, unit_cost, break_even_acos = (price - fees - COGS) / price per unit.

    Price and Amazon's fees per unit come from settlement lines of orders (ItemPrice/Principal,
    ItemFees) over break_even_days, the price falling back to the listing's; COGS is the unit cost
    effective today. Without COGS or fees there is no break-even for the SKU."""
    sl = settlement_lines
    principal = sa.and_(sl.c.amount_type == "ItemPrice", sl.c.amount_description == "Principal")
    line_filter = [
        sl.c.store_id == store_id,
        sl.c.transaction_type == "Order",
        sl.c.sku.is_not(None),
        sl.c.posted_date.between(today - timedelta(days=policy.break_even_days), today),
    ]
    if currency:
        line_filter.append(sl.c.currency == currency)
    settled = query_frame(
        connection,
        sa.select(
            sl.c.sku,
            sa.cast(sa.func.sum(sl.c.amount).filter(principal), sa.Float),
            sa.cast(sa.func.sum(sl.c.quantity_purchased).filter(principal), sa.Float),
            sa.cast(sa.func.sum(sl.c.amount).filter(sl.c.amount_type == "ItemFees"), sa.Float),
        )
        .where(*line_filter)
        .group_by(sl.c.sku),
        {
            "sku": pl.String(),
            "principal": pl.Float64(),
            "units": pl.Float64(),
            "fees_total": pl.Float64(),
        },
    )
    cost_filter = [cogs.c.store_id == store_id, cogs.c.effective_from <= today]
    if currency:
        cost_filter.append(cogs.c.currency == currency)
    unit_costs = query_frame(
        connection,
        sa.select(cogs.c.sku, sa.cast(cogs.c.unit_cost, sa.Float))
        .where(*cost_filter)
        .order_by(cogs.c.sku, cogs.c.effective_from.desc())
        .ext(distinct_on(cogs.c.sku)),
        {"sku": pl.String(), "unit_cost": pl.Float64()},
    )
    listing_filter = [listings.c.store_id == store_id, listings.c.price.is_not(None)]
    if marketplace_id:
        listing_filter.append(listings.c.marketplace_id == marketplace_id)
    if currency:
        listing_filter.append(sa.func.coalesce(listings.c.currency, currency) == currency)
    prices = query_frame(
        connection,
        sa.select(listings.c.sku, sa.cast(sa.func.max(listings.c.price), sa.Float))
        .where(*listing_filter)
        .group_by(listings.c.sku),
        {"sku": pl.String(), "listing_price": pl.Float64()},
    )
    units = pl.col("units")
    return (
        unit_costs.join(settled, on="sku", how="left")
        .join(prices, on="sku", how="left")
        .with_columns(
            price=pl.coalesce(
                pl.when(units > 0).then(pl.col("principal") / units), "listing_price"
            ),
            fees=pl.when(units > 0).then(-pl.col("fees_total").fill_null(0) / units),
        )
        .with_columns(
            break_even_acos=pl.when((pl.col("price") > 0) & pl.col("fees").is_not_null()).then(
                (pl.col("price") - pl.col("fees") - pl.col("unit_cost")) / pl.col("price")
            )
        )
        .select("sku", "price", "fees", "unit_cost", "break_even_acos")
    )


# --- the whole engine for a store ----------------------------------------------------------------


def store_profiles(engine: Engine, store_id: int) -> list[str]:
    """The store's enabled Ads profiles, plus any profile its ads entities name."""
    with engine.connect() as connection:
        enabled = connection.execute(
            sa.select(ads_profiles.c.profile_id).where(
                ads_profiles.c.store_id == store_id, ads_profiles.c.is_enabled
            )
        ).scalars()
        disabled = set(
            connection.execute(
                sa.select(ads_profiles.c.profile_id).where(
                    ads_profiles.c.store_id == store_id, sa.not_(ads_profiles.c.is_enabled)
                )
            ).scalars()
        )
        named = connection.execute(
            sa.select(ads_targets.c.profile_id).where(ads_targets.c.store_id == store_id).distinct()
        ).scalars()
        return sorted((set(enabled) | set(named)) - disabled)


def recommend(
    engine: Engine,
    store: Store,
    policy: BidPolicy,
    today: date,
    target_acos: float | None = None,
) -> Recommendations:
    """Bid, harvest and negative recommendations for every Ads profile of the store."""
    kinds: dict[str, list[pl.DataFrame]] = {"bids": [], "harvest": [], "negatives": []}
    profiles = store_profiles(engine, store.id)
    for profile_id in profiles:
        inputs = load_inputs(engine, store.id, profile_id, today, policy)
        targets_acos = resolve_target_acos(inputs.campaigns, policy, target_acos)
        bids = recommend_bids(
            inputs.targets,
            inputs.performance,
            policy,
            targets_acos,
            cover_for_targets(inputs.targets, inputs.cover_by_ad_group),
            today,
            currency=inputs.currency,
        )
        harvest = recommend_harvest(
            inputs.search_terms,
            policy,
            targets_acos,
            targets=inputs.targets,
            advertised=inputs.advertised,
            cover_by_ad_group=inputs.cover_by_ad_group,
            today=today,
            currency=inputs.currency,
        )
        negatives = recommend_negatives(
            inputs.search_terms,
            policy,
            targets_acos,
            targets=inputs.targets,
            skip_terms=harvest.get_column("search_term"),
            today=today,
            currency=inputs.currency,
        )
        for name, frame in (("bids", bids), ("harvest", harvest), ("negatives", negatives)):
            kinds[name].append(frame.select(pl.lit(profile_id).alias("profile_id"), pl.all()))
        logger.info(
            "store %s profile %s: %d bid, %d harvest, %d negative recommendations",
            store.slug,
            profile_id,
            bids.height,
            harvest.height,
            negatives.height,
        )

    def combined(frames: list[pl.DataFrame]) -> pl.DataFrame:
        if not frames:
            return _empty_recommendations().select(
                pl.lit(None, dtype=pl.String).alias("profile_id"), pl.all()
            )
        return pl.concat(frames, how="vertical_relaxed")

    return Recommendations(
        bids=combined(kinds["bids"]),
        harvest=combined(kinds["harvest"]),
        negatives=combined(kinds["negatives"]),
        profile_ids=tuple(profiles),
        data_through=lookback_window(today, policy)[1],
    )


# --- storing ---------------------------------------------------------------------------------

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
    """Insert new recommendations and refresh proposed ones; returns rows inserted or changed.

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
                    " AND t.profile_id = ANY(%s::text[]) AND t.status = 'proposed'"
                    " AND t.source = 'bidder' AND NOT EXISTS"
                    " (SELECT 1 FROM {} s WHERE s.profile_id = t.profile_id AND s.kind = t.kind"
                    " AND s.entity_id = t.entity_id)"
                ).format(target, stage),
                (store_id, generated_for, profiles),
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
                    "INSERT INTO {} AS t (store_id, {}) SELECT %s, {} FROM {} ON CONFLICT ({})"
                    " DO UPDATE SET {} WHERE t.status = 'proposed' AND t.source = 'bidder'"
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
                (store_id,),
            )
            written = cursor.rowcount
    logger.info(
        "store %s: %d recommendations written, %d stale proposals removed for %s",
        store_id,
        written,
        removed,
        generated_for,
    )
    return written

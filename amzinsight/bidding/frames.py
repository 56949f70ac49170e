"""What the bid, harvest and negatives engines share: constants, the recommendation frame's
columns, metric totals over the lookback window, target ACoS per campaign, cover, evidence.

Frames in (column names as in the tables; money may be Decimal or float):
- targets: target_id, kind, campaign_id, ad_group_id, match_type, keyword_text, expression,
  state, bid, default_bid, last_bid_change (date), and optionally campaign_state,
  ad_group_state, campaign_name, ad_group_name, targeting_type, currency.
- performance: target_id, campaign_id, ad_group_id, clicks, cost, purchases_7d, sales_7d, and
  optionally impressions; per day (with report_date: the lookback window and the settling rule
  are applied here, from `today`) or already summed per target (as inputs.load_inputs gives it).
- search_terms: campaign_id, ad_group_id, search_term, keyword_type / match_type,
  targeting_type, the same metrics, optionally campaign_name, ad_group_name, per day or summed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from datetime import date, timedelta
from typing import TypeVar

import polars as pl

from amzinsight.bidding.evidence import Action, Evidence, NegateIn, field_names
from amzinsight.bidding.policy import BidPolicy
from amzinsight.errors import ConfigError
from amzinsight.rules.settling import settling_from

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

BIDDABLE_KINDS = ("keyword", "product_target")
MOVES = (Action.RAISE, Action.LOWER, Action.CUT)
"""Bid actions that become recommendations; the others (hold, wait, ...) say why not."""
ASIN_TERM = r"^b0[0-9a-z]{8}$"
"""Search terms that are ASINs (product-page clicks): product targets, never keywords."""
NO_QUERY_TERM = "*"
"""Amazon's search term for placements without a query (docs/amazon-formats.md 4.2)."""

MONEY = pl.Decimal(12, 2)
METRICS = {
    "impressions": "impressions",
    "clicks": "clicks",
    "cost": "cost",
    "orders": "purchases_7d",
    "sales": "sales_7d",
}
UNITS = {"impressions": 1, "clicks": 1, "cost": 100, "orders": 1, "sales": 100}
"""How many stored units make one: money is summed in cents."""
EPSILON = 1e-9

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
        "current_bid": MONEY,
        "recommended_bid": MONEY,
        "currency": pl.String(),
        "target_acos": pl.Float64(),
        "low_cover": pl.Boolean(),
        "reason": pl.String(),
    }
)
"""Columns of every recommendation frame, followed by `evidence` (a struct: the numbers used)."""


def lookback_window(today: date, policy: BidPolicy) -> tuple[date, date]:
    """The days the engine reads: lookback_days up to yesterday (today is never complete)."""
    return today - timedelta(days=policy.lookback_days), today - timedelta(days=1)


def settled_before(today: date, policy: BidPolicy) -> date:
    """Days before this one are final as of `today`; later ones are settling and left out."""
    return settling_from(today, policy.settle_days)


# --- frame plumbing ----------------------------------------------------------------------------


def ensure(frame: pl.LazyFrame, columns: Mapping[str, pl.DataType]) -> pl.LazyFrame:
    """Add the optional columns a caller left out, as nulls of the right type."""
    present = set(frame.collect_schema().names())
    missing = [
        pl.lit(None, dtype=dtype).alias(n) for n, dtype in columns.items() if n not in present
    ]
    return frame.with_columns(missing) if missing else frame


def metric_totals(
    frame: pl.DataFrame | pl.LazyFrame,
    keys: list[str],
    today: date | None,
    policy: BidPolicy,
    carry: Collection[str] = (),
) -> pl.LazyFrame:
    """Sum the 7-day metrics per key over the lookback window, settling days (as of `today`)
    left out. A frame without report_date is taken as already windowed and summed."""
    lazy = frame.lazy()
    names = set(lazy.collect_schema().names())
    if "report_date" in names and today is not None:
        start, end = lookback_window(today, policy)
        lazy = lazy.filter(
            pl.col("report_date").is_between(start, end),
            pl.col("report_date") < settled_before(today, policy),
        )
    # Sums in whole cents (and whole counts) are exact, so they do not depend on the order in
    # which polars' threads add the rows: the same data always gives the same recommendations.
    sums = [
        (
            (exact_units(pl.col(source), name).sum() / UNITS[name])
            if source in names
            else pl.lit(0.0, dtype=pl.Float64)
        ).alias(name)
        for name, source in METRICS.items()
    ]
    carried = [
        pl.col(name).drop_nulls().first()
        if name in names
        else pl.lit(None, dtype=pl.String).alias(name)
        for name in carry
    ]
    return lazy.group_by(keys, maintain_order=True).agg(*sums, *carried)


def exact_units(value: pl.Expr, name: str) -> pl.Expr:
    """A metric as whole units (cents for money) in Int64, for exact, order-free sums."""
    return (value.cast(pl.Float64).fill_null(0) * UNITS[name]).round(0).cast(pl.Int64)


def enabled(column: str) -> pl.Expr:
    return pl.col(column).is_null() | (pl.col(column).str.to_uppercase() == "ENABLED")


def _campaign_targets(
    target_acos_by_campaign: Mapping[str, float] | pl.DataFrame | None,
) -> pl.LazyFrame:
    schema = {"campaign_id": pl.String(), "target_acos": pl.Float64(), "target_source": pl.String()}
    if target_acos_by_campaign is None:
        return pl.LazyFrame(schema=schema)
    if isinstance(target_acos_by_campaign, pl.DataFrame):
        frame = ensure(target_acos_by_campaign.lazy(), {"target_source": pl.String()})
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


def with_target_acos(
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


def frame_currency(frame: pl.DataFrame | None) -> str:
    if frame is None or "currency" not in frame.columns:
        return ""
    present = frame.get_column("currency").drop_nulls()
    return str(present[0]) if len(present) else ""


def stable_ids(parts: pl.Series) -> pl.Series:
    """Short sha256 ids of text keys; stable across polars versions, unlike Series.hash."""
    return pl.Series(
        parts.name,
        [hashlib.sha256(p.encode()).hexdigest()[:24] for p in parts.to_list()],
        dtype=pl.String,
    )


def cents_to_money(cents: pl.Expr) -> pl.Expr:
    return (cents.cast(MONEY) / 100).cast(MONEY)


def evidence_struct(*columns: str | pl.Expr) -> pl.Expr:
    """The `evidence` column. Its fields must be Evidence's: a key the readers do not know is a
    mistake caught here, on the first run, not in a review that silently shows nothing."""
    _check_fields(Evidence, columns)
    return pl.struct(*columns).alias("evidence")


def negate_in_struct(*columns: str | pl.Expr) -> pl.Expr:
    """One evidence.negate_in entry per row; fields checked against NegateIn."""
    _check_fields(NegateIn, columns)
    return pl.struct(*columns)


def _check_fields(
    model: type[Evidence] | type[NegateIn], columns: tuple[str | pl.Expr, ...]
) -> None:
    names = [c if isinstance(c, str) else c.meta.output_name() for c in columns]
    unknown = sorted(set(names) - field_names(model))
    if unknown:
        raise ValueError(f"{model.__name__} has no field(s) {', '.join(unknown)}")


def empty_recommendations() -> pl.DataFrame:
    frame = pl.DataFrame(schema=RECOMMENDATION_SCHEMA)
    return frame.with_columns(
        pl.lit(None, dtype=pl.Struct({"action": pl.String})).alias("evidence")
    )


TARGET_COLUMNS: dict[str, pl.DataType] = {
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
"""Columns of a targets frame that callers may leave out."""


def cover_frame(cover: pl.DataFrame | None, key: str) -> pl.LazyFrame:
    schema = {key: pl.String(), "days_of_cover": pl.Float64(), "cover_asin": pl.String()}
    if cover is None:
        return pl.LazyFrame(schema=schema)
    lazy = ensure(cover.lazy(), {"asin": pl.String()})
    return lazy.select(
        pl.col(key).cast(pl.String),
        pl.col("days_of_cover").cast(pl.Float64),
        pl.col("asin").cast(pl.String).alias("cover_asin"),
    ).unique(key, keep="first")


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
    lazy = ensure(campaigns.lazy(), {"target_acos": pl.Float64(), "break_even_acos": pl.Float64()})
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

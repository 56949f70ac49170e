"""Search terms as harvest and negatives read them: totals per ad group and normalised term
from the sources worth acting on, and the keywords and negatives the profile already has."""

from __future__ import annotations

from datetime import date

import polars as pl

from amzinsight.bidding.frames import TARGET_COLUMNS, ensure, metric_totals
from amzinsight.bidding.policy import BidPolicy
from amzinsight.bidding.smoothing import with_priors

_SEARCH_TERM_COLUMNS: dict[str, pl.DataType] = {
    "keyword_type": pl.String(),
    "match_type": pl.String(),
    "targeting_type": pl.String(),
    "campaign_name": pl.String(),
    "ad_group_name": pl.String(),
}


def search_term_rows(
    search_terms: pl.DataFrame | pl.LazyFrame, today: date | None, policy: BidPolicy
) -> pl.LazyFrame:
    """Totals per (campaign, ad group, normalised term, eligible source) with ad-group priors.

    Eligible sources are auto campaigns and broad or phrase keywords: the ones whose search terms
    are worth harvesting or negating (an exact keyword's terms are its own bid's business)."""
    lazy = ensure(search_terms.lazy(), _SEARCH_TERM_COLUMNS)
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
    totals = metric_totals(
        lazy,
        ["campaign_id", "ad_group_id", "term", "eligible"],
        today,
        policy,
        carry=("campaign_name", "ad_group_name", "source"),
    )
    return with_priors(totals, policy)


def _normalised(text: pl.Expr) -> pl.Expr:
    return text.str.to_lowercase().str.strip_chars().str.replace_all(r"\s+", " ")


def keyword_frame(targets: pl.DataFrame | None) -> pl.LazyFrame:
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
    lazy = ensure(targets.lazy(), {**TARGET_COLUMNS, "keyword_text": pl.String()})
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


def mark_negated(rows: pl.LazyFrame, keywords: pl.LazyFrame) -> pl.LazyFrame:
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

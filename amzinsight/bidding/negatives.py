"""Negatives: search terms from auto, broad and phrase sources that spend without an order
become negative exact keywords in their ad group, and words that waste clicks across several
terms a negative phrase in the campaign. Pure: frames in, a frame out."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date

import polars as pl

from amzinsight.bidding.evidence import Action, Cause
from amzinsight.bidding.frames import (
    ASIN_TERM,
    BIDDABLE_KINDS,
    MONEY,
    NO_QUERY_TERM,
    evidence_struct,
    frame_currency,
    stable_ids,
    with_target_acos,
)
from amzinsight.bidding.policy import BidPolicy
from amzinsight.bidding.search_terms import keyword_frame, mark_negated, search_term_rows
from amzinsight.bidding.text import int_text, money_text, percent_text, place_text


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
    currency = currency if currency is not None else frame_currency(targets)
    keywords = keyword_frame(targets)
    skipped = pl.LazyFrame(
        {"term": list(skip_terms) if skip_terms is not None else []}, schema={"term": pl.String}
    )
    rows = (
        search_term_rows(search_terms, today, policy)
        .filter(
            pl.col("eligible")
            & (pl.col("term") != NO_QUERY_TERM)
            & ~pl.col("term").str.contains(ASIN_TERM)
        )
        .pipe(with_target_acos, target_acos_by_campaign, policy)
        .pipe(mark_negated, keywords)
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
        cause=pl.when(by_clicks)
        .then(pl.lit(Cause.NO_SALE_CLICKS))
        .otherwise(pl.lit(Cause.NO_SALE_SPEND)),
        # the rule that fired comes first: the clicks rule, else the spend rule
        reason=pl.format(
            '"{}": no orders from {} clicks and {} spend (7-day): {} -> negative exact in {}',
            pl.col("term"),
            int_text(pl.col("clicks")),
            money_text(pl.col("cost"), currency),
            pl.when(by_clicks)
            .then(
                pl.format(
                    "{} clicks or more without an order (one order expected per {} clicks{})",
                    pl.lit(str(policy.negative_min_clicks)),
                    int_text(pl.col("clicks_per_order")),
                    pl.when(pl.col("cost_per_order").is_not_null())
                    .then(
                        pl.format(
                            " or {} at target ACoS {}",
                            money_text(pl.col("cost_per_order"), currency),
                            percent_text(pl.col("target_acos")),
                        )
                    )
                    .otherwise(pl.lit("")),
                )
            )
            .otherwise(
                pl.format(
                    "spent more than one order may cost ({} at target ACoS {}; one order expected"
                    " per {} clicks)",
                    money_text(pl.col("cost_per_order"), currency),
                    percent_text(pl.col("target_acos")),
                    int_text(pl.col("clicks_per_order")),
                )
            ),
            place_text("campaign", "ad_group"),
        ),
    ).select(
        pl.lit("negative").alias("kind"),
        pl.concat_str(
            [pl.lit("negative|exact"), "campaign_id", "ad_group_id", "term"],
            separator="|",
            ignore_nulls=True,
        ).alias("entity_id"),
        pl.lit(Action.NEGATIVE_EXACT).alias("action"),
        "campaign_id",
        "ad_group_id",
        pl.lit(None, dtype=pl.String).alias("target_id"),
        pl.col("term").alias("search_term"),
        pl.lit("NEGATIVE_EXACT").alias("match_type"),
        pl.lit(None, dtype=MONEY).alias("current_bid"),
        pl.lit(None, dtype=MONEY).alias("recommended_bid"),
        pl.lit(currency or None, dtype=pl.String).alias("currency"),
        pl.col("target_acos").round(4),
        pl.lit(False).alias("low_cover"),
        "reason",
        evidence_struct(
            pl.lit(Action.NEGATIVE_EXACT).alias("action"),
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
        ),
    )
    frame = (
        pl.concat([exact_rows, ngram_rows], how="vertical")
        .sort("match_type", "campaign_id", "ad_group_id", "search_term", nulls_last=True)
        .collect()
    )
    return frame.with_columns(stable_ids(frame["entity_id"]))


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
        pl.lit(Action.NEGATIVE_PHRASE).alias("action"),
        "campaign_id",
        pl.lit(None, dtype=pl.String).alias("ad_group_id"),
        pl.lit(None, dtype=pl.String).alias("target_id"),
        pl.col("gram").alias("search_term"),
        pl.lit("NEGATIVE_PHRASE").alias("match_type"),
        pl.lit(None, dtype=MONEY).alias("current_bid"),
        pl.lit(None, dtype=MONEY).alias("recommended_bid"),
        pl.lit(currency or None, dtype=pl.String).alias("currency"),
        pl.col("target_acos").round(4),
        pl.lit(False).alias("low_cover"),
        pl.format(
            '"{}": in {} search terms with {} clicks, {} spend and no orders (7-day), e.g. {}'
            " -> negative phrase in campaign {}",
            pl.col("gram"),
            pl.col("terms").cast(pl.String),
            int_text(pl.col("clicks")),
            money_text(pl.col("cost"), currency),
            pl.col("examples").list.join(", "),
            pl.coalesce(pl.col("campaign_name"), pl.col("campaign_id")),
        ).alias("reason"),
        evidence_struct(
            pl.lit(Action.NEGATIVE_PHRASE).alias("action"),
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
            pl.lit(Cause.NGRAM).alias("cause"),
            pl.col("terms").cast(pl.Int64),
            "examples",
        ),
    )

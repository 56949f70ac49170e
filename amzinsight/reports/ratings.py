"""Product ratings CSV (asin, date, rating, review_count[, marketplace_id]): one row per ASIN and
day, loaded as `product_ratings`. SP-API has no ratings endpoint (docs/amazon-formats.md 3.7), so a
person provides this file.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from amzinsight.db import tables
from amzinsight.errors import ReportParseError
from amzinsight.reports.base import ParseContext, ParsedReport, ReportSpec, TableRows
from amzinsight.reports.flatfile import (
    ROW,
    Field,
    fail,
    header_names,
    parse_values,
    read_flat_file,
    require_unique,
    slash_dates_day_first,
)

REPORT_TYPE = "product ratings CSV"

KEY = ("marketplace_id", "asin", "snapshot_date")

_FIELDS = {
    "marketplace_id": Field("marketplace_id"),
    "asin": Field("asin", required=True),
    "snapshot_date": Field("date", "date", required=True),
    "rating": Field("rating", "ratio"),
    "review_count": Field("review_count", "integer"),
}
_REQUIRED = ("asin", "date", "rating", "review_count")
_LOWEST_RATING, _HIGHEST_RATING = 1, 5


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """Ratings as given, each checked: 1.0-5.0 stars and a review count of 0 or more."""
    raw = read_flat_file(
        path, REPORT_TYPE, required=_REQUIRED, optional=["marketplace_id"], separator=","
    )
    rows = parse_values(
        raw,
        _FIELDS,
        report_type=REPORT_TYPE,
        day_first=slash_dates_day_first(context.marketplace_id, context.currency),
    ).with_columns(
        pl.col("asin").str.strip_chars(),
        pl.coalesce(
            pl.col("marketplace_id").str.strip_chars(), pl.lit(context.marketplace_id, pl.String)
        ).alias("marketplace_id"),
    )
    _check_range(rows)
    require_unique(rows, KEY, report_type=REPORT_TYPE)
    frame = rows.select(
        *KEY,
        pl.col("rating").cast(pl.Decimal(38, 2)),
        "review_count",
        pl.lit("import").alias("source"),
    )
    return ParsedReport([TableRows(tables.product_ratings, frame, KEY)])


def detect(head: bytes) -> bool:
    return {"asin", "date", "rating", "review_count"} <= set(header_names(head, ","))


def _check_range(rows: pl.DataFrame) -> None:
    out_of_range = rows.filter(
        ~pl.col("rating").is_between(_LOWEST_RATING, _HIGHEST_RATING)
        | (pl.col("review_count") < 0)
        | pl.col("marketplace_id").is_null()
    )
    if not out_of_range.height:
        return
    first = out_of_range.row(0, named=True)
    where = f"line {first[ROW]}"
    if first["marketplace_id"] is None:
        raise ReportParseError(
            f"{REPORT_TYPE} {where}: no marketplace_id; add that column or import the file "
            "for one marketplace"
        )
    rating = first["rating"]
    if rating is not None and not _LOWEST_RATING <= rating <= _HIGHEST_RATING:
        raise fail(REPORT_TYPE, where, f"rating {rating} is not between 1.0 and 5.0 stars")
    raise fail(REPORT_TYPE, where, f"review_count {first['review_count']} is negative")


SPEC = ReportSpec(
    key="ratings",
    amazon_report_type=None,
    description="Product star ratings and review counts, from a CSV a person provides",
    parse=parse,
    detect=detect,
    acquisition="file",
    window="none",
    extension="csv",
    max_window_days=0,
)

"""GET_MERCHANT_LISTINGS_ALL_DATA: one row per seller SKU listed in the marketplace (active or
not), loaded as that SKU's `listings` row (latest state).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from amzinsight.db import tables
from amzinsight.errors import ReportParseError
from amzinsight.reports.base import ParseContext, ParsedReport, ReportSpec, TableRows
from amzinsight.reports.flatfile import (
    Field,
    header_names,
    parse_values,
    read_flat_file,
    require_unique,
    slash_dates_day_first,
)

REPORT_TYPE = "GET_MERCHANT_LISTINGS_ALL_DATA"

KEY = ("marketplace_id", "sku")

_FIELDS = {
    "sku": Field("seller-sku", required=True),
    "asin1": Field("asin1"),
    "product_id": Field("product-id"),
    "product_id_type": Field("product-id-type"),
    "listing_id": Field("listing-id"),
    "item_name": Field("item-name"),
    "item_description": Field("item-description"),
    "price": Field("price", "money"),
    "quantity": Field("quantity", "integer"),  # empty for FBA listings (docs/amazon-formats.md 3.5)
    # open-date is written in the seller's locale with a zone name ("2022-07-11 01:34:18 PDT",
    # "08/07/2016 10:12:40 BST"): its local date is kept, and a form we cannot read is no reason
    # to fail the load.
    "open_date": Field("open-date", "date_or_null"),
    "fulfillment_channel": Field("fulfillment-channel"),
    "status": Field("status"),
    "item_condition": Field("item-condition"),
    "image_url": Field("image-url"),
}
_REQUIRED = ("seller-sku", "item-name", "listing-id")
# bullet_points and backend_search_terms are not in this file: they are left out of the frame so
# a listings sync never blanks what the catalog sync (bullets) or a person (search terms) wrote.
_COLUMNS = (
    "listing_id",
    "item_name",
    "item_description",
    "price",
    "currency",
    "quantity",
    "open_date",
    "fulfillment_channel",
    "status",
    "item_condition",
    "image_url",
)


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """Listings of the marketplace the report was requested for (the file does not say)."""
    if context.marketplace_id is None:
        raise ReportParseError(
            f"{REPORT_TYPE}: needs the marketplace it was requested for (the file does not "
            "name it); import it with the store's marketplace"
        )
    raw = read_flat_file(
        path,
        REPORT_TYPE,
        required=_REQUIRED,
        optional=[field.source for field in _FIELDS.values() if field.source not in _REQUIRED],
    )
    rows = parse_values(
        raw,
        _FIELDS,
        report_type=REPORT_TYPE,
        day_first=slash_dates_day_first(context.marketplace_id, context.currency),
    )
    require_unique(rows, ["sku"], report_type=REPORT_TYPE)
    frame = rows.select(
        pl.lit(context.marketplace_id, pl.String).alias("marketplace_id"),
        "sku",
        # product-id-type 1 means product-id is the ASIN (docs/amazon-formats.md 3.5, from MWS).
        pl.coalesce(
            pl.col("asin1"),
            pl.when(pl.col("product_id_type") == "1").then(pl.col("product_id")),
        ).alias("asin"),
        pl.lit(context.currency, pl.String).alias("currency"),
        *[name for name in _COLUMNS if name != "currency"],
    ).select(*KEY, "asin", *_COLUMNS)
    return ParsedReport([TableRows(tables.listings, frame, KEY)])


def detect(head: bytes) -> bool:
    return {"seller-sku", "listing-id", "item-name"} <= set(header_names(head))


SPEC = ReportSpec(
    key="listings",
    amazon_report_type=REPORT_TYPE,
    description="All listings: one row per seller SKU, active or inactive",
    parse=parse,
    detect=detect,
    acquisition="create",
    window="snapshot",
    extension="tsv",
)

"""GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL: one row per order line in the file, loaded
as `orders` (one row per amazon-order-id) and `order_items` (one row per line).

Buyer names, emails, phones and address lines are never read, even when a file carries them.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from amzinsight.db import tables
from amzinsight.marketplaces import MARKETPLACES
from amzinsight.reports.base import ParseContext, ParsedReport, ReportSpec, TableRows
from amzinsight.reports.flatfile import (
    Field,
    header_names,
    parse_values,
    read_flat_file,
    slash_dates_day_first,
)

REPORT_TYPE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"

ORDER_KEY = ("amazon_order_id",)
ITEM_KEY = ("amazon_order_id", "sku", "asin", "line_no")

_LINE_FIELDS = {
    "amazon_order_id": Field("amazon-order-id", required=True),
    "merchant_order_id": Field("merchant-order-id"),
    "purchase_date": Field("purchase-date", "timestamp"),
    "last_updated_date": Field("last-updated-date", "timestamp"),
    "order_status": Field("order-status"),
    "fulfillment_channel": Field("fulfillment-channel"),
    "sales_channel": Field("sales-channel"),
    "order_channel": Field("order-channel"),
    "ship_service_level": Field("ship-service-level"),
    "ship_city": Field("ship-city"),
    "ship_state": Field("ship-state"),
    "ship_postal_code": Field("ship-postal-code"),
    "ship_country": Field("ship-country"),
    "is_business_order": Field("is-business-order", "boolean"),
    "is_replacement_order": Field("is-replacement-order", "boolean"),
    "purchase_order_number": Field("purchase-order-number"),
    "sku": Field("sku"),
    "asin": Field("asin"),
    "order_item_id": Field("order-item-id"),
    "product_name": Field("product-name"),
    "item_status": Field("item-status"),
    "quantity": Field("quantity", "integer"),
    "line_currency": Field("currency"),
    "item_price": Field("item-price", "money"),
    "item_tax": Field("item-tax", "money"),
    "shipping_price": Field("shipping-price", "money"),
    "shipping_tax": Field("shipping-tax", "money"),
    "gift_wrap_price": Field("gift-wrap-price", "money"),
    "gift_wrap_tax": Field("gift-wrap-tax", "money"),
    "item_promotion_discount": Field("item-promotion-discount", "money"),
    "ship_promotion_discount": Field("ship-promotion-discount", "money"),
    "promotion_ids": Field("promotion-ids"),
}
_REQUIRED = ("amazon-order-id", "purchase-date", "order-status", "sku", "asin", "quantity")

_ORDER_COLUMNS = (
    "merchant_order_id",
    "marketplace_id",
    "purchase_date",
    "purchase_local_date",
    "order_status",
    "fulfillment_channel",
    "sales_channel",
    "order_channel",
    "ship_service_level",
    "ship_city",
    "ship_state",
    "ship_postal_code",
    "ship_country",
    "is_business_order",
    "is_replacement_order",
    "purchase_order_number",
    "currency",
)
_ITEM_COLUMNS = (
    *ITEM_KEY,
    "order_item_id",
    "product_name",
    "item_status",
    "quantity",
    "currency",
    "item_price",
    "item_tax",
    "shipping_price",
    "shipping_tax",
    "gift_wrap_price",
    "gift_wrap_tax",
    "item_promotion_discount",
    "ship_promotion_discount",
    "promotion_ids",
)
# sales-channel names the marketplace by its domain ("Amazon.com", "Amazon.ca"); the report
# ignores the marketplace filter inside a region, so one file mixes them
# (docs/amazon-formats.md 2.5).
_BY_DOMAIN = {market.domain: market for market in MARKETPLACES.values()}


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """Orders and their lines; an order's fields come from its first line that has them."""
    # Read and parse in one expression: the raw strings are freed once parsed (1M-line files).
    lines = parse_values(
        read_flat_file(
            path,
            REPORT_TYPE,
            required=_REQUIRED,
            optional=[f.source for f in _LINE_FIELDS.values() if f.source not in _REQUIRED],
        ),
        _LINE_FIELDS,
        report_type=REPORT_TYPE,
        day_first=slash_dates_day_first(context.marketplace_id, context.currency),
    )
    lines = _with_marketplace(lines, context)
    items = lines.with_columns(
        pl.col("sku").fill_null(""),
        pl.col("asin").fill_null(""),
        # Repeated (sku, asin) lines of one order are numbered in file order: a stable key.
        (pl.int_range(pl.len()).over("amazon_order_id", "sku", "asin") + 1)
        .cast(pl.Int32)
        .alias("line_no"),
    ).select(_ITEM_COLUMNS)
    orders = (
        lines.group_by("amazon_order_id", maintain_order=True)
        .agg(
            pl.col("last_updated_date").max(),
            *[pl.col(name).drop_nulls().first() for name in _ORDER_COLUMNS],
        )
        .select(*ORDER_KEY, *_ORDER_COLUMNS, "last_updated_date")
    )
    return ParsedReport(
        [
            TableRows(tables.orders, orders, ORDER_KEY),
            TableRows(tables.order_items, items, ITEM_KEY),
        ]
    )


def detect(head: bytes) -> bool:
    return {"amazon-order-id", "purchase-date", "order-status", "sales-channel"} <= set(
        header_names(head)
    )


def _with_marketplace(lines: pl.DataFrame, context: ParseContext) -> pl.DataFrame:
    """marketplace_id, currency and the purchase's local date from each line's sales channel."""
    channel = pl.col("sales_channel").str.strip_chars().str.to_lowercase()
    market_id = channel.replace_strict(
        {domain: m.marketplace_id for domain, m in _BY_DOMAIN.items()},
        default=None,
        return_dtype=pl.String,
    )
    market_currency = channel.replace_strict(
        {domain: m.currency for domain, m in _BY_DOMAIN.items()},
        default=None,
        return_dtype=pl.String,
    )
    market_zone = channel.replace_strict(
        {domain: m.time_zone for domain, m in _BY_DOMAIN.items()},
        default=None,
        return_dtype=pl.String,
    )
    lines = lines.with_columns(
        # "Non-Amazon" (multi-channel fulfilment) or an unknown channel: the store's marketplace.
        pl.coalesce(market_id, pl.lit(context.marketplace_id, pl.String)).alias("marketplace_id"),
        # Cancelled lines leave currency empty (docs/amazon-formats.md 3.2): the marketplace's is
        # the order's.
        pl.coalesce(
            pl.col("line_currency"), market_currency, pl.lit(context.currency, pl.String)
        ).alias("currency"),
        pl.coalesce(market_zone, pl.lit(context.time_zone)).alias("_time_zone"),
    )
    zones = lines["_time_zone"].unique().to_list()
    local_dates = [
        pl.when(pl.col("_time_zone") == zone).then(
            pl.col("purchase_date").dt.convert_time_zone(zone).dt.date()
        )
        for zone in zones
    ]
    purchase_local_date = pl.coalesce(local_dates) if local_dates else pl.lit(None, pl.Date)
    return lines.with_columns(purchase_local_date.alias("purchase_local_date")).drop("_time_zone")


SPEC = ReportSpec(
    key="orders",
    amazon_report_type=REPORT_TYPE,
    description="All orders by order date: one row per order line (orders, order_items)",
    parse=parse,
    detect=detect,
    acquisition="create",
    window="range",
    extension="tsv",
    lookback_days=3,  # orders change status for days after purchase
    includes_today=True,
    max_window_days=30,
    # The report ignores the marketplace filter inside a region (docs/amazon-formats.md 2.5): one
    # request brings every marketplace's orders.
    per_marketplace=False,
)

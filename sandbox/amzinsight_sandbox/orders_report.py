"""GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL: one TSV row per order item.

Like Amazon's, the report is region-wide (asking for US returns the CA orders too), zero amounts
are empty cells, cancelled lines have quantity 0 and no money or currency, and pending lines
have no tax yet. No buyer names or e-mails: Amazon removed them from this report.
"""

from __future__ import annotations

import polars as pl

from amzinsight_sandbox.orders import purchased_lines, sales_channel
from amzinsight_sandbox.truth import AccountTruth

ORDER_COLUMNS = (
    "amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date", "order-status",
    "fulfillment-channel", "sales-channel", "order-channel", "url", "ship-service-level",
    "product-name", "sku", "asin", "item-status", "quantity", "currency", "item-price",
    "item-tax", "shipping-price", "shipping-tax", "gift-wrap-price", "gift-wrap-tax",
    "item-promotion-discount", "ship-promotion-discount", "ship-city", "ship-state",
    "ship-postal-code", "ship-country", "promotion-ids", "cpf", "is-business-order",
    "purchase-order-number", "price-designation", "signature-confirmation-recommended",
)  # fmt: skip


def money_text(cents: pl.Expr) -> pl.Expr:
    """Minor units as Amazon writes money in flat files: 24.99, -2.00; zero as an empty cell."""
    magnitude = cents.abs()
    text = (
        pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
        + (magnitude // 100).cast(pl.Utf8)
        + pl.lit(".")
        + (magnitude % 100).cast(pl.Utf8).str.zfill(2)
    )
    return pl.when(cents.is_null() | (cents == 0)).then(pl.lit(None, pl.Utf8)).otherwise(text)


def iso_timestamp(seconds: pl.Expr) -> pl.Expr:
    return pl.from_epoch(seconds, time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def product_frame(truth: AccountTruth) -> pl.DataFrame:
    products = truth.catalogue.products
    return pl.DataFrame(
        {
            "product": [p.index for p in products],
            "product_name": [p.title for p in products],
            "sku": [p.sku for p in products],
            "asin": [p.asin for p in products],
            "fba_fee_us_cents": [p.fba_fee_us_cents for p in products],
        },
        schema_overrides={"product": pl.Int32},
    )


def all_orders_document(truth: AccountTruth, start_ts: int, end_ts: int) -> str:
    """Every order line of the account's region purchased in [start_ts, end_ts]."""
    lines = purchased_lines(truth, list(truth.account.marketplaces), start_ts, end_ts)
    currencies = {
        code: truth.marketplaces[code].marketplace.currency for code in truth.marketplaces
    }
    channels = {code: sales_channel(code) for code in truth.marketplaces}
    cancelled = pl.col("cancelled")
    frame = lines.join(product_frame(truth), on="product", how="left", maintain_order="left")
    table = frame.select(
        pl.col("order_id").alias("amazon-order-id"),
        pl.col("order_id").alias("merchant-order-id"),  # equals the order id for FBA orders
        iso_timestamp(pl.col("purchase_ts")).alias("purchase-date"),
        iso_timestamp(pl.col("updated_ts")).alias("last-updated-date"),
        pl.col("order_status").alias("order-status"),
        pl.lit("Amazon").alias("fulfillment-channel"),
        pl.col("country").replace_strict(channels).alias("sales-channel"),
        pl.lit("").alias("order-channel"),
        pl.lit("").alias("url"),
        pl.col("ship_service_level").alias("ship-service-level"),
        pl.col("product_name").alias("product-name"),
        pl.col("sku"),
        pl.col("asin"),
        pl.col("item_status").alias("item-status"),
        pl.col("quantity").cast(pl.Utf8),
        pl.when(cancelled)
        .then(pl.lit(None, pl.Utf8))
        .otherwise(pl.col("country").replace_strict(currencies))
        .alias("currency"),
        money_text(pl.col("item_price")).alias("item-price"),
        money_text(pl.when(pl.col("shipped")).then(pl.col("item_tax")).otherwise(0)).alias(
            "item-tax"
        ),
        *(pl.lit("").alias(name) for name in ORDER_COLUMNS[18:22]),
        money_text(-pl.col("promotion_discount")).alias("item-promotion-discount"),
        pl.lit("").alias("ship-promotion-discount"),
        pl.col("ship_city").alias("ship-city"),
        pl.col("ship_state").alias("ship-state"),
        pl.col("ship_postal_code").alias("ship-postal-code"),
        pl.col("ship_country").alias("ship-country"),
        pl.col("promotion_id").alias("promotion-ids"),
        pl.lit("").alias("cpf"),
        pl.lit("false").alias("is-business-order"),
        pl.lit("").alias("purchase-order-number"),
        pl.lit("").alias("price-designation"),
        pl.lit("false").alias("signature-confirmation-recommended"),
    )
    return table.write_csv(separator="\t", quote_style="never", null_value="")


def has_orders(truth: AccountTruth, start_ts: int, end_ts: int) -> bool:
    """Whether any order was placed in the window: Amazon cancels empty order reports."""
    lines = purchased_lines(truth, list(truth.account.marketplaces), start_ts, end_ts)
    return lines.height > 0

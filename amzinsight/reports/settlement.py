"""GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2: one settlement per file. The first data row is the
summary (`settlements`); every later row is one amount line (`settlement_lines`).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from amzinsight.db import tables
from amzinsight.reports.base import ParseContext, ParsedReport, ReportSpec, TableRows
from amzinsight.reports.flatfile import (
    ROW,
    Field,
    fail,
    header_names,
    parse_values,
    read_flat_file,
    slash_dates_day_first,
)

REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"

SETTLEMENT_KEY = ("settlement_id",)
LINE_KEY = ("settlement_id", "line_no")
REPLACED_WHOLE_BY = "settlement_id"
"""A settlement loaded again (in this layout or the older flat file, which numbers its lines
differently) replaces its lines whole, so no line of the earlier load survives."""

_FIELDS = {
    "settlement_id": Field("settlement-id", required=True),
    "settlement_start": Field("settlement-start-date", "timestamp"),
    "settlement_end": Field("settlement-end-date", "timestamp"),
    "deposit_date": Field("deposit-date", "timestamp"),
    "total_amount": Field("total-amount", "money"),
    "currency": Field("currency"),
    "transaction_type": Field("transaction-type"),
    "order_id": Field("order-id"),
    "merchant_order_id": Field("merchant-order-id"),
    "adjustment_id": Field("adjustment-id"),
    "shipment_id": Field("shipment-id"),
    "marketplace_name": Field("marketplace-name"),
    "amount_type": Field("amount-type"),
    "amount_description": Field("amount-description"),
    "amount": Field("amount", "money"),
    "fulfillment_id": Field("fulfillment-id"),
    # posted-date is the local date as written (2025-03-02, 09/06/25, or a whole local instant
    # such as 2003-10-03T16:00:00-07:00); posted-date-time is UTC (docs/amazon-formats.md 3.3).
    "posted_date": Field("posted-date", "date"),
    "posted_at": Field("posted-date-time", "timestamp"),
    "order_item_code": Field("order-item-code"),
    "merchant_order_item_id": Field("merchant-order-item-id"),
    "merchant_adjustment_item_id": Field("merchant-adjustment-item-id"),
    "sku": Field("sku"),
    "quantity_purchased": Field("quantity-purchased", "integer"),
    "promotion_id": Field("promotion-id"),
}
_REQUIRED = (
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "amount-type",
    "amount-description",
    "amount",
)
LINE_COLUMNS = (
    "transaction_type",
    "order_id",
    "merchant_order_id",
    "adjustment_id",
    "shipment_id",
    "marketplace_name",
    "amount_type",
    "amount_description",
    "amount",
    "currency",
    "fulfillment_id",
    "posted_date",
    "posted_at",
    "order_item_code",
    "merchant_order_item_id",
    "merchant_adjustment_item_id",
    "sku",
    "quantity_purchased",
    "promotion_id",
)


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """The summary and its lines; lines that do not add up to the deposit still load (the
    Finance page shows the difference), but a file without its summary row is refused.
    """
    raw = read_flat_file(
        path,
        REPORT_TYPE,
        required=_REQUIRED,
        optional=[field.source for field in _FIELDS.values() if field.source not in _REQUIRED],
    )
    summary_currency = raw["currency"][0] if raw.height else None
    rows = parse_values(
        raw,
        _FIELDS,
        report_type=REPORT_TYPE,
        day_first=slash_dates_day_first(context.marketplace_id, summary_currency),
    )
    if rows.height == 0:
        return ParsedReport(
            [
                TableRows(tables.settlements, settlement_summary(rows, rows), SETTLEMENT_KEY),
                TableRows(
                    tables.settlement_lines,
                    _lines(rows, None),
                    LINE_KEY,
                    replace_groups_by=REPLACED_WHOLE_BY,
                ),
            ]
        )
    summary, details = summary_and_details(rows, REPORT_TYPE, "a V2 settlement file")
    return ParsedReport(
        [
            TableRows(tables.settlements, settlement_summary(summary, details), SETTLEMENT_KEY),
            TableRows(
                tables.settlement_lines,
                _lines(details, summary["currency"][0]),
                LINE_KEY,
                replace_groups_by=REPLACED_WHOLE_BY,
            ),
        ]
    )


def detect(head: bytes) -> bool:
    return {"settlement-id", "total-amount", "amount-type", "amount-description"} <= set(
        header_names(head)
    )


def settlement_summary(summary: pl.DataFrame, details: pl.DataFrame) -> pl.DataFrame:
    """The `settlements` row: the summary plus what its lines add up to (both layouts)."""
    marketplaces = details["marketplace_name"].drop_nulls().unique()
    # The summary row leaves marketplace-name empty; name the marketplace when the lines agree.
    only_marketplace = marketplaces[0] if marketplaces.len() == 1 else None
    return summary.select(
        "settlement_id",
        "settlement_start",
        "settlement_end",
        "deposit_date",
        "total_amount",
        "currency",
        pl.coalesce(pl.col("marketplace_name"), pl.lit(only_marketplace, pl.String)).alias(
            "marketplace_name"
        ),
        pl.lit(details["amount"].sum(), pl.Decimal(38, 2)).alias("lines_total"),
        pl.lit(details.height, pl.Int32).alias("line_count"),
    )


def _lines(details: pl.DataFrame, summary_currency: str | None) -> pl.DataFrame:
    return details.with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("line_no"),
        pl.coalesce(pl.col("currency"), pl.lit(summary_currency, pl.String)).alias("currency"),
    ).select(*LINE_KEY, *LINE_COLUMNS)


SPEC = ReportSpec(
    key="settlement",
    amazon_report_type=REPORT_TYPE,
    description="Settlement (V2 flat file): the deposit summary and every amount line",
    parse=parse,
    detect=detect,
    acquisition="list",  # Amazon generates settlements; we find them with getReports
    window="none",
    extension="tsv",
    max_window_days=0,
    # one settlement can cover a whole region account (docs/amazon-formats.md 2.4)
    per_marketplace=False,
)


def summary_and_details(
    rows: pl.DataFrame, report_type: str, layout: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A settlement file's summary row and its detail rows, in either layout: the first row
    must be the summary and every row must belong to its settlement."""
    summary, details = rows.head(1), rows.slice(1)
    if summary["total_amount"][0] is None:
        raise fail(
            report_type,
            f"line {summary[ROW][0]}",
            "the first row is not the settlement summary (total-amount is empty); "
            f"{layout} starts with its summary row",
        )
    settlement_id = summary["settlement_id"][0]
    other = details.filter(pl.col("settlement_id") != settlement_id)
    if other.height:
        raise fail(
            report_type,
            f"line {other[ROW][0]}",
            f"settlement-id {other['settlement_id'][0]!r} differs from the summary's "
            f"{settlement_id!r}; a file holds one settlement",
        )
    return summary, details

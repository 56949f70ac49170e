"""GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE, the older settlement "Flat File" in sellers' archives.

Like the V2 file it holds one settlement whose first data row is the summary, but each later row
carries several amounts (a price, an item fee, a shipment fee, an order fee, a promotion, ...).
Each amount becomes one `settlement_lines` row with the amount-type and amount-description the
V2 file would have written, so Finance sums both layouts into the same categories
(docs/amazon-formats.md 8.4). A settlement loaded in either layout replaces its lines whole.
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
from amzinsight.reports.settlement import (
    LINE_COLUMNS,
    LINE_KEY,
    REPLACED_WHOLE_BY,
    SETTLEMENT_KEY,
    settlement_summary,
    summary_and_details,
)

REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE"

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
    "shipment_fee_type": Field("shipment-fee-type"),
    "shipment_fee_amount": Field("shipment-fee-amount", "money"),
    "order_fee_type": Field("order-fee-type"),
    "order_fee_amount": Field("order-fee-amount", "money"),
    "fulfillment_id": Field("fulfillment-id"),
    # One full instant (2019-05-08 13:22:41 UTC); there is no posted-date-time in this layout.
    "posted_date": Field("posted-date", "date"),
    "posted_at": Field("posted-date", "timestamp"),
    "order_item_code": Field("order-item-code"),
    "merchant_order_item_id": Field("merchant-order-item-id"),
    "merchant_adjustment_item_id": Field("merchant-adjustment-item-id"),
    "sku": Field("sku"),
    "quantity_purchased": Field("quantity-purchased", "integer"),
    "price_type": Field("price-type"),
    "price_amount": Field("price-amount", "money"),
    "item_related_fee_type": Field("item-related-fee-type"),
    "item_related_fee_amount": Field("item-related-fee-amount", "money"),
    "misc_fee_amount": Field("misc-fee-amount", "money"),
    "other_fee_amount": Field("other-fee-amount", "money"),
    "other_fee_reason": Field("other-fee-reason-description"),
    # The promotion columns came later: files before them have 33 columns instead of 36.
    "promotion_id": Field("promotion-id"),
    "promotion_type": Field("promotion-type"),
    "promotion_amount": Field("promotion-amount", "money"),
    "direct_payment_type": Field("direct-payment-type"),
    "direct_payment_amount": Field("direct-payment-amount", "money"),
    "other_amount": Field("other-amount", "money"),
}
_PROMOTION_COLUMNS = ("promotion-id", "promotion-type", "promotion-amount")
_REQUIRED = tuple(
    dict.fromkeys(
        field.source for field in _FIELDS.values() if field.source not in _PROMOTION_COLUMNS
    )
)
_AMOUNT_COLUMNS = tuple(name for name, field in _FIELDS.items() if name.endswith("_amount"))
_TAX_WITHHELD = r"^(MarketplaceFacilitator|LowValueGoods)"
"""Item fees that are tax Amazon withholds: V2 writes them as amount-type ItemWithheldTax."""


def _text(value: str) -> pl.Expr:
    return pl.lit(value, pl.String)


def _components() -> list[tuple[str, pl.Expr, pl.Expr]]:
    """(amount column, amount-type, amount-description) for each amount a row can carry, in the
    layout's column order; the types and descriptions are V2's (docs/amazon-formats.md 8.4)."""
    fee_type = pl.col("item_related_fee_type")
    return [
        ("price_amount", _text("ItemPrice"), pl.col("price_type")),
        (
            "item_related_fee_amount",
            pl.when(fee_type.str.contains(_TAX_WITHHELD))
            .then(_text("ItemWithheldTax"))
            .otherwise(_text("ItemFees")),
            fee_type,
        ),
        ("shipment_fee_amount", _text("ItemFees"), pl.col("shipment_fee_type")),
        ("order_fee_amount", _text("ItemFees"), pl.col("order_fee_type")),
        ("misc_fee_amount", _text("ItemFees"), _text("MiscFee")),
        (
            "other_fee_amount",
            pl.coalesce(pl.col("other_fee_reason"), _text("OtherFee")),
            _text("OtherFee"),
        ),
        ("promotion_amount", _text("Promotion"), pl.col("promotion_type")),
        ("direct_payment_amount", _text("DirectPayment"), pl.col("direct_payment_type")),
        # Money that is neither price nor fee is named by its transaction-type (Storage Fee,
        # Previous Reserve Amount Balance, FBA Inventory Reimbursement...).
        (
            "other_amount",
            pl.col("transaction_type"),
            pl.coalesce(pl.col("other_fee_reason"), pl.col("transaction_type")),
        ),
    ]


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """The summary and one line per amount; lines that do not add up to the deposit still load
    (the Finance page shows the difference), but a file without its summary row, or cut short,
    is refused."""
    raw = read_flat_file(path, REPORT_TYPE, required=_REQUIRED, optional=_PROMOTION_COLUMNS)
    _refuse_cut_short(path)
    summary_currency = raw["currency"][0] if raw.height else None
    rows = parse_values(
        raw,
        _FIELDS,
        report_type=REPORT_TYPE,
        day_first=slash_dates_day_first(context.marketplace_id, summary_currency),
    )
    if rows.height == 0:
        return _report(rows, _unpivot(rows, None))
    summary, details = summary_and_details(rows, REPORT_TYPE, "a settlement flat file")
    lines = _unpivot(details, summary["currency"][0])
    return _report(summary, lines)


def _report(summary: pl.DataFrame, lines: pl.DataFrame) -> ParsedReport:
    return ParsedReport(
        [
            TableRows(
                tables.settlements,
                settlement_summary(summary, lines),
                SETTLEMENT_KEY,
            ),
            TableRows(
                tables.settlement_lines, lines, LINE_KEY, replace_groups_by=REPLACED_WHOLE_BY
            ),
        ]
    )


def _unpivot(details: pl.DataFrame, summary_currency: str | None) -> pl.DataFrame:
    """One row per amount cell that holds a number (0.00 included), in file order."""
    parts = [
        details.filter(pl.col(amount).is_not_null()).select(
            ROW,
            pl.lit(position, pl.Int32).alias("_position"),
            pl.col(amount).alias("amount"),
            amount_type.alias("amount_type"),
            description.alias("amount_description"),
            (
                pl.col("promotion_id")
                if amount == "promotion_amount"
                else pl.lit(None, pl.String).alias("promotion_id")
            ),
            *[
                column
                for column in ("settlement_id", *LINE_COLUMNS)
                if column not in ("amount", "amount_type", "amount_description", "promotion_id")
            ],
        )
        for position, (amount, amount_type, description) in enumerate(_components())
    ]
    return (
        pl.concat(parts)
        .sort(ROW, "_position")
        .with_columns(
            pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("line_no"),
            pl.coalesce(pl.col("currency"), pl.lit(summary_currency, pl.String)).alias("currency"),
        )
        .select(*LINE_KEY, *LINE_COLUMNS)
    )


def _refuse_cut_short(path: Path) -> None:
    """A download that stopped mid-line leaves a last line with fewer fields than the header;
    loading it would store a settlement that misses amounts without saying so."""
    with path.open("rb") as document:
        header = document.readline()
        document.seek(0, 2)
        size = document.tell()
        document.seek(max(0, size - 64 * 1024))
        tail = document.read().rstrip(b"\r\n").rsplit(b"\n", 1)[-1]
    if not tail or tail == header.rstrip(b"\r\n"):
        return
    expected, found = header.count(b"\t") + 1, tail.count(b"\t") + 1
    if found < expected:
        raise fail(
            REPORT_TYPE,
            "last line",
            f"the file is cut short ({found} of {expected} columns); download the settlement again",
        )


def detect(head: bytes) -> bool:
    names = set(header_names(head))
    return {"settlement-id", "total-amount", "price-type", "price-amount"} <= names and (
        "amount-type" not in names
    )


SPEC = ReportSpec(
    key="settlement_flat_file",
    amazon_report_type=REPORT_TYPE,
    description="Settlement (older flat file): the deposit summary and every amount, one per line",
    parse=parse,
    detect=detect,
    # Amazon no longer generates this layout: it only arrives as a file a seller kept.
    acquisition="file",
    window="none",
    extension="tsv",
    max_window_days=0,
    per_marketplace=False,
)

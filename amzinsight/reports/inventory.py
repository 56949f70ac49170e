"""GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA: one row per SKU with FBA inventory now, loaded as that
SKU's `inventory_snapshots` row for the marketplace and the snapshot date of the pull.
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
)

REPORT_TYPE = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"

KEY = ("marketplace_id", "snapshot_date", "sku")

_FIELDS = {
    "sku": Field("sku", required=True),
    "fnsku": Field("fnsku"),
    "asin": Field("asin"),
    "product_name": Field("product-name"),
    "condition": Field("condition"),
    "your_price": Field("your-price", "money"),
    "mfn_fulfillable_quantity": Field("mfn-fulfillable-quantity", "integer"),
    "warehouse_quantity": Field("afn-warehouse-quantity", "integer"),
    "fulfillable_quantity": Field("afn-fulfillable-quantity", "integer"),
    "inbound_working_quantity": Field("afn-inbound-working-quantity", "integer"),
    "inbound_shipped_quantity": Field("afn-inbound-shipped-quantity", "integer"),
    "inbound_receiving_quantity": Field("afn-inbound-receiving-quantity", "integer"),
    "reserved_quantity": Field("afn-reserved-quantity", "integer"),
    # Amazon calls unfulfillable units "unsellable" in this report.
    "unfulfillable_quantity": Field("afn-unsellable-quantity", "integer"),
    "researching_quantity": Field("afn-researching-quantity", "integer"),
    "total_quantity": Field("afn-total-quantity", "integer"),
}
_REQUIRED = ("sku", "fnsku", "asin", "afn-fulfillable-quantity")


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """The report carries neither marketplace nor date: both come from the request."""
    if context.snapshot_date is None or context.marketplace_id is None:
        raise ReportParseError(
            f"{REPORT_TYPE}: needs the marketplace and snapshot date it was pulled for (the "
            "file carries neither); import it with the store's marketplace and a date"
        )
    raw = read_flat_file(
        path,
        REPORT_TYPE,
        required=_REQUIRED,
        optional=[field.source for field in _FIELDS.values() if field.source not in _REQUIRED],
    )
    rows = parse_values(raw, _FIELDS, report_type=REPORT_TYPE)
    require_unique(rows, ["sku"], report_type=REPORT_TYPE)
    frame = rows.select(
        pl.lit(context.marketplace_id, pl.String).alias("marketplace_id"),
        pl.lit(context.snapshot_date, pl.Date).alias("snapshot_date"),
        *_FIELDS,
        pl.lit(context.currency, pl.String).alias("currency"),
    )
    return ParsedReport([TableRows(tables.inventory_snapshots, frame, KEY)])


def detect(head: bytes) -> bool:
    return {"sku", "fnsku", "afn-fulfillable-quantity", "afn-unsellable-quantity"} <= set(
        header_names(head)
    )


SPEC = ReportSpec(
    key="fba_inventory",
    amazon_report_type=REPORT_TYPE,
    description="FBA inventory (Manage Inventory, unsuppressed): one row per SKU now",
    parse=parse,
    detect=detect,
    acquisition="create",
    window="snapshot",
    extension="tsv",
)

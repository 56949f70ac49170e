"""FBA Inventory API getInventorySummaries (details=true), as one JSON document the client
assembles from every page: one row per seller SKU, loaded into `inventory_snapshots` (the same
rows the GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA report fills).

Document: {"source": "getInventorySummaries", "marketplaceId", "snapshotDate",
"inventorySummaries": [InventorySummary, ...]}, the summaries exactly as Amazon returns them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from amzinsight.db import tables
from amzinsight.errors import ReportParseError
from amzinsight.reports.base import ParseContext, ParsedReport, ReportSpec, TableRows
from amzinsight.reports.flatfile import (
    Field,
    json_frame,
    json_head_declares,
    parse_values,
    read_json_document,
    require_unique,
)

SOURCE = "getInventorySummaries"
KEY = ("marketplace_id", "snapshot_date", "sku")

# table column -> path inside an InventorySummary (docs/amazon-formats.md 3.4)
_PATHS: dict[str, tuple[str, ...]] = {
    "sku": ("sellerSku",),
    "fnsku": ("fnSku",),
    "asin": ("asin",),
    "product_name": ("productName",),
    "condition": ("condition",),
    "fulfillable_quantity": ("inventoryDetails", "fulfillableQuantity"),
    "inbound_working_quantity": ("inventoryDetails", "inboundWorkingQuantity"),
    "inbound_shipped_quantity": ("inventoryDetails", "inboundShippedQuantity"),
    "inbound_receiving_quantity": ("inventoryDetails", "inboundReceivingQuantity"),
    "reserved_quantity": ("inventoryDetails", "reservedQuantity", "totalReservedQuantity"),
    "unfulfillable_quantity": (
        "inventoryDetails",
        "unfulfillableQuantity",
        "totalUnfulfillableQuantity",
    ),
    "researching_quantity": (
        "inventoryDetails",
        "researchingQuantity",
        "totalResearchingQuantity",
    ),
    "total_quantity": ("totalQuantity",),
}
_TEXT = {"sku", "fnsku", "asin", "product_name", "condition"}


def parse(path: Path, context: ParseContext) -> ParsedReport:
    """Summaries for the document's marketplace and snapshot date (the context's as fallback)."""
    document = read_json_document(path, SOURCE)
    if not isinstance(document, dict) or document.get("source") != SOURCE:
        raise ReportParseError(
            f"{SOURCE}: not an inventory summaries document (its source is not {SOURCE!r})"
        )
    marketplace_id = document.get("marketplaceId") or context.marketplace_id
    snapshot_date = _snapshot_date(document.get("snapshotDate")) or context.snapshot_date
    if marketplace_id is None or snapshot_date is None:
        raise ReportParseError(
            f"{SOURCE}: the document names no marketplaceId or snapshotDate, and none was given"
        )
    summaries = document.get("inventorySummaries") or []
    if not isinstance(summaries, list) or not all(isinstance(s, dict) for s in summaries):
        raise ReportParseError(f"{SOURCE} inventorySummaries: expected a list of objects")
    columns = {
        ".".join(path): [_dig(summary, path) for summary in summaries] for path in _PATHS.values()
    }
    fields = {
        name: Field(
            ".".join(path),
            "text" if name in _TEXT else "integer",
            required=name == "sku",
        )
        for name, path in _PATHS.items()
    }
    rows = parse_values(
        json_frame(columns, len(summaries)),
        fields,
        report_type=SOURCE,
        where=lambda index: f"inventorySummaries[{index}]",
    )
    require_unique(
        rows, ["sku"], report_type=SOURCE, where=lambda index: f"inventorySummaries[{index}]"
    )
    frame = rows.select(
        pl.lit(marketplace_id, pl.String).alias("marketplace_id"),
        pl.lit(snapshot_date, pl.Date).alias("snapshot_date"),
        *_PATHS,
        # The API has no warehouse figure; the report's arithmetic gives it (docs/amazon-formats.md
        # 3.4: warehouse = fulfillable + unsellable + reserved).
        (
            pl.col("fulfillable_quantity")
            + pl.col("unfulfillable_quantity")
            + pl.col("reserved_quantity")
        ).alias("warehouse_quantity"),
    )
    return ParsedReport([TableRows(tables.inventory_snapshots, frame, KEY)])


def detect(head: bytes) -> bool:
    return json_head_declares(head, "source", SOURCE)


def _dig(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _snapshot_date(value: Any) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ReportParseError(f"{SOURCE}: snapshotDate {value!r} is not a date") from None


SPEC = ReportSpec(
    key="inventory_summaries",
    amazon_report_type=None,
    description="FBA inventory from the Inventory API: one row per seller SKU now",
    parse=parse,
    detect=detect,
    acquisition="api",
    window="snapshot",
    extension="json",
    api_operation=SOURCE,
)

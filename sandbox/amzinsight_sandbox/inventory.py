"""FBA inventory as of the end of "today": the MYI flat file and the Inventory API summaries.

Both read the same snapshot, so they agree: MYI warehouse = fulfillable + unsellable + reserved
and total = warehouse + inbound (working + shipped + receiving); the API's totalQuantity also
counts units under research, as Amazon's does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from amzinsight_sandbox.truth import AccountTruth, local_midnight

MYI_COLUMNS = (
    "sku", "fnsku", "asin", "product-name", "condition", "your-price", "mfn-listing-exists",
    "mfn-fulfillable-quantity", "afn-listing-exists", "afn-warehouse-quantity",
    "afn-fulfillable-quantity", "afn-unsellable-quantity", "afn-reserved-quantity",
    "afn-total-quantity", "per-unit-volume", "afn-inbound-working-quantity",
    "afn-inbound-shipped-quantity", "afn-inbound-receiving-quantity", "afn-researching-quantity",
    "afn-reserved-future-supply", "afn-future-supply-buyable",
)  # fmt: skip


@dataclass(frozen=True)
class InventorySnapshot:
    """Per-SKU quantities at the end of the last day, one array entry per product."""

    fulfillable: np.ndarray
    pending_customer_orders: np.ndarray
    pending_transshipment: np.ndarray
    fc_processing: np.ndarray
    customer_damaged: np.ndarray
    warehouse_damaged: np.ndarray
    carrier_damaged: np.ndarray
    defective: np.ndarray
    researching: np.ndarray
    inbound_working: np.ndarray
    inbound_shipped: np.ndarray
    inbound_receiving: np.ndarray
    last_updated_ts: np.ndarray

    @property
    def reserved(self) -> np.ndarray:
        return self.pending_customer_orders + self.pending_transshipment + self.fc_processing

    @property
    def unfulfillable(self) -> np.ndarray:
        return (
            self.customer_damaged + self.warehouse_damaged + self.carrier_damaged + self.defective
        )

    @property
    def inbound(self) -> np.ndarray:
        return self.inbound_working + self.inbound_shipped + self.inbound_receiving


def inventory_snapshot(truth: AccountTruth, country_code: str) -> InventorySnapshot:
    mt = truth.marketplaces[country_code]
    n, days = mt.units.shape
    position = truth.account.marketplaces.index(country_code)
    rng = np.random.default_rng([truth.account.seed, 8, position])
    last = days - 1
    # Units ordered but not shipped yet are reserved for customer orders.
    pending = np.where(mt.ship_lag_days[:, last] > 0, mt.units[:, last], 0)
    if days > 1:
        pending = pending + np.where(mt.ship_lag_days[:, last - 1] > 1, mt.units[:, last - 1], 0)
    stocked = mt.fulfillable[:, last] > 0

    def small(mean: float) -> np.ndarray:
        return np.where(stocked, rng.poisson(mean, n), 0)

    changed = np.diff(mt.fulfillable, axis=1, prepend=mt.fulfillable[:, :1]) != 0
    changed |= mt.units > 0
    last_change = np.where(changed.any(axis=1), days - 1 - np.argmax(changed[:, ::-1], axis=1), 0)
    tz = mt.marketplace.time_zone
    day_starts = np.array([local_midnight(tz, truth.day(int(d))) for d in last_change])
    return InventorySnapshot(
        fulfillable=mt.fulfillable[:, last].astype(np.int64),
        pending_customer_orders=pending.astype(np.int64),
        pending_transshipment=small(0.8),
        fc_processing=small(0.5),
        customer_damaged=small(0.4),
        warehouse_damaged=small(0.2),
        carrier_damaged=small(0.05),
        defective=small(0.1),
        researching=small(0.2),
        inbound_working=mt.inbound_working[:, last].astype(np.int64),
        inbound_shipped=mt.inbound_shipped[:, last].astype(np.int64),
        inbound_receiving=mt.inbound_receiving[:, last].astype(np.int64),
        last_updated_ts=day_starts + rng.integers(8 * 3600, 20 * 3600, n),
    )


def _price_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def myi_document(truth: AccountTruth, country_code: str) -> str:
    """GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA: one row per FBA SKU in the marketplace."""
    mt = truth.marketplaces[country_code]
    snap = inventory_snapshot(truth, country_code)
    products = truth.catalogue.products
    warehouse = snap.fulfillable + snap.unfulfillable + snap.reserved
    rows = {
        "sku": [p.sku for p in products],
        "fnsku": [p.fnsku for p in products],
        "asin": [p.asin for p in products],
        "product-name": [p.title for p in products],
        "condition": ["New"] * len(products),
        "your-price": [_price_text(int(c)) for c in mt.price_cents[:, -1]],
        "mfn-listing-exists": ["No"] * len(products),
        "mfn-fulfillable-quantity": [""] * len(products),
        "afn-listing-exists": ["Yes"] * len(products),
        "afn-warehouse-quantity": warehouse,
        "afn-fulfillable-quantity": snap.fulfillable,
        "afn-unsellable-quantity": snap.unfulfillable,
        "afn-reserved-quantity": snap.reserved,
        "afn-total-quantity": warehouse + snap.inbound,
        "per-unit-volume": [f"{p.cubic_feet:.2f}" for p in products],
        "afn-inbound-working-quantity": snap.inbound_working,
        "afn-inbound-shipped-quantity": snap.inbound_shipped,
        "afn-inbound-receiving-quantity": snap.inbound_receiving,
        "afn-researching-quantity": snap.researching,
        "afn-reserved-future-supply": np.zeros(len(products), dtype=np.int64),
        "afn-future-supply-buyable": np.zeros(len(products), dtype=np.int64),
    }
    frame = pl.DataFrame(rows).select([pl.col(name).cast(pl.Utf8) for name in MYI_COLUMNS])
    return frame.write_csv(separator="\t", quote_style="never", null_value="")


def inventory_summaries(
    truth: AccountTruth, country_code: str, details: bool
) -> list[tuple[int, dict[str, Any]]]:
    """(last update as epoch seconds, Inventory API summary) per FBA SKU, sorted by SKU."""
    snap = inventory_snapshot(truth, country_code)
    summaries: list[tuple[int, dict[str, Any]]] = []
    for index, product in enumerate(truth.catalogue.products):
        total = int(
            snap.fulfillable[index]
            + snap.reserved[index]
            + snap.researching[index]
            + snap.unfulfillable[index]
            + snap.inbound[index]
        )
        summary: dict[str, Any] = {
            "asin": product.asin,
            "fnSku": product.fnsku,
            "sellerSku": product.sku,
            "condition": "NewItem",
        }
        if details:
            summary["inventoryDetails"] = {
                "fulfillableQuantity": int(snap.fulfillable[index]),
                "inboundWorkingQuantity": int(snap.inbound_working[index]),
                "inboundShippedQuantity": int(snap.inbound_shipped[index]),
                "inboundReceivingQuantity": int(snap.inbound_receiving[index]),
                "reservedQuantity": {
                    "totalReservedQuantity": int(snap.reserved[index]),
                    "pendingCustomerOrderQuantity": int(snap.pending_customer_orders[index]),
                    "pendingTransshipmentQuantity": int(snap.pending_transshipment[index]),
                    "fcProcessingQuantity": int(snap.fc_processing[index]),
                },
                "researchingQuantity": {
                    "totalResearchingQuantity": int(snap.researching[index]),
                    "researchingQuantityBreakdown": [
                        {
                            "name": "researchingQuantityInShortTerm",
                            "quantity": int(snap.researching[index]),
                        },
                        {"name": "researchingQuantityInMidTerm", "quantity": 0},
                        {"name": "researchingQuantityInLongTerm", "quantity": 0},
                    ],
                },
                "unfulfillableQuantity": {
                    "totalUnfulfillableQuantity": int(snap.unfulfillable[index]),
                    "customerDamagedQuantity": int(snap.customer_damaged[index]),
                    "warehouseDamagedQuantity": int(snap.warehouse_damaged[index]),
                    "distributorDamagedQuantity": 0,
                    "carrierDamagedQuantity": int(snap.carrier_damaged[index]),
                    "defectiveQuantity": int(snap.defective[index]),
                    "expiredQuantity": 0,
                },
            }
        summary["lastUpdatedTime"] = datetime.fromtimestamp(
            int(snap.last_updated_ts[index]), UTC
        ).strftime("%Y-%m-%dT%H:%M:%SZ")
        summary["productName"] = product.title
        summary["totalQuantity"] = total
        summary["stores"] = []
        summaries.append((int(snap.last_updated_ts[index]), summary))
    return sorted(summaries, key=lambda pair: pair[1]["sellerSku"])


def snapshot_age_limit(truth: AccountTruth) -> datetime:
    """Amazon accepts a startDateTime at most 18 months back."""
    return datetime.combine(truth.last_day, datetime.min.time(), UTC) - timedelta(days=548)

"""FBA inventory for the Inventory page: stock position, sales velocity, cover, restock, settings.

Stock comes from `inventory_snapshots` (the MYI report or the FBA Inventory API, one row per SKU
per snapshot day); units sold from `orders`/`order_items` by the marketplace's local purchase date,
cancelled orders excluded, as `store_metrics` counts them. The stock position of `as_of` is the
latest snapshot day on or before it, over the chosen marketplaces together: the same day and the
same sums `store_metrics` reports for a range ending on `as_of`, so page and CLI agree.

Every threshold lives in `InventoryPolicy`; lead time, safety days and target cover come from
`inventory_settings` (a SKU's row, else the store default row with sku '', else the policy),
which people edit through `amzinsight.edits.reorder_settings`.
Missing data is null, never zero: without any order in the window the units sold are unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.db.tables import inventory_settings
from amzinsight.errors import ConfigError


@dataclass(frozen=True)
class InventoryPolicy:
    """The thresholds behind every status and quantity on the Inventory page, with their reasons."""

    lead_time_days: int = 30
    """Order to units available at FBA (production, freight, check-in) when nothing is set."""
    safety_days: int = 14
    """Extra cover against late shipments and demand spikes when nothing is set."""
    target_cover_days: int = 30
    """Days of sales each order should cover beyond lead time and safety (the review period)."""
    reorder_soon_days: int = 14
    """Warning margin: "reorder soon" while cover is within this many days of "order now"."""
    overstock_cover_days: int = 120
    """Cover beyond this pays storage for months, and units past 181 days pay aged surcharges."""
    velocity_days: int = 30
    """Default sales window for velocity when the caller names none."""
    aging_no_sales_days: int = 60
    """Stock with no sale for this many days is shown as aging (the MYI report has no ages)."""


POLICY = InventoryPolicy()

STATUSES = ("order now", "reorder soon", "healthy", "overstock", "unknown")
AT_RISK_STATUSES = ("order now", "reorder soon")
CANCELLED_ORDER_STATUS = "Cancelled"  # as store_metrics excludes them

SETTING_FIELDS = ("lead_time_days", "safety_days", "target_cover_days")

MONEY_TYPE = pl.Decimal(18, 2)

POSITION_SCHEMA: dict[str, pl.DataType] = {
    "marketplace_id": pl.String(),
    "sku": pl.String(),
    "asin": pl.String(),
    "title": pl.String(),
    "snapshot_date": pl.Date(),
    "available": pl.Int64(),
    "inbound": pl.Int64(),
    "reserved": pl.Int64(),
    "unfulfillable": pl.Int64(),
    "units_sold": pl.Int64(),
    "window_days": pl.Int64(),
    "in_stock_days": pl.Int64(),
    "velocity": pl.Float64(),
    "days_of_cover": pl.Float64(),
    "lead_time_days": pl.Int64(),
    "safety_days": pl.Int64(),
    "target_cover_days": pl.Int64(),
    "restock_units": pl.Int64(),
    "reorder_date": pl.Date(),
    "status": pl.String(),
    "reason": pl.String(),
    "your_price": MONEY_TYPE,
    "currency": pl.String(),
}

# One query serves the position and the stranded/aging list: the latest snapshot day on or before
# :as_of over the chosen marketplaces (as store_metrics), units sold and stockout days in the
# window [:window_start, :as_of), the reorder settings, and (for the stranded/aging list only) the
# SKU's last sale before :as_of. Every scan is bounded by the window or by the position's SKUs:
# the stock carried into the window is one index lookup per SKU, and only the last sale date needs
# the whole order history, so the position leaves it out.
_POSITION_SQL = """
    WITH latest AS (
        SELECT max(snapshot_date) AS snapshot_date
        FROM inventory_snapshots
        WHERE store_id = :store_id AND marketplace_id = ANY(:marketplace_ids)
          AND snapshot_date <= CAST(:as_of AS date)
    ),
    position AS (
        SELECT s.marketplace_id, s.sku, s.asin, coalesce(s.product_name, l.item_name) AS title,
               s.snapshot_date, s.fulfillable_quantity AS available,
               coalesce(s.inbound_working_quantity, 0) + coalesce(s.inbound_shipped_quantity, 0)
                   + coalesce(s.inbound_receiving_quantity, 0) AS inbound,
               s.reserved_quantity AS reserved, s.unfulfillable_quantity AS unfulfillable,
               s.researching_quantity AS researching, s.is_stranded,
               CASE WHEN s.inv_age_181_to_270_days IS NOT NULL
                      OR s.inv_age_271_to_365_days IS NOT NULL
                      OR s.inv_age_365_plus_days IS NOT NULL
                    THEN coalesce(s.inv_age_181_to_270_days, 0)
                         + coalesce(s.inv_age_271_to_365_days, 0)
                         + coalesce(s.inv_age_365_plus_days, 0)
               END AS aged_181_plus,
               s.your_price, s.currency
        FROM inventory_snapshots s
        JOIN latest ON s.snapshot_date = latest.snapshot_date
        LEFT JOIN listings l
               ON l.store_id = s.store_id AND l.marketplace_id = s.marketplace_id AND l.sku = s.sku
        WHERE s.store_id = :store_id AND s.marketplace_id = ANY(:marketplace_ids)
    ),
    orders_known AS (
        SELECT EXISTS (
            SELECT 1 FROM orders
            WHERE store_id = :store_id AND marketplace_id = ANY(:marketplace_ids)
              AND purchase_local_date >= CAST(:window_start AS date)
              AND purchase_local_date < CAST(:as_of AS date)
        ) AS known
    ),
    sales AS (
        SELECT o.marketplace_id, i.sku, coalesce(sum(i.quantity), 0) AS units_sold,
               max(o.purchase_local_date) FILTER (WHERE i.quantity > 0) AS last_sale_date
        FROM orders o
        JOIN order_items i ON i.store_id = o.store_id AND i.amazon_order_id = o.amazon_order_id
        WHERE o.store_id = :store_id AND o.marketplace_id = ANY(:marketplace_ids)
          AND o.purchase_local_date >= CAST(:window_start AS date)
          AND o.purchase_local_date < CAST(:as_of AS date)
          AND o.order_status IS DISTINCT FROM :cancelled
        GROUP BY o.marketplace_id, i.sku
    ),{last_sales}
    history AS (
        -- the last snapshot before the window (its state carries into it: one index lookup per
        -- SKU of the position) and those inside it
        SELECT p.marketplace_id, p.sku, b.snapshot_date, b.fulfillable_quantity
        FROM position p
        CROSS JOIN LATERAL (
            SELECT s.snapshot_date, s.fulfillable_quantity
            FROM inventory_snapshots s
            WHERE s.store_id = :store_id AND s.marketplace_id = p.marketplace_id
              AND s.sku = p.sku AND s.snapshot_date < CAST(:window_start AS date)
            ORDER BY s.snapshot_date DESC
            LIMIT 1
        ) b
        UNION ALL
        SELECT marketplace_id, sku, snapshot_date, fulfillable_quantity
        FROM inventory_snapshots
        WHERE store_id = :store_id AND marketplace_id = ANY(:marketplace_ids)
          AND snapshot_date >= CAST(:window_start AS date)
          AND snapshot_date < CAST(:as_of AS date)
    ),
    spans AS (
        -- each snapshot's state holds from its day until the next snapshot (or the window's end)
        SELECT marketplace_id, sku, fulfillable_quantity,
               greatest(snapshot_date, CAST(:window_start AS date)) AS span_start,
               coalesce(
                   lead(snapshot_date) OVER (PARTITION BY marketplace_id, sku
                                             ORDER BY snapshot_date),
                   CAST(:as_of AS date)
               ) AS span_end
        FROM history
    ),
    stockouts AS (
        SELECT marketplace_id, sku, sum(span_end - span_start) AS out_of_stock_days
        FROM spans
        WHERE fulfillable_quantity = 0
        GROUP BY marketplace_id, sku
    ),
    store_default AS (
        SELECT lead_time_days, safety_days, target_cover_days
        FROM inventory_settings
        WHERE store_id = :store_id AND sku = ''
    )
    SELECT p.*,
           CASE WHEN k.known THEN coalesce(sold.units_sold, 0) END AS units_sold,
           {last_sale_date} AS last_sale_date,
           CAST(:window_days AS integer) - coalesce(so.out_of_stock_days, 0) AS in_stock_days,
           coalesce(o.lead_time_days, d.lead_time_days, :lead_time_days) AS lead_time_days,
           coalesce(o.safety_days, d.safety_days, :safety_days) AS safety_days,
           coalesce(o.target_cover_days, d.target_cover_days, :target_cover_days)
               AS target_cover_days
    FROM position p
    CROSS JOIN orders_known k
    LEFT JOIN sales sold ON sold.marketplace_id = p.marketplace_id AND sold.sku = p.sku{last_join}
    LEFT JOIN stockouts so ON so.marketplace_id = p.marketplace_id AND so.sku = p.sku
    LEFT JOIN inventory_settings o ON o.store_id = :store_id AND o.sku = p.sku AND p.sku <> ''
    LEFT JOIN store_default d ON true
    ORDER BY p.marketplace_id, p.sku
"""
_LAST_SALES_SQL = """
    earlier_sales AS (
        -- a SKU's last sale is its last in the window, if any; only SKUs without one need the
        -- order lines before the window (theirs alone: order lines are filtered by SKU first)
        SELECT o.marketplace_id, i.sku, max(o.purchase_local_date) AS last_sale_date
        FROM order_items i
        JOIN orders o ON o.store_id = i.store_id AND o.amazon_order_id = i.amazon_order_id
        WHERE i.store_id = :store_id AND i.quantity > 0
          AND i.sku IN (
              SELECT p.sku FROM position p
              LEFT JOIN sales w ON w.marketplace_id = p.marketplace_id AND w.sku = p.sku
              WHERE w.last_sale_date IS NULL
          )
          AND o.store_id = :store_id AND o.marketplace_id = ANY(:marketplace_ids)
          AND o.purchase_local_date < CAST(:window_start AS date)
          AND o.order_status IS DISTINCT FROM :cancelled
        GROUP BY o.marketplace_id, i.sku
    ),"""
POSITION_SQL = sa.text(
    _POSITION_SQL.format(last_sales="", last_sale_date="CAST(NULL AS date)", last_join="")
)
POSITION_WITH_LAST_SALE_SQL = sa.text(
    _POSITION_SQL.format(
        last_sales=_LAST_SALES_SQL,
        last_sale_date="coalesce(sold.last_sale_date, ls.last_sale_date)",
        last_join=(
            "\n    LEFT JOIN earlier_sales ls"
            " ON ls.marketplace_id = p.marketplace_id AND ls.sku = p.sku"
        ),
    )
)


def _position_rows(
    engine: Engine,
    store_id: int,
    marketplace_ids: tuple[str, ...],
    as_of: date,
    window_days: int,
    last_sale: bool = False,
) -> list[dict[str, Any]]:
    parameters = {
        "store_id": store_id,
        "marketplace_ids": list(marketplace_ids),
        "as_of": as_of,
        "window_start": as_of - timedelta(days=window_days),
        "window_days": window_days,
        "cancelled": CANCELLED_ORDER_STATUS,
        "lead_time_days": POLICY.lead_time_days,
        "safety_days": POLICY.safety_days,
        "target_cover_days": POLICY.target_cover_days,
    }
    with engine.connect() as connection:
        statement = POSITION_WITH_LAST_SALE_SQL if last_sale else POSITION_SQL
        return [dict(row) for row in connection.execute(statement, parameters).mappings()]


def inventory_position(
    engine: Engine,
    store_id: int,
    marketplace_ids: tuple[str, ...],
    as_of: date,
    velocity_days: int = POLICY.velocity_days,
    reorder_soon_days: int = POLICY.reorder_soon_days,
    overstock_cover_days: int = POLICY.overstock_cover_days,
) -> pl.DataFrame:
    """Per SKU of the latest snapshot on or before `as_of`: stock, velocity, cover and restock.

    - Window: the `velocity_days` complete days before `as_of` (as_of - velocity_days to
      as_of - 1), like the "Last N days" presets: `as_of`'s own sales are still arriving.
    - In stock: a window day is in stock unless the SKU's snapshot of that day, or else its last
      snapshot before it, had 0 available (fulfillable) units. Days before a SKU's first snapshot
      count as in stock: we cannot know otherwise, and Amazon lists SKUs with stock from day one.
    - Velocity = units sold in the window / in-stock days (stockout days would dilute demand);
      null when no in-stock day or no order at all in the window (units sold unknown).
    - Days of cover = (available + inbound) / velocity; null when velocity is 0 or unknown (no
      recent sales is "overstock" with stock, never an infinite cover).
    - Restock units = ceil(max(0, velocity x (lead + safety + target cover) - (available +
      inbound))); reorder date = as_of + floor(cover - lead - safety), or as_of once past.
    - Status: "order now" at cover <= lead + safety (or no stock and no in-stock day in the
      window); "reorder soon" within `reorder_soon_days` more; "overstock" above
      `overstock_cover_days` or with stock and no sales; "healthy" between; "unknown" otherwise.
    Comparisons use whole numbers (stock x in-stock days against units x days): no rounding
    decides a band. Velocity is rounded to 4 places and cover to 1 for display.
    """
    if velocity_days < 1:
        raise ConfigError(f"The sales window must be at least one day, not {velocity_days}.")
    rows = _position_rows(engine, store_id, marketplace_ids, as_of, velocity_days)
    derived = [
        {
            **row,
            "window_days": velocity_days,
            **_reorder_figures(row, as_of, reorder_soon_days, overstock_cover_days),
        }
        for row in rows
    ]
    return pl.DataFrame(derived, schema=POSITION_SCHEMA, orient="row")


def _reorder_figures(
    row: Mapping[str, Any], as_of: date, reorder_soon_days: int, overstock_cover_days: int
) -> dict[str, Any]:
    """Velocity, cover, restock, reorder date, status and its reason for one SKU (exact ints)."""
    available, inbound = row["available"], row["inbound"]
    units, days = row["units_sold"], int(row["in_stock_days"])
    lead, safety, target = row["lead_time_days"], row["safety_days"], row["target_cover_days"]
    figures: dict[str, Any] = {
        "velocity": None,
        "days_of_cover": None,
        "restock_units": None,
        "reorder_date": None,
    }
    if available is None:
        return {**figures, "status": "unknown", "reason": "the snapshot has no available units"}
    stock = available + inbound
    if days <= 0:
        if stock == 0:
            return {
                **figures,
                "reorder_date": as_of,
                "status": "order now",
                "reason": "out of stock through the whole sales window",
            }
        return {**figures, "status": "unknown", "reason": "not in stock in the sales window"}
    if units is None:
        return {**figures, "status": "unknown", "reason": "no orders synced for the sales window"}
    figures["velocity"] = round(units / days, 4)
    needed = units * (lead + safety + target) - stock * days
    figures["restock_units"] = max(0, -(-needed // days))  # ceil of needed / days
    if units == 0:
        if stock > 0:
            reason = f"no sales in {days} in-stock days"
            return {**figures, "status": "overstock", "reason": reason}
        return {**figures, "status": "unknown", "reason": "no stock and no sales: demand unknown"}
    figures["days_of_cover"] = round(stock * days / units, 1)
    figures["reorder_date"] = as_of + timedelta(
        days=max(0, (stock * days - units * (lead + safety)) // units)
    )
    cover = f"{stock * days / units:.1f} days of cover"
    if stock * days <= units * (lead + safety):
        status, reason = "order now", f"{cover} <= lead time {lead} + safety {safety}"
    elif stock * days <= units * (lead + safety + reorder_soon_days):
        status = "reorder soon"
        reason = f"{cover} <= lead time {lead} + safety {safety} + {reorder_soon_days}"
    elif stock * days > units * overstock_cover_days:
        status, reason = "overstock", f"{cover} > {overstock_cover_days}"
    else:
        status, reason = "healthy", cover
    return {**figures, "status": status, "reason": reason}


@dataclass(frozen=True)
class InventorySummary:
    """The page's KPI tiles; None when there is no snapshot (never a misleading zero)."""

    skus: int | None
    at_risk: int | None
    available: int | None
    inbound: int | None
    median_cover_days: float | None


def position_summary(position: pl.DataFrame) -> InventorySummary:
    """SKUs, SKUs at risk (order now or reorder soon), units available and inbound, median cover."""
    if position.is_empty():
        return InventorySummary(None, None, None, None, None)
    # the median of the exact covers: the rounded ones would land halves on a rounding edge
    exact_cover = (
        (pl.col("available") + pl.col("inbound")) * pl.col("in_stock_days") / pl.col("units_sold")
    ).filter(pl.col("units_sold") > 0, pl.col("in_stock_days") > 0)
    median = position.select(exact_cover.median()).item()
    return InventorySummary(
        skus=position["sku"].n_unique(),
        at_risk=position.filter(pl.col("status").is_in(AT_RISK_STATUSES)).height,
        available=int(position["available"].fill_null(0).sum()),
        inbound=int(position["inbound"].sum()),
        median_cover_days=None if median is None else round(float(median), 1),
    )


def status_counts(position: pl.DataFrame) -> pl.DataFrame:
    """SKUs per status band, every band listed in its order (for the band chart)."""
    counts = dict(position.group_by("status").len().iter_rows()) if position.height else {}
    return pl.DataFrame(
        {"status": list(STATUSES), "skus": [counts.get(status, 0) for status in STATUSES]},
        schema={"status": pl.String(), "skus": pl.Int64()},
    )


# --- stranded and aging stock --------------------------------------------------------------------

STRANDED_AGING_SCHEMA: dict[str, pl.DataType] = {
    "marketplace_id": pl.String(),
    "sku": pl.String(),
    "asin": pl.String(),
    "title": pl.String(),
    "snapshot_date": pl.Date(),
    "available": pl.Int64(),
    "unfulfillable": pl.Int64(),
    "researching": pl.Int64(),
    "is_stranded": pl.Boolean(),
    "aged_181_plus": pl.Int64(),
    "units_sold": pl.Int64(),
    "last_sale_date": pl.Date(),
    "issues": pl.String(),
}


def stranded_and_aging(
    engine: Engine,
    store_id: int,
    marketplace_ids: tuple[str, ...],
    as_of: date,
    no_sales_days: int = POLICY.aging_no_sales_days,
) -> pl.DataFrame:
    """SKUs of the latest snapshot with stock that cannot sell, or has not sold.

    What Amazon gives us: the MYI report and the Inventory API carry unfulfillable ("unsellable")
    and researching units, which we show as they are. Stranded flags (Stranded Inventory report)
    and age buckets (FBA Inventory Age / planning report) are not pulled, so `is_stranded` and
    `aged_181_plus` stay null unless a loader fills them; in their place we approximate aging as
    available units with no sale in the `no_sales_days` complete days before `as_of` (units sold
    stay null, and nothing is flagged, when no order at all was synced for those days).
    """
    if no_sales_days < 1:
        raise ConfigError(f"The no-sales window must be at least one day, not {no_sales_days}.")
    rows = _position_rows(engine, store_id, marketplace_ids, as_of, no_sales_days, True)
    flagged = []
    for row in rows:
        issues = []
        if row["unfulfillable"]:
            issues.append(f"{row['unfulfillable']} unfulfillable")
        if row["is_stranded"]:
            issues.append("stranded")
        if row["aged_181_plus"]:
            issues.append(f"{row['aged_181_plus']} aged 181+ days")
        if row["available"] and row["units_sold"] == 0:
            issues.append(f"no sales in {no_sales_days} days")
        if issues:
            flagged.append({**row, "issues": "; ".join(issues)})
    return pl.DataFrame(flagged, schema=STRANDED_AGING_SCHEMA, orient="row")


# --- reorder settings ----------------------------------------------------------------------------

SETTINGS_SCHEMA: dict[str, pl.DataType] = {
    "sku": pl.String(),
    "title": pl.String(),
    "lead_time_days": pl.Int64(),
    "safety_days": pl.Int64(),
    "target_cover_days": pl.Int64(),
}


def store_reorder_defaults(engine: Engine, store_id: int) -> pl.DataFrame:
    """One row: the store's default lead time, safety and target cover (the policy's if unset)."""
    table = inventory_settings
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(*(table.c[name] for name in SETTING_FIELDS)).where(
                table.c.store_id == store_id, table.c.sku == ""
            )
        ).first()
    stored = row._mapping if row is not None else {}
    values = {
        name: getattr(POLICY, name) if stored.get(name) is None else stored[name]
        for name in SETTING_FIELDS
    }
    return pl.DataFrame(
        [{"sku": "", "title": "store default", **values}], schema=SETTINGS_SCHEMA, orient="row"
    )


SKU_SETTINGS_SQL = sa.text(
    """
    WITH latest AS (
        SELECT max(snapshot_date) AS snapshot_date
        FROM inventory_snapshots
        WHERE store_id = :store_id AND marketplace_id = ANY(:marketplace_ids)
          AND snapshot_date <= CAST(:as_of AS date)
    ),
    skus AS (
        SELECT s.sku, min(s.product_name) AS title
        FROM inventory_snapshots s
        JOIN latest ON s.snapshot_date = latest.snapshot_date
        WHERE s.store_id = :store_id AND s.marketplace_id = ANY(:marketplace_ids)
        GROUP BY s.sku
    )
    SELECT coalesce(k.sku, o.sku) AS sku, k.title,
           o.lead_time_days, o.safety_days, o.target_cover_days
    FROM skus k
    FULL JOIN (
        SELECT * FROM inventory_settings WHERE store_id = :store_id AND sku <> ''
    ) o ON o.sku = k.sku
    ORDER BY 1
    """
)


def sku_reorder_settings(
    engine: Engine, store_id: int, marketplace_ids: tuple[str, ...], as_of: date
) -> pl.DataFrame:
    """Every SKU of the latest snapshot, and every SKU with settings, with its own values.

    A null value means the SKU follows the store default; the page edits exactly this table.
    """
    parameters = {"store_id": store_id, "marketplace_ids": list(marketplace_ids), "as_of": as_of}
    with engine.connect() as connection:
        rows = connection.execute(SKU_SETTINGS_SQL, parameters).mappings().all()
    return pl.DataFrame([dict(row) for row in rows], schema=SETTINGS_SCHEMA, orient="row")

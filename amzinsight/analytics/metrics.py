"""A store's KPIs for an inclusive date range, in the shapes `amzinsight metrics --json` prints.

`store_metrics` is one currency (one marketplace, or a store selling in one currency): what the
Overview page shows and `metrics --marketplace ID` prints. `marketplace_metrics` is every
marketplace of a store, each in its own currency: what `metrics` prints without --marketplace.

Money leaves as strings with two decimals (never floats); ratios as numbers rounded to 4 places,
or null when undefined. Every key is present even without data. Dates are the marketplace's local
dates: orders count on their purchase date in the marketplace's time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.db.tables import (
    ads_campaign_daily,
    inventory_snapshots,
    order_items,
    orders,
    sales_traffic_by_date,
    settlements,
)
from amzinsight.errors import ConfigError
from amzinsight.stores import Store, ads_profile_ids

CENT = Decimal("0.01")
CANCELLED_ORDER_STATUS = "Cancelled"


def money(value: Decimal | int | None) -> str:
    return str(Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP))


def ratio(
    numerator: Decimal | int | None, denominator: Decimal | int | None, scale: int = 1
) -> float | None:
    """numerator / denominator x scale rounded to 4 places; None when the denominator is 0."""
    if not denominator:
        return None
    value = Decimal(numerator or 0) * scale / Decimal(denominator)
    return float(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def store_metrics(
    engine: Engine, store: Store, start: date, end: date, marketplace_id: str | None = None
) -> dict[str, Any]:
    """The KPIs of one store (or one of its marketplaces) from start to end inclusive."""
    if start > end:
        raise ConfigError(f"--from {start} is after --to {end}.")
    markets = [store.marketplace(marketplace_id)] if marketplace_id else store.marketplaces
    currencies = sorted({m.currency for m in markets})
    if len(currencies) != 1:
        listed = ", ".join(f"{m.marketplace_id} ({m.currency})" for m in markets)
        raise ConfigError(
            f"Store {store.slug} sells in several currencies ({listed}): "
            "choose one with --marketplace."
        )
    ids = [m.marketplace_id for m in markets]
    with engine.connect() as connection:
        sales, ordered_product_sales = _sales(connection, store.id, ids, start, end)
        return {
            "store": store.slug,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "currency": currencies[0],
            "sales": sales,
            "orders": _orders(connection, store.id, ids, start, end),
            "ads": _ads(connection, store.id, ids, start, end, ordered_product_sales),
            "settlements": _settlements(connection, store.id, currencies[0], start, end),
            "inventory": _inventory(connection, store.id, ids, end),
        }


def marketplace_metrics(engine: Engine, store: Store, start: date, end: date) -> dict[str, Any]:
    """Every marketplace's KPIs in its own currency: money in two currencies never adds up."""
    blocks = []
    for market in store.marketplaces:
        single = store_metrics(engine, store, start, end, market.marketplace_id)
        blocks.append(
            {
                "marketplace_id": market.marketplace_id,
                "country_code": market.country_code,
                **{key: value for key, value in single.items() if key not in RANGE_KEYS},
            }
        )
    return {
        "store": store.slug,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "marketplaces": blocks,
    }


RANGE_KEYS = ("store", "from", "to")


def _sales(
    connection: sa.Connection, store_id: int, ids: list[str], start: date, end: date
) -> tuple[dict[str, Any], Decimal]:
    t = sales_traffic_by_date
    row = connection.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(t.c.ordered_product_sales), 0).label("sales"),
            sa.func.coalesce(sa.func.sum(t.c.units_ordered), 0).label("units"),
            sa.func.coalesce(sa.func.sum(t.c.total_order_items), 0).label("items"),
            sa.func.coalesce(sa.func.sum(t.c.sessions), 0).label("sessions"),
            sa.func.coalesce(sa.func.sum(t.c.page_views), 0).label("page_views"),
        ).where(
            t.c.store_id == store_id,
            t.c.marketplace_id.in_(ids),
            t.c.report_date.between(start, end),
        )
    ).one()
    summary = {
        "ordered_product_sales": money(row.sales),
        "units_ordered": int(row.units),
        "total_order_items": int(row.items),
        "sessions": int(row.sessions),
        "page_views": int(row.page_views),
        # Amazon's unit session percentage: units per session, in percent.
        "unit_session_percentage": ratio(row.units, row.sessions, scale=100),
    }
    return summary, Decimal(row.sales)


def _orders(
    connection: sa.Connection, store_id: int, ids: list[str], start: date, end: date
) -> dict[str, Any]:
    in_range = sa.and_(
        orders.c.store_id == store_id,
        orders.c.marketplace_id.in_(ids),
        orders.c.purchase_local_date.between(start, end),
    )
    live = sa.and_(in_range, orders.c.order_status.is_distinct_from(CANCELLED_ORDER_STATUS))
    joined = orders.join(
        order_items,
        sa.and_(
            order_items.c.store_id == orders.c.store_id,
            order_items.c.amazon_order_id == orders.c.amazon_order_id,
        ),
    )
    counts = connection.execute(
        sa.select(
            sa.func.count().filter(live).label("orders"),
            sa.func.count()
            .filter(sa.and_(in_range, orders.c.order_status == CANCELLED_ORDER_STATUS))
            .label("cancelled"),
        ).where(in_range)
    ).one()
    lines = connection.execute(
        sa.select(
            sa.func.count().label("items"),
            sa.func.coalesce(sa.func.sum(order_items.c.quantity), 0).label("units"),
            sa.func.coalesce(sa.func.sum(order_items.c.item_price), 0).label("price"),
        )
        .select_from(joined)
        .where(live)
    ).one()
    return {
        "orders": int(counts.orders),
        "order_items": int(lines.items),
        "units": int(lines.units),
        "item_price": money(lines.price),
        "cancelled_orders": int(counts.cancelled),
    }


def _ads(
    connection: sa.Connection,
    store_id: int,
    ids: list[str],
    start: date,
    end: date,
    ordered_product_sales: Decimal,
) -> dict[str, Any]:
    """Sponsored Products campaign rows, 7-day attribution (what sellers' ACoS means)."""
    t = ads_campaign_daily
    profiles = ads_profile_ids(store_id, ids)
    row = connection.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(t.c.impressions), 0).label("impressions"),
            sa.func.coalesce(sa.func.sum(t.c.clicks), 0).label("clicks"),
            sa.func.coalesce(sa.func.sum(t.c.cost), 0).label("spend"),
            sa.func.coalesce(sa.func.sum(t.c.sales_7d), 0).label("sales"),
            sa.func.coalesce(sa.func.sum(t.c.purchases_7d), 0).label("orders"),
        ).where(
            t.c.store_id == store_id,
            t.c.profile_id.in_(profiles),
            t.c.ad_group_id == "",  # campaign-level rows; ad-group rows would double count
            t.c.report_date.between(start, end),
        )
    ).one()
    return {
        "impressions": int(row.impressions),
        "clicks": int(row.clicks),
        "spend": money(row.spend),
        "sales": money(row.sales),
        "orders": int(row.orders),
        "acos": ratio(row.spend, row.sales),
        "roas": ratio(row.sales, row.spend),
        "tacos": ratio(row.spend, ordered_product_sales),
    }


def _settlements(
    connection: sa.Connection, store_id: int, currency: str, start: date, end: date
) -> list[dict[str, Any]]:
    """Settlements whose deposit falls in the range (the deposit date as Amazon states it, UTC)."""
    # date() of a timestamptz uses the session's time zone: take the UTC day explicitly.
    deposit_day = sa.func.date(sa.func.timezone("UTC", settlements.c.deposit_date))
    rows = connection.execute(
        sa.select(settlements)
        .where(
            settlements.c.store_id == store_id,
            settlements.c.currency == currency,
            deposit_day.between(start, end),
        )
        .order_by(settlements.c.deposit_date, settlements.c.settlement_id)
    ).mappings()
    return [
        {
            "settlement_id": row["settlement_id"],
            "start": _iso(row["settlement_start"]),
            "end": _iso(row["settlement_end"]),
            "deposit_date": _iso(row["deposit_date"]),
            "total_amount": money(row["total_amount"]),
            "lines_sum": money(row["lines_total"]),
            "reconciled": row["lines_total"] is not None
            and row["lines_total"] == row["total_amount"],
        }
        for row in rows
    ]


def _inventory(
    connection: sa.Connection, store_id: int, ids: list[str], end: date
) -> dict[str, Any]:
    """The stock at the close of the range: the latest snapshot day on or before the day after
    its end (a day's snapshot is its opening stock, so the next day's is the last day's close),
    as the Inventory page reads it for the same range. Without any snapshot by then, the stock is
    unknown: null, never zero."""
    t = inventory_snapshots
    scope = (t.c.store_id == store_id, t.c.marketplace_id.in_(ids))
    latest_day = (
        sa.select(sa.func.max(t.c.snapshot_date))
        .where(*scope, t.c.snapshot_date <= end + timedelta(days=1))
        .scalar_subquery()
    )
    latest = sa.select(t).where(*scope, t.c.snapshot_date == latest_day).subquery()
    row = connection.execute(
        sa.select(
            sa.func.max(latest.c.snapshot_date).label("as_of"),
            sa.func.count().label("skus"),
            sa.func.coalesce(sa.func.sum(latest.c.fulfillable_quantity), 0).label("fulfillable"),
            sa.func.coalesce(
                sa.func.sum(
                    sa.func.coalesce(latest.c.inbound_working_quantity, 0)
                    + sa.func.coalesce(latest.c.inbound_shipped_quantity, 0)
                    + sa.func.coalesce(latest.c.inbound_receiving_quantity, 0)
                ),
                0,
            ).label("inbound"),
            sa.func.coalesce(sa.func.sum(latest.c.reserved_quantity), 0).label("reserved"),
            sa.func.coalesce(sa.func.sum(latest.c.unfulfillable_quantity), 0).label(
                "unfulfillable"
            ),
        )
    ).one()
    known = row.as_of is not None
    return {
        "as_of": row.as_of.isoformat() if known else None,
        **{
            key: int(getattr(row, key)) if known else None
            for key in ("skus", "fulfillable", "inbound", "reserved", "unfulfillable")
        },
    }


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(UTC)  # the same text whatever the session's time zone
    return value.isoformat() if value is not None else None

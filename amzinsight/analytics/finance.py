"""Finance: settlements reconciled to their lines, where the money went, fees per unit, profit per
ASIN, and the unit costs (COGS) that profit needs (edited in `amzinsight.edits.unit_costs`).

Definitions shared with `metrics.store_metrics` (the CLI's numbers):
- a settlement is *deposited in* a range when the UTC day of its deposit falls in it (Amazon
  states deposit times in UTC); it *reconciles* when the sum of its lines equals its total;
- sales are the item prices of the orders bought in the range (local purchase date), cancelled
  orders left out;
- ad spend is Sponsored Products cost per advertised ASIN (7-day attribution reports).

Settlement lines count on their posted date (the marketplace's local date as Amazon writes it).
Lines carry a SKU but no ASIN: the ASIN comes from the store's orders, listings or inventory.
Amounts keep Amazon's sign in the settlement tables (fees negative); the profit and fee tables
show fees, refunds, ad spend and COGS as positive costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.analytics.ledger import ledger_lines
from amzinsight.analytics.metrics import CANCELLED_ORDER_STATUS
from amzinsight.db.frames import query_frame
from amzinsight.db.tables import (
    ads_advertised_product_daily,
    cogs,
    inventory_snapshots,
    listings,
    marketplaces,
    order_items,
    orders,
    settlement_lines,
    settlements,
)
from amzinsight.errors import ConfigError
from amzinsight.marketplaces import MARKETPLACES
from amzinsight.rules.periods import check_granularity
from amzinsight.rules.settlements import (
    AMAZON_FEES,
    CATEGORIES,
    CATEGORY_RULES,
    OTHER,
    REFUNDS,
)
from amzinsight.stores import ads_profile_ids

MONEY_DTYPE = pl.Decimal(38, 2)
UNIT_COST_DTYPE = pl.Decimal(38, 4)
COGS_UNKNOWN = "COGS unknown"
COGS_KNOWN = "COGS known"


# --- settlement line categories (rules.settlements as one SQL CASE) ------------------------------


def _category(lines: sa.FromClause) -> sa.ColumnElement[str]:
    """CATEGORY_RULES as one SQL CASE over a settlement_lines-shaped table."""
    whens = []
    for rule in CATEGORY_RULES:
        conditions = [
            sa.func.coalesce(lines.c[column], "").ilike(pattern)
            for column, pattern in (
                ("transaction_type", rule.transaction_type),
                ("amount_type", rule.amount_type),
                ("amount_description", rule.amount_description),
            )
            if pattern is not None
        ]
        whens.append((sa.and_(*conditions), rule.category))
    return sa.case(*whens, else_=OTHER)


# --- shared pieces -------------------------------------------------------------------------------


def _utc_day(column: sa.ColumnElement[Any]) -> sa.ColumnElement[date]:
    """The UTC date of a timestamptz (date() alone would use the session's time zone)."""
    return sa.func.date(sa.func.timezone("UTC", column))


def sku_asins(store_id: int) -> sa.CTE:
    """Each SKU's ASIN as the store's orders, listings and inventory know it (the least one); a
    unit cost given per ASIN reaches its SKUs through the same table (edits.unit_costs).

    Each source is reduced to one row per SKU first (a hash aggregate), so the lines of two years
    of orders and snapshots are never sorted together.
    """
    oi, ls, inv = order_items, listings, inventory_snapshots
    known = sa.union_all(
        sa.select(oi.c.sku, sa.func.min(oi.c.asin).label("asin"))
        .where(oi.c.store_id == store_id, oi.c.sku != "", oi.c.asin != "")
        .group_by(oi.c.sku),
        sa.select(ls.c.sku, sa.func.min(ls.c.asin).label("asin"))
        .where(ls.c.store_id == store_id, sa.func.coalesce(ls.c.asin, "") != "")
        .group_by(ls.c.sku),
        sa.select(inv.c.sku, sa.func.min(inv.c.asin).label("asin"))
        .where(inv.c.store_id == store_id, sa.func.coalesce(inv.c.asin, "") != "")
        .group_by(inv.c.sku),
    ).subquery("known")
    return (
        sa.select(known.c.sku, sa.func.min(known.c.asin).label("asin"))
        .group_by(known.c.sku)
        .cte("sku_asin")
        # computed at most once per query, and only when read: order lines look it up only when
        # they carry no ASIN of their own
        .prefix_with("MATERIALIZED")
    )


def _marketplace_currency(
    connection: sa.Connection, store_id: int, marketplace_ids: Sequence[str]
) -> str | None:
    """The one currency of the chosen marketplaces (None without any); sums never mix currencies."""
    found = [
        (marketplace, currency)
        for marketplace, currency in connection.execute(
            sa.select(marketplaces.c.marketplace_id, marketplaces.c.currency).where(
                marketplaces.c.store_id == store_id,
                marketplaces.c.marketplace_id.in_(list(marketplace_ids)),
            )
        )
    ]
    currencies = sorted({currency for _, currency in found})
    if len(currencies) > 1:
        listed = ", ".join(f"{marketplace} ({currency})" for marketplace, currency in found)
        raise ConfigError(
            f"These marketplaces use several currencies ({listed}): choose one marketplace."
        )
    return currencies[0] if currencies else None


def _marketplace_lines(
    store_id: int, marketplace_ids: Sequence[str], currency: str | None, start: date, end: date
) -> sa.CTE:
    """Settlement lines of one SKU posted in the range in these marketplaces, summed per SKU and
    kind of line (amount, quantity_purchased and the number of `lines`), with their category.

    A line names its marketplace ("Amazon.com"); one without a name counts when its currency is
    the marketplaces' currency. The category (a dozen ILIKEs) is worked out once per SKU and kind,
    not per line, and not again in every aggregate FILTER that reads it (materialized).
    """
    sl = ledger_lines()
    domains = [m.domain for m in MARKETPLACES.values() if m.marketplace_id in marketplace_ids]
    kind = [
        sl.c.sku,
        sl.c.transaction_type,
        sl.c.amount_type,
        sl.c.amount_description,
        sl.c.currency,
    ]
    kinds = (
        sa.select(
            *kind,
            sa.func.sum(sl.c.amount).label("amount"),
            sa.func.sum(sl.c.quantity_purchased).label("quantity_purchased"),
            sa.func.count().label("lines"),
        )
        .where(
            sl.c.store_id == store_id,
            sl.c.posted_date.between(start, end),
            sa.func.coalesce(sl.c.sku, "") != "",
            sa.or_(
                sa.func.lower(sl.c.marketplace_name).in_(domains),
                sa.and_(sl.c.marketplace_name.is_(None), sl.c.currency == currency),
            ),
        )
        .group_by(*kind)
        .subquery("line_kinds")
    )
    return (
        sa.select(*kinds.c, _category(kinds).label("category"))
        .cte("lines")
        .prefix_with("MATERIALIZED")
    )


def _is_sold_principal(lines: sa.FromClause) -> sa.ColumnElement[bool]:
    """The one line per order item that carries the units sold (the others repeat them)."""
    return sa.and_(
        lines.c.transaction_type == "Order",
        lines.c.amount_type == "ItemPrice",
        lines.c.amount_description == "Principal",
    )


# --- settlements ---------------------------------------------------------------------------------

RECONCILIATION_SCHEMA: dict[str, pl.DataType] = {
    "settlement_id": pl.String(),
    "settlement_start": pl.Datetime("us", "UTC"),
    "settlement_end": pl.Datetime("us", "UTC"),
    "deposit_date": pl.Datetime("us", "UTC"),
    "currency": pl.String(),
    "marketplace_name": pl.String(),
    "total_amount": MONEY_DTYPE,
    "lines_sum": MONEY_DTYPE,
    "line_count": pl.Int64(),
    "difference": MONEY_DTYPE,
    "reconciles": pl.Boolean(),
    "deposited_in_range": pl.Boolean(),
}


def settlement_reconciliation(
    engine: Engine, store_id: int, start: date, end: date, currency: str | None = None
) -> pl.DataFrame:
    """Each settlement whose life (period start to deposit) overlaps the range, its summary total
    against the sum of its lines, and whether its deposit falls in the range (the settlements
    `amzinsight metrics` lists for the same range are exactly those).

    difference = lines_sum - total_amount; reconciles only when it is exactly zero.
    """
    s, sl = settlements, settlement_lines  # a settlement's own lines: the report's
    lines = (
        sa.select(
            sa.func.coalesce(sa.func.sum(sl.c.amount), 0).label("lines_sum"),
            sa.func.count().label("line_count"),
        )
        .where(sl.c.store_id == s.c.store_id, sl.c.settlement_id == s.c.settlement_id)
        .lateral("lines")
    )
    deposit_day = _utc_day(s.c.deposit_date)
    life_start = _utc_day(sa.func.coalesce(s.c.settlement_start, s.c.deposit_date))
    life_end = _utc_day(sa.func.coalesce(s.c.deposit_date, s.c.settlement_end))
    query = (
        sa.select(
            s.c.settlement_id,
            s.c.settlement_start,
            s.c.settlement_end,
            s.c.deposit_date,
            s.c.currency,
            s.c.marketplace_name,
            s.c.total_amount,
            lines.c.lines_sum,
            lines.c.line_count,
            (lines.c.lines_sum - s.c.total_amount).label("difference"),
            sa.func.coalesce(lines.c.lines_sum == s.c.total_amount, sa.false()),
            sa.func.coalesce(deposit_day.between(start, end), sa.false()),
        )
        .select_from(s.join(lines, sa.true()))
        .where(s.c.store_id == store_id, life_start <= end, life_end >= start)
        .order_by(s.c.deposit_date, s.c.settlement_id)
    )
    if currency is not None:
        query = query.where(s.c.currency == currency)
    with engine.connect() as connection:
        return query_frame(connection, query, RECONCILIATION_SCHEMA)


BREAKDOWN_SCHEMA: dict[str, pl.DataType] = {
    "category": pl.String(),
    "source": pl.String(),
    "transaction_type": pl.String(),
    "amount_type": pl.String(),
    "amount_description": pl.String(),
    "currency": pl.String(),
    "amount": MONEY_DTYPE,
    "lines": pl.Int64(),
}


def settlement_breakdown(
    engine: Engine, store_id: int, start: date, end: date, currency: str | None = None
) -> pl.DataFrame:
    """Settled lines posted in the range, summed per category (CATEGORY_RULES), source (a
    settlement report or the Finances API, analytics/ledger.py), transaction type, amount type and
    description, with Amazon's signs (money in is positive)."""
    sl = ledger_lines()
    kind = [
        sl.c.source,
        sl.c.transaction_type,
        sl.c.amount_type,
        sl.c.amount_description,
        sl.c.currency,
    ]
    # summed per kind of line first: the category (a dozen ILIKEs) is then worked out per kind,
    # not per line, and a category holds whole kinds, so the groups are the same
    lines = (
        sa.select(*kind, sa.func.sum(sl.c.amount).label("amount"), sa.func.count().label("lines"))
        .where(sl.c.store_id == store_id, sl.c.posted_date.between(start, end))
        .group_by(*kind)
    )
    if currency is not None:
        lines = lines.where(sl.c.currency == currency)
    kinds = lines.subquery("kinds")
    category = _category(kinds)
    position = sa.case({name: index for index, name in enumerate(CATEGORIES)}, value=category)
    amount = sa.func.coalesce(kinds.c.amount, 0)
    query = sa.select(
        category,
        kinds.c.source,
        kinds.c.transaction_type,
        kinds.c.amount_type,
        kinds.c.amount_description,
        kinds.c.currency,
        amount,
        kinds.c.lines,
    ).order_by(
        position,
        sa.func.abs(amount).desc(),
        kinds.c.source,
        kinds.c.transaction_type,
        kinds.c.amount_type,
        kinds.c.amount_description,
        kinds.c.currency,
    )
    with engine.connect() as connection:
        return query_frame(connection, query, BREAKDOWN_SCHEMA)


PERIOD_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.Date(),
    "category": pl.String(),
    "amount": MONEY_DTYPE,
}


def settlement_amounts_by_period(
    engine: Engine,
    store_id: int,
    start: date,
    end: date,
    granularity: str,
    currency: str | None = None,
) -> pl.DataFrame:
    """The breakdown's categories per day, week (from Monday) or month of the posted date."""
    check_granularity(granularity)
    sl = ledger_lines()
    lines = sa.select(
        sa.cast(sa.func.date_trunc(granularity, sl.c.posted_date), sa.Date).label("period"),
        _category(sl).label("category"),
        sl.c.amount,
    ).where(sl.c.store_id == store_id, sl.c.posted_date.between(start, end))
    if currency is not None:
        lines = lines.where(sl.c.currency == currency)
    categorised = lines.subquery("categorised")
    position = sa.case(
        {name: index for index, name in enumerate(CATEGORIES)}, value=categorised.c.category
    )
    query = (
        sa.select(
            categorised.c.period,
            categorised.c.category,
            sa.func.coalesce(sa.func.sum(categorised.c.amount), 0),
        )
        .group_by(categorised.c.period, categorised.c.category)
        .order_by(categorised.c.period, sa.func.min(position))
    )
    with engine.connect() as connection:
        return query_frame(connection, query, PERIOD_SCHEMA)


# --- fees per unit -------------------------------------------------------------------------------

FEES_SCHEMA: dict[str, pl.DataType] = {
    "sku": pl.String(),
    "asin": pl.String(),
    "currency": pl.String(),
    "units_sold": pl.Int64(),
    "amazon_fees": MONEY_DTYPE,
    "referral_fees": MONEY_DTYPE,
    "fba_fees": MONEY_DTYPE,
    "fees_per_unit": UNIT_COST_DTYPE,
}


def fees_per_unit(
    engine: Engine, store_id: int, marketplace_ids: tuple[str, ...], start: date, end: date
) -> pl.DataFrame:
    """Per SKU: the Amazon fees settled in the range (positive, a cost) over the units settled as
    sold in it; fees_per_unit is null when no unit was sold (never a division by zero)."""
    with engine.connect() as connection:
        currency = _marketplace_currency(connection, store_id, marketplace_ids)
        lines = _marketplace_lines(store_id, marketplace_ids, currency, start, end)
        sku_asin = sku_asins(store_id)
        is_fee = lines.c.category == AMAZON_FEES
        fees = -sa.func.coalesce(sa.func.sum(lines.c.amount).filter(is_fee), 0)
        units = sa.func.coalesce(
            sa.func.sum(lines.c.quantity_purchased).filter(_is_sold_principal(lines)), 0
        )
        query = (
            sa.select(
                lines.c.sku,
                sa.func.min(sku_asin.c.asin),
                sa.func.min(lines.c.currency),
                units,
                fees,
                -sa.func.coalesce(
                    sa.func.sum(lines.c.amount).filter(
                        is_fee, lines.c.amount_description.ilike("%Commission%")
                    ),
                    0,
                ),
                -sa.func.coalesce(
                    sa.func.sum(lines.c.amount).filter(
                        is_fee, lines.c.amount_description.ilike("FBA%")
                    ),
                    0,
                ),
                sa.func.round(fees / sa.func.nullif(units, 0), 4),
            )
            .select_from(lines.outerjoin(sku_asin, sku_asin.c.sku == lines.c.sku))
            .group_by(lines.c.sku)
            .having(
                sa.func.sum(lines.c.lines).filter(sa.or_(is_fee, _is_sold_principal(lines))) > 0
            )
            .order_by(fees.desc(), lines.c.sku)
        )
        return query_frame(connection, query, FEES_SCHEMA)


# --- profit --------------------------------------------------------------------------------------


def _sold_lines(
    store_id: int,
    marketplace_ids: Sequence[str],
    currency: str,
    start: date,
    end: date,
    sku_asin: sa.CTE,
) -> sa.Subquery:
    """Order lines bought in the range (cancelled orders left out), each with the unit cost in
    effect on its purchase date: the latest COGS row of its SKU, in the sales currency, whose
    effective_from is on or before that date (null when there is none)."""
    o, oi = orders, order_items
    unit_cost = (
        sa.select(cogs.c.unit_cost)
        .where(
            cogs.c.store_id == store_id,
            cogs.c.sku == oi.c.sku,
            cogs.c.currency == currency,
            cogs.c.effective_from <= o.c.purchase_local_date,
        )
        .order_by(cogs.c.effective_from.desc())
        .limit(1)
        .scalar_subquery()
    )
    # a scalar lookup, not a join: SQL evaluates it (and the SKU-to-ASIN table behind it) only
    # for the lines without an ASIN
    known_asin = sa.select(sku_asin.c.asin).where(sku_asin.c.sku == oi.c.sku).scalar_subquery()
    return (
        sa.select(
            sa.func.coalesce(sa.func.nullif(oi.c.asin, ""), known_asin, "").label("asin_key"),
            oi.c.sku,
            o.c.purchase_local_date.label("sale_date"),
            sa.func.coalesce(oi.c.quantity, 0).label("quantity"),
            oi.c.item_price,
            unit_cost.label("unit_cost"),
        )
        .select_from(
            o.join(
                oi,
                sa.and_(oi.c.store_id == o.c.store_id, oi.c.amazon_order_id == o.c.amazon_order_id),
            )
        )
        .where(
            o.c.store_id == store_id,
            o.c.marketplace_id.in_(list(marketplace_ids)),
            o.c.purchase_local_date.between(start, end),
            o.c.order_status.is_distinct_from(CANCELLED_ORDER_STATUS),
        )
        .subquery("sold")
    )


PROFIT_SCHEMA: dict[str, pl.DataType] = {
    "asin": pl.String(),
    "skus": pl.String(),
    "currency": pl.String(),
    "units_sold": pl.Int64(),
    "sales": MONEY_DTYPE,
    "amazon_fees": MONEY_DTYPE,
    "refunds": MONEY_DTYPE,
    "ad_spend": MONEY_DTYPE,
    "cogs": MONEY_DTYPE,
    "profit": MONEY_DTYPE,
    "margin": pl.Float64(),
    "units_without_cogs": pl.Int64(),
    "cogs_status": pl.String(),
}


def profit_by_asin(
    engine: Engine, store_id: int, marketplace_ids: tuple[str, ...], start: date, end: date
) -> pl.DataFrame:
    """Per ASIN: sales - Amazon fees - refunds - ad spend - COGS over the range.

    Sales as in `metrics` (item prices of the orders bought in the range); Amazon fees and refunds
    are the settlement lines posted in the range (refunds net of the commission Amazon returns);
    ad spend is the advertised-product cost; COGS is each sold unit times the unit cost in effect
    on its sale date, rounded to cents. When any sold unit of an ASIN has no unit cost, its COGS
    and profit are null and cogs_status says COGS_UNKNOWN: a guessed zero would overstate profit.
    A row with a null ASIN gathers the SKUs whose ASIN the store does not know.
    """
    with engine.connect() as connection:
        currency = _marketplace_currency(connection, store_id, marketplace_ids)
        if currency is None:
            return pl.DataFrame(schema=PROFIT_SCHEMA)
        sku_asin = sku_asins(store_id)
        sold = _sold_lines(store_id, marketplace_ids, currency, start, end, sku_asin)
        sales = (
            sa.select(
                sold.c.asin_key,
                sa.func.string_agg(sa.distinct(sold.c.sku), sa.literal_column("', '")).label(
                    "skus"
                ),
                sa.func.sum(sold.c.quantity).label("units"),
                sa.func.sum(sold.c.item_price).label("sales"),
                sa.func.round(sa.func.sum(sold.c.quantity * sold.c.unit_cost), 2).label(
                    "cogs_known"
                ),
                sa.func.coalesce(
                    sa.func.sum(sold.c.quantity).filter(
                        sold.c.unit_cost.is_(None), sold.c.quantity > 0
                    ),
                    0,
                ).label("units_without_cogs"),
            )
            .group_by(sold.c.asin_key)
            .cte("sales")
        )
        lines = _marketplace_lines(store_id, marketplace_ids, currency, start, end)
        line_asin = sa.func.coalesce(sku_asin.c.asin, "")
        settled = (
            sa.select(
                line_asin.label("asin_key"),
                sa.func.string_agg(sa.distinct(lines.c.sku), sa.literal_column("', '")).label(
                    "skus"
                ),
                (-sa.func.sum(lines.c.amount).filter(lines.c.category == AMAZON_FEES)).label(
                    "fees"
                ),
                (-sa.func.sum(lines.c.amount).filter(lines.c.category == REFUNDS)).label("refunds"),
            )
            .select_from(lines.outerjoin(sku_asin, sku_asin.c.sku == lines.c.sku))
            .where(lines.c.category.in_([AMAZON_FEES, REFUNDS]))
            .group_by(line_asin)
            .cte("settled")
        )
        ads = ads_advertised_product_daily
        profiles = ads_profile_ids(store_id, marketplace_ids)
        ad_asin = sa.func.coalesce(ads.c.advertised_asin, "")
        advertised = (
            sa.select(ad_asin.label("asin_key"), sa.func.sum(ads.c.cost).label("spend"))
            .where(
                ads.c.store_id == store_id,
                ads.c.profile_id.in_(profiles),
                ads.c.report_date.between(start, end),
            )
            .group_by(ad_asin)
            .having(sa.func.sum(ads.c.cost) != 0)
            .cte("advertised")
        )
        keys = sa.union(
            sa.select(sales.c.asin_key),
            sa.select(settled.c.asin_key),
            sa.select(advertised.c.asin_key),
        ).subquery("keys")
        unknown = sa.func.coalesce(sales.c.units_without_cogs, 0) > 0
        sales_amount = sa.func.coalesce(sales.c.sales, 0)
        cogs_amount = sa.case((unknown, None), else_=sa.func.coalesce(sales.c.cogs_known, 0))
        profit = (
            sales_amount
            - sa.func.coalesce(settled.c.fees, 0)
            - sa.func.coalesce(settled.c.refunds, 0)
            - sa.func.coalesce(advertised.c.spend, 0)
            - cogs_amount
        )
        query = (
            sa.select(
                sa.func.nullif(keys.c.asin_key, ""),
                sa.func.coalesce(sales.c.skus, settled.c.skus),
                sa.literal(currency),
                sa.func.coalesce(sales.c.units, 0),
                sales_amount,
                sa.func.coalesce(settled.c.fees, 0),
                sa.func.coalesce(settled.c.refunds, 0),
                sa.func.coalesce(advertised.c.spend, 0),
                cogs_amount,
                profit,
                sa.cast(profit / sa.func.nullif(sales_amount, 0), sa.Float),
                sa.func.coalesce(sales.c.units_without_cogs, 0),
                sa.case((unknown, COGS_UNKNOWN), else_=COGS_KNOWN),
            )
            .select_from(
                keys.outerjoin(sales, sales.c.asin_key == keys.c.asin_key)
                .outerjoin(settled, settled.c.asin_key == keys.c.asin_key)
                .outerjoin(advertised, advertised.c.asin_key == keys.c.asin_key)
            )
            .order_by(sales_amount.desc(), keys.c.asin_key)
        )
        return query_frame(connection, query, PROFIT_SCHEMA)


MISSING_COGS_SCHEMA: dict[str, pl.DataType] = {
    "sku": pl.String(),
    "asin": pl.String(),
    "currency": pl.String(),
    "units_without_cogs": pl.Int64(),
    "first_sale_date": pl.Date(),
}


def missing_cogs(
    engine: Engine, store_id: int, marketplace_ids: tuple[str, ...], start: date, end: date
) -> pl.DataFrame:
    """SKUs sold in the range without a unit cost, with the first such sale date: a COGS row
    effective from that date makes their profit known."""
    with engine.connect() as connection:
        currency = _marketplace_currency(connection, store_id, marketplace_ids)
        if currency is None:
            return pl.DataFrame(schema=MISSING_COGS_SCHEMA)
        sold = _sold_lines(store_id, marketplace_ids, currency, start, end, sku_asins(store_id))
        query = (
            sa.select(
                sold.c.sku,
                sa.func.nullif(sa.func.min(sold.c.asin_key), ""),
                sa.literal(currency),
                sa.func.sum(sold.c.quantity),
                sa.func.min(sold.c.sale_date),
            )
            .where(sold.c.unit_cost.is_(None), sold.c.quantity > 0)
            .group_by(sold.c.sku)
            .order_by(sa.func.sum(sold.c.quantity).desc(), sold.c.sku)
        )
        return query_frame(connection, query, MISSING_COGS_SCHEMA)


# --- KPIs ----------------------------------------------------------------------------------------

KPI_SCHEMA: dict[str, pl.DataType] = {
    "currency": pl.String(),
    "deposits": MONEY_DTYPE,
    "settlements_deposited": pl.Int64(),
    "settlements_listed": pl.Int64(),
    "settlements_reconciled": pl.Int64(),
    "amazon_fees": MONEY_DTYPE,
    "refunds": MONEY_DTYPE,
    "profit_known": MONEY_DTYPE,
    "asins_cogs_unknown": pl.Int64(),
}


def finance_kpis(
    engine: Engine, store_id: int, marketplace_ids: tuple[str, ...], start: date, end: date
) -> pl.DataFrame:
    """One row for the page's tiles, in the marketplaces' currency: the deposits (their sum is the
    settlements `metrics` lists), Amazon fees and refunds posted (positive costs), and the profit
    of the ASINs whose COGS is known (profit_known is null when no ASIN's is)."""
    with engine.connect() as connection:
        currency = _marketplace_currency(connection, store_id, marketplace_ids)
    if currency is None:
        return pl.DataFrame(schema=KPI_SCHEMA)
    listed = settlement_reconciliation(engine, store_id, start, end, currency)
    deposited = listed.filter(pl.col("deposited_in_range"))
    breakdown = settlement_breakdown(engine, store_id, start, end, currency)
    profit = profit_by_asin(engine, store_id, marketplace_ids, start, end)
    known = profit.filter(pl.col("cogs_status") == COGS_KNOWN)

    def category_cost(name: str) -> Decimal:
        return Decimal(0) - Decimal(breakdown.filter(pl.col("category") == name)["amount"].sum())

    row = (
        currency,
        Decimal(deposited["total_amount"].sum()),
        deposited.height,
        listed.height,
        listed.filter(pl.col("reconciles")).height,
        category_cost(AMAZON_FEES),
        category_cost(REFUNDS),
        Decimal(known["profit"].sum()) if known.height else None,
        profit.height - known.height,
    )
    return pl.DataFrame([row], schema=KPI_SCHEMA, orient="row")


# --- unit costs ----------------------------------------------------------------------------------

COGS_TABLE_SCHEMA: dict[str, pl.DataType] = {
    "sku": pl.String(),
    "asin": pl.String(),
    "effective_from": pl.Date(),
    "effective_until": pl.Date(),
    "unit_cost": UNIT_COST_DTYPE,
    "currency": pl.String(),
    "note": pl.String(),
    "created_at": pl.Datetime("us", "UTC"),
}


def cogs_table(engine: Engine, store_id: int) -> pl.DataFrame:
    """Every unit cost of the store, each with the last day it applies (null: still in effect)."""
    sku_asin = sku_asins(store_id)
    next_from = sa.func.lead(cogs.c.effective_from).over(
        partition_by=(cogs.c.sku, cogs.c.currency), order_by=cogs.c.effective_from
    )
    query = (
        sa.select(
            cogs.c.sku,
            sku_asin.c.asin,
            cogs.c.effective_from,
            next_from - sa.literal_column("1"),
            cogs.c.unit_cost,
            cogs.c.currency,
            cogs.c.note,
            cogs.c.created_at,
        )
        .select_from(cogs.outerjoin(sku_asin, sku_asin.c.sku == cogs.c.sku))
        .where(cogs.c.store_id == store_id)
        .order_by(cogs.c.sku, cogs.c.currency, cogs.c.effective_from)
    )
    with engine.connect() as connection:
        return query_frame(connection, query, COGS_TABLE_SCHEMA)

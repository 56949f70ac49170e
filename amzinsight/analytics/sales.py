"""Sales and traffic for the Sales page: KPIs, periods, ASINs and the ASINs that moved most.

Everything comes from GET_SALES_AND_TRAFFIC_REPORT: store totals from `sales_traffic_by_date`
(the same rows and definitions as `store_metrics`, so the page and `amzinsight metrics` agree),
per-ASIN figures from the CHILD-granularity rows of `sales_traffic_by_asin` (child ASIN set, no
SKU: the rows the sync stores; PARENT or SKU rows imported by hand would double count them).

Money stays Decimal with the marketplaces' one currency; percentages are 0-100 as Amazon and
`store_metrics` write them, rounded to 4 places. A range or period without any report row has
null figures, never zeros, so the page can say the sync is missing instead of "no sales".
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Engine

from amzinsight.db.frames import query_frame
from amzinsight.db.tables import (
    catalog_items,
    listings,
    marketplaces,
    sales_traffic_by_asin,
    sales_traffic_by_date,
)
from amzinsight.errors import ConfigError
from amzinsight.rules.periods import check_granularity, check_range

MONEY_TYPE = pl.Decimal(18, 2)
ASIN_LEVELS = ("child", "parent")

MEASURES_SCHEMA: dict[str, pl.DataType] = {
    "ordered_product_sales": MONEY_TYPE,
    "units_ordered": pl.Int64(),
    "total_order_items": pl.Int64(),
    "sessions": pl.Int64(),
    "page_views": pl.Int64(),
    "unit_session_percentage": pl.Float64(),
    "buy_box_percentage": pl.Float64(),
}
KPI_SCHEMA: dict[str, pl.DataType] = {
    "currency": pl.String(),
    **MEASURES_SCHEMA,
    "days_reported": pl.Int64(),
}
OVER_TIME_SCHEMA: dict[str, pl.DataType] = {"period": pl.Date(), **KPI_SCHEMA}
CHILD_SCHEMA: dict[str, pl.DataType] = {
    "parent_asin": pl.String(),
    "child_asin": pl.String(),
    "sku": pl.String(),
    "title": pl.String(),
    "currency": pl.String(),
    **MEASURES_SCHEMA,
    "daily_sales": pl.List(pl.Float64()),
}
PARENT_SCHEMA: dict[str, pl.DataType] = {
    "parent_asin": pl.String(),
    "children": pl.Int64(),
    "title": pl.String(),
    "currency": pl.String(),
    **MEASURES_SCHEMA,
    "daily_sales": pl.List(pl.Float64()),
}
MOVERS_SCHEMA: dict[str, pl.DataType] = {
    "direction": pl.String(),
    "parent_asin": pl.String(),
    "child_asin": pl.String(),
    "title": pl.String(),
    "currency": pl.String(),
    "ordered_product_sales": MONEY_TYPE,
    "comparison_sales": MONEY_TYPE,
    "change": MONEY_TYPE,
    "change_percentage": pl.Float64(),
    "units_ordered": pl.Int64(),
    "comparison_units": pl.Int64(),
}


def sales_kpis(
    engine: Engine, store_id: int, marketplace_ids: tuple[str, ...], start: date, end: date
) -> pl.DataFrame:
    """One row: the range's sales and traffic totals (null figures when nothing was reported)."""
    check_range(start, end)
    t = sales_traffic_by_date
    with engine.connect() as connection:
        ids, currency = _markets(connection, store_id, marketplace_ids)
        query = sa.select(
            sa.literal(currency, sa.Text).label("currency"),
            *_measures(t),
            sa.func.count(sa.distinct(t.c.report_date)).label("days_reported"),
        ).where(_in_range(t, store_id, ids, start, end))
        return query_frame(connection, query, KPI_SCHEMA)


def sales_over_time(
    engine: Engine,
    store_id: int,
    marketplace_ids: tuple[str, ...],
    start: date,
    end: date,
    granularity: str,
) -> pl.DataFrame:
    """The KPIs per day, week (from Monday) or month: one row per period, null when unreported.

    The first and last periods hold only the days inside the range.
    """
    check_range(start, end)
    check_granularity(granularity)
    t = sales_traffic_by_date
    unit = sa.literal(granularity, sa.Text)
    with engine.connect() as connection:
        ids, currency = _markets(connection, store_id, marketplace_ids)
        rows = (
            sa.select(
                sa.cast(
                    sa.func.date_trunc(unit, sa.cast(t.c.report_date, sa.DateTime)), sa.Date
                ).label("period"),
                *(t.c[name] for name in _SOURCE_COLUMNS),
            )
            .where(_in_range(t, store_id, ids, start, end))
            .subquery("rows")
        )
        spine = sa.select(
            sa.cast(
                sa.func.generate_series(
                    sa.func.date_trunc(unit, sa.cast(sa.literal(start, sa.Date), sa.DateTime)),
                    sa.cast(sa.literal(end, sa.Date), sa.DateTime),
                    sa.cast(sa.literal(f"1 {granularity}", sa.Text), sa.Interval),
                ),
                sa.Date,
            ).label("period")
        ).subquery("spine")
        query = (
            sa.select(
                spine.c.period,
                sa.literal(currency, sa.Text).label("currency"),
                *_measures(rows),
                sa.func.count(sa.distinct(rows.c.report_date)).label("days_reported"),
            )
            .select_from(spine.outerjoin(rows, rows.c.period == spine.c.period))
            .group_by(spine.c.period)
            .order_by(spine.c.period)
        )
        return query_frame(connection, query, OVER_TIME_SCHEMA)


def sales_by_asin(
    engine: Engine,
    store_id: int,
    marketplace_ids: tuple[str, ...],
    start: date,
    end: date,
    level: str = "child",
) -> pl.DataFrame:
    """Per child ASIN (or rolled up per parent) with SKUs, title and a daily sales sparkline.

    A parent's sessions and page views are the sum of its children's: Amazon's own parent report
    counts a session that visits two children once, so it can be lower. `daily_sales` has one
    value per day of the range: 0 on a reported day without this ASIN, null on unreported days.
    """
    check_range(start, end)
    if level not in ASIN_LEVELS:
        raise ConfigError(f"Unknown ASIN level {level!r}: use one of {', '.join(ASIN_LEVELS)}.")
    t = sales_traffic_by_asin
    keys = ["parent_asin", "child_asin"] if level == "child" else ["parent_asin"]
    with engine.connect() as connection:
        ids, currency = _markets(connection, store_id, marketplace_ids)
        child_rows = _child_rows(store_id, ids, start, end)
        totals = (
            sa.select(
                *(t.c[key] for key in keys),
                *(
                    [sa.func.count(sa.distinct(t.c.child_asin)).label("children")]
                    if level == "parent"
                    else []
                ),
                *_measures(t),
            )
            .where(child_rows)
            .group_by(*(t.c[key] for key in keys))
            .subquery("totals")
        )
        sparkline = _daily_sales(store_id, ids, start, end, keys)
        titled_asin = totals.c.child_asin if level == "child" else totals.c.parent_asin
        titles = _titles(store_id, ids)
        skus = _skus(store_id, ids)
        key_match = sa.and_(*(sparkline.c[key] == totals.c[key] for key in keys))
        query = (
            sa.select(
                totals.c.parent_asin,
                *([totals.c.child_asin, skus.c.sku] if level == "child" else [totals.c.children]),
                titles.c.title,
                sa.literal(currency, sa.Text).label("currency"),
                *(totals.c[name] for name in MEASURES_SCHEMA),
                sparkline.c.daily_sales,
            )
            .select_from(
                totals.join(sparkline, key_match)
                .outerjoin(titles, titles.c.asin == titled_asin)
                .outerjoin(skus, skus.c.asin == titled_asin)
            )
            .order_by(
                totals.c.ordered_product_sales.desc().nulls_last(),
                *(totals.c[key] for key in keys),
            )
        )
        return query_frame(connection, query, CHILD_SCHEMA if level == "child" else PARENT_SCHEMA)


def top_movers(
    engine: Engine,
    store_id: int,
    marketplace_ids: tuple[str, ...],
    start: date,
    end: date,
    comparison_start: date,
    comparison_end: date,
    limit: int = 10,
) -> pl.DataFrame:
    """The child ASINs whose sales rose (gainers) and fell (losers) most against the comparison.

    An ASIN missing from a reported range sold nothing there (Amazon lists only ASINs with
    traffic or sales); when either range has no report at all, nobody can be said to have moved
    and the frame is empty.
    """
    check_range(start, end)
    check_range(comparison_start, comparison_end)
    t = sales_traffic_by_asin
    with engine.connect() as connection:
        ids, currency = _markets(connection, store_id, marketplace_ids)
        reported = connection.execute(
            sa.select(
                sa.func.count()
                .filter(sales_traffic_by_date.c.report_date.between(start, end))
                .label("current"),
                sa.func.count()
                .filter(
                    sales_traffic_by_date.c.report_date.between(comparison_start, comparison_end)
                )
                .label("comparison"),
            ).where(
                sales_traffic_by_date.c.store_id == store_id,
                sales_traffic_by_date.c.marketplace_id.in_(ids),
            )
        ).one()
        if not reported.current or not reported.comparison:
            return pl.DataFrame(schema=MOVERS_SCHEMA)
        in_current = t.c.report_date.between(start, end)
        in_comparison = t.c.report_date.between(comparison_start, comparison_end)

        def summed(column: sa.Column[Any], when: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
            return sa.func.coalesce(sa.func.sum(column).filter(when), 0)

        both = (
            sa.select(
                t.c.parent_asin,
                t.c.child_asin,
                summed(t.c.ordered_product_sales, in_current).label("ordered_product_sales"),
                summed(t.c.ordered_product_sales, in_comparison).label("comparison_sales"),
                summed(t.c.units_ordered, in_current).label("units_ordered"),
                summed(t.c.units_ordered, in_comparison).label("comparison_units"),
            )
            .where(
                t.c.store_id == store_id,
                t.c.marketplace_id.in_(ids),
                t.c.child_asin != "",
                t.c.sku == "",
                sa.or_(in_current, in_comparison),
            )
            .group_by(t.c.parent_asin, t.c.child_asin)
            .subquery("both")
        )
        change = both.c.ordered_product_sales - both.c.comparison_sales
        ranked = (
            sa.select(
                both,
                change.label("change"),
                sa.func.row_number()
                .over(
                    partition_by=sa.func.sign(change),
                    order_by=(sa.func.abs(change).desc(), both.c.child_asin),
                )
                .label("place"),
            )
            .where(change != 0)
            .subquery("ranked")
        )
        titles = _titles(store_id, ids)
        query = (
            sa.select(
                sa.case((ranked.c.change > 0, "gainer"), else_="loser").label("direction"),
                ranked.c.parent_asin,
                ranked.c.child_asin,
                titles.c.title,
                sa.literal(currency, sa.Text).label("currency"),
                ranked.c.ordered_product_sales,
                ranked.c.comparison_sales,
                ranked.c.change,
                _percent(ranked.c.change, ranked.c.comparison_sales, 100).label(
                    "change_percentage"
                ),
                ranked.c.units_ordered,
                ranked.c.comparison_units,
            )
            .select_from(ranked.outerjoin(titles, titles.c.asin == ranked.c.child_asin))
            .where(ranked.c.place <= limit)
            .order_by(ranked.c.change.desc())
        )
        return query_frame(connection, query, MOVERS_SCHEMA)


def with_comparison(
    current: pl.DataFrame, comparison: pl.DataFrame | None, measures: tuple[str, ...]
) -> pl.DataFrame:
    """`current` with `comparison_<measure>` columns from `comparison`, period by period.

    Periods pair by position (first with first), so a previous period or the same period last
    year lines up under the current one on a shared axis whatever its dates.
    """
    if comparison is None:
        return current.with_columns(
            pl.lit(None, dtype=pl.Date).alias("comparison_period"),
            *(
                pl.lit(None, dtype=current.schema[name]).alias(f"comparison_{name}")
                for name in measures
            ),
        )
    aligned = comparison.select(
        pl.col("period").alias("comparison_period"),
        *(pl.col(name).alias(f"comparison_{name}") for name in measures),
    ).with_row_index("position")
    return (
        current.with_row_index("position").join(aligned, on="position", how="left").drop("position")
    )


# --- the pieces every query shares -------------------------------------------------------------

_SOURCE_COLUMNS = (
    "report_date",
    "ordered_product_sales",
    "units_ordered",
    "total_order_items",
    "sessions",
    "page_views",
    "buy_box_percentage",
)


def _markets(
    connection: sa.Connection, store_id: int, marketplace_ids: tuple[str, ...]
) -> tuple[list[str], str | None]:
    """The chosen marketplaces (all of the store's when none is chosen) and their one currency."""
    query = sa.select(marketplaces.c.marketplace_id, marketplaces.c.currency).where(
        marketplaces.c.store_id == store_id
    )
    if marketplace_ids:
        query = query.where(marketplaces.c.marketplace_id.in_(marketplace_ids))
    rows = connection.execute(query.order_by(marketplaces.c.marketplace_id)).all()
    unknown = sorted(set(marketplace_ids) - {row.marketplace_id for row in rows})
    if unknown:
        raise ConfigError(f"The store has no marketplace {', '.join(unknown)}.")
    currencies = sorted({row.currency for row in rows})
    if len(currencies) > 1:
        listed = ", ".join(f"{row.marketplace_id} ({row.currency})" for row in rows)
        raise ConfigError(
            f"These marketplaces use several currencies ({listed}): choose one marketplace."
        )
    return [row.marketplace_id for row in rows], (currencies[0] if currencies else None)


def _in_range(
    table: sa.Table, store_id: int, ids: list[str], start: date, end: date
) -> sa.ColumnElement[bool]:
    return sa.and_(
        table.c.store_id == store_id,
        table.c.marketplace_id.in_(ids),
        table.c.report_date.between(start, end),
    )


def _child_rows(store_id: int, ids: list[str], start: date, end: date) -> sa.ColumnElement[bool]:
    t = sales_traffic_by_asin
    return sa.and_(_in_range(t, store_id, ids, start, end), t.c.child_asin != "", t.c.sku == "")


def _percent(
    numerator: sa.ColumnElement[Any], denominator: sa.ColumnElement[Any], scale: int
) -> sa.ColumnElement[Any]:
    """numerator / denominator x scale rounded to 4 places, as store_metrics' ratio(); null on 0."""
    exact = sa.cast(numerator, sa.Numeric) * scale / sa.func.nullif(denominator, 0)
    return sa.cast(sa.func.round(exact, 4), sa.Float)


def _measures(source: sa.Table | sa.Subquery) -> list[sa.ColumnElement[Any]]:
    """The summed figures, unit session % (units per session) and Buy Box % by page views.

    Amazon's Buy Box percentage over several days or ASINs is the page-view-weighted mean of
    the daily ones; rows without a Buy Box figure stay out of both sides of the mean.
    """
    c = source.c
    units = sa.func.sum(c.units_ordered)
    buy_box_views = sa.func.sum(c.page_views).filter(c.buy_box_percentage.is_not(None))
    return [
        sa.func.sum(c.ordered_product_sales).label("ordered_product_sales"),
        units.label("units_ordered"),
        sa.func.sum(c.total_order_items).label("total_order_items"),
        sa.func.sum(c.sessions).label("sessions"),
        sa.func.sum(c.page_views).label("page_views"),
        _percent(units, sa.func.sum(c.sessions), 100).label("unit_session_percentage"),
        _percent(sa.func.sum(c.buy_box_percentage * c.page_views), buy_box_views, 1).label(
            "buy_box_percentage"
        ),
    ]


def _daily_sales(
    store_id: int, ids: list[str], start: date, end: date, keys: list[str]
) -> sa.Subquery:
    """Per key, an array of each day's sales as floats (a sparkline, never a figure to add up)."""
    t = sales_traffic_by_asin
    by_day = (
        sa.select(
            *(t.c[key] for key in keys),
            t.c.report_date,
            sa.func.sum(t.c.ordered_product_sales).label("sales"),
        )
        .where(_child_rows(store_id, ids, start, end))
        .group_by(*(t.c[key] for key in keys), t.c.report_date)
        .subquery("by_day")
    )
    key_list = sa.select(*(by_day.c[key] for key in keys)).distinct().subquery("key_list")
    days = sa.select(
        sa.cast(
            sa.func.generate_series(
                sa.cast(sa.literal(start, sa.Date), sa.DateTime),
                sa.cast(sa.literal(end, sa.Date), sa.DateTime),
                sa.cast(sa.literal("1 day", sa.Text), sa.Interval),
            ),
            sa.Date,
        ).label("day")
    ).subquery("days")
    reported = (
        sa.select(sales_traffic_by_date.c.report_date)
        .where(_in_range(sales_traffic_by_date, store_id, ids, start, end))
        .distinct()
        .subquery("reported")
    )
    value = sa.case(
        (reported.c.report_date.is_(None), sa.null()),
        else_=sa.func.coalesce(by_day.c.sales, 0),
    )
    return (
        sa.select(
            *(key_list.c[key] for key in keys),
            sa.func.array_agg(aggregate_order_by(sa.cast(value, sa.Float), days.c.day)).label(
                "daily_sales"
            ),
        )
        .select_from(
            key_list.join(days, sa.true())
            .outerjoin(reported, reported.c.report_date == days.c.day)
            .outerjoin(
                by_day,
                sa.and_(
                    by_day.c.report_date == days.c.day,
                    *(by_day.c[key] == key_list.c[key] for key in keys),
                ),
            )
        )
        .group_by(*(key_list.c[key] for key in keys))
        .subquery("sparkline")
    )


def _titles(store_id: int, ids: list[str]) -> sa.Subquery:
    """Each ASIN's title: the catalogue's, else its listing's (FBA and MFN twins share one)."""
    catalog = (
        sa.select(catalog_items.c.asin, sa.func.min(catalog_items.c.item_name).label("name"))
        .where(catalog_items.c.store_id == store_id, catalog_items.c.marketplace_id.in_(ids))
        .group_by(catalog_items.c.asin)
        .subquery("catalog")
    )
    listed = (
        sa.select(listings.c.asin, sa.func.min(listings.c.item_name).label("name"))
        .where(
            listings.c.store_id == store_id,
            listings.c.marketplace_id.in_(ids),
            listings.c.asin.is_not(None),
        )
        .group_by(listings.c.asin)
        .subquery("listed")
    )
    asins = sa.union(sa.select(catalog.c.asin), sa.select(listed.c.asin)).subquery("asins")
    return (
        sa.select(asins.c.asin, sa.func.coalesce(catalog.c.name, listed.c.name).label("title"))
        .select_from(
            asins.outerjoin(catalog, catalog.c.asin == asins.c.asin).outerjoin(
                listed, listed.c.asin == asins.c.asin
            )
        )
        .subquery("titles")
    )


def _skus(store_id: int, ids: list[str]) -> sa.Subquery:
    """Each ASIN's seller SKUs from the listings, comma-separated in order."""
    distinct_skus = (
        sa.select(listings.c.asin, listings.c.sku)
        .where(
            listings.c.store_id == store_id,
            listings.c.marketplace_id.in_(ids),
            listings.c.asin.is_not(None),
        )
        .distinct()
        .subquery("distinct_skus")
    )
    return (
        sa.select(
            distinct_skus.c.asin,
            sa.func.string_agg(
                distinct_skus.c.sku, aggregate_order_by(sa.literal(", "), distinct_skus.c.sku)
            ).label("sku"),
        )
        .group_by(distinct_skus.c.asin)
        .subquery("skus")
    )

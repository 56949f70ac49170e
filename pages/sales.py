"""Sales: the Sales and traffic report's KPIs with their change, trends against the comparison
period, every ASIN (child or parent) with a sparkline, and the ASINs that moved most."""

from __future__ import annotations

import polars as pl
import streamlit as st

from amzinsight.analytics.sales import (
    sales_by_asin,
    sales_kpis,
    sales_over_time,
    top_movers,
    with_comparison,
)
from amzinsight.errors import AmzInsightError
from app.components import (
    Kpi,
    download_buttons,
    empty_state,
    kpi_tiles,
    money_format,
    require_store,
    time_series,
)
from app.context import cached, show_error
from app.filters import current_filters
from app.labels import DATE_FORMAT

SYNC = "The Sales and traffic sync"
TREND_MEASURES = (
    "ordered_product_sales",
    "units_ordered",
    "sessions",
    "page_views",
    "unit_session_percentage",
    "buy_box_percentage",
)
MOVERS_SHOWN = 10

st.title("Sales")
filters = current_filters()
store = require_store(filters, "the Sales and traffic sync")
markets = filters.marketplace_ids
span = filters.date_range
comparison = filters.comparison
currency = filters.currency
show_parents = st.session_state.get("sales_parent_asins", False)

try:
    now = cached(sales_kpis, store.id, markets, span.start, span.end).row(0, named=True)
    if now["days_reported"] == 0:
        empty_state("sales and traffic data", SYNC)
        st.stop()
    before: dict = {}
    periods_before = None
    movers = None
    if comparison is not None:
        before = cached(sales_kpis, store.id, markets, comparison.start, comparison.end).row(
            0, named=True
        )
        periods_before = cached(
            sales_over_time,
            store.id,
            markets,
            comparison.start,
            comparison.end,
            filters.granularity,
        )
        movers = cached(
            top_movers,
            store.id,
            markets,
            span.start,
            span.end,
            comparison.start,
            comparison.end,
            MOVERS_SHOWN,
        )
    periods = cached(sales_over_time, store.id, markets, span.start, span.end, filters.granularity)
    asins = cached(
        sales_by_asin,
        store.id,
        markets,
        span.start,
        span.end,
        "parent" if show_parents else "child",
    )
except AmzInsightError as error:
    show_error(error)
    st.stop()


def as_fraction(row: dict, name: str) -> float | None:
    """Amazon's 0-100 percentages as the fractions the KPI tiles format."""
    value = row.get(name)
    return None if value is None else value / 100


kpi_tiles(
    [
        Kpi(
            "Ordered product sales",
            now["ordered_product_sales"],
            before.get("ordered_product_sales"),
            "money",
        ),
        Kpi("Units ordered", now["units_ordered"], before.get("units_ordered")),
        Kpi("Sessions", now["sessions"], before.get("sessions")),
        Kpi("Page views", now["page_views"], before.get("page_views")),
        Kpi(
            "Unit session %",
            as_fraction(now, "unit_session_percentage"),
            as_fraction(before, "unit_session_percentage"),
            "percent",
            help="Units ordered per session.",
        ),
        Kpi(
            "Buy Box %",
            as_fraction(now, "buy_box_percentage"),
            as_fraction(before, "buy_box_percentage"),
            "percent",
            help="Share of page views with your offer in the Buy Box, weighted by page views.",
        ),
    ],
    currency,
    per_row=3,
)
notes = []
if now["days_reported"] < span.days:
    notes.append(f"{now['days_reported']} of {span.days} days reported so far.")
if comparison is not None:
    notes.append(
        f"Changes against {comparison.start:%d %b %Y} - {comparison.end:%d %b %Y} "
        f"({filters.comparison_mode.lower()})."
    )
if notes:
    st.caption(" ".join(notes))

st.subheader("Over time")
trend = with_comparison(periods, periods_before, TREND_MEASURES)
current_label = "This period"
comparison_label = filters.comparison_mode if comparison is not None else None


def trend_chart(measure: str, title: str) -> None:
    """One measure per period, the comparison's same-position period drawn over it."""
    lines = [pl.col(measure).alias(current_label)]
    if comparison_label:
        lines.append(pl.col(f"comparison_{measure}").alias(comparison_label))
    plotted = trend.select("period", *lines)
    time_series(
        plotted,
        "period",
        [current_label, *([comparison_label] if comparison_label else [])],
        title,
        labels={"period": filters.granularity.title(), "value": title},
    )


left, right = st.columns(2)
with left:
    trend_chart("ordered_product_sales", f"Ordered product sales ({currency})")
with right:
    trend_chart("units_ordered", "Units ordered")
left, right = st.columns(2)
with left:
    trend_chart("sessions", "Sessions")
with right:
    trend_chart("unit_session_percentage", "Unit session % (units per session, %)")

with st.expander("Figures per period"):
    period_table = trend.select(
        "period",
        *TREND_MEASURES,
        *(
            ["comparison_period", *(f"comparison_{name}" for name in TREND_MEASURES)]
            if comparison is not None
            else []
        ),
        "days_reported",
    )
    measure_columns = {
        "ordered_product_sales": ("Sales", money_format(currency)),
        "units_ordered": ("Units", "%,d"),
        "total_order_items": ("Order items", "%,d"),
        "sessions": ("Sessions", "%,d"),
        "page_views": ("Page views", "%,d"),
        "unit_session_percentage": ("Unit session %", "%.1f%%"),
        "buy_box_percentage": ("Buy Box %", "%.1f%%"),
    }
    st.dataframe(
        period_table,
        hide_index=True,
        placeholder="",
        column_config={
            "period": st.column_config.DateColumn(filters.granularity.title(), format=DATE_FORMAT),
            "comparison_period": st.column_config.DateColumn("Compared with", format=DATE_FORMAT),
            **{
                f"{prefix}{name}": st.column_config.NumberColumn(
                    f"{label}{suffix}", format=number_format
                )
                for name, (label, number_format) in measure_columns.items()
                for prefix, suffix in (("", ""), ("comparison_", " (comparison)"))
            },
            "days_reported": st.column_config.NumberColumn("Days reported", format="%,d"),
        },
    )
    download_buttons(period_table, f"{store.slug}-sales-by-{filters.granularity}", "sales_periods")

st.subheader("ASINs")
st.toggle(
    "Roll up to parent ASINs",
    key="sales_parent_asins",
    help="A parent's sessions are the sum of its children's; Amazon's parent report counts a "
    "session that visits two children once.",
)
asin_columns = {
    "parent_asin": "Parent ASIN",
    "child_asin": "ASIN",
    "children": st.column_config.NumberColumn("Children"),
    "sku": "SKU",
    "title": st.column_config.TextColumn("Title", width="medium"),
    "ordered_product_sales": st.column_config.NumberColumn("Sales", format=money_format(currency)),
    # Green when the last reported day is above the first, red when below (not the theme's red).
    "daily_sales": st.column_config.LineChartColumn("Daily sales", y_min=0, color="auto"),
    "units_ordered": st.column_config.NumberColumn("Units", format="%,d"),
    "sessions": st.column_config.NumberColumn("Sessions", format="%,d"),
    "page_views": st.column_config.NumberColumn("Page views", format="%,d"),
    "unit_session_percentage": st.column_config.NumberColumn("Unit session %", format="%.1f%%"),
    "buy_box_percentage": st.column_config.NumberColumn("Buy Box %", format="%.1f%%"),
    "total_order_items": st.column_config.NumberColumn("Order items", format="%,d"),
}
if asins.is_empty():
    st.caption("No ASIN rows in this range: the Sales and traffic sync fills them.")
else:
    leading = ["parent_asin", "title", "children"] if show_parents else ["child_asin", "title"]
    trailing = [] if show_parents else ["sku", "parent_asin"]
    measures = [name for name in asin_columns if name in asins.columns and name not in leading]
    shown = asins.select(*leading, *(m for m in measures if m not in trailing), *trailing)
    # Days Amazon has not reported (null) are left out of the sparkline: a missing last day
    # would otherwise pull a rising line down to nothing and colour it as a fall.
    sparklines = shown.with_columns(pl.col("daily_sales").list.drop_nulls())
    st.dataframe(
        sparklines,
        hide_index=True,
        column_config=asin_columns,
        key="sales_asin_table",
        placeholder="",
    )
    level = "parent" if show_parents else "child"
    # The sparkline is a picture of the sales column: files get the figures and their currency.
    download_buttons(
        shown.drop("daily_sales").with_columns(asins["currency"]),
        f"{store.slug}-sales-by-{level}-asin",
        "sales_asins",
    )

st.subheader("Top movers")
if (comparison is None or movers is None) and filters.comparison_mode == "No comparison":
    st.caption("Choose a comparison in the sidebar to see which ASINs gained or lost sales.")
elif comparison is None or movers is None or movers.is_empty():
    st.caption(
        "No movers: the comparison range has no Sales and traffic report (or nothing changed)."
    )
else:
    mover_columns = {
        "child_asin": "ASIN",
        "title": st.column_config.TextColumn("Title", width="medium"),
        "change": st.column_config.NumberColumn("Change", format=money_format(currency)),
        "change_percentage": st.column_config.NumberColumn("Change %", format="%+.1f%%"),
        "ordered_product_sales": st.column_config.NumberColumn(
            "Sales", format=money_format(currency)
        ),
        "comparison_sales": st.column_config.NumberColumn(
            "Sales before", format=money_format(currency)
        ),
        "units_ordered": st.column_config.NumberColumn("Units", format="%,d"),
        "comparison_units": st.column_config.NumberColumn("Units before", format="%,d"),
        "parent_asin": "Parent ASIN",
    }
    for direction, title in (("gainer", "Gainers"), ("loser", "Losers")):
        st.markdown(f"**{title}**")
        chosen = movers.filter(pl.col("direction") == direction)
        if direction == "loser":
            chosen = chosen.sort("change")
        if chosen.is_empty():
            st.caption(f"No {title.lower()} against the comparison period.")
            continue
        st.dataframe(
            chosen.select(*mover_columns),
            hide_index=True,
            column_config=mover_columns,
            key=f"sales_{direction}s_table",
            placeholder="",
        )
        download_buttons(
            chosen.select(*mover_columns, "currency"),
            f"{store.slug}-sales-{direction}s",
            f"sales_{direction}s",
        )

"""Inventory: FBA stock per SKU with sales velocity, days of cover, restock quantity and reorder
date in status bands; reorder settings per SKU and store defaults; stranded and aging stock.

The stock is the latest FBA inventory snapshot up to the day after the chosen range (today at
most); the range's days are the sales window velocity is measured over.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import plotly.express as px
import polars as pl
import streamlit as st

from amzinsight.analytics.inventory import (
    POLICY,
    STATUSES,
    InventorySummary,
    inventory_position,
    position_summary,
    sku_reorder_settings,
    status_counts,
    store_reorder_defaults,
    stranded_and_aging,
)
from amzinsight.edits.audit import REORDER_SETTING_ACTION, change_log
from amzinsight.edits.reorder_settings import SETTING_BOUNDS, save_inventory_settings
from amzinsight.errors import AmzInsightError
from app.components import (
    Kpi,
    change_log_table,
    download_buttons,
    empty_state,
    kpi_tiles,
    money_format,
    require_store,
)
from app.context import cached, current_user, engine, show_error
from app.filters import current_filters
from app.labels import DATE_FORMAT, format_date, marketplace_label

SYNC = "The FBA inventory sync"
NOTICE_KEY = "inventory_notice"
SKU_EDITOR_KEY = "inventory_sku_settings"
STATUS_COLOURS = {
    "order now": "#e45756",
    "reorder soon": "#f2a93b",
    "healthy": "#54a24b",
    "overstock": "#4c78a8",
    "unknown": "#9d9d9d",
}
STATUS_BACKGROUNDS = {
    "order now": "#fbd5d5",
    "reorder soon": "#fde7c4",
    "healthy": "#d8efd3",
    "overstock": "#d3e2f2",
    "unknown": "#ececec",
}
POSITION_COLUMNS = (
    "sku", "asin", "title", "status", "available", "inbound", "reserved", "unfulfillable",
    "units_sold", "in_stock_days", "velocity", "days_of_cover", "restock_units", "reorder_date",
    "lead_time_days", "safety_days", "target_cover_days", "reason", "your_price", "currency",
    "snapshot_date", "marketplace_id",
)  # fmt: skip
SETTING_COLUMNS = {
    "lead_time_days": ("Lead time (days)", "Order to units available at FBA."),
    "safety_days": ("Safety days", "Extra cover against delays and demand spikes."),
    "target_cover_days": ("Target cover (days)", "Days of sales each order should cover."),
}


def sentence(status: str) -> str:
    """A status band as shown: `order now` -> `Order now`."""
    return status[:1].upper() + status[1:]


st.title("Inventory")
filters = current_filters()
store = require_store(filters, "the FBA inventory sync")
markets = filters.marketplace_ids
currency = filters.currency
span = filters.date_range
# The stock on the morning after the range (today at most); the range is the sales window.
as_of = min(span.end + timedelta(days=1), filters.today)
velocity_days = span.days

notice = st.session_state.pop(NOTICE_KEY, None)
if notice:
    st.success(notice)

try:
    position = cached(inventory_position, store.id, markets, as_of, velocity_days)
    previous = None
    if filters.comparison is not None:
        previous_as_of = min(filters.comparison.end + timedelta(days=1), filters.today)
        previous = cached(
            inventory_position, store.id, markets, previous_as_of, filters.comparison.days
        )
    aging = cached(stranded_and_aging, store.id, markets, as_of, POLICY.aging_no_sales_days)
    defaults = cached(store_reorder_defaults, store.id).row(0, named=True)
    sku_settings = cached(sku_reorder_settings, store.id, markets, as_of)
except AmzInsightError as error:
    show_error(error)
    st.stop()


def save_settings(rows: list[dict], what: str) -> None:
    """Write through the analytics check; on success say so after the rerun shows new figures."""
    try:
        written = save_inventory_settings(engine(), store.id, rows, current_user())
    except AmzInsightError as error:
        show_error(error)
        return
    st.session_state[NOTICE_KEY] = f"Saved {what} ({written} row(s)): restock figures updated."
    st.session_state.pop(SKU_EDITOR_KEY, None)  # the saved values are the table's data now
    st.rerun()


def defaults_form() -> None:
    """Store-wide lead time, safety and target cover: what every SKU without its own uses."""
    with st.form("inventory_defaults_form"):
        st.markdown("**Store defaults**")
        columns = st.columns(3)
        values = {
            name: column.number_input(
                label,
                min_value=SETTING_BOUNDS[name][0],
                max_value=SETTING_BOUNDS[name][1],
                value=int(defaults[name]),
                step=1,
                help=help_text,
                key=f"inventory_default_{name}",
            )
            for column, (name, (label, help_text)) in zip(
                columns, SETTING_COLUMNS.items(), strict=True
            )
        }
        if st.form_submit_button("Save store defaults"):
            save_settings([{"sku": "", **values}], "the store defaults")


if position.is_empty():
    empty_state("FBA inventory snapshot", SYNC)
    st.subheader("Reorder settings")
    defaults_form()
    st.stop()

summary = position_summary(position)
before = position_summary(previous) if previous is not None else InventorySummary(*[None] * 5)
kpi_tiles(
    [
        Kpi("SKUs", summary.skus, before.skus),
        Kpi(
            "SKUs at risk",
            summary.at_risk,
            before.at_risk,
            lower_is_better=True,
            help="Status 'order now' or 'reorder soon'.",
        ),
        Kpi("Units available", summary.available, before.available),
        Kpi("Units inbound", summary.inbound, before.inbound),
        Kpi(
            "Median days of cover",
            summary.median_cover_days,
            before.median_cover_days,
            "ratio",
            help="(Available + inbound) / units sold per in-stock day; SKUs with sales only.",
        ),
    ],
    currency,
    per_row=5,
)
snapshot_day = position["snapshot_date"].max()
window_start = as_of - timedelta(days=velocity_days)
st.caption(
    f"Stock from the FBA inventory snapshot of {format_date(snapshot_day)}. Velocity = units "
    f"sold from {format_date(window_start)} to {format_date(as_of - timedelta(days=1))} "
    f"({velocity_days} days) per in-stock day. "
    f"'Reorder soon' is within {POLICY.reorder_soon_days} days of 'order now'; overstock is "
    f"over {POLICY.overstock_cover_days} days of cover or stock without sales."
)

bands = status_counts(position).with_columns(pl.col("status").map_elements(sentence, pl.String))
figure = px.bar(
    bands.to_pandas(),
    x="status",
    y="skus",
    color="status",
    color_discrete_map={sentence(name): colour for name, colour in STATUS_COLOURS.items()},
    category_orders={"status": [sentence(name) for name in STATUSES]},
    labels={"status": "Status", "skus": "SKUs"},
    title="SKUs by status",
)
figure.update_layout(showlegend=False, margin={"t": 48, "b": 8})
st.plotly_chart(figure, width="stretch")

st.subheader("SKUs")
shown = position.select(POSITION_COLUMNS)
readable = shown.with_columns(
    pl.col("status").map_elements(sentence, pl.String),
    pl.col("marketplace_id").map_elements(marketplace_label, pl.String),
)
styled = readable.to_pandas().style.map(
    lambda status: f"background-color: {STATUS_BACKGROUNDS.get(status.lower(), '')}",
    subset=["status"],
)
st.dataframe(
    styled,
    hide_index=True,
    key="inventory_positions",
    placeholder="",
    column_config={
        "sku": "SKU",
        "asin": "ASIN",
        "title": st.column_config.TextColumn("Title", width="medium"),
        "status": "Status",
        "available": st.column_config.NumberColumn("Available", format="%,d"),
        "inbound": st.column_config.NumberColumn("Inbound", format="%,d"),
        "reserved": st.column_config.NumberColumn("Reserved", format="%,d"),
        "unfulfillable": st.column_config.NumberColumn("Unfulfillable", format="%,d"),
        "units_sold": st.column_config.NumberColumn("Units sold", format="%,d"),
        "in_stock_days": st.column_config.NumberColumn("In-stock days", format="%,d"),
        "velocity": st.column_config.NumberColumn("Units / day", format="%.2f"),
        "days_of_cover": st.column_config.NumberColumn("Days of cover", format="%.1f"),
        "restock_units": st.column_config.NumberColumn("Restock units", format="%,d"),
        "reorder_date": st.column_config.DateColumn("Reorder by", format=DATE_FORMAT),
        "lead_time_days": st.column_config.NumberColumn("Lead time (days)", format="%,d"),
        "safety_days": st.column_config.NumberColumn("Safety days", format="%,d"),
        "target_cover_days": st.column_config.NumberColumn("Target cover (days)", format="%,d"),
        "reason": "Why",
        "your_price": st.column_config.NumberColumn("Price", format=money_format(currency)),
        "currency": "Currency",
        "snapshot_date": st.column_config.DateColumn("Snapshot", format=DATE_FORMAT),
        "marketplace_id": "Marketplace",
    },
)
download_buttons(shown, f"{store.slug}-inventory-{as_of}", key="inventory_positions_download")

st.subheader("Reorder settings")
st.caption(
    "A blank SKU value follows the store default; clearing all three removes the SKU's own. "
    + ", ".join(
        f"{SETTING_COLUMNS[name][0]} {low}-{high}" for name, (low, high) in SETTING_BOUNDS.items()
    )
    + "."
)
defaults_form()
st.markdown("**Per SKU**")
edited = st.data_editor(
    sku_settings.to_pandas(),
    hide_index=True,
    num_rows="fixed",
    disabled=["sku", "title"],
    key=SKU_EDITOR_KEY,
    placeholder="",  # a blank value follows the store default
    column_config={
        "sku": "SKU",
        "title": st.column_config.TextColumn("Title", width="medium"),
        **{
            name: st.column_config.NumberColumn(
                label,
                help=help_text,
                min_value=SETTING_BOUNDS[name][0],
                max_value=SETTING_BOUNDS[name][1],
                step=1,
            )
            for name, (label, help_text) in SETTING_COLUMNS.items()
        },
    },
)
changed_rows = sorted(st.session_state.get(SKU_EDITOR_KEY, {}).get("edited_rows", {}))
if st.button(
    f"Save SKU settings ({len(changed_rows)} changed)",
    disabled=not changed_rows,
    key="inventory_save_sku_settings",
):
    changed = edited.iloc[[int(row) for row in changed_rows]][["sku", *SETTING_COLUMNS]]
    save_settings(
        changed.astype(object).where(pd.notna(changed), None).to_dict("records"),
        "the SKU settings",
    )
with st.expander("Reorder setting changes: who made them, and when"):
    change_log_table(
        cached(change_log, store.id, REORDER_SETTING_ACTION), key="inventory_settings_changes"
    )

st.subheader("Stranded and aging stock")
st.caption(
    "Unfulfillable units as Amazon reports them, and available stock without a sale in the last "
    f"{POLICY.aging_no_sales_days} days (our stand-in for Amazon's age buckets and stranded "
    "flags, which the synced reports do not carry)."
)
if aging.is_empty():
    st.caption("No unfulfillable, stranded or unsold stock in this snapshot.")
else:
    # Stranded flags and age buckets show only when a report filled them.
    aging = aging.select(
        name
        for name in aging.columns
        if name not in ("is_stranded", "aged_181_plus") or aging[name].null_count() < aging.height
    )
    st.dataframe(
        aging.with_columns(pl.col("marketplace_id").map_elements(marketplace_label, pl.String)),
        hide_index=True,
        key="inventory_aging",
        placeholder="",
        column_config={
            "marketplace_id": "Marketplace",
            "sku": "SKU",
            "asin": "ASIN",
            "title": st.column_config.TextColumn("Title", width="medium"),
            "snapshot_date": st.column_config.DateColumn("Snapshot", format=DATE_FORMAT),
            "available": st.column_config.NumberColumn("Available", format="%,d"),
            "unfulfillable": st.column_config.NumberColumn("Unfulfillable", format="%,d"),
            "researching": st.column_config.NumberColumn("Researching", format="%,d"),
            "is_stranded": st.column_config.CheckboxColumn("Stranded"),
            "aged_181_plus": st.column_config.NumberColumn("Aged 181+ days", format="%,d"),
            "units_sold": st.column_config.NumberColumn("Units sold", format="%,d"),
            "last_sale_date": st.column_config.DateColumn("Last sale", format=DATE_FORMAT),
            "issues": "Issues",
        },
    )
    download_buttons(aging, f"{store.slug}-stranded-aging-{as_of}", key="inventory_aging_download")

"""The store and date-range selector every page shares, kept in session state across pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
import streamlit as st

from amzinsight.analytics.periods import DEFAULT_PRESET, PRESETS, DateRange, date_range_for
from amzinsight.errors import AmzInsightError
from amzinsight.stores import Store, list_stores
from app.context import engine

STORE_KEY = "filters_store"
PRESET_KEY = "filters_preset"
CUSTOM_KEY = "filters_custom_range"


@dataclass(frozen=True)
class Filters:
    store: Store | None
    date_range: DateRange
    preset: str


def render_shared_filters(today: date | None = None) -> Filters:
    """Draw the sidebar selectors and return what they say (store None when there are none)."""
    try:
        stores = list_stores(engine())
    except (AmzInsightError, sa.exc.SQLAlchemyError) as error:
        st.sidebar.error(f"The database is not ready: {type(error).__name__}.")
        stores = []
    st.sidebar.header("Filters")
    store = None
    if stores:
        by_slug = {s.slug: s for s in stores}
        slug = st.sidebar.selectbox(
            "Store",
            options=list(by_slug),
            format_func=lambda s: f"{by_slug[s].name} ({s})",
            key=STORE_KEY,
        )
        store = by_slug[slug]
    today = today or date.today()
    preset = st.sidebar.selectbox(
        "Date range", PRESETS, index=PRESETS.index(DEFAULT_PRESET), key=PRESET_KEY
    )
    custom = None
    if preset == "Custom":
        default = date_range_for(DEFAULT_PRESET, today)
        chosen = st.sidebar.date_input(
            "From - to", value=(default.start, default.end), key=CUSTOM_KEY
        )
        if isinstance(chosen, tuple) and len(chosen) == 2:
            custom = (chosen[0], chosen[1])
        else:
            custom = (default.start, default.end)
    try:
        date_range = date_range_for(preset, today, custom)
    except AmzInsightError as error:
        st.sidebar.error(str(error))
        date_range = date_range_for(DEFAULT_PRESET, today)
    st.sidebar.caption(f"{date_range.start:%d %b %Y} - {date_range.end:%d %b %Y}")
    filters = Filters(store=store, date_range=date_range, preset=preset)
    st.session_state["filters"] = filters
    return filters


def current_filters() -> Filters:
    """What the sidebar chose on this run (the entry point renders it before the page)."""
    return st.session_state["filters"]

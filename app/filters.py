"""The sidebar filters every page shares (store, marketplace, dates, granularity, comparison)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
import streamlit as st

from amzinsight.analytics.periods import (
    COMPARISONS,
    DEFAULT_COMPARISON,
    DEFAULT_PRESET,
    GRANULARITIES,
    PRESETS,
    DateRange,
    comparison_range,
    date_range_for,
    local_today,
)
from amzinsight.errors import AmzInsightError
from amzinsight.stores import Store, StoreMarketplace, list_stores
from app.context import engine

STORE_KEY = "filters_store"
MARKETPLACE_KEY = "filters_marketplace"
PRESET_KEY = "filters_preset"
CUSTOM_KEY = "filters_custom_range"
GRANULARITY_KEY = "filters_granularity"
COMPARISON_KEY = "filters_comparison"


@dataclass(frozen=True)
class Filters:
    store: Store | None
    marketplace: StoreMarketplace | None  # one marketplace: its figures share one currency
    date_range: DateRange
    preset: str
    granularity: str  # "day", "week" or "month"
    comparison_mode: str
    comparison: DateRange | None  # None with "No comparison"
    today: date  # in the marketplace's time zone

    @property
    def marketplace_ids(self) -> tuple[str, ...]:
        return (self.marketplace.marketplace_id,) if self.marketplace else ()

    @property
    def currency(self) -> str:
        return self.marketplace.currency if self.marketplace else "USD"


def render_shared_filters(today: date | None = None) -> Filters:
    """Draw the sidebar selectors and return what they say (store None when there are none)."""
    try:
        stores = list_stores(engine())
    except (AmzInsightError, sa.exc.SQLAlchemyError) as error:
        st.sidebar.error(f"The database is not ready: {type(error).__name__}.")
        stores = []
    st.sidebar.header("Filters")
    store = marketplace = None
    if stores:
        by_slug = {s.slug: s for s in stores}
        slug = st.sidebar.selectbox(
            "Store",
            options=list(by_slug),
            format_func=lambda s: f"{by_slug[s].name} ({s})",
            key=STORE_KEY,
        )
        store = by_slug[slug]
        if store.marketplaces:
            by_id = {m.marketplace_id: m for m in store.marketplaces}
            if st.session_state.get(MARKETPLACE_KEY) not in by_id:
                st.session_state.pop(MARKETPLACE_KEY, None)  # the store changed
            chosen = st.sidebar.selectbox(
                "Marketplace",
                options=list(by_id),
                format_func=lambda m: f"{by_id[m].country_code} ({by_id[m].currency})",
                key=MARKETPLACE_KEY,
            )
            marketplace = by_id[chosen]
    if today is None:
        today = local_today(marketplace.time_zone) if marketplace else date.today()
    preset = st.sidebar.selectbox(
        "Date range", PRESETS, index=PRESETS.index(DEFAULT_PRESET), key=PRESET_KEY
    )
    custom = None
    if preset == "Custom":
        default = date_range_for(DEFAULT_PRESET, today)
        chosen_dates = st.sidebar.date_input(
            "From - to", value=(default.start, default.end), key=CUSTOM_KEY
        )
        if isinstance(chosen_dates, tuple) and len(chosen_dates) == 2:
            custom = (chosen_dates[0], chosen_dates[1])
        else:
            custom = (default.start, default.end)
    try:
        date_range = date_range_for(preset, today, custom)
    except AmzInsightError as error:
        st.sidebar.error(str(error))
        date_range = date_range_for(DEFAULT_PRESET, today)
    st.sidebar.caption(f"{date_range.start:%d %b %Y} - {date_range.end:%d %b %Y}")
    granularity = st.sidebar.segmented_control(
        "Granularity", GRANULARITIES, default="day", key=GRANULARITY_KEY
    )
    comparison_mode = st.sidebar.selectbox(
        "Compare with",
        COMPARISONS,
        index=COMPARISONS.index(DEFAULT_COMPARISON),
        key=COMPARISON_KEY,
    )
    comparison = comparison_range(date_range, comparison_mode)
    if comparison:
        st.sidebar.caption(f"vs {comparison.start:%d %b %Y} - {comparison.end:%d %b %Y}")
    filters = Filters(
        store=store,
        marketplace=marketplace,
        date_range=date_range,
        preset=preset,
        granularity=granularity or "day",
        comparison_mode=comparison_mode,
        comparison=comparison,
        today=today,
    )
    st.session_state["filters"] = filters
    return filters


def current_filters() -> Filters:
    """What the sidebar chose on this run (the entry point renders it before the page)."""
    return st.session_state["filters"]

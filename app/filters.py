"""The sidebar filters every page shares (store, marketplace, dates, granularity, comparison).

They live in the URL's query string too (`?store=demo&market=US&range=last-30-days&grain=day
&compare=previous-period`, with `from` and `to` for a custom range), so a reload or a bookmark
opens the same view: the URL is read on a session's first run and rewritten when a filter
changes. A value the app does not know falls back to the default, silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
import streamlit as st

from amzinsight.analytics.coverage import reported_days
from amzinsight.errors import AmzInsightError
from amzinsight.rules.periods import (
    COMPARISONS,
    DEFAULT_COMPARISON,
    DEFAULT_PRESET,
    GRANULARITIES,
    PRESETS,
    DateRange,
    date_range_for,
    format_range,
    local_today,
    reported_periods,
)
from amzinsight.stores import Store, StoreMarketplace, list_stores
from app.context import cached, engine

STORE_KEY = "filters_store"
MARKETPLACE_KEY = "filters_marketplace"
PRESET_KEY = "filters_preset"
CUSTOM_KEY = "filters_custom_range"
GRANULARITY_KEY = "filters_granularity"
COMPARISON_KEY = "filters_comparison"
URL_READ_KEY = "filters_url_read"  # set once the session's first run has read the URL
NOTES_SHOWN_KEY = "filters_notes_shown"  # the KPI tiles repeat the notes once per run

# Query-string parameter names and the words that stand for each choice in them.
URL_STORE, URL_MARKETPLACE, URL_RANGE, URL_FROM, URL_TO = "store", "market", "range", "from", "to"
URL_GRANULARITY, URL_COMPARISON = "grain", "compare"
URL_PARAMS = (
    URL_STORE,
    URL_MARKETPLACE,
    URL_RANGE,
    URL_FROM,
    URL_TO,
    URL_GRANULARITY,
    URL_COMPARISON,
)
PRESET_WORDS = {preset: preset.lower().replace(" ", "-") for preset in PRESETS}
COMPARISON_WORDS = {
    "Previous period": "previous-period",
    "Same period last year": "last-year",
    "No comparison": "none",
}
# st.date_input refuses a value further than ten years from its default (today).
CUSTOM_YEARS = 10


@dataclass(frozen=True)
class Filters:
    store: Store | None
    marketplace: StoreMarketplace | None  # one marketplace: its figures share one currency
    date_range: DateRange  # the chosen range less the days Amazon has not reported yet
    preset: str
    granularity: str  # "day", "week" or "month"
    comparison_mode: str
    comparison: DateRange | None  # None with "No comparison", or when nothing fair to compare
    today: date  # in the marketplace's time zone
    chosen_range: DateRange | None = None  # what the preset or custom dates say, untrimmed
    unreported: DateRange | None = None  # trailing days of chosen_range left out of both periods
    notes: tuple[str, ...] = ()  # why the ranges differ from what was chosen (sidebar captions)

    @property
    def marketplace_ids(self) -> tuple[str, ...]:
        return (self.marketplace.marketplace_id,) if self.marketplace else ()

    @property
    def currency(self) -> str:
        return self.marketplace.currency if self.marketplace else "USD"


def _url_choices() -> dict[str, str]:
    """The URL's filter parameters on the session's first run; nothing on later runs."""
    if st.session_state.get(URL_READ_KEY):
        return {}
    st.session_state[URL_READ_KEY] = True
    return {name: st.query_params[name] for name in URL_PARAMS if name in st.query_params}


def _seed(key: str, options: list[Any], wanted: object, default: object) -> None:
    """Before its widget is drawn: keep a valid choice, else take the URL's, else the default."""
    if st.session_state.get(key) in options:
        return
    st.session_state[key] = wanted if wanted in options else default


def _word_to_choice(words: dict[str, str], word: str | None) -> str | None:
    return next((choice for choice, known in words.items() if known == word), None)


def _url_dates(url: dict[str, str], today: date) -> tuple[date, date] | None:
    """`from` and `to` as a custom range, or None when either is missing, malformed or reversed."""
    try:
        start, end = date.fromisoformat(url[URL_FROM]), date.fromisoformat(url[URL_TO])
    except (KeyError, ValueError):
        return None
    earliest, latest = _shift_years(today, -CUSTOM_YEARS), _shift_years(today, CUSTOM_YEARS)
    if not earliest <= start <= end <= latest:
        return None
    return start, end


def _shift_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _marketplace_for_word(store: Store, word: str | None) -> str | None:
    """The marketplace the URL names, by country code (US) or marketplace id."""
    if not word:
        return None
    for market in store.marketplaces:
        if word.upper() in ((market.country_code or "").upper(), market.marketplace_id.upper()):
            return market.marketplace_id
    return None


def _reported(
    store: Store | None, marketplace: StoreMarketplace | None
) -> tuple[date | None, date | None]:
    """First and last day Amazon reported for the marketplace (None, None when unknown)."""
    if store is None or marketplace is None:
        return None, None
    try:
        row = cached(reported_days, store.id, marketplace.marketplace_id).row(0, named=True)
    except (AmzInsightError, sa.exc.SQLAlchemyError):
        return None, None
    return row["first_reported"], row["last_reported"]


def render_shared_filters(today: date | None = None) -> Filters:
    """Draw the sidebar selectors and return what they say (store None when there are none)."""
    url = _url_choices()
    try:
        stores = list_stores(engine())
    except (AmzInsightError, sa.exc.SQLAlchemyError) as error:
        st.sidebar.error(f"The database is not ready: {type(error).__name__}.")
        stores = []
    st.sidebar.header("Filters")
    store = marketplace = None
    if stores:
        by_slug = {s.slug: s for s in stores}
        _seed(STORE_KEY, list(by_slug), url.get(URL_STORE), stores[0].slug)
        slug = st.sidebar.selectbox(
            "Store",
            options=list(by_slug),
            format_func=lambda s: f"{by_slug[s].name} ({s})",
            key=STORE_KEY,
        )
        store = by_slug[slug]
        if store.marketplaces:
            by_id = {m.marketplace_id: m for m in store.marketplaces}
            wanted = _marketplace_for_word(store, url.get(URL_MARKETPLACE))
            _seed(MARKETPLACE_KEY, list(by_id), wanted, store.marketplaces[0].marketplace_id)
            chosen = st.sidebar.selectbox(
                "Marketplace",
                options=list(by_id),
                format_func=lambda m: f"{by_id[m].country_code} ({by_id[m].currency})",
                key=MARKETPLACE_KEY,
            )
            marketplace = by_id[chosen]
    if today is None:
        # No marketplace (no store yet) has no local date: UTC's stands in.
        today = local_today(marketplace.time_zone if marketplace else "UTC")
    wanted_preset = _word_to_choice(PRESET_WORDS, url.get(URL_RANGE))
    _seed(PRESET_KEY, list(PRESETS), wanted_preset, DEFAULT_PRESET)
    preset = st.sidebar.selectbox("Date range", PRESETS, key=PRESET_KEY)
    custom = None
    if preset == "Custom":
        default = date_range_for(DEFAULT_PRESET, today)
        if not _valid_custom(st.session_state.get(CUSTOM_KEY)):
            st.session_state[CUSTOM_KEY] = _url_dates(url, today) or (default.start, default.end)
        chosen_dates = st.sidebar.date_input("From - to", key=CUSTOM_KEY)
        if isinstance(chosen_dates, tuple) and len(chosen_dates) == 2:
            custom = (chosen_dates[0], chosen_dates[1])
        else:  # the second date is not picked yet
            custom = (default.start, default.end)
    try:
        chosen_range = date_range_for(preset, today, custom)
    except AmzInsightError as error:
        st.sidebar.error(str(error))
        chosen_range = date_range_for(DEFAULT_PRESET, today)
    st.sidebar.caption(format_range(chosen_range))
    wanted_grain = url.get(URL_GRANULARITY)
    _seed(GRANULARITY_KEY, list(GRANULARITIES), wanted_grain, "day")
    granularity = st.sidebar.segmented_control("Granularity", GRANULARITIES, key=GRANULARITY_KEY)
    wanted_comparison = _word_to_choice(COMPARISON_WORDS, url.get(URL_COMPARISON))
    _seed(COMPARISON_KEY, list(COMPARISONS), wanted_comparison, DEFAULT_COMPARISON)
    comparison_mode = st.sidebar.selectbox("Compare with", COMPARISONS, key=COMPARISON_KEY)
    first, last = _reported(store, marketplace)
    periods = reported_periods(chosen_range, preset, comparison_mode, first, last)
    if periods.comparison:
        st.sidebar.caption(f"vs {format_range(periods.comparison)}")
    for note in periods.notes:
        st.sidebar.caption(note)
    filters = Filters(
        store=store,
        marketplace=marketplace,
        date_range=periods.current,
        preset=preset,
        granularity=granularity or "day",
        comparison_mode=comparison_mode,
        comparison=periods.comparison,
        today=today,
        chosen_range=chosen_range,
        unreported=periods.unreported,
        notes=periods.notes,
    )
    _write_url(filters)
    st.session_state["filters"] = filters
    st.session_state[NOTES_SHOWN_KEY] = False
    return filters


def _valid_custom(value: object) -> bool:
    return isinstance(value, tuple) and len(value) in (1, 2)


def _write_url(filters: Filters) -> None:
    """Put the filters in the query string when they differ from it, keeping other parameters."""
    wanted: dict[str, str | None] = {
        URL_STORE: filters.store.slug if filters.store else None,
        URL_MARKETPLACE: _marketplace_word(filters.marketplace),
        URL_RANGE: PRESET_WORDS[filters.preset],
        URL_FROM: None,
        URL_TO: None,
        URL_GRANULARITY: filters.granularity,
        URL_COMPARISON: COMPARISON_WORDS[filters.comparison_mode],
    }
    if filters.preset == "Custom" and filters.chosen_range is not None:
        wanted[URL_FROM] = filters.chosen_range.start.isoformat()
        wanted[URL_TO] = filters.chosen_range.end.isoformat()
    if {name: st.query_params.get(name) for name in URL_PARAMS} == wanted:
        return
    kept = {name: st.query_params.get_all(name) for name in st.query_params}  # a page's ?asin=
    merged: dict[str, str | list[str]] = {
        name: value for name, value in kept.items() if name not in URL_PARAMS
    }
    merged.update({name: value for name, value in wanted.items() if value is not None})
    st.query_params.from_dict(merged)  # one update of the address bar, not one per parameter


def _marketplace_word(market: StoreMarketplace | None) -> str | None:
    return (market.country_code or market.marketplace_id) if market else None


def current_filters() -> Filters:
    """What the sidebar chose on this run (the entry point renders it before the page)."""
    filters: Filters = st.session_state["filters"]
    return filters

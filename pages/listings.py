"""Listings: one ASIN's content checked against Amazon's rules, its rating and reviews over time,
and the ad search terms that sell it but that its listing does not hold yet.

Other pages link here with `?asin=B0...` (st.page_link(..., query_params={"asin": ...})).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import polars as pl
import streamlit as st

from amzinsight.analytics.listings import keyword_coverage, listing_content, rating_trend
from amzinsight.errors import AmzInsightError
from amzinsight.rules.listings import LISTING_RULES
from app.components import (
    Kpi,
    as_text,
    download_buttons,
    format_money,
    kpi_tiles,
    money_format,
    require_store,
    time_series,
)
from app.context import cached, show_error
from app.filters import current_filters
from app.navigation import page

ASIN_KEY = "listings_asin"
LINKED_ASIN_KEY = "listings_linked_asin"
MISSING_STYLE = "background-color: rgba(255, 75, 75, 0.15)"
BACKEND_LIMIT = LISTING_RULES["backend_terms_too_long"].limit

st.title("Listings")
filters = current_filters()
store = require_store(
    filters, "the Listings and Catalog syncs (and the Ads syncs for the search terms)"
)
ids, currency = filters.marketplace_ids, filters.currency
start, end = filters.date_range.start, filters.date_range.end

try:
    content = cached(listing_content, store.id, ids)
except AmzInsightError as error:
    show_error(error)
    st.stop()
if content.is_empty():
    st.info(
        "**No listings for this marketplace yet.** The **Listings** and **Catalog** syncs fill "
        "this page (titles, bullets, search terms, images), and the **Sponsored Products search "
        "terms** and **advertised products** syncs its search-term coverage: run them from the "
        "Sync page."
    )
    st.stop()

# --- the ASIN ---------------------------------------------------------------------------------

titles = content.group_by("asin", maintain_order=True).agg(pl.col("title").first())
asins = titles["asin"].to_list()
title_of = dict(zip(asins, titles["title"].to_list(), strict=True))
linked = st.query_params.get("asin")
if linked in title_of and st.session_state.get(LINKED_ASIN_KEY) != linked:
    st.session_state[ASIN_KEY] = linked  # a link chooses once; then the picker does
    st.session_state[LINKED_ASIN_KEY] = linked
if st.session_state.get(ASIN_KEY) not in title_of:
    st.session_state.pop(ASIN_KEY, None)  # another marketplace or store
asin = st.selectbox(
    "ASIN",
    asins,
    format_func=lambda a: f"{a} · {title_of[a] or 'title unknown'}",
    key=ASIN_KEY,
)
# The address bar names the ASIN shown (a link to share); remembered as followed, so only a new
# link, not our own, overrides the picker.
st.query_params["asin"] = st.session_state[LINKED_ASIN_KEY] = asin

# --- content and rule checks --------------------------------------------------------------------


def content_card(rows: list[dict[str, Any]]) -> None:
    """One listing text (shared by the SKUs in rows) and what Amazon's rules say about it."""
    row = rows[0]
    skus = ", ".join(r["sku"] for r in rows if r["sku"]) or "none listed"
    with st.container(border=True):
        st.subheader(as_text(row["title"]) if row["title"] else "Title unknown")
        facts = [
            f"SKU {as_text(skus)}",
            as_text(row["status"]) if row["status"] else "status unknown",
            f"brand {as_text(row['brand']) if row['brand'] else 'unknown'}",
            f"{row['image_count']} images" if row["image_count"] is not None else "images unknown",
            format_money(row["price"], row["currency"] or currency),
        ]
        title_length = row["title_length"]
        facts.append("title unknown" if title_length is None else f"title {title_length} chars")
        st.caption(" · ".join(facts))
        bullets = row["bullets"]
        if bullets is None:
            st.markdown("**Bullet points:** unknown (the Catalog sync brings them)")
        else:
            st.markdown(f"**Bullet points ({len(bullets)})**")
            st.markdown("\n".join(f"- {as_text(bullet)}" for bullet in bullets) or "_none_")
        length = row["description_length"]
        st.markdown(
            "**Description:** " + ("unknown" if length is None else f"{length:,} characters")
        )
        terms = row["backend_terms"]
        if terms is None:
            st.markdown("**Backend search terms:** unknown")
        else:
            st.markdown(
                f"**Backend search terms:** {row['backend_terms_bytes']} of {BACKEND_LIMIT} bytes"
            )
            st.code(terms or " ", language=None, wrap_lines=True)
        findings = row["findings"] or []
        for finding in findings:
            show = st.error if finding["severity"] == "error" else st.warning
            show(f"{as_text(finding['message'])} _({finding['source']})_")
        if not findings:
            st.success("Passes every listing rule checked.")


chosen = content.filter(pl.col("asin") == asin).to_dicts()
texts: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
for row in chosen:  # SKUs of one ASIN usually share the text: one card for each distinct text
    text = (
        row["title"],
        tuple(row["bullets"] or ()),
        row["description_length"],
        row["backend_terms"],
    )
    texts.setdefault(text, []).append(row)
for rows in texts.values():
    content_card(rows)

st.page_link(
    page("assistant"),
    label="Rewrite this listing with the assistant",
    icon=":material/edit_note:",
    query_params={"asin": asin},
)

# --- rating and reviews --------------------------------------------------------------------------

st.subheader("Rating and reviews")
try:
    ratings = cached(rating_trend, store.id, ids, asin, start, end, filters.granularity)
    previous_ratings = (
        cached(
            rating_trend,
            store.id,
            ids,
            asin,
            filters.comparison.start,
            filters.comparison.end,
            filters.granularity,
        )
        if filters.comparison
        else None
    )
except AmzInsightError as error:
    show_error(error)
    st.stop()


def last(frame: pl.DataFrame | None, column: str) -> Any:
    return frame[column][-1] if frame is not None and not frame.is_empty() else None


if ratings.is_empty():
    st.info(
        "**No ratings for this ASIN in this range yet.** Amazon's SP-API has no ratings "
        "endpoint: import a ratings CSV (header `asin,date,rating,review_count`) with the Sync "
        f"page's upload or `amzinsight import {store.slug} ratings.csv`."
    )
else:
    kpi_tiles(
        [
            Kpi("Rating", last(ratings, "rating"), last(previous_ratings, "rating"), "ratio"),
            Kpi(
                "Reviews",
                last(ratings, "review_count"),
                last(previous_ratings, "review_count"),
            ),
        ],
        currency,
    )
    left, right = st.columns(2)
    with left:
        stars = ratings.select("period", pl.col("rating").alias("Star rating"))
        time_series(stars, "period", ["Star rating"], "Star rating", {"period": "", "value": ""})
    with right:
        reviews = ratings.select("period", pl.col("review_count").alias("Reviews"))
        time_series(reviews, "period", ["Reviews"], "Reviews", {"period": "", "value": ""})

# --- search terms ------------------------------------------------------------------------------

st.subheader("Search terms that convert")
min_orders = st.number_input(
    "Minimum 7-day orders", min_value=0, value=1, step=1, key="listings_min_orders"
)
try:
    terms = cached(keyword_coverage, store.id, ids, asin, start, end, int(min_orders))
    previous_terms = (
        cached(
            keyword_coverage,
            store.id,
            ids,
            asin,
            filters.comparison.start,
            filters.comparison.end,
            int(min_orders),
        )
        if filters.comparison
        else None
    )
except AmzInsightError as error:
    show_error(error)
    st.stop()


def summary(frame: pl.DataFrame | None) -> dict[str, Any]:
    if frame is None:
        return {}
    return {
        "terms": frame.height,
        "missing": frame.filter(pl.col("coverage") == "missing").height,
        "orders": frame["orders_7d"].sum(),
        "sales": frame["sales_7d"].sum() if frame.height else None,
    }


if terms.is_empty():
    st.info(
        f"**No search terms with {int(min_orders)} or more 7-day orders for this ASIN in this "
        "range.** The Sponsored Products search terms and advertised products syncs fill it: run "
        "them from the Sync page."
    )
else:
    now, before = summary(terms), summary(previous_terms)
    kpi_tiles(
        [
            Kpi("Converting terms", now["terms"], before.get("terms")),
            Kpi("Not in the listing", now["missing"], before.get("missing"), lower_is_better=True),
            Kpi("7-day orders", now["orders"], before.get("orders")),
            Kpi("7-day ad sales", now["sales"], before.get("sales"), "money"),
        ],
        currency,
    )
    missing = now["missing"]
    message = f"**{missing} converting terms not in the listing**"
    if missing:
        words = terms.filter(pl.col("coverage") == "missing")["search_term"].to_list()
        missing_words = as_text(", ".join(words[:10]))
        st.warning(f"{message}: {missing_words}{' ...' if len(words) > 10 else ''}")
    else:
        st.success(f"{message}: every converting term is in the title, bullets or search terms.")
    st.caption(
        "A term counts when each of its words is in the field (case, accents and plurals "
        "aside). Figures are the ad groups advertising this ASIN; with more than one ASIN in an "
        "ad group (column ASINs) they are shared. ACoS = spend / 7-day sales."
    )
    shown = terms.select(
        "search_term",
        "coverage",
        pl.col("missing_words").fill_null(""),
        "clicks",
        "orders_7d",
        "sales_7d",
        "spend",
        "acos_7d",
        "impressions",
        "ad_group_asins",
    )

    def highlight_missing(row: pd.Series) -> list[str]:
        return [MISSING_STYLE if row["coverage"] == "missing" else ""] * len(row)

    # ACoS is a fraction: shown as a percentage with one decimal, like every other page.
    shown_percent = shown.with_columns(pl.col("acos_7d") * 100)
    st.dataframe(
        shown_percent.to_pandas().style.apply(highlight_missing, axis=1),
        hide_index=True,
        key="listings_terms_table",
        placeholder="",
        column_config={
            "search_term": "Search term",
            "coverage": "In the listing",
            "missing_words": "Missing words",
            "clicks": st.column_config.NumberColumn("Clicks", format="%,d"),
            "orders_7d": st.column_config.NumberColumn("Orders (7-day)", format="%,d"),
            "sales_7d": st.column_config.NumberColumn(
                "Sales (7-day)", format=money_format(currency)
            ),
            "spend": st.column_config.NumberColumn("Spend", format=money_format(currency)),
            "acos_7d": st.column_config.NumberColumn("ACoS (7-day)", format="%.1f%%"),
            "impressions": st.column_config.NumberColumn("Impressions", format="%,d"),
            "ad_group_asins": st.column_config.NumberColumn("ASINs"),
        },
    )
    download_buttons(shown, f"{store.slug}-{asin}-search-terms", key="listings_terms")

# --- every listing -------------------------------------------------------------------------------

with st.expander(f"All {content.height} listings in this marketplace"):
    overview = content.select(
        "asin",
        "sku",
        "status",
        "title",
        "title_length",
        "bullet_count",
        "description_length",
        "backend_terms_bytes",
        "image_count",
        "error_count",
        "warning_count",
    )
    st.dataframe(
        overview,
        hide_index=True,
        key="listings_overview_table",
        placeholder="",
        column_config={
            "asin": "ASIN",
            "sku": "SKU",
            "status": "Status",
            "title": "Title",
            "title_length": st.column_config.NumberColumn("Title chars"),
            "bullet_count": st.column_config.NumberColumn("Bullets"),
            "description_length": st.column_config.NumberColumn("Description chars"),
            "backend_terms_bytes": st.column_config.NumberColumn(
                f"Search term bytes (of {BACKEND_LIMIT})"
            ),
            "image_count": st.column_config.NumberColumn("Images"),
            "error_count": st.column_config.NumberColumn("Errors"),
            "warning_count": st.column_config.NumberColumn("Warnings"),
        },
    )
    download_buttons(overview, f"{store.slug}-listings", key="listings_overview")

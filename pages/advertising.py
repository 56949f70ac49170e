"""Advertising: Sponsored Products results, and bid / harvest / negative recommendations that a
person approves, exports as a bulk sheet or applies, with the change log and undo."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from amzinsight.analytics.ads_policy import BidPolicy
from amzinsight.analytics.advertising import change_log, stored_recommendations
from amzinsight.analytics.bid_actions import apply_approved, decide, undo
from amzinsight.analytics.bids import recommend, save_recommendations
from amzinsight.analytics.bulk_sheet import bulk_sheet
from amzinsight.analytics.metrics import store_metrics
from amzinsight.errors import AmzInsightError
from amzinsight.ingest.sync import ads_client_for
from app.context import runtime, settings, show_error
from app.filters import current_filters

ACTOR = "advertising page"

st.title("Advertising")
filters = current_filters()
store = filters.store
if store is None:
    st.info("No stores yet: add one with `amzinsight store add` (see Home).")
    st.stop()
services = runtime()

markets = {m.marketplace_id: m for m in store.marketplaces}
marketplace_id = st.selectbox(
    "Marketplace",
    list(markets),
    format_func=lambda m: f"{markets[m].country_code or m} ({markets[m].currency})",
    key="advertising_marketplace",
)
try:
    kpis = store_metrics(
        services.engine, store, filters.date_range.start, filters.date_range.end, marketplace_id
    )
except AmzInsightError as error:
    show_error(error)
    st.stop()
ads = kpis["ads"]
currency = kpis["currency"]
columns = st.columns(6)
columns[0].metric("Ad spend", f"{ads['spend']} {currency}")
columns[1].metric("Ad sales (7-day)", f"{ads['sales']} {currency}")
columns[2].metric("ACoS", "n/a" if ads["acos"] is None else f"{ads['acos']:.1%}")
columns[3].metric("ROAS", "n/a" if ads["roas"] is None else f"{ads['roas']:.2f}")
columns[4].metric("TACoS", "n/a" if ads["tacos"] is None else f"{ads['tacos']:.1%}")
columns[5].metric("Clicks", f"{ads['clicks']:,}")
if ads["impressions"] == 0:
    st.caption("No Sponsored Products data in this range: the Ads syncs (sp_*) fill it.")

st.subheader("Recommendations")
left, right = st.columns([1, 3])
target_acos = left.number_input(
    "Target ACoS (blank: each campaign's, else break-even or the default)",
    min_value=0.0,
    max_value=1.0,
    value=None,
    step=0.05,
    key="advertising_target_acos",
)
if right.button("Recompute recommendations", key="advertising_recompute"):
    with st.status("Computing bid, harvest and negative recommendations...") as status:
        try:
            recs = recommend(services.engine, store, BidPolicy(), date.today(), target_acos)
            save_recommendations(services.engine, store.id, recs, recs.data_through)
            status.update(label=f"{recs.count} recommendations", state="complete")
        except AmzInsightError as error:
            status.update(label="Not computed", state="error")
            show_error(error)

recommendations = stored_recommendations(services.engine, store.id)
if recommendations.is_empty():
    st.caption("No recommendations yet: sync the Ads reports, then recompute.")
else:
    shown = recommendations.select(
        "id", "kind", "status", "search_term", "target_id", "match_type",
        "current_bid", "recommended_bid", "currency", "reason",
    )  # fmt: skip
    selection = st.dataframe(
        shown,
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key="advertising_recommendations",
        width="stretch",
    )
    chosen = [shown["id"][i] for i in selection.selection.rows]  # type: ignore[attr-defined]
    approve_col, reject_col, sheet_col, apply_col = st.columns(4)
    if approve_col.button(f"Approve {len(chosen)}", disabled=not chosen, key="advertising_approve"):
        st.toast(f"{decide(services.engine, store.id, chosen, True, ACTOR)} approved")
        st.rerun()
    if reject_col.button(f"Reject {len(chosen)}", disabled=not chosen, key="advertising_reject"):
        st.toast(f"{decide(services.engine, store.id, chosen, False, ACTOR)} rejected")
        st.rerun()
    approved = recommendations.filter(pl.col("status") == "approved")
    sheet_col.download_button(
        f"Bulk sheet ({approved.height} approved)",
        bulk_sheet(approved, currency) if approved.height else b"",
        file_name=f"{store.slug}-sponsored-products-bulk.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        disabled=approved.is_empty(),
        key="advertising_bulk_sheet",
    )
    if apply_col.button(
        f"Apply {approved.height} approved", disabled=approved.is_empty(), key="advertising_apply"
    ):
        with st.status("Sending approved changes to Amazon Ads...") as status:
            try:
                client = ads_client_for(settings(), store)
                result = apply_approved(services.engine, client, store.id, ACTOR)
                status.update(
                    label=f"{len(result.applied)} applied, {len(result.failed)} refused",
                    state="complete" if not result.failed else "error",
                )
                for rec_id, error in result.failed.items():
                    st.warning(f"Recommendation {rec_id}: {error}")
            except AmzInsightError as error:
                status.update(label="Nothing applied", state="error")
                show_error(error)

st.subheader("Change log")
changes = change_log(services.engine, store.id)
if changes.is_empty():
    st.caption("Nothing applied yet.")
else:
    picked = st.dataframe(
        changes,
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key="advertising_changes",
        width="stretch",
    )
    to_undo = [changes["id"][i] for i in picked.selection.rows]  # type: ignore[attr-defined]
    if st.button(f"Undo {len(to_undo)}", disabled=not to_undo, key="advertising_undo"):
        try:
            result = undo(
                services.engine, ads_client_for(settings(), store), store.id, to_undo, ACTOR
            )
            st.toast(f"{len(result.applied)} reverted, {len(result.failed)} refused")
            st.rerun()
        except AmzInsightError as error:
            show_error(error)

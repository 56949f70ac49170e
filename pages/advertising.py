"""Advertising: Sponsored Products performance (KPIs, periods, campaign -> ad group -> target and
search term drill-down), and bid / harvest / negative recommendations that a person approves,
exports as a bulk sheet or applies, with the change log and undo."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from amzinsight.analytics.ads_performance import (
    ad_group_performance,
    ads_kpis,
    ads_over_time,
    campaign_performance,
    search_term_performance,
    target_performance,
)
from amzinsight.analytics.ads_policy import BidPolicy
from amzinsight.analytics.advertising import change_log, stored_recommendations
from amzinsight.analytics.bid_actions import apply_approved, decide, undo
from amzinsight.analytics.bids import recommend, save_recommendations
from amzinsight.analytics.bulk_sheet import bulk_sheet
from amzinsight.errors import AmzInsightError
from amzinsight.ingest.sync import ads_client_for
from app.components import (
    Kpi,
    currency_symbol,
    download_buttons,
    empty_state,
    kpi_tiles,
    money_format,
    require_store,
)
from app.context import cached, runtime, settings, show_error
from app.filters import current_filters

ACTOR = "advertising page"
ADS_SYNCS = (
    "The Sponsored Products Ads sync (sp_campaigns, sp_ad_groups, sp_targeting, sp_search_term "
    "and sp_entities)"
)
METRIC_COLUMNS = (
    "spend", "sales_7d", "acos", "roas", "cpc", "ctr", "cvr",
    "impressions", "clicks", "orders", "units", "settling",
)  # fmt: skip
ALL_TARGETS = ""  # the search-term picker's "every target of the ad group"

st.title("Advertising")
filters = current_filters()
store = require_store(filters, ADS_SYNCS.removeprefix("The "))
services = runtime()
currency = filters.currency
marketplace_ids = filters.marketplace_ids
period = filters.date_range


def metric_columns() -> dict[str, Any]:
    """Column labels and formats shared by every drill-down table."""
    money = money_format(currency)
    return {
        "spend": st.column_config.NumberColumn("Spend", format=money),
        "sales_7d": st.column_config.NumberColumn("Sales (7-day)", format=money),
        "acos": st.column_config.NumberColumn("ACoS", format="percent"),
        "roas": st.column_config.NumberColumn("ROAS", format="%.2f"),
        "cpc": st.column_config.NumberColumn("CPC", format=money),
        "ctr": st.column_config.NumberColumn("CTR", format="percent"),
        "cvr": st.column_config.NumberColumn("CVR", format="percent"),
        "impressions": st.column_config.NumberColumn("Impressions", format="localized"),
        "clicks": st.column_config.NumberColumn("Clicks", format="localized"),
        "orders": st.column_config.NumberColumn("Orders (7-day)", format="localized"),
        "units": st.column_config.NumberColumn("Units (7-day)", format="localized"),
        "settling": st.column_config.CheckboxColumn(
            "Settling", help="Includes days Amazon may still restate"
        ),
    }


def performance_table(
    frame: pl.DataFrame, leading: dict[str, Any], file_stem: str, key: str
) -> None:
    """One drill-down level: its own columns first, then the shared metrics, and downloads."""
    shown = frame.select(*leading, *METRIC_COLUMNS)
    st.dataframe(
        shown,
        hide_index=True,
        column_config={**leading, **metric_columns()},
        key=key,
        width="stretch",
    )
    download_buttons(
        shown, f"{store.slug}-{file_stem}-{period.start}-{period.end}", key=f"{key}_download"
    )


def pick(label: str, options: list[str], names: dict[str, str], key: str) -> str | None:
    """A selectbox over ids shown by name; forgets a choice the new options no longer hold."""
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)
    return st.selectbox(label, options, format_func=lambda o: names.get(o, o), key=key)


def next_period(start: date) -> date:
    if filters.granularity == "week":
        return start + timedelta(days=7)
    if filters.granularity == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start + timedelta(days=1)


def shade_settling(figure: go.Figure, over_time: pl.DataFrame) -> None:
    """Grey bands over the periods holding days Amazon may still restate."""
    for start in over_time.filter(pl.col("settling"))["period"]:
        half = (next_period(start) - start) / 2
        middle = datetime.combine(start, time())
        figure.add_vrect(
            x0=middle - half,
            x1=middle + half,
            fillcolor="grey",
            opacity=0.15,
            line_width=0,
            annotation_text="settling",
            annotation_position="top left",
        )


def charts(over_time: pl.DataFrame) -> None:
    plotted = over_time.with_columns(pl.col("spend", "sales_7d").cast(pl.Float64)).to_pandas()
    money_axis = {"tickprefix": currency_symbol(currency)}
    left, right = st.columns(2)
    spend_sales = go.Figure(
        [
            go.Bar(x=plotted["period"], y=plotted["spend"], name="Spend"),
            go.Scatter(
                x=plotted["period"],
                y=plotted["sales_7d"],
                name="Sales (7-day)",
                mode="lines+markers",
            ),
        ]
    )
    spend_sales.update_layout(
        title="Spend vs 7-day sales", yaxis=money_axis, hovermode="x unified", legend_title_text=""
    )
    shade_settling(spend_sales, over_time)
    left.plotly_chart(spend_sales, width="stretch", key="advertising_spend_chart")
    ratios = go.Figure(
        [
            go.Scatter(x=plotted["period"], y=plotted[name], name=label, mode="lines+markers")
            for name, label in (("acos", "ACoS"), ("tacos", "TACoS"))
        ]
    )
    ratios.update_layout(title="ACoS and TACoS", yaxis={"tickformat": ".0%"}, hovermode="x unified")
    shade_settling(ratios, over_time)
    right.plotly_chart(ratios, width="stretch", key="advertising_ratio_chart")


def kpis_for(start: date, end: date) -> dict[str, Any]:
    return cached(ads_kpis, store.id, marketplace_ids, start, end).row(0, named=True)


def show_performance() -> None:
    now = kpis_for(period.start, period.end)
    before = (
        kpis_for(filters.comparison.start, filters.comparison.end) if filters.comparison else {}
    )
    tiles = [
        Kpi("Ad spend", now["spend"], before.get("spend"), "money", lower_is_better=True),
        Kpi("Ad sales (7-day)", now["sales_7d"], before.get("sales_7d"), "money"),
        Kpi("ACoS", now["acos"], before.get("acos"), "percent", lower_is_better=True,
            help="Spend / 7-day attributed sales"),
        Kpi("ROAS", now["roas"], before.get("roas"), "ratio", help="7-day sales / spend"),
        Kpi("TACoS", now["tacos"], before.get("tacos"), "percent", lower_is_better=True,
            help="Spend / total ordered product sales (organic and ad)"),
        Kpi("CPC", now["cpc"], before.get("cpc"), "money", lower_is_better=True),
        Kpi("CTR", now["ctr"], before.get("ctr"), "percent", help="Clicks / impressions"),
        Kpi("CVR", now["cvr"], before.get("cvr"), "percent", help="7-day orders / clicks"),
        Kpi("Impressions", now["impressions"], before.get("impressions")),
        Kpi("Clicks", now["clicks"], before.get("clicks")),
        Kpi("Orders (7-day)", now["orders"], before.get("orders")),
        Kpi("Total sales", now["total_sales"], before.get("total_sales"), "money"),
    ]  # fmt: skip
    kpi_tiles(tiles, currency, per_row=6)
    if not now["ad_days"]:
        empty_state("Sponsored Products data", ADS_SYNCS)
        return
    if now["settling_days"]:
        st.caption(
            f"The last {now['settling_days']} day(s) with ads data are still settling: Amazon may "
            "restate them (shaded in the charts, ticked in the tables)."
        )
    over_time = cached(
        ads_over_time, store.id, marketplace_ids, period.start, period.end, filters.granularity
    )
    charts(over_time)

    st.subheader("Campaigns")
    campaigns = cached(campaign_performance, store.id, marketplace_ids, period.start, period.end)
    performance_table(
        campaigns,
        {
            "campaign_name": "Campaign",
            "state": "State",
            "targeting_type": "Targeting",
            "budget": st.column_config.NumberColumn("Budget", format=money_format(currency)),
        },
        "campaigns",
        "advertising_campaigns",
    )
    campaign_id = pick(
        "Campaign",
        campaigns["campaign_id"].to_list(),
        dict(zip(campaigns["campaign_id"], campaigns["campaign_name"], strict=True)),
        "advertising_campaign",
    )
    if campaign_id is None:
        return

    st.subheader("Ad groups")
    ad_groups = cached(
        ad_group_performance, store.id, marketplace_ids, period.start, period.end, campaign_id
    )
    if ad_groups.is_empty():
        st.caption("No ad-group rows for this campaign: the sp_ad_groups sync fills them.")
        return
    performance_table(
        ad_groups,
        {
            "ad_group_name": "Ad group",
            "state": "State",
            "default_bid": st.column_config.NumberColumn(
                "Default bid", format=money_format(currency)
            ),
        },
        "ad-groups",
        "advertising_ad_groups",
    )
    ad_group_id = pick(
        "Ad group",
        ad_groups["ad_group_id"].to_list(),
        dict(zip(ad_groups["ad_group_id"], ad_groups["ad_group_name"], strict=True)),
        "advertising_ad_group",
    )
    if ad_group_id is None:
        return

    st.subheader("Keywords and product targets")
    targets = cached(
        target_performance, store.id, marketplace_ids, period.start, period.end, ad_group_id
    )
    if targets.is_empty():
        st.caption("No targeting rows for this ad group: the sp_targeting sync fills them.")
    else:
        performance_table(
            targets,
            {
                "target": "Keyword or target",
                "match_type": "Match type",
                "state": "State",
                "bid": st.column_config.NumberColumn("Bid", format=money_format(currency)),
            },
            "targets",
            "advertising_targets",
        )

    st.subheader("Search terms")
    target_names = {ALL_TARGETS: "Every target of the ad group"} | dict(
        zip(targets["target_id"], targets["target"], strict=True)
    )
    target_id = pick(
        "Search terms of", list(target_names), target_names, "advertising_search_target"
    )
    terms = cached(
        search_term_performance,
        store.id,
        marketplace_ids,
        period.start,
        period.end,
        ad_group_id,
        target_id or None,
    )
    if terms.is_empty():
        st.caption("No clicked search terms here: the sp_search_term sync fills them.")
        return
    performance_table(
        terms,
        {"search_term": "Search term", "target": "Through", "match_type": "Match type"},
        "search-terms",
        "advertising_search_terms",
    )


def show_recommendations() -> None:
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

    recommendations = stored_recommendations(
        services.engine, store.id, marketplace_ids=marketplace_ids
    )
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
        if approve_col.button(
            f"Approve {len(chosen)}", disabled=not chosen, key="advertising_approve"
        ):
            st.toast(f"{decide(services.engine, store.id, chosen, True, ACTOR)} approved")
            st.rerun()
        if reject_col.button(
            f"Reject {len(chosen)}", disabled=not chosen, key="advertising_reject"
        ):
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
            f"Apply {approved.height} approved",
            disabled=approved.is_empty(),
            key="advertising_apply",
        ):
            with st.status("Sending approved changes to Amazon Ads...") as status:
                try:
                    client = ads_client_for(settings(), store)
                    result = apply_approved(
                        services.engine, client, store.id, ACTOR, approved["id"].to_list()
                    )
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
    changes = change_log(services.engine, store.id, marketplace_ids=marketplace_ids)
    if changes.is_empty():
        st.caption("Nothing applied yet.")
        return
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


performance_tab, recommendations_tab = st.tabs(["Performance", "Recommendations"])
with performance_tab:
    try:
        show_performance()
    except AmzInsightError as error:
        show_error(error)
with recommendations_tab:
    show_recommendations()

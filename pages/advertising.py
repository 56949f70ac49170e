"""Advertising: Sponsored Products performance (KPIs, periods, campaign -> ad group -> target and
search term drill-down), and bid / harvest / negative recommendations that a person approves,
exports as a bulk sheet or applies, with the change log and undo.

The Recommendations tab is a fragment: its clicks redraw the tab, not the page. Recomputing,
applying and undoing run in the worker (the page never calls Amazon); the tab shows their
progress and outcome.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

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
from amzinsight.bidding.bulk_sheet import bulk_sheet, check_bulk_sheet
from amzinsight.bidding.queries import change_log, stored_recommendations
from amzinsight.bidding.review import (
    DIRECTIONS,
    KIND_LABELS,
    evidence_in_words,
    match_type_label,
    recommendation_review,
)
from amzinsight.bidding.store import decide
from amzinsight.errors import AmzInsightError
from amzinsight.rules.periods import local_today
from app.components import (
    Kpi,
    as_text,
    currency_symbol,
    date_axis,
    download_button,
    download_buttons,
    empty_state,
    format_money,
    kpi_tiles,
    money_format,
    require_store,
)
from app.context import cached, current_user, known_user, redis_or_none, runtime, show_error
from app.filters import current_filters
from app.job_status import JobOutcome, follow_job, problem, remember_job
from app.jobs import apply_job, queue_apply, queue_recompute, queue_undo, recompute_job, undo_job

ADS_SYNCS = (
    "The Sponsored Products Ads sync (sp_campaigns, sp_ad_groups, sp_targeting, sp_search_term "
    "and sp_entities)"
)
METRIC_COLUMNS = (
    "spend", "sales_7d", "acos", "roas", "cpc", "ctr", "cvr",
    "impressions", "clicks", "orders", "units", "settling",
)  # fmt: skip
ALL_TARGETS = ""  # the search-term picker's "every target of the ad group"
EVERY = "Every campaign"
DETAILS = 3  # selected rows whose reason and evidence are shown in full
STATUS_LABELS = {
    "proposed": "Proposed",
    "approved": "Approved",
    "rejected": "Rejected",
    "applied": "Applied",
    "failed": "Failed",
    "undone": "Undone",
}
SORTS = {  # label: (columns, descending)
    "Net effect, largest first": (["net_effect", "id"], [True, False]),
    "Spend change, largest saving first": (["spend_change", "id"], [False, False]),
    "Campaign and ad group": (["campaign", "ad_group", "target"], [False, False, False]),
    "Kind and change": (["kind", "direction", "campaign", "target"], [False] * 4),
}
EFFECT_HELP = (
    "Expected change over the next 30 days from the clicks, CPC and conversion seen: for a bid, "
    "clicks follow the bid in proportion at the observed CPC (never above the new bid), sales at "
    "the smoothed conversion and order value; for a negative, the spend saved at its no-sale "
    "rate. Empty where it cannot be estimated (harvests, rows without click data)."
)
NET_HELP = (
    "Sales change x target ACoS - spend change: positive when the change buys sales at or under "
    "the target ACoS or stops spend above it (with a break-even target, the change in profit)."
)
ENTITY_LABELS = {
    "keyword": "Keyword",
    "product_target": "Product target",
    "negative_keyword": "Negative keyword",
    "campaign_negative_keyword": "Campaign negative keyword",
}
FIELD_LABELS = {"bid": "Bid", "state": "State", "negative": "Negative added"}

st.title("Advertising")
filters = current_filters()
store = require_store(filters, ADS_SYNCS.removeprefix("The "))
services = runtime()
currency = filters.currency
marketplace_ids = filters.marketplace_ids
period = filters.date_range
market_code = filters.marketplace.country_code.lower() if filters.marketplace else "all"
zone = filters.marketplace.time_zone if filters.marketplace else "UTC"
connection = redis_or_none()
NO_QUEUE = "Redis is not reachable, so nothing can be handed to the worker from here."


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
    shown = readable(frame.select(*leading, *METRIC_COLUMNS))
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


def readable(frame: pl.DataFrame) -> pl.DataFrame:
    """Amazon's codes as words (ENABLED -> Enabled, NEGATIVE_EXACT -> Negative exact) and
    "unknown" for a name or text the reports do not hold."""
    codes = [name for name in ("state", "targeting_type") if name in frame.columns]
    texts = [
        name
        for name in ("campaign_name", "ad_group_name", "target", "search_term")
        if name in frame.columns
    ]
    frame = frame.with_columns(
        *(
            (
                pl.col(name).str.slice(0, 1).str.to_uppercase()
                + pl.col(name).str.slice(1).str.to_lowercase().str.replace_all("_", " ")
            ).fill_null("unknown")
            for name in codes
        ),
        *(pl.col(name).fill_null("unknown") for name in texts),
    )
    if "match_type" in frame.columns:
        frame = frame.with_columns(
            pl.col("match_type").map_elements(match_type_label, return_dtype=pl.String)
        )
    return frame


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
    """One grey band, labelled once, over each run of periods holding days Amazon may still
    restate (a band per day made their labels overprint each other)."""
    runs: list[list[date]] = []
    for start in sorted(over_time.filter(pl.col("settling"))["period"]):
        if runs and next_period(runs[-1][-1]) == start:
            runs[-1].append(start)
        else:
            runs.append([start])
    for run in runs:
        first, last = run[0], run[-1]
        figure.add_vrect(
            x0=datetime.combine(first, time()) - (next_period(first) - first) / 2,
            x1=datetime.combine(last, time()) + (next_period(last) - last) / 2,
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
    date_axis(spend_sales, over_time["period"].to_list())
    left.plotly_chart(spend_sales, width="stretch", key="advertising_spend_chart")
    ratios = go.Figure(
        [
            go.Scatter(x=plotted["period"], y=plotted[name], name=label, mode="lines+markers")
            for name, label in (("acos", "ACoS"), ("tacos", "TACoS"))
        ]
    )
    ratios.update_layout(title="ACoS and TACoS", yaxis={"tickformat": ".0%"}, hovermode="x unified")
    shade_settling(ratios, over_time)
    date_axis(ratios, over_time["period"].to_list())
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


def recompute() -> None:
    """The worker recomputes the store's recommendations as of the marketplace's local today."""
    left, right = st.columns([1, 3])
    target_acos = left.number_input(
        "Target ACoS (blank: each campaign's, else break-even or the default)",
        min_value=0.0,
        max_value=1.0,
        value=None,
        step=0.05,
        key="advertising_target_acos",
    )
    today = local_today(zone)
    if (
        right.button(
            "Recompute recommendations", key="advertising_recompute", disabled=connection is None
        )
        and connection is not None
    ):
        identifier, created = queue_recompute(connection, store.slug, today, target_acos)
        remember_job("advertising_recompute", identifier)
        st.toast("Recompute queued." if created else "A recompute is already queued or running.")
    if connection is None:
        right.caption(NO_QUEUE)
        return
    follow_job(
        connection,
        "advertising_recompute",
        "Computing bid, harvest and negative recommendations",
        recompute_ended,
        live_identifier=recompute_job(store.slug, today),
    )


def recompute_ended(outcome: JobOutcome) -> None:
    sentence = problem(outcome)
    if sentence is not None:
        st.status("Not computed", state="error")
        st.error(sentence)
        return
    st.status(f"{outcome.result['count']} recommendations", state="complete")


def review_filters(review: pl.DataFrame) -> pl.DataFrame:
    """The rows the filters keep, in the order the sort asks for."""
    kind_col, direction_col, campaign_col, status_col, sort_col = st.columns(5)
    kinds = kind_col.multiselect(
        "Kind", list(KIND_LABELS), format_func=KIND_LABELS.get, key="advertising_rec_kinds"
    )
    directions = direction_col.multiselect(
        "Change", list(DIRECTIONS), format_func=str.capitalize, key="advertising_rec_directions"
    )
    campaigns = sorted(name for name in review["campaign"].unique().to_list() if name)
    campaign = campaign_col.selectbox(
        "Campaign", [EVERY, *campaigns], key="advertising_rec_campaign"
    )
    present = [status for status in STATUS_LABELS if status in set(review["status"])]
    statuses = status_col.multiselect(
        "Status",
        present,
        default=[status for status in ("proposed", "approved") if status in present],
        format_func=STATUS_LABELS.get,
        key="advertising_rec_statuses",
    )
    order = sort_col.selectbox("Sort by", list(SORTS), key="advertising_rec_sort")
    shown = review
    if kinds:
        shown = shown.filter(pl.col("kind").is_in(kinds))
    if directions:
        shown = shown.filter(pl.col("direction").is_in(directions))
    if campaign != EVERY:
        shown = shown.filter(pl.col("campaign") == campaign)
    if statuses:
        shown = shown.filter(pl.col("status").is_in(statuses))
    columns, descending = SORTS[order]
    shown = shown.sort(columns, descending=descending, nulls_last=True)
    # a selection is of row positions: once the rows shown change it would point at others
    rows_shown = hash(tuple(shown["id"].to_list()))
    if st.session_state.get("advertising_rec_rows_shown") != rows_shown:
        st.session_state["advertising_rec_rows_shown"] = rows_shown
        st.session_state.pop("advertising_recommendations", None)
    return shown


def review_table(shown: pl.DataFrame) -> list[int]:
    """The review table with people's labels; returns the ids of the selected rows."""
    money = money_format(currency)
    table = shown.select(
        "id",
        pl.col("status").replace_strict(STATUS_LABELS, default=pl.col("status")),
        pl.col("kind").replace_strict(KIND_LABELS, default=pl.col("kind")),
        pl.col("direction").str.to_titlecase(),
        # What a reviewer decides on first, then where it lives; the rest scrolls.
        "target", "match_type", "current_bid", "proposed_bid", "net_effect",
        "spend_change", "sales_change", "campaign", "ad_group", "deciding_fact", "reason",
    )  # fmt: skip
    selection = st.dataframe(
        table,
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key="advertising_recommendations",
        width="stretch",
        column_order=[name for name in table.columns if name != "id"],
        column_config={
            "status": "Status",
            "kind": "Kind",
            "direction": "Change",
            "target": st.column_config.TextColumn("Keyword or target", width="medium"),
            "match_type": "Match type",
            "campaign": st.column_config.TextColumn("Campaign", width="medium"),
            "ad_group": st.column_config.TextColumn("Ad group", width="medium"),
            "current_bid": st.column_config.NumberColumn("Current bid", format=money),
            "proposed_bid": st.column_config.NumberColumn("Proposed bid", format=money),
            "spend_change": st.column_config.NumberColumn(
                "Spend, 30 days", format=money, help=EFFECT_HELP
            ),
            "sales_change": st.column_config.NumberColumn(
                "Sales, 30 days", format=money, help=EFFECT_HELP
            ),
            "net_effect": st.column_config.NumberColumn(
                "Net effect, 30 days", format=money, help=NET_HELP
            ),
            "deciding_fact": st.column_config.TextColumn("Decided by", width="medium"),
            "reason": st.column_config.TextColumn(
                "Reason", width="large", help="Select a row to read it in full"
            ),
        },
    )
    rows = selection.selection.rows  # type: ignore[attr-defined]
    # a selection made before the filters changed may point past the rows shown now
    return [int(table["id"][i]) for i in rows if i < table.height]


def review_detail(shown: pl.DataFrame, chosen: list[int]) -> None:
    """The full reason and its evidence in words, for the first rows selected."""
    for rec_id in chosen[:DETAILS]:
        row = shown.filter(pl.col("id") == rec_id).row(0, named=True)
        with st.container(border=True):
            place = " / ".join(part for part in (row["campaign"], row["ad_group"]) if part)
            st.text(f"{row['target']} ({row['match_type'] or 'no match type'}), {place}")
            st.text(row["reason"] or "No reason was recorded.")
            st.text("\n".join(evidence_in_words(row, lambda value: format_money(value, currency))))
    if len(chosen) > DETAILS:
        st.caption(f"Details of the first {DETAILS} of {len(chosen)} selected rows.")


def decide_buttons(shown: pl.DataFrame, chosen: list[int]) -> None:
    """Decisions are recorded under the person's name, in the buttons' callbacks: those run
    before the tab redraws, so the table shows the new statuses."""
    every = shown["id"].to_list()
    actor = known_user()
    columns = st.columns(4)
    for column, label, ids, approve, key in (
        (columns[0], f"Approve {len(chosen)} selected", chosen, True, "advertising_approve"),
        (columns[1], f"Reject {len(chosen)} selected", chosen, False, "advertising_reject"),
        (columns[2], f"Approve all {len(every)} shown", every, True, "advertising_approve_all"),
        (columns[3], f"Reject all {len(every)} shown", every, False, "advertising_reject_all"),
    ):
        clicked = column.button(
            label,
            disabled=not ids,
            key=key,
            on_click=record_decision if actor else None,
            args=(ids, approve, actor) if actor else None,
        )
        if clicked and actor is None:
            current_user()  # says who must be named first, and stops


def record_decision(ids: list[int], approve: bool, actor: str) -> None:
    changed = decide(services.engine, store.id, ids, approve, actor)
    st.toast(f"{changed} {'approved' if approve else 'rejected'}")


def send_approved() -> None:
    """The bulk sheet and the Ads API, for this marketplace's approved rows (one Ads profile)."""
    approved = stored_recommendations(
        services.engine, store.id, statuses=("approved",), marketplace_ids=marketplace_ids
    )
    sheet_col, apply_col = st.columns(2)
    exportable = not approved.is_empty()
    try:
        check_bulk_sheet(approved, currency)
    except AmzInsightError as error:
        show_error(error)
        exportable = False
    download_button(
        f"Bulk sheet ({approved.height} approved)",
        lambda: bulk_sheet(approved, currency),
        file_name=f"{store.slug}-{market_code}-sponsored-products-bulk.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="advertising_bulk_sheet",
        container=sheet_col,
        disabled=not exportable,
    )
    if (
        apply_col.button(
            f"Apply {approved.height} approved through the Ads API",
            disabled=approved.is_empty() or connection is None,
            key="advertising_apply",
        )
        and connection is not None
    ):
        identifier, created = queue_apply(
            connection, store.slug, approved["id"].to_list(), current_user()
        )
        remember_job("advertising_apply", identifier)
        st.toast("Apply queued." if created else "An apply is already queued or running.")
    if connection is None:
        apply_col.caption(NO_QUEUE)
        return
    follow_job(
        connection,
        "advertising_apply",
        "Sending approved changes to Amazon Ads",
        partial(changes_ended, done="applied"),
        live_identifier=apply_job(store.slug),
    )


def changes_ended(outcome: JobOutcome, done: str) -> None:
    """An apply or undo job's outcome: how many changes Amazon Ads took (`done`: "applied",
    "reverted") and refused, each refusal with Amazon's answer shown as text."""
    sentence = problem(outcome)
    if sentence is not None:
        st.status(f"Nothing {done}", state="error")
        st.error(sentence)
        return
    applied, failed = outcome.result["applied"], outcome.result["failed"]
    st.status(
        f"{len(applied)} {done}, {len(failed)} refused",
        state="complete" if not failed else "error",
    )
    for rec_id, error in failed.items():
        st.warning(f"Recommendation {rec_id}: {as_text(error)}")


@st.fragment
def show_recommendations() -> None:
    recompute()
    review = recommendation_review(services.engine, store.id, marketplace_ids)
    if review.is_empty():
        st.caption("No recommendations yet: sync the Ads reports, then recompute.")
    else:
        shown = review_filters(review)
        st.caption(
            f"{shown.height} of {review.height} recommendations shown. Select rows to read "
            "their reason and evidence in full, and to approve or reject them."
        )
        chosen = review_table(shown)
        review_detail(shown, chosen)
        decide_buttons(shown, chosen)
        send_approved()
    show_change_log()


def local_time(moment: datetime | None, zone: str) -> str:
    """A UTC timestamp as the marketplace's wall time, to the minute (12 Mar 2026 14:05)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(zone)).strftime("%d %b %Y %H:%M")


def show_change_log() -> None:
    st.subheader("Change log")
    changes = change_log(services.engine, store.id, marketplace_ids=marketplace_ids)
    if changes.is_empty():
        st.caption("Nothing applied yet.")
        return

    def amounts(bids: str, values: str) -> list[str]:
        return [
            format_money(bid, currency) if bid is not None else (value or "")
            for bid, value in zip(changes[bids].to_list(), changes[values].to_list(), strict=True)
        ]

    def outcome(change: dict[str, Any]) -> str:
        if change["undone_by_change_id"] is not None:
            return "Undone"
        return "Applied" if change["succeeded"] else "Refused by Amazon"

    rows = changes.to_dicts()
    shown = pl.DataFrame(
        {
            "id": changes["id"],
            "when": [local_time(row["applied_at"], zone) for row in rows],
            "target": [row["target"] or "unknown" for row in rows],
            "entity": [ENTITY_LABELS.get(row["entity_type"], "Other") for row in rows],
            "field": [FIELD_LABELS.get(row["field"], "Other") for row in rows],
            "before": amounts("before_bid", "before_value"),
            "after": amounts("after_bid", "after_value"),
            "applied_by": [row["applied_by"] or "unknown" for row in rows],
            "outcome": [outcome(row) for row in rows],
            "answer": [
                "" if row["succeeded"] else str(row["amazon_response"] or "") for row in rows
            ],
        }
    )
    picked = st.dataframe(
        shown,
        hide_index=True,
        on_select="rerun",
        selection_mode="multi-row",
        key="advertising_changes",
        width="stretch",
        column_order=[name for name in shown.columns if name != "id"],
        column_config={
            "when": st.column_config.TextColumn("When", help=f"Local time ({zone})"),
            "target": "Keyword or target",
            "entity": "Entity",
            "field": "Changed",
            "before": "Before",
            "after": "After",
            "applied_by": "By",
            "outcome": "Outcome",
            "answer": st.column_config.TextColumn("Amazon's answer", width="large"),
        },
    )
    rows = picked.selection.rows  # type: ignore[attr-defined]
    to_undo = [changes["id"][i] for i in rows if i < changes.height]
    if (
        st.button(
            f"Undo {len(to_undo)}",
            disabled=not to_undo or connection is None,
            key="advertising_undo",
        )
        and connection is not None
    ):
        identifier, created = queue_undo(
            connection, store.slug, [int(i) for i in to_undo], current_user()
        )
        remember_job("advertising_undo", identifier)
        st.toast("Undo queued." if created else "An undo is already queued or running.")
    if connection is not None:
        follow_job(
            connection,
            "advertising_undo",
            "Reverting changes at Amazon Ads",
            partial(changes_ended, done="reverted"),
            live_identifier=undo_job(store.slug),
        )


performance_tab, recommendations_tab = st.tabs(["Performance", "Recommendations"])
with performance_tab:
    try:
        show_performance()
    except AmzInsightError as error:
        show_error(error)
with recommendations_tab:
    show_recommendations()

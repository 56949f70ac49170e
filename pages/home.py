"""Overview: the store's headline KPIs with their change, trends, alerts and data freshness."""

from __future__ import annotations

import polars as pl
import streamlit as st

from amzinsight.analytics.ads_performance import ads_over_time
from amzinsight.analytics.freshness import data_freshness
from amzinsight.analytics.overview import overview_alerts, overview_kpis
from amzinsight.analytics.sales import sales_over_time
from amzinsight.errors import AmzInsightError
from app.components import Kpi, kpi_tiles, time_series
from app.context import cached, engine, show_error
from app.filters import current_filters
from app.navigation import page

st.title("Overview")
filters = current_filters()
store = filters.store
if store is None:
    st.info(
        "**No stores yet.** Register a seller account from a terminal, then sync it:\n\n"
        "```\namzinsight store add acme_us --name 'Acme US' --marketplace US\n```\n\n"
        "Put its credentials in the environment as encrypted values "
        "(`AMZ_STORES__ACME_US__SP_REFRESH_TOKEN=enc:...`, see `.env.example` and "
        "`amzinsight secrets encrypt`). To look around first, start with `amzinsight up --demo`."
    )
    st.stop()

sandbox = " (sandbox)" if store.is_sandbox else ""
st.markdown(f"#### {store.name}{sandbox}")
markets = ", ".join(store.country_codes) or "no marketplaces"
st.caption(f"`{store.slug}` · region {store.region.upper()} · {markets}")

if filters.marketplace is not None:
    market = filters.marketplace.marketplace_id
    span = filters.date_range
    try:
        now = cached(overview_kpis, store.id, market, span.start, span.end).row(0, named=True)
        before: dict = {}
        if filters.comparison is not None:
            before = cached(
                overview_kpis, store.id, market, filters.comparison.start, filters.comparison.end
            ).row(0, named=True)
        alerts = cached(overview_alerts, store.id, market, filters.today)
        ids, grain = filters.marketplace_ids, filters.granularity
        sales_trend = cached(sales_over_time, store.id, ids, span.start, span.end, grain)
        ads_trend = cached(ads_over_time, store.id, ids, span.start, span.end, grain)
    except AmzInsightError as error:
        show_error(error)
        st.stop()

    def tile(label: str, name: str, kind: str, lower_is_better: bool = False) -> Kpi:
        return Kpi(label, now[name], before.get(name), kind, lower_is_better)  # type: ignore[arg-type]

    kpi_tiles(
        [
            tile("Revenue", "revenue", "money"),
            tile("Units", "units", "count"),
            tile("Sessions", "sessions", "count"),
            tile("Conversion", "conversion", "percent"),
            tile("Ad spend", "ad_spend", "money"),
            tile("ACoS (7-day)", "acos", "percent", lower_is_better=True),
            tile("TACoS", "tacos", "percent", lower_is_better=True),
            tile("Net payout", "net_payout", "money"),
        ],
        filters.currency,
    )
    if filters.comparison is not None:
        st.caption(
            f"Changes against {filters.comparison.start:%d %b %Y} - "
            f"{filters.comparison.end:%d %b %Y} ({filters.comparison_mode.lower()})."
        )

    left, right = st.columns(2)
    axis = {"period": "", "value": filters.currency}
    with left:
        labels = {**axis, "ordered_product_sales": "Revenue"}
        time_series(sales_trend, "period", ["ordered_product_sales"], "Revenue", labels)
    with right:
        labels = {**axis, "spend": "Spend", "sales_7d": "Ad sales"}
        time_series(ads_trend, "period", ["spend", "sales_7d"], "Ad spend and sales", labels)

    st.subheader("Alerts")
    if alerts.is_empty():
        st.success("Nothing needs attention: syncs succeed, ACoS is steady, settlements reconcile.")
    for alert in alerts.iter_rows(named=True):
        show = st.error if alert["severity"] == "error" else st.warning
        show(alert["message"])
        st.page_link(
            page(alert["page"]), label=f"Open {alert['page'].title()}", icon=":material/east:"
        )

st.subheader("Data freshness")
freshness = data_freshness(engine(), store.id)
if freshness.is_empty():
    st.warning("Nothing synced yet for this store: run a sync to fill the pages.")
    st.stop()
st.dataframe(
    freshness.select(
        "report_type",
        "last_success_at",
        "last_window_end",
        "last_rows",
        "latest_status",
        "failures_since_success",
        "latest_error",
    ).sort(pl.col("latest_status") != "failed", "report_type"),
    hide_index=True,
    column_config={
        "report_type": "Report",
        "last_success_at": st.column_config.DatetimeColumn(
            "Last success (UTC)", format="YYYY-MM-DD HH:mm"
        ),
        "last_window_end": st.column_config.DateColumn("Data through"),
        "last_rows": st.column_config.NumberColumn("Rows"),
        "latest_status": "Latest run",
        "failures_since_success": st.column_config.NumberColumn("Failures since"),
        "latest_error": "Latest error",
    },
)

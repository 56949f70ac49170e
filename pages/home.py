"""Overview: the store's headline KPIs with their change, trends, alerts and data freshness."""

from __future__ import annotations

import polars as pl
import streamlit as st

from amzinsight.analytics.ads_performance import ads_over_time
from amzinsight.analytics.freshness import data_freshness
from amzinsight.analytics.overview import data_alerts, overview_kpis, run_alerts
from amzinsight.analytics.sales import sales_over_time
from amzinsight.errors import AmzInsightError
from app.components import Kpi, as_text, kpi_tiles, time_series
from app.context import cached, engine, show_error
from app.filters import current_filters
from app.labels import DATE_FORMAT, DATETIME_FORMAT, titled
from app.navigation import PAGES, page

PAGE_TITLES = {stem: title for stem, title, _ in PAGES}

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
st.markdown(f"#### {as_text(store.name)}{sandbox}")
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
        # Failed runs change no data version: read them fresh; the rest follows the data.
        alerts = pl.concat(
            [
                run_alerts(engine(), store.id, filters.today),
                cached(data_alerts, store.id, market, filters.today),
            ]
        )
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
            tile("Ad spend", "ad_spend", "money", lower_is_better=True),
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
    # The plotted columns' names are the legend's entries: name them for people.
    with left:
        revenue = sales_trend.select("period", pl.col("ordered_product_sales").alias("Revenue"))
        time_series(revenue, "period", ["Revenue"], "Revenue", axis)
    with right:
        ads = ads_trend.select(
            "period",
            pl.col("spend").alias("Ad spend"),
            pl.col("sales_7d").alias("Ad sales (7-day)"),
        )
        time_series(ads, "period", ["Ad spend", "Ad sales (7-day)"], "Ad spend and sales", axis)

    st.subheader("Alerts")
    if alerts.is_empty():
        st.success("Nothing needs attention: syncs succeed, ACoS is steady, settlements reconcile.")
    for alert in alerts.iter_rows(named=True):
        show = st.error if alert["severity"] == "error" else st.warning
        show(as_text(alert["message"]))  # may quote a failed run's error
        st.page_link(
            page(alert["page"]),
            label=f"Open {PAGE_TITLES[alert['page']]}",
            icon=":material/east:",
        )

st.subheader("Data freshness")
freshness = data_freshness(engine(), store.id)
if freshness.is_empty():
    st.warning("Nothing synced yet for this store: run a sync to fill the pages.")
    st.stop()
st.dataframe(
    titled(
        freshness.select(
            "report_type",
            "last_success_at",
            "last_window_end",
            "last_rows",
            pl.col("latest_status").str.to_titlecase(),
            "failures_since_success",
            "latest_error",
        )
    ).sort(pl.col("latest_status") != "Failed", "report_type"),
    hide_index=True,
    placeholder="",
    column_config={
        "report_type": "Report",
        "last_success_at": st.column_config.DatetimeColumn(
            "Last success (UTC)", format=DATETIME_FORMAT, timezone="UTC"
        ),
        "last_window_end": st.column_config.DateColumn("Data through", format=DATE_FORMAT),
        "last_rows": st.column_config.NumberColumn("Rows loaded", format="%,d"),
        "latest_status": "Latest run",
        "failures_since_success": st.column_config.NumberColumn(
            "Failures since last success", format="%,d"
        ),
        "latest_error": "Latest error",
    },
)

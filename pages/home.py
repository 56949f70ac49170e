"""Home: each store's data freshness, or how to add the first store."""

from __future__ import annotations

import streamlit as st

from amzinsight.analytics.freshness import data_freshness
from amzinsight.stores import list_stores
from app.context import engine

st.title("AmzInsight")

stores = list_stores(engine())
if not stores:
    st.info(
        "**No stores yet.** Register a seller account from a terminal, then sync it:\n\n"
        "```\namzinsight store add acme_us --name 'Acme US' --marketplace US\n```\n\n"
        "Put its credentials in the environment as encrypted values "
        "(`AMZ_STORES__ACME_US__SP_REFRESH_TOKEN=enc:...`, see `.env.example` and "
        "`amzinsight secrets encrypt`). To look around first, start with `amzinsight up --demo`."
    )
    st.stop()

st.subheader("Data freshness")
freshness = data_freshness(engine())
for store in stores:
    rows = freshness.filter(freshness["store_slug"] == store.slug)
    markets = ", ".join(store.country_codes) or "no marketplaces"
    sandbox = " (sandbox)" if store.is_sandbox else ""
    st.markdown(f"#### {store.name}{sandbox}")
    st.caption(f"`{store.slug}` · region {store.region.upper()} · {markets}")
    if rows.is_empty():
        st.warning("Nothing synced yet for this store: run a sync to fill the pages.")
        continue
    failing = rows.filter(rows["latest_status"] == "failed")
    if not failing.is_empty():
        st.error(
            f"{failing.height} report type(s) failed on their latest sync: "
            + ", ".join(failing["report_type"].to_list())
        )
    st.dataframe(
        rows.select(
            "report_type",
            "last_success_at",
            "last_window_end",
            "last_rows",
            "latest_status",
            "failures_since_success",
            "latest_error",
        ),
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

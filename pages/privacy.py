"""Data & privacy: what is stored about the chosen store (and its JSON), audited corrections that
later syncs keep, and deleting the store after its slug is typed."""

from __future__ import annotations

import json

import polars as pl
import streamlit as st

from amzinsight.errors import AmzInsightError
from amzinsight.privacy import (
    CORRECTABLE,
    correct_value,
    correction_history,
    corrections,
    data_summary,
    delete_store,
)
from app.components import Kpi, download_buttons, kpi_tiles, require_store
from app.context import cached, redis_or_none, runtime, show_error
from app.filters import STORE_KEY, current_filters
from app.jobs import store_job_canceller

DELETED_KEY = "privacy_deleted"
ACTOR_KEY = "privacy_actor"

st.title("Data & privacy")
deleted = st.session_state.pop(DELETED_KEY, None)
if deleted is not None:
    jobs = deleted["jobs_cancelled"]
    st.success(
        f"Store **{deleted['store']}** deleted: {deleted['total_rows']:,} rows, "
        f"{deleted['archive_files']:,} archived raw files, {deleted['cache_keys'] or 0:,} cache "
        f"keys, {'jobs not cancelled (Redis is down)' if jobs is None else f'{jobs:,} jobs'}. "
        "Remove its credential settings from the environment: "
        + ", ".join(f"`{name}`" for name in deleted["unused_credential_variables"])
    )
filters = current_filters()
store = require_store(filters, "the sync")
services = runtime()
redis_client = redis_or_none()

# --- what is stored ------------------------------------------------------------------------------

st.subheader("What is stored")
try:
    summary = data_summary(services.engine, services.archive, redis_client, store)
except AmzInsightError as error:
    show_error(error)
    st.stop()
kpi_tiles(
    [
        Kpi("Rows stored", summary["total_rows"]),
        Kpi("Archived raw files", summary["archive"]["files"]),
        Kpi("Archived bytes", summary["archive"]["bytes"]),
        Kpi("Cache keys", summary["cache"]["keys"], help="- when Redis is not reachable"),
    ],
    filters.currency,
)
st.caption(f"Last successful sync: {summary['last_successful_sync'] or 'never'}")
categories = pl.DataFrame(
    [
        {"category": name, "rows": group["rows"], "from": group["from"], "to": group["to"]}
        for name, group in summary["categories"].items()
    ],
    schema={"category": pl.Utf8, "rows": pl.Int64, "from": pl.Utf8, "to": pl.Utf8},
)
if summary["total_rows"] == 0:
    st.info("**Nothing stored for this store yet.** The sync fills it: run it from the Sync page.")
st.dataframe(categories, hide_index=True, width="stretch")
download_buttons(categories, f"{store.slug}-data-summary", "privacy_summary")
st.download_button(
    "Whole summary (JSON)",
    json.dumps(summary, indent=2),
    file_name=f"{store.slug}-data-summary.json",
    mime="application/json",
    key="privacy_summary_json",
    icon=":material/download:",
)
by_report = summary["last_successful_sync_by_report"]
if by_report:
    with st.expander("Last successful sync per report"):
        syncs = pl.DataFrame(
            {"report": list(by_report), "finished_at": list(by_report.values())},
            schema={"report": pl.Utf8, "finished_at": pl.Utf8},
        )
        st.dataframe(syncs, hide_index=True, width="stretch")
        download_buttons(syncs, f"{store.slug}-last-syncs", "privacy_syncs", xlsx=False)

# --- corrections ---------------------------------------------------------------------------------

st.subheader("Correct a stored value")
st.caption(
    "The old and new values and your reason go to the audit log. A later sync that delivers a "
    "different value does not undo the correction: the table below shows what Amazon now says."
)
actor = st.text_input("Your name (for the audit log)", key=ACTOR_KEY)
table = st.selectbox("Table", list(CORRECTABLE), key="privacy_correction_table")
key_columns, fields = CORRECTABLE[table]
with st.form("privacy_correction_form"):
    field = st.selectbox("Field", fields, key="privacy_correction_field")
    key_parts = {
        name: st.text_input(f"Row key: {name}", key=f"privacy_correction_key_{name}")
        for name in key_columns
    }
    value = st.text_area(
        "New value (amounts like 12.34; bullet points one per line)",
        key="privacy_correction_value",
    )
    reason = st.text_input("Reason", key="privacy_correction_reason")
    submitted = st.form_submit_button("Save correction")
if submitted:
    try:
        result = correct_value(
            services.engine, store, table, key_parts, field, value, reason, actor
        )
        st.success(
            f"{result['table']}.{result['field']} {result['key']}: "
            f"{result['old']} → {result['new']}. Later syncs keep it."
        )
    except AmzInsightError as error:
        show_error(error)

try:
    active = cached(corrections, store.id)
    history = cached(correction_history, store.id)
except AmzInsightError as error:
    show_error(error)
    st.stop()
st.markdown("**Corrections in force**")
if active.is_empty():
    st.caption("No corrections yet.")
else:
    shown = active.with_columns(
        pl.when(pl.col("sync_disagreed"))
        .then(
            pl.format(
                "Amazon now says {}; your correction {} kept",
                pl.col("source_value"),
                pl.col("corrected_value"),
            )
        )
        .otherwise(pl.format("Corrected from {}", pl.col("source_value")))
        .alias("status")
    ).select("table", "key", "field", "corrected_value", "status", "reason", "last_event_at")
    st.dataframe(shown, hide_index=True, width="stretch")
    download_buttons(shown, f"{store.slug}-corrections", "privacy_corrections")
st.markdown("**Correction history**")
if history.is_empty():
    st.caption("Nothing corrected yet.")
else:
    st.dataframe(history, hide_index=True, width="stretch")
    download_buttons(history, f"{store.slug}-correction-history", "privacy_history")

# --- deletion ------------------------------------------------------------------------------------

st.subheader("Delete this store")
st.warning(
    f"Deletes every row, archived raw file, cache key and queued or scheduled job of "
    f"**{store.slug}**. The audit log keeps only that it happened, when and by whom. "
    "This cannot be undone."
)
typed = st.text_input(f"Type the store's slug ({store.slug}) to confirm", key="privacy_delete_slug")
if st.button("Delete store", key="privacy_delete_button", type="primary", icon=":material/delete:"):
    try:
        outcome = delete_store(
            services.engine,
            services.archive,
            redis_client,
            store,
            typed.strip(),
            actor.strip(),
            cancel_jobs=store_job_canceller(),
        )
    except AmzInsightError as error:
        show_error(error)
    else:
        st.session_state[DELETED_KEY] = outcome
        st.session_state.pop(STORE_KEY, None)  # the filters pick another store, or none
        st.session_state.pop("privacy_delete_slug", None)
        st.rerun()

"""Sync: per store, freshness per report type, Sync now, live progress, history and file upload."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from amzinsight.analytics.freshness import data_freshness, recent_runs
from amzinsight.errors import AmzInsightError
from amzinsight.ingest.imports import import_file
from amzinsight.reports import REPORTS
from app.context import redis_or_none, runtime
from app.filters import current_filters
from workers.jobs import plan_job_id, plan_sync
from workers.queueing import enqueue_unique, store_jobs

st.title("Sync")
store = current_filters().store
if store is None:
    st.info("No stores yet: add one with `amzinsight store add` (see Home).")
    st.stop()

services = runtime()
connection = redis_or_none()

st.subheader("Freshness")
freshness = data_freshness(services.engine, store.id)
syncable = [key for key, spec in REPORTS.items() if spec.acquisition != "file"]
columns = st.columns(3)
for index, key in enumerate(syncable):
    spec = REPORTS[key]
    row = freshness.filter(freshness["report_type"] == key)
    with columns[index % 3].container(border=True):
        st.markdown(f"**{key}**")
        st.caption(spec.description)
        if row.is_empty():
            st.write("never synced")
        else:
            last = row.row(0, named=True)
            when = last["last_success_at"]
            st.write(f"last success: {when:%Y-%m-%d %H:%M} UTC" if when else "no success yet")
            if last["latest_status"] == "failed":
                st.error(last["latest_error"] or "failed")
        disabled = connection is None
        if st.button("Sync now", key=f"sync_now_{key}", disabled=disabled):
            job, created = enqueue_unique(
                connection,
                plan_sync,
                plan_job_id(store.slug, key, "now"),
                args=(store.slug, key, "sync page"),
                retry=None,
            )
            if created:
                st.toast(f"{key}: sync queued ({job.id})")
            else:
                st.toast(f"{key}: already running ({job.id})")

if connection is None:
    st.warning("Redis is not reachable, so syncs cannot be queued from here; the CLI still works.")


@st.fragment(run_every=3)
def live_jobs() -> None:
    st.subheader("Running and queued")
    if connection is None:
        st.caption("Redis is not reachable.")
        return
    jobs = store_jobs(connection, store.slug)
    if not jobs:
        st.caption("Nothing queued or running for this store.")
        return
    running = sum(1 for job in jobs if job["state"] == "running")
    st.progress(
        running / len(jobs) if jobs else 0.0,
        text=f"{running} running, {len(jobs) - running} waiting",
    )
    st.dataframe(jobs, hide_index=True, width="stretch")


live_jobs()

st.subheader("History")
runs = recent_runs(services.engine, store.id)
if runs.is_empty():
    st.caption("No runs yet.")
else:
    st.dataframe(runs, hide_index=True, width="stretch")
    st.download_button(
        "Download history (CSV)",
        runs.write_csv(),
        file_name=f"{store.slug}-sync-history.csv",
        mime="text/csv",
    )

st.subheader("Upload a report file")
st.caption(
    "A report you downloaded from Seller Central (plain or .gz): it is archived, parsed and "
    "loaded exactly like a sync. The type is detected from the file."
)
uploaded = st.file_uploader("Report file", key="sync_upload")
if uploaded is not None and st.button("Load file", key="sync_upload_load"):
    with (
        st.status(f"Loading {uploaded.name}...", expanded=True) as status,
        tempfile.TemporaryDirectory(prefix="amz-upload-") as scratch,
    ):
        path = Path(scratch) / Path(uploaded.name).name
        path.write_bytes(uploaded.getvalue())
        try:
            outcome = import_file(services.engine, services.archive, store, path)
        except AmzInsightError as error:
            status.update(label=f"{uploaded.name} was not loaded", state="error")
            st.error(str(error))
        else:
            status.update(label=f"{uploaded.name} loaded", state="complete")
            st.success(
                f"{outcome.rows_parsed} rows parsed, {outcome.rows_upserted} inserted or "
                f"changed (run {outcome.run_id})."
            )

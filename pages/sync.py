"""Sync: per store, freshness per report type, Sync now, live progress, history and file upload."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl
import streamlit as st

from amzinsight.analytics.access import last_access_check
from amzinsight.analytics.freshness import data_freshness, recent_runs, run_counts
from amzinsight.analytics.meter import meter_state
from amzinsight.analytics.settlement_risk import settlements_at_risk
from amzinsight.errors import AmzInsightError
from amzinsight.reports import REPORTS, report_title
from amzinsight.rules.meter import SALES_TRAFFIC_METER, meter_interval_label
from app.components import as_text, csv_bytes, download_button
from app.context import redis_or_none, runtime, show_error
from app.filters import current_filters
from app.job_status import JobOutcome, follow_job, problem, remember_job
from app.jobs import access_job, live_store_jobs, queue_access_check, queue_sync_now, queue_upload
from app.labels import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    format_date,
    format_timestamp,
    marketplace_label,
    titled,
)
from app.sync_plan import store_sync_plan

st.title("Sync")
store = current_filters().store
if store is None:
    st.info("No stores yet: add one with `amzinsight store add` (see Home).")
    st.stop()

services = runtime()
connection = redis_or_none()
RUNS_SEEN_KEY = f"sync_runs_seen_{store.id}"
SOURCES = {  # sync_runs.source; Ads syncs are recorded as sp_api too
    "sp_api": "Amazon",
    "ads_api": "Amazon Ads",
    "upload": "File import",
    "replay": "Replay from the archive",
}
TRIGGERS = {
    "cli": "Command line",
    "schedule": "Schedule",
    "sync page": "Sync page",
    "import": "Import",
    "replay": "Replay",
}

st.subheader("Freshness")
# What the cards show is as of these run counts; the live list below reruns the page when they
# change (a job or a CLI sync finished), so a card never says "never synced" after a sync.
st.session_state[RUNS_SEEN_KEY] = run_counts(services.engine, store.id)
freshness = data_freshness(services.engine, store.id)
syncable = [key for key, spec in REPORTS.items() if spec.acquisition != "file"]
columns = st.columns(3)
for index, key in enumerate(syncable):
    spec = REPORTS[key]
    row = freshness.filter(freshness["report_type"] == key)
    title = report_title(key)
    with columns[index % 3].container(border=True):
        st.markdown(f"**{as_text(title)}**")
        st.caption(as_text(spec.description))
        if row.is_empty():
            st.write("Never synced")
        else:
            last = row.row(0, named=True)
            when = last["last_success_at"]
            st.write(
                f"Last success: {as_text(format_timestamp(when))}" if when else "No success yet"
            )
            if last["latest_status"] == "failed":
                latest_error = last["latest_error"]  # may quote a file or Amazon's answer
                st.error(as_text(latest_error) if latest_error else "The latest run failed.")
        disabled = connection is None
        if st.button("Sync now", key=f"sync_now_{key}", disabled=disabled):
            if queue_sync_now(connection, store.slug, key):
                st.toast(f"{as_text(title)}: sync queued.")
            else:
                st.toast(f"{as_text(title)}: a sync is already queued or running.")

if connection is None:
    st.warning("Redis is not reachable, so syncs cannot be queued from here; the CLI still works.")

# Amazon lists a settlement for 90 days and never makes it again: one not stored by then is lost.
for unloaded in settlements_at_risk(services.engine, store.id, current_filters().today):
    period = f"{format_date(unloaded.period_start)} to {format_date(unloaded.period_end)}"
    reason = f" ({as_text(unloaded.error)})" if unloaded.error else ""
    if unloaded.at_risk:
        st.warning(
            f"Settlement {period} was listed by Amazon but could not be downloaded{reason}; "
            f"Amazon lists it until about {format_date(unloaded.listed_until)}: sync settlements "
            "again before then."
        )
    else:
        st.info(
            f"Settlement {period} was downloaded and its file is archived, but it did not "
            f"load{reason}. Once the cause is fixed, `amzinsight replay` loads it."
        )


st.subheader("Amazon access")
ACCESS_MARKS = {True: "✓", False: "✗", None: "–"}
access = last_access_check(services.engine, store.id)
if not access:
    st.caption("Not checked yet: which Amazon APIs this store's credentials reach.")
else:
    for check in access:
        verdict = "missing: " if check.ok is False else ""
        st.markdown(
            f"{ACCESS_MARKS[check.ok]} **{as_text(check.api)}**: {verdict}{as_text(check.sentence)}"
        )
    st.caption(f"Checked {as_text(format_timestamp(access[0].checked_at))}")
if (
    st.button("Check access", key="sync_access_check", disabled=connection is None)
    and connection is not None
):
    identifier, created = queue_access_check(connection, store.slug)
    remember_job("sync_access", identifier)
    if not created:
        st.toast("A check of this store's access is already queued or running.")


meter = SALES_TRAFFIC_METER.at_speed(services.settings.sync.meter_speed)
state = meter_state(services.engine, meter, store.id)
limit = (
    f"Sales and Traffic reports: Amazon allows one every {meter_interval_label(meter)} and "
    f"{meter.per_day} a day per application (all stores on it)"
)
if state is None:
    usage = "this store has requested none yet"
else:
    waiting = f", {state.reserved_ahead} waiting for their turn" if state.reserved_ahead else ""
    due = (
        "the next can go now"
        if state.next_free <= datetime.now(UTC)
        else f"the next free slot is {as_text(format_timestamp(state.next_free))}"
    )
    usage = f"{state.used_today} requested in the last day{waiting}; {due}"
st.caption(f"{limit}; {usage}. Older days come from Data Kiosk, which this meter does not limit.")

with st.expander("Plan: what syncing every report would fetch now, and when it could be done"):
    try:
        plan = store_sync_plan(services.engine, services.settings, store)
    except AmzInsightError as error:
        show_error(error)
        plan = []
    if not plan:
        st.caption("Nothing to sync: every report is up to date.")
    else:
        st.dataframe(
            pl.DataFrame(
                [(line.title, line.what, line.calls_label, line.eta) for line in plan],
                schema=["report", "what", "calls", "eta"],
                orient="row",
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "report": "Report",
                "what": "Fetches",
                "calls": "Calls to Amazon",
                "eta": "Done",
            },
        )
        st.caption(
            "Sales and Traffic times count the slots other jobs hold on Amazon's meter; Data "
            "Kiosk and other times are estimates. Nothing is requested until a sync starts."
        )


def access_ended(outcome: JobOutcome) -> None:
    sentence = problem(outcome)
    if sentence is not None:
        st.error(sentence)


if connection is not None:
    follow_job(
        connection, "sync_access", "Checking Amazon access", access_ended, access_job(store.slug)
    )


OTHER_WORK = {
    "upload": "Loading an uploaded file",
    "recompute": "Recomputing recommendations",
    "apply": "Sending approved changes to Amazon Ads",
    "undo": "Undoing changes at Amazon Ads",
    "access": "Checking which Amazon APIs the store reaches",
}


def job_table(jobs: list[dict[str, Any]]) -> pl.DataFrame:
    """The live jobs with their report's title and window instead of RQ's ids."""
    keys = sorted(REPORTS, key=len, reverse=True)  # sp_ad_groups before a shorter prefix
    rows = []
    for job in jobs:
        kind = job["job"].partition("-")[0]
        if kind in OTHER_WORK:  # the Advertising page's jobs and uploads: no report window
            rows.append(
                {
                    "report": job["description"] or job["job"],
                    "step": OTHER_WORK[kind],
                    "window": "",
                    "state": job["state"].capitalize(),
                    "progress": job["progress"] or "",
                    "enqueued_at": job["enqueued_at"],
                }
            )
            continue
        planning = job["job"].startswith("plan-")
        rest = job["job"].removeprefix(f"{'plan' if planning else 'sync'}-{store.slug}-")
        key = next((k for k in keys if rest.startswith(f"{k}-") or rest == k), None)
        window = "" if planning else (job["description"] or "").rpartition(" ")[2]
        start, _, end = window.partition("..")
        rows.append(
            {
                "report": report_title(key) if key else job["job"],
                "step": "Planning the windows" if planning else "One window",
                "window": (
                    "now"
                    if start == "snapshot"
                    else " to ".join(format_date(part) for part in (start, end) if part)
                ),
                "state": job["state"].capitalize(),
                "progress": job["progress"] or "",
                "enqueued_at": job["enqueued_at"],
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "report": pl.String,
            "step": pl.String,
            "window": pl.String,
            "state": pl.String,
            "progress": pl.String,
            "enqueued_at": pl.Datetime("us", "UTC"),
        },
        orient="row",
    )


@st.fragment(run_every=3)
def live_jobs() -> None:
    if run_counts(services.engine, store.id) != st.session_state.get(RUNS_SEEN_KEY):
        st.rerun()  # a run started or finished: the cards and the history above are stale
    st.subheader("Running and queued")
    if connection is None:
        st.caption("Redis is not reachable.")
        return
    jobs = live_store_jobs(connection, store.slug)
    if not jobs:
        st.caption("Nothing queued or running for this store.")
        return
    running = sum(1 for job in jobs if job["state"] == "running")
    st.progress(
        running / len(jobs) if jobs else 0.0,
        text=f"{running} running, {len(jobs) - running} waiting",
    )
    st.dataframe(
        job_table(jobs),
        hide_index=True,
        width="stretch",
        placeholder="",
        column_config={
            "report": "Report",
            "step": "Step",
            "window": "Window",
            "state": "State",
            "progress": "Progress",
            "enqueued_at": st.column_config.DatetimeColumn(
                "Queued (UTC)", format=DATETIME_FORMAT, timezone="UTC"
            ),
        },
    )


live_jobs()

st.subheader("History")
runs = recent_runs(services.engine, store.id)
if runs.is_empty():
    st.caption("No runs yet.")
else:
    st.dataframe(
        titled(runs).with_columns(
            pl.col("marketplace_id").map_elements(marketplace_label, return_dtype=pl.String),
            pl.col("source").replace(SOURCES),
            pl.col("status").str.to_titlecase(),
            pl.col("duration_ms") / 1000,
            pl.col("triggered_by").replace(TRIGGERS),
        ),
        hide_index=True,
        width="stretch",
        placeholder="",
        column_order=[name for name in runs.columns if name != "job_id"],
        column_config={
            "id": st.column_config.NumberColumn("Run", format="%d"),
            "report_type": "Report",
            "marketplace_id": "Marketplace",
            "source": "Source",
            "status": "Status",
            "window_start": st.column_config.DateColumn("From", format=DATE_FORMAT),
            "window_end": st.column_config.DateColumn("To", format=DATE_FORMAT),
            "rows_parsed": st.column_config.NumberColumn("Rows parsed", format="%,d"),
            "rows_upserted": st.column_config.NumberColumn("Rows changed", format="%,d"),
            "requested_at": st.column_config.DatetimeColumn(
                "Requested (UTC)", format=DATETIME_FORMAT, timezone="UTC"
            ),
            "finished_at": st.column_config.DatetimeColumn(
                "Finished (UTC)", format=DATETIME_FORMAT, timezone="UTC"
            ),
            "duration_ms": st.column_config.NumberColumn("Duration (s)", format="%.1f"),
            "triggered_by": "Triggered by",
            "error": "Error",
            "notes": "Notes",
        },
    )
    download_button(
        "Download history (CSV)",
        lambda: csv_bytes(runs),  # errors and notes quote file names and Amazon's messages
        file_name=f"{store.slug}-sync-history.csv",
        mime="text/csv",
        key="sync_history_download",
    )

st.subheader("Upload a report file")
st.caption(
    "A report you downloaded from Seller Central or the Amazon Ads console (CSV, TSV, JSON or "
    "Excel, plain or .gz): it is archived, parsed and loaded exactly like a sync. The type is "
    "detected from the file; console reports need Time unit: Daily."
)
uploaded = st.file_uploader("Report file", key="sync_upload")
if (
    uploaded is not None
    and st.button("Load file", key="sync_upload_load", disabled=connection is None)
    and connection is not None
):
    # The worker imports it (a large file must not hold up the page); it deletes its copy.
    identifier, created = queue_upload(connection, store.slug, uploaded.name, uploaded.getvalue())
    remember_job("sync_upload", identifier)
    if not created:
        st.toast(f"{as_text(uploaded.name)} is already being loaded.")


def upload_ended(outcome: JobOutcome) -> None:
    given = outcome.result.get("name") if isinstance(outcome.result, dict) else None
    name = as_text(given) if given else "The file"
    sentence = problem(outcome)
    if sentence is not None:
        st.status(f"{name} was not loaded", state="error")
        st.error(sentence)
        return
    st.status(f"{name} loaded", state="complete")
    st.success(
        f"{outcome.result['rows_parsed']} rows parsed, {outcome.result['rows_upserted']} inserted "
        f"or changed (run {outcome.result['run_id']})."
    )
    for note in outcome.result.get("notes") or ():
        st.info(as_text(note))


if connection is None:
    st.caption(
        "Redis is not reachable, so files cannot be loaded from here: use `amzinsight import`."
    )
else:
    follow_job(connection, "sync_upload", "Loading the file", upload_ended)

"""Data & privacy: what is stored about the chosen store (and its JSON), audited corrections that
later syncs keep, and deleting the store after its slug is typed."""

from __future__ import annotations

import json

import polars as pl
import streamlit as st

from amzinsight.edits.corrections import (
    CORRECTABLE,
    correct_value,
    correction_history,
    corrections,
)
from amzinsight.errors import AmzInsightError
from amzinsight.privacy import data_summary, delete_store
from app.components import (
    as_text,
    download_button,
    download_buttons,
    fact_tiles,
    require_store,
)
from app.context import cached, current_user, redis_or_none, runtime, show_error
from app.filters import STORE_KEY, current_filters
from app.jobs import store_job_canceller
from app.labels import (
    DATETIME_FORMAT,
    format_bytes,
    format_date,
    format_timestamp,
    humanise,
    report_title,
)

DELETED_KEY = "privacy_deleted"


def row_key_text(key: str | None) -> str:
    """A correction's row key (JSON) as words: `SKU BL-1, Marketplace ID ATVPDKIKX0DER`."""
    if not key:
        return ""
    try:
        parts = json.loads(key)
    except ValueError:
        return key
    if not isinstance(parts, dict):
        return str(parts)
    return ", ".join(f"{humanise(name)} {value}" for name, value in parts.items())


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


def in_words(corrections: pl.DataFrame) -> pl.DataFrame:
    """A correction's table, row key and field as the page names them (both tables below)."""
    return corrections.with_columns(
        pl.col("table").map_elements(humanise, pl.String),
        pl.col("key").map_elements(row_key_text, pl.String),
        pl.col("field").map_elements(humanise, pl.String),
    )


# --- what is stored ------------------------------------------------------------------------------

st.subheader("What is stored")
try:
    summary = data_summary(services.engine, services.archive, redis_client, store)
except AmzInsightError as error:
    show_error(error)
    st.stop()
# Plain tiles: there is nothing to compare these with, and the archive's size reads in KB/MB.
cache_keys = summary["cache"]["keys"]
fact_tiles(
    [
        ("Rows stored", f"{summary['total_rows']:,}", None),
        ("Archived raw files", f"{summary['archive']['files']:,}", None),
        ("Archive size", format_bytes(summary["archive"]["bytes"]), None),
        (
            "Cache keys",
            "-" if cache_keys is None else f"{cache_keys:,}",
            "- when Redis is not reachable",
        ),
    ]
)
st.caption(
    "Last successful sync: " + format_timestamp(summary["last_successful_sync"], missing="never")
)
categories = pl.DataFrame(
    [
        {
            "category": humanise(name),
            "rows": group["rows"],
            "from": format_date(group["from"], missing=""),
            "to": format_date(group["to"], missing=""),
        }
        for name, group in summary["categories"].items()
    ],
    schema={"category": pl.Utf8, "rows": pl.Int64, "from": pl.Utf8, "to": pl.Utf8},
)
if summary["total_rows"] == 0:
    st.info("**Nothing stored for this store yet.** The sync fills it: run it from the Sync page.")
st.dataframe(
    categories,
    hide_index=True,
    width="stretch",
    column_config={
        "category": "Category",
        "rows": st.column_config.NumberColumn("Rows", format="%,d"),
        "from": "From",
        "to": "To",
    },
)
download_buttons(categories, f"{store.slug}-data-summary", "privacy_summary")
download_button(
    "Whole summary (JSON)",
    lambda: json.dumps(summary, indent=2),
    file_name=f"{store.slug}-data-summary.json",
    mime="application/json",
    key="privacy_summary_json",
)
by_report = summary["last_successful_sync_by_report"]
if by_report:
    with st.expander("Last successful sync per report"):
        syncs = pl.DataFrame(
            {
                "report": [report_title(key) for key in by_report],
                "finished_at": [format_timestamp(when) for when in by_report.values()],
            },
            schema={"report": pl.Utf8, "finished_at": pl.Utf8},
        )
        st.dataframe(
            syncs,
            hide_index=True,
            width="stretch",
            column_config={"report": "Report", "finished_at": "Finished"},
        )
        download_buttons(syncs, f"{store.slug}-last-syncs", "privacy_syncs", xlsx=False)

# --- corrections ---------------------------------------------------------------------------------

st.subheader("Correct a stored value")
st.caption(
    "The old and new values, your reason and your name go to the audit log. A later sync that "
    "delivers a different value does not undo the correction: the table below shows what Amazon "
    "now says."
)
table = st.selectbox(
    "Table", list(CORRECTABLE), format_func=humanise, key="privacy_correction_table"
)
key_columns, fields = CORRECTABLE[table]
with st.form("privacy_correction_form"):
    field = st.selectbox("Field", fields, format_func=humanise, key="privacy_correction_field")
    key_parts = {
        name: st.text_input(f"Row key: {humanise(name)}", key=f"privacy_correction_key_{name}")
        for name in key_columns
    }
    value = st.text_area(
        "New value (amounts like 12.34; bullet points one per line)",
        key="privacy_correction_value",
    )
    reason = st.text_input("Reason", key="privacy_correction_reason")
    submitted = st.form_submit_button("Save correction")
if submitted:
    actor = current_user()
    try:
        result = correct_value(
            services.engine, store, table, key_parts, field, value, reason, actor
        )
        st.success(
            f"{humanise(result['field'])} of {humanise(result['table'])} "
            f"({as_text(row_key_text(result['key']))}): "
            f"{as_text(result['old'])} → {as_text(result['new'])}. "
            "Later syncs keep it."
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
    st.dataframe(
        in_words(shown),
        hide_index=True,
        width="stretch",
        placeholder="",
        column_config={
            "table": "Table",
            "key": "Row",
            "field": "Field",
            "corrected_value": "Corrected value",
            "status": "Status",
            "reason": "Reason",
            "last_event_at": st.column_config.DatetimeColumn(
                "Last change (UTC)", format=DATETIME_FORMAT, timezone="UTC"
            ),
        },
    )
    download_buttons(shown, f"{store.slug}-corrections", "privacy_corrections")
st.markdown("**Correction history**")
if history.is_empty():
    st.caption("Nothing corrected yet.")
else:
    st.dataframe(
        in_words(
            history.with_columns(
                pl.col("action").replace(
                    {"correction": "Corrected", "correction_kept": "Kept over a sync"}
                )
            )
        ),
        hide_index=True,
        width="stretch",
        placeholder="",
        column_config={
            "at": st.column_config.DatetimeColumn(
                "When (UTC)", format=DATETIME_FORMAT, timezone="UTC"
            ),
            "action": "What",
            "table": "Table",
            "key": "Row",
            "field": "Field",
            "old_value": "Old value",
            "new_value": "New value",
            "reason": "Reason",
            "actor": "Who",
        },
    )
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
    actor = current_user()
    try:
        outcome = delete_store(
            services.engine,
            services.archive,
            redis_client,
            store,
            typed.strip(),
            actor,
            cancel_jobs=store_job_canceller(),
        )
    except AmzInsightError as error:
        show_error(error)
    else:
        st.session_state[DELETED_KEY] = outcome
        st.session_state.pop(STORE_KEY, None)  # the filters pick another store, or none
        st.session_state.pop("privacy_delete_slug", None)
        st.rerun()

"""A page's view of work it handed to the worker: progress while the job waits or runs (re-read by
a fragment every few seconds), then its outcome, which the page words itself."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from redis import Redis

from app.components import as_text
from app.jobs import job_state
from workers.queueing import JobOutcome

REFRESH_SECONDS = 2


def _session_key(panel: str) -> str:
    return f"job_followed_{panel}"


def remember_job(panel: str, identifier: str) -> None:
    """The job this session queued (or found running) from one panel of a page."""
    st.session_state[_session_key(panel)] = identifier


def follow_job(
    connection: Redis,
    panel: str,
    title: str,
    show_ended: Callable[[JobOutcome], None],
    live_identifier: str | None = None,
) -> None:
    """The running or waiting job with `live_identifier` (whoever queued it), else the last one
    this session queued from the panel, with its outcome once it ended."""
    remembered = st.session_state.get(_session_key(panel))
    outcomes = [
        outcome
        for identifier in dict.fromkeys(i for i in (live_identifier, remembered) if i)
        if (outcome := job_state(connection, identifier)) is not None
    ]
    live = next((outcome for outcome in outcomes if outcome.live), None)
    if live is not None:
        _watch(connection, live.identifier, title)
        return
    ended = next((outcome for outcome in outcomes if outcome.identifier == remembered), None)
    if ended is not None:
        show_ended(ended)


@st.fragment(run_every=REFRESH_SECONDS)
def _watch(connection: Redis, identifier: str, title: str) -> None:
    outcome = job_state(connection, identifier)
    if outcome is None or not outcome.live:
        st.rerun()  # it ended: the page reruns once to show the outcome and the rows it changed
    waiting = outcome.state == "queued"
    status = st.status(  # not a `with` block, whose end would mark it complete
        f"{title}: {'waiting for a worker' if waiting else 'running'}",
        state="running",
        expanded=True,
    )
    status.progress(
        outcome.fraction or 0.0,
        text=outcome.progress or ("Queued." if waiting else "Started."),
    )


def problem(outcome: JobOutcome) -> str | None:
    """The sentence to show when the job did not do its work: the error it ended with, or the
    last line of the failure RQ recorded (the worker's log has the rest), as Markdown that shows
    the error as text (it may quote a file or Amazon's answer)."""
    if isinstance(outcome.result, dict) and outcome.result.get("error"):
        return as_text(outcome.result["error"])
    if outcome.state == "failed":
        lines = [line for line in (outcome.failure or "").splitlines() if line.strip()]
        last = lines[-1].strip() if lines else "the job failed"
        return f"The worker could not finish: {as_text(last)} (its log has the details)."
    return None

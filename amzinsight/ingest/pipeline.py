"""The one ingestion path: archive -> decode -> parse -> upsert -> record the run.

A sync, a scheduled job, a page button, `amzinsight import` and `replay` all end here; only where
the bytes come from differs. The raw file and its raw_reports row are committed before parsing, so
a document that fails to parse keeps its file and its error. Table writes of one run are one
transaction: a failure leaves every table as it was.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from amzinsight.cache import bump_data_version
from amzinsight.db.tables import raw_reports, sync_runs
from amzinsight.db.upsert import delete_absent, upsert_frame
from amzinsight.edits.corrections import reapply_corrections
from amzinsight.errors import AmzInsightError
from amzinsight.ingest.ads_names import adopt_named_ids, load_ads_names, teaches_ads_ids
from amzinsight.ingest.archive import RawArchive, archive_key, file_digest
from amzinsight.ingest.documents import decode_document, is_gzip
from amzinsight.logs import redact
from amzinsight.reports.base import ParseContext, ParsedReport, ReportSpec
from amzinsight.stores import Store

logger = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 2000


@dataclass(frozen=True)
class RunRequest:
    """What a run is about; recorded in sync_runs before any work starts."""

    store: Store
    spec: ReportSpec
    source: str  # sp_api, ads_api, upload, replay
    marketplace_id: str | None = None
    window_start: date | None = None
    window_end: date | None = None
    job_id: str | None = None
    triggered_by: str | None = None


@dataclass(frozen=True)
class RawDocument:
    """A document as received, with what Amazon said about it."""

    path: Path
    charset: str | None = None
    compression: str | None = None
    content_type: str | None = None
    amazon_report_id: str | None = None
    amazon_document_id: str | None = None


@dataclass(frozen=True)
class RunOutcome:
    run_id: int
    status: str
    rows_parsed: int = 0
    rows_upserted: int = 0
    archive_key: str | None = None
    error: str | None = None
    notes: tuple[str, ...] = ()
    """What was deliberately left out of the load, one sentence each (also on the run)."""


def start_run(engine: Engine, request: RunRequest, status: str = "running") -> int:
    """Record the run before doing anything, so a crash still leaves a trace to show."""
    with engine.begin() as connection:
        run_id: int = connection.execute(
            sa.insert(sync_runs)
            .values(
                store_id=request.store.id,
                source=request.source,
                report_type=request.spec.key,
                marketplace_id=request.marketplace_id,
                window_start=request.window_start,
                window_end=request.window_end,
                status=status,
                job_id=request.job_id,
                triggered_by=request.triggered_by,
                started_at=sa.func.now() if status == "running" else None,
            )
            .returning(sync_runs.c.id)
        ).scalar_one()
    return run_id


def update_run(engine: Engine, run_id: int, **values: Any) -> None:
    with engine.begin() as connection:
        connection.execute(sa.update(sync_runs).where(sync_runs.c.id == run_id).values(**values))


def finish_run(
    engine: Engine, run_id: int, status: str, error: str | None = None, **values: Any
) -> None:
    """Close a run that did not load (failed or cancelled), keeping its error message."""
    update_run(
        engine,
        run_id,
        status=status,
        error=error[:MAX_ERROR_LENGTH] if error else None,
        finished_at=sa.func.now(),
        duration_ms=_duration_ms(),
        **values,
    )


def ingest_document(
    engine: Engine,
    archive: RawArchive,
    request: RunRequest,
    document: RawDocument,
    context: ParseContext,
    run_id: int | None = None,
    archive_as: str | None = None,
) -> RunOutcome:
    """Archive, parse and load one document as one run; failures are recorded, then raised.

    `archive_as` reuses an existing archive key (replay) instead of storing the file again.
    """
    run_id = run_id if run_id is not None else start_run(engine, request)
    started = time.monotonic()
    label = request.spec.amazon_report_type or request.spec.key
    key = archive_as
    try:
        raw_report_id, key = _archive(engine, archive, request, document, context, key)
        update_run(engine, run_id, raw_report_id=raw_report_id)
        encoding_notes: list[str] = []
        with tempfile.TemporaryDirectory(prefix="amz-doc-") as scratch:
            decoded = decode_document(
                document.path,
                Path(scratch) / f"document.{request.spec.extension}",
                document.charset,
                label,
                document.compression,
                marketplace_id=request.marketplace_id or context.marketplace_id,
                notes=encoding_notes,
            )
            if request.spec.ads_profile and context.profile_id and context.ads_names is None:
                with engine.connect() as connection:
                    names = load_ads_names(connection, request.store.id, context.profile_id)
                context = replace(context, ads_names=names)
            parsed = request.spec.parse(decoded, context)
        with engine.begin() as connection:
            upserted = sum(
                upsert_frame(
                    connection,
                    part.table,
                    part.frame,
                    part.key,
                    {"store_id": request.store.id, "sync_run_id": run_id},
                )
                + delete_absent(
                    connection,
                    part.table,
                    part.frame,
                    part.key,
                    part.replace_groups_by,
                    request.store.id,
                )
                for part in parsed.tables
            )
            reapply_corrections(
                connection, request.store.id, (part.table for part in parsed.tables), run_id
            )
            if teaches_ads_ids(request.spec) and context.profile_id:
                upserted += adopt_named_ids(connection, request.store.id, context.profile_id)
            connection.execute(
                sa.update(sync_runs)
                .where(sync_runs.c.id == run_id)
                .values(
                    status="succeeded",
                    rows_parsed=parsed.rows,
                    rows_upserted=upserted,
                    error=None,
                    notes=" ".join((*encoding_notes, *parsed.notes)) or None,
                    finished_at=sa.func.now(),
                    duration_ms=int((time.monotonic() - started) * 1000),
                    **_window_of_upload(request, parsed),
                )
            )
            if upserted:
                bump_data_version(connection, request.store.id)
    except Exception as error:
        message = describe_error(error)
        finish_run(engine, run_id, "failed", message)
        logger.warning("run %d (%s) failed: %s", run_id, request.spec.key, message)
        raise
    logger.info(
        "run %d loaded %s: %d rows parsed, %d inserted or changed",
        run_id, request.spec.key, parsed.rows, upserted,
    )  # fmt: skip
    return RunOutcome(
        run_id,
        "succeeded",
        parsed.rows,
        upserted,
        key,
        notes=(*encoding_notes, *parsed.notes),
    )


def _window_of_upload(request: RunRequest, parsed: ParsedReport) -> dict[str, date]:
    """A file a person brought says which days it covers: the run shows them (a sync's run has
    the window it asked for; the sync's planner does not count uploads as loaded windows)."""
    if request.source != "upload" or request.window_start is not None or parsed.covers is None:
        return {}
    return {"window_start": parsed.covers[0], "window_end": parsed.covers[1]}


def _archive(
    engine: Engine,
    archive: RawArchive,
    request: RunRequest,
    document: RawDocument,
    context: ParseContext,
    existing_key: str | None,
) -> tuple[int, str]:
    """Store the file as received (deterministic key) and record it in raw_reports."""
    compressed = is_gzip(document.path)
    if existing_key is None:
        digest, _ = file_digest(document.path)
        identifier = (
            document.amazon_document_id or document.amazon_report_id or f"sha256-{digest[:16]}"
        )
        extension = request.spec.extension + (".gz" if compressed else "")
        key = archive_key(
            request.store.slug,
            request.spec.key,
            request.marketplace_id or context.marketplace_id,
            request.window_start or context.data_start or context.snapshot_date,
            request.window_end or context.data_end or context.snapshot_date,
            identifier,
            extension,
        )
        stored = archive.put_file(
            key,
            document.path,
            {"report-type": request.spec.key, "store": request.store.slug},
        )
        sha256, size = stored.sha256, stored.bytes
    else:
        key = existing_key
        sha256, size = file_digest(document.path)
    values = {
        "store_id": request.store.id,
        "archive_key": key,
        "sha256": sha256,
        "bytes": size,
        "amazon_report_id": document.amazon_report_id,
        "amazon_document_id": document.amazon_document_id,
        "report_type": request.spec.key,
        "marketplace_id": request.marketplace_id or context.marketplace_id,
        "content_type": document.content_type,
        "compression": "GZIP" if compressed else None,
        "data_start": request.window_start or context.data_start,
        "data_end": request.window_end or context.data_end,
    }
    insert = pg_insert(raw_reports).values(**values)
    statement = insert.on_conflict_do_update(
        index_elements=[raw_reports.c.archive_key],
        set_={name: insert.excluded[name] for name in values if name != "archive_key"}
        | {"fetched_at": sa.func.now()},
    ).returning(raw_reports.c.id)
    with engine.begin() as connection:
        return connection.execute(statement).scalar_one(), key


def describe_error(error: BaseException) -> str:
    """What a run records: our own errors as they are (one sentence for a person), anything
    unexpected as its first line with anything secret-looking redacted."""
    if isinstance(error, AmzInsightError):
        return str(error)
    first_line = (str(error).strip().splitlines() or [""])[0][:300]
    if isinstance(error, sa.exc.OperationalError) and "connection" in first_line.lower():
        # The load is one transaction: a lost connection rolls all of it back.
        return redact(
            "The database connection was lost during the load, so nothing of this window was "
            f"written; the next sync loads it again ({first_line})."
        )
    return redact(f"{type(error).__name__}: {first_line}")


def _duration_ms() -> sa.ColumnElement[Any]:
    return sa.cast(
        sa.func.extract(
            "epoch",
            sa.func.now() - sa.func.coalesce(sync_runs.c.started_at, sync_runs.c.requested_at),
        )
        * 1000,
        sa.Integer,
    )

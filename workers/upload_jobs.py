"""A report file uploaded on the Sync page, imported by the worker like `amzinsight import`.

The page saves the upload under the data directory and enqueues it; the job imports it (archived,
parsed, loaded, recorded in sync_runs) and then deletes the saved copy. The job id is the store
and the file's content hash, so a second click on the same file finds the running import.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from pathlib import Path
from typing import Any

from redis import Redis
from rq.job import Job

from amzinsight.errors import AmzInsightError
from amzinsight.ingest.imports import import_file
from amzinsight.runtime import build_runtime
from amzinsight.stores import get_store
from workers.queueing import enqueue_unique, job_id, live_job, report_progress

logger = logging.getLogger(__name__)

UPLOADS_FOLDER = "uploads"  # under the data directory, one subfolder per job


def upload_job_id(store_slug: str, content: bytes) -> str:
    return job_id("upload", store_slug, hashlib.sha256(content).hexdigest()[:16])


def enqueue_upload(
    connection: Redis, data_dir: Path, store_slug: str, name: str, content: bytes
) -> tuple[Job, bool]:
    """Save the file as data_dir/uploads/<job id>/<name> and enqueue its import; the import
    already queued or running for the same file and store when there is one."""
    identifier = upload_job_id(store_slug, content)
    running = live_job(connection, identifier)
    if running is not None:
        return running, False
    path = data_dir / UPLOADS_FOLDER / identifier / (Path(name).name or "upload")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    try:
        job, created = enqueue_unique(
            connection,
            import_upload,
            identifier,
            args=(store_slug, str(path)),
            description=f"import {path.name} into {store_slug}",
        )
    except BaseException:
        _remove(path)
        raise
    if not created and job.args[1:2] != (str(path),):  # a concurrent click won with its copy
        _remove(path)
    return job, created


def import_upload(store_slug: str, path: str) -> dict[str, Any]:
    """Import the saved upload as `amzinsight import` does, then delete it (kept in the archive
    when it reached the pipeline)."""
    upload = Path(path)
    try:
        runtime = build_runtime()
        store = get_store(runtime.engine, store_slug)
        report_progress(f"Archiving, parsing and loading {upload.name}", 0.1)
        outcome = import_file(runtime.engine, runtime.archive, store, upload)
    except AmzInsightError as error:
        logger.warning("upload %s for %s not loaded: %s", upload.name, store_slug, error)
        return {"name": upload.name, "error": str(error)}
    finally:
        _remove(upload)
    report_progress(f"{upload.name} loaded", 1.0)
    return {
        "name": upload.name,
        "status": outcome.status,
        "rows_parsed": outcome.rows_parsed,
        "rows_upserted": outcome.rows_upserted,
        "run_id": outcome.run_id,
        "archive_key": outcome.archive_key,
        "notes": list(outcome.notes),
    }


def _remove(path: Path) -> None:
    """The saved upload and its job's folder (left when something else is in it)."""
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()

"""RQ job functions: strings and numbers in, a small dict out; the work happens in amzinsight."""

from __future__ import annotations

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from amzinsight.config import get_settings
from amzinsight.db.engine import get_engine
from amzinsight.embedded import database_url_for
from amzinsight.ingest import runs
from workers.connection import redis_connection

_LIVE_STATUSES = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def fail_abandoned_runs() -> dict[str, int]:
    """Housekeeping: runs whose RQ job no longer exists or ended without finishing the run."""
    settings = get_settings()
    connection = redis_connection(settings)
    engine = get_engine(database_url_for(settings.database_url, settings.data_dir))

    def job_is_alive(job_id: str | None) -> bool:
        if not job_id:
            return False
        try:
            return Job.fetch(job_id, connection=connection).get_status() in _LIVE_STATUSES
        except NoSuchJobError:
            return False

    return {"failed": runs.fail_abandoned_runs(engine, job_is_alive)}

"""`amzinsight worker`: one RQ worker on the ingest and default queues."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rq import Queue, Worker
from rq.job import Job

from amzinsight.config import get_settings
from amzinsight.errors import ConfigError
from amzinsight.logs import configure_logging
from workers.connection import QUEUE_NAMES, redis_connection


class SyncWorker(Worker):
    """An RQ worker that never retries a configuration error.

    A missing credential or a bad setting fails the same way on every try: the job fails once,
    its recorded failure is the error's sentence (no traceback), and the log gets one line. Every
    other exception keeps RQ's handling: logged with its traceback and retried as enqueued.
    """

    def handle_exception(
        self,
        job: Job,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        tb: TracebackType | None = None,
        *rest: Any,
    ) -> None:
        if isinstance(exc_value, ConfigError):
            job.retries_left = 0  # read by handle_job_failure, which runs next
            job.meta["user_error"] = str(exc_value)
            self.log.warning("job %s failed, not retried: %s", job.id, exc_value)
            return
        super().handle_exception(job, exc_type, exc_value, tb, *rest)

    def handle_job_failure(
        self,
        job: Job,
        queue: Queue,
        started_job_registry: Any = None,
        exc_string: str = "",
        execution: Any = None,
    ) -> None:
        sentence = job.meta.get("user_error")
        super().handle_job_failure(
            job,
            queue,
            started_job_registry=started_job_registry,
            exc_string=f"ConfigError: {sentence}" if sentence else exc_string,
            execution=execution,
        )


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.secret_values())
    connection = redis_connection(settings)
    worker = SyncWorker(list(QUEUE_NAMES), connection=connection)
    # RQ handles SIGTERM itself: a warm shutdown that lets the current job finish.
    worker.work(with_scheduler=True, logging_level=settings.log_level.upper())


if __name__ == "__main__":
    main()

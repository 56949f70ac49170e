"""`amzinsight worker`: one RQ worker on the ingest and default queues."""

from __future__ import annotations

from rq import Worker

from amzinsight.config import get_settings
from amzinsight.logs import configure_logging
from workers.connection import QUEUE_NAMES, redis_connection


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.secret_values())
    connection = redis_connection(settings)
    worker = Worker(list(QUEUE_NAMES), connection=connection)
    # RQ handles SIGTERM itself: a warm shutdown that lets the current job finish.
    worker.work(with_scheduler=True, logging_level=settings.log_level.upper())


if __name__ == "__main__":
    main()

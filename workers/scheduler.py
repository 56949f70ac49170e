"""`amzinsight scheduler`: registers the declared schedule, then runs rq-scheduler's loop."""

from __future__ import annotations

import logging
import warnings

from rq_scheduler import Scheduler

from amzinsight.config import get_settings
from amzinsight.logs import configure_logging
from workers.connection import DEFAULT_QUEUE, redis_connection
from workers.jobs import refresh_schedule

logger = logging.getLogger(__name__)
POLL_INTERVAL_SECONDS = 10


def main() -> None:
    # crontab warns on every next-time computation that rq-scheduler 0.14 makes (upstream issue).
    warnings.filterwarnings("ignore", message="Version 0.22.0", category=FutureWarning)
    settings = get_settings()
    configure_logging(settings.log_level, settings.secret_values())
    logger.info("schedule registered: %s", refresh_schedule())
    scheduler = Scheduler(
        queue_name=DEFAULT_QUEUE,
        connection=redis_connection(settings),
        interval=POLL_INTERVAL_SECONDS,
    )
    scheduler.run()  # installs its own SIGINT/SIGTERM handlers and exits cleanly on them


if __name__ == "__main__":
    main()

"""`amzinsight scheduler`: registers the declared schedule, then runs rq-scheduler's loop."""

from __future__ import annotations

import logging
import warnings

from rq_scheduler import Scheduler

from amzinsight.config import get_settings
from amzinsight.logs import configure_logging
from workers.connection import DEFAULT_QUEUE, redis_connection
from workers.schedule import declared_schedule, register_schedule

logger = logging.getLogger(__name__)
POLL_INTERVAL_SECONDS = 10


def main() -> None:
    # crontab warns on every next-time computation that rq-scheduler 0.14 makes (upstream issue).
    warnings.filterwarnings("ignore", message="Version 0.22.0", category=FutureWarning)
    settings = get_settings()
    configure_logging(settings.log_level, settings.secret_values())
    scheduler = Scheduler(
        queue_name=DEFAULT_QUEUE,
        connection=redis_connection(settings),
        interval=POLL_INTERVAL_SECONDS,
    )
    report = register_schedule(scheduler, declared_schedule(_store_slugs()))
    logger.info("schedule registered: %s", {k: len(v) for k, v in report.items()})
    scheduler.run()  # installs its own SIGINT/SIGTERM handlers and exits cleanly on them


def _store_slugs() -> list[str]:
    """Registered stores; the refresh-schedule job picks up later changes."""
    from amzinsight.runtime import build_runtime
    from amzinsight.stores import list_stores

    return [store.slug for store in list_stores(build_runtime().engine)]


if __name__ == "__main__":
    main()

"""A configuration error inside an RQ job fails it once, with its sentence, and is never retried.

A store added without SP-API credentials: its sync jobs (enqueued with retries, as the schedule
does) run on the real worker class against the machine's Redis and PostgreSQL.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus

from amzinsight.config import get_settings
from amzinsight.db.engine import get_engine
from amzinsight.db.tables import sync_runs
from amzinsight.ingest.sync import SyncTask
from amzinsight.ingest.windows import DateWindow
from amzinsight.reports import get_report
from amzinsight.rules.periods import local_today
from amzinsight.stores import StoreEndpoints, add_store
from workers.connection import INGEST_QUEUE, QUEUE_NAMES
from workers.jobs import enqueue_window, plan_job_id, plan_sync
from workers.queueing import enqueue_unique, sync_retry
from workers.worker import SyncWorker

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


class InProcessSyncWorker(SimpleWorker, SyncWorker):
    """The worker's failure handling without the fork, so that its log lines reach the test."""


SENTENCE = (
    "SP-API credentials are missing: set AMZ_STORES__ACME_US__SP_REFRESH_TOKEN, "
    "AMZ_STORES__ACME_US__LWA_CLIENT_ID, AMZ_STORES__ACME_US__LWA_CLIENT_SECRET."
)


@pytest.fixture
def environment(
    migrated_database_url: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Redis]:
    for name in [n for n in os.environ if n.startswith("AMZ_STORES__")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    monkeypatch.setenv("AMZ_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield Redis.from_url(redis_url)
    get_settings.cache_clear()


def test_a_store_without_credentials_fails_each_job_once_with_the_sentence(
    environment: Redis, migrated_database_url: str
) -> None:
    engine = get_engine(migrated_database_url)
    store = add_store(
        engine,
        slug="acme_us",
        name="Acme",
        country_codes=["US"],
        endpoints=StoreEndpoints("http://127.0.0.1:9", "http://127.0.0.1:9/auth/o2/token"),
        is_sandbox=True,
    )
    retry = sync_retry([0, 0, 0])  # what the schedule gives sync jobs: would retry at once
    yesterday = local_today(store.marketplaces[0].time_zone) - timedelta(days=1)
    day = DateWindow(yesterday, yesterday)
    window_job, _ = enqueue_window(
        environment,
        "acme_us",
        SyncTask(get_report("orders"), store.marketplaces[0], day),
        "test",
        retry,
    )
    plan_job, _ = enqueue_unique(
        environment,
        plan_sync,
        plan_job_id("acme_us", "sales_traffic", "test"),
        args=("acme_us", "sales_traffic", "test"),
        retry=retry,
    )

    console_stream = io.StringIO()
    console_handler = logging.StreamHandler(console_stream)
    logging.getLogger("rq.worker").addHandler(console_handler)
    try:
        InProcessSyncWorker(list(QUEUE_NAMES), connection=environment).work(burst=True)
    finally:
        logging.getLogger("rq.worker").removeHandler(console_handler)
    console = console_stream.getvalue()  # what the worker's console gets

    for job in (window_job, plan_job):
        fetched = Job.fetch(job.id, connection=environment)
        assert fetched.get_status() == JobStatus.FAILED, job.id
        assert not fetched.retries_left
        result = fetched.latest_result()
        assert result is not None and result.exc_string == f"ConfigError: {SENTENCE}"
    queue = Queue(INGEST_QUEUE, connection=environment)
    assert queue.scheduled_job_registry.get_job_ids() == []  # nothing waits for a retry
    assert queue.get_job_ids() == []
    with engine.connect() as connection:
        runs = connection.execute(
            sa.select(sync_runs.c.report_type, sync_runs.c.status, sync_runs.c.error).order_by(
                sync_runs.c.id
            )
        ).all()
    # One run per job, not one per window or per try; each records the sentence.
    assert sorted(runs) == [
        ("orders", "failed", SENTENCE),
        ("sales_traffic", "failed", SENTENCE),
    ]
    assert "Traceback" not in console
    assert console.count(f"not retried: {SENTENCE}") == 2, console

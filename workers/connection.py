"""The Redis connection and queues every worker, scheduler and page shares."""

from __future__ import annotations

from redis import Redis
from rq import Queue

from amzinsight.config import Settings
from amzinsight.embedded import redis_url_for

INGEST_QUEUE = "ingest"
DEFAULT_QUEUE = "default"
QUEUE_NAMES = (INGEST_QUEUE, DEFAULT_QUEUE)


def redis_connection(settings: Settings) -> Redis:
    return Redis.from_url(redis_url_for(settings.redis_url, settings.data_dir))


def queue(name: str, connection: Redis) -> Queue:
    return Queue(name, connection=connection)

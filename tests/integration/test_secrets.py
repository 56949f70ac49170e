"""No credential leaves the settings: planted secrets are looked for everywhere a sync, the queue,
the query cache and the assistant write to.

One sandbox seller is given unique planted credentials (SP-API and Ads), kept in the environment
encrypted with a fresh Fernet key, next to a planted S3 secret and LLM API key. A full sync runs
through the CLI with a 429 storm, a FATAL report, 5xx on downloads and a throttled token call;
syncs are queued in Redis the way the CLI and the Sync page queue them; the query cache is filled;
an assistant conversation with a tool round runs against the fake LLM. Then every log record
(after the redacting filter), stdout/stderr, table row, archived object, Redis key and value and
LLM request body is searched for each planted value, its `enc:` token and the Fernet key.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
import uuid
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import timedelta

import boto3
import polars as pl
import pytest
import redis
import sp_api.auth.access_token_client as access_token_client
import sqlalchemy as sa
from amzinsight_sandbox import Fault, SandboxConfig, demo_account, start_sandbox
from amzinsight_sandbox.llm import FakeLlm, start_fake_llm

from amzinsight.analytics.sales import sales_by_asin, sales_kpis
from amzinsight.assistant.anonymise import Anonymiser
from amzinsight.assistant.chat import AssistantChat, llm_client
from amzinsight.assistant.context import build_context
from amzinsight.assistant.tools import ToolCall, ToolRunner
from amzinsight.cache import QueryCache
from amzinsight.config import Settings, encrypt_value, generate_secret_key, get_settings
from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.logs import RedactSecretsFilter
from amzinsight.reports import get_report
from amzinsight.stores import StoreEndpoints, add_store, get_store
from launcher.cli import main as cli_main
from workers.connection import redis_connection
from workers.jobs import plan_job_id, plan_sync
from workers.queueing import enqueue_unique

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.s3]

SLUG = "planted"
MARK = uuid.uuid4().hex[:12]
# The distinctive part of each planted value is what is searched for, so a URL-encoded
# (Atzr%7C...) or JSON-escaped copy is found as well as the value itself.
PLANTED_CORES = {
    "LWA client secret": f"PLANTED-lwa-secret-{MARK}",
    "SP-API refresh token": f"PLANTED-sp-refresh-{MARK}",
    "Ads client secret": f"PLANTED-ads-secret-{MARK}",
    "Ads refresh token": f"PLANTED-ads-refresh-{MARK}",
    "S3 secret access key": f"PLANTEDs3secret{MARK}",
    "LLM API key": f"PLANTED-llm-key-{MARK}",
}
ACCOUNT = replace(
    demo_account(asins=4, days=30),
    lwa_client_secret="amzn1.oa2-cs.v1." + PLANTED_CORES["LWA client secret"],
    refresh_token="Atzr|" + PLANTED_CORES["SP-API refresh token"],
    ads_client_id="amzn1.application-oa2-client.plantedads0000000000000000001",
    ads_client_secret="amzn1.oa2-cs.v1." + PLANTED_CORES["Ads client secret"],
    ads_refresh_token="Atzr|" + PLANTED_CORES["Ads refresh token"],
)
S3_SECRET = PLANTED_CORES["S3 secret access key"]
LLM_KEY = "sk-" + PLANTED_CORES["LLM API key"]
SELF_CHECK = "self-check"


@pytest.fixture
def fake_llm() -> Iterator[FakeLlm]:
    with start_fake_llm() as server:
        yield server


@pytest.fixture
def own_log_handler() -> Iterator[None]:
    """The CLI installs its redacting handler on the root logger; one left by an earlier test
    would write to that test's closed capture stream, so each run here starts and ends without."""
    root = logging.getLogger()
    before = list(root.handlers)
    root.handlers = [h for h in before if not getattr(h, "_amzinsight", False)]
    yield
    root.handlers = before


def _planted_environment(
    monkeypatch: pytest.MonkeyPatch, database_url: str, redis_url: str, sandbox_url: str, llm: str
) -> dict[str, str]:
    """Sets every credential encrypted; returns the needles: planted cores, tokens and the key."""
    key = generate_secret_key()
    prefix = f"AMZ_STORES__{SLUG.upper()}__"
    secrets = {
        prefix + "SP_REFRESH_TOKEN": ACCOUNT.refresh_token,
        prefix + "LWA_CLIENT_SECRET": ACCOUNT.lwa_client_secret,
        prefix + "ADS_CLIENT_SECRET": ACCOUNT.ads_client_secret,
        prefix + "ADS_REFRESH_TOKEN": ACCOUNT.ads_refresh_token,
        "AMZ_S3_SECRET_ACCESS_KEY": S3_SECRET,
        "AMZ_LLM_API_KEY": LLM_KEY,
    }
    needles = dict(PLANTED_CORES)
    needles["Fernet key (AMZ_SECRET_KEY)"] = key.rstrip("=")
    for variable, plain in secrets.items():
        encrypted = encrypt_value(plain, key)
        monkeypatch.setenv(variable, encrypted)
        # without the trailing padding, a URL-encoded copy is found too
        needles[f"enc: token of {variable}"] = encrypted.removeprefix("enc:").rstrip("=")
    for variable, value in {
        "AMZ_SECRET_KEY": key,
        prefix + "LWA_CLIENT_ID": ACCOUNT.lwa_client_id,
        prefix + "ADS_CLIENT_ID": ACCOUNT.ads_client_id,
        "AMZ_DATABASE_URL": database_url,
        "AMZ_REDIS_URL": redis_url,
        "AMZ_LOG_LEVEL": "DEBUG",
        "AMZ_SYNC_INITIAL_DAYS": "3",
        "AMZ_SYNC_MAX_BACKOFF_SECONDS": "0.1",
        "AMZ_ADS_LOOKBACK_DAYS": "2",
        "AMZ_LLM_BASE_URL": llm,
        "AMZ_LLM_MODEL": "fake-model",
    }.items():
        monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    settings = Settings()
    assert set(settings.secret_values()) == set(secrets.values()) | {key}  # all decrypted
    # Access tokens the sandbox hands out are credentials too; none should be kept anywhere.
    needles["an LWA access token (Atza|)"] = "Atza|"
    return needles


# --- the search ---------------------------------------------------------------------------------


def _readable_forms(raw: bytes) -> list[bytes]:
    """The bytes as stored plus what they decode to: gzip (archive), zlib (RQ's pickled job
    data), Arrow IPC (cached frames, compressed inside)."""
    forms = [raw]
    if raw[:2] == b"\x1f\x8b":
        forms.append(gzip.decompress(raw))
    with contextlib.suppress(zlib.error):
        forms.append(zlib.decompress(raw))
    if raw[:6] == b"ARROW1":
        forms.append(pl.read_ipc(io.BytesIO(raw)).write_ndjson().encode())
    return forms


def find_needles(needles: dict[str, str], places: Iterable[tuple[str, bytes | str]]) -> list[str]:
    """'<secret> in <place>' for every needle found in any readable form of a place's content."""
    found = []
    for where, content in places:
        raw = content.encode() if isinstance(content, str) else content
        forms = _readable_forms(raw)
        for label, needle in needles.items():
            if any(needle.encode() in form for form in forms):
                found.append(f"{label} in {where}")
    return found


def log_places(records: list[logging.LogRecord], out: str, err: str) -> Iterator[tuple[str, str]]:
    for record in records:
        text = record.getMessage()
        if record.exc_info and not record.exc_text:  # never went through the redacting filter
            text += logging.Formatter().formatException(record.exc_info)
        text += (record.exc_text or "") + (record.stack_info or "")
        yield f"log record {record.name}:{record.lineno}", text
    yield "stdout", out
    yield "stderr", err


def table_places(engine: sa.Engine) -> Iterator[tuple[str, str]]:
    """Every row of every table, the schema's and any other in the database."""
    with engine.connect() as connection:
        names = {table.name for table in tables.metadata.sorted_tables}
        names |= set(
            connection.execute(
                sa.text(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
                )
            ).scalars()
        )
        quote = engine.dialect.identifier_preparer.quote
        for name in sorted(names):
            query = sa.text(f"SELECT row_to_json(t)::text FROM {quote(name)} t")  # noqa: S608
            for number, row in enumerate(connection.execute(query).scalars()):
                yield f"table {name} row {number}", row


def archive_places(bucket: str) -> Iterator[tuple[str, bytes]]:
    settings = get_settings()
    client = boto3.client(
        "s3",
        endpoint_url=settings.s3.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            yield f"s3 object {item['Key']}", item["Key"].encode()
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            yield f"s3 object {item['Key']}", body


def redis_places(client: redis.Redis) -> Iterator[tuple[str, bytes]]:
    for key in client.scan_iter(count=500):
        where = f"redis {key!r}"
        yield where + " (key)", key
        kind = client.type(key).decode()
        values: list[bytes] = []
        if kind == "string":
            values = [client.get(key) or b""]
        elif kind == "hash":
            values = [part for pair in client.hgetall(key).items() for part in pair]
        elif kind == "list":
            values = client.lrange(key, 0, -1)
        elif kind == "set":
            values = list(client.smembers(key))
        elif kind == "zset":
            values = [member for member, _ in client.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            values = [
                part for _, fields in client.xrange(key) for pair in fields.items() for part in pair
            ]
        for value in values:
            yield where, value


# --- the test ------------------------------------------------------------------------------------


def test_planted_secrets_appear_in_no_log_table_archive_redis_value_or_llm_request(
    migrated_database_url: str,
    redis_url: str,
    s3_bucket: str,
    fake_llm: FakeLlm,
    own_log_handler: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    access_token_client.cache.clear()
    config = SandboxConfig(accounts=[ACCOUNT], processing_delay_seconds=0, speed_factor=1000)
    with start_sandbox(config) as sandbox:
        needles = _planted_environment(
            monkeypatch, migrated_database_url, redis_url, sandbox.url, fake_llm.base_url
        )
        engine = get_engine(migrated_database_url)
        add_store(
            engine,
            slug=SLUG,
            name="Planted Secrets Co.",
            country_codes=list(ACCOUNT.marketplaces),
            endpoints=StoreEndpoints(sandbox.url, sandbox.lwa_token_url, sandbox.url),
            is_sandbox=True,
        )
        sandbox.set_faults(
            [
                Fault("throttle", operation="token", count=2),
                Fault("throttle", operation="createReport", count=6),
                Fault("throttle", operation="getReport", count=6),
                Fault("throttle", operation="getReportDocument", count=4),
                Fault("fatal", report_type=get_report("orders").amazon_report_type, count=1),
                Fault("server_error", operation="download", count=3),
                Fault("throttle", operation="createAsyncReport", count=3, retry_after=0.05),
                Fault("server_error", operation="getAsyncReport", count=2),
            ]
        )
        sync_exit = cli_main(["sync", SLUG])
        requests_seen = sandbox.requests()
        enqueue_exit = cli_main(["sync", SLUG, "--enqueue"])

    # The faults happened and the sync still loaded data: a real run, not a vacuous one.
    statuses = [entry.get("status") for entry in requests_seen]
    assert 429 in statuses and any(isinstance(s, int) and s >= 500 for s in statuses), statuses
    with engine.connect() as connection:
        runs = connection.execute(
            sa.select(tables.sync_runs.c.report_type, tables.sync_runs.c.status)
        ).all()
    assert any(status == "failed" for _, status in runs), runs  # the FATAL orders report
    assert sum(status == "succeeded" for _, status in runs) >= 10, runs
    assert sync_exit == 1 and enqueue_exit == 0
    settings = get_settings()
    # The entry point's redacting filter was in effect, knowing every configured secret.
    (handler,) = [h for h in logging.getLogger().handlers if getattr(h, "_amzinsight", False)]
    (redacting,) = [f for f in handler.filters if isinstance(f, RedactSecretsFilter)]
    assert set(redacting.known_secrets) == set(settings.secret_values())

    store = get_store(engine, SLUG)
    connection_redis = redis_connection(settings)
    # The Sync page's "Sync now" button.
    enqueue_unique(
        connection_redis,
        plan_sync,
        plan_job_id(store.slug, "orders", "now"),
        args=(store.slug, "orders", "sync page"),
    )
    # The query cache, as pages fill it.
    us = store.marketplaces[0].marketplace_id
    end = ACCOUNT.today - timedelta(days=1)
    start = end - timedelta(days=2)
    cache = QueryCache(engine, connection_redis, settings.cache.query_ttl_seconds)
    kpis = cache.frame(sales_kpis, store.id, (us,), start, end)
    by_asin = cache.frame(sales_by_asin, store.id, (us,), start, end)
    assert kpis["units_ordered"][0] and not by_asin.is_empty()
    assert not cache.redis_failed

    # An assistant conversation with a tool round; one message pastes a secret by mistake.
    with engine.connect() as connection:
        asin = connection.execute(
            sa.select(tables.listings.c.asin).where(tables.listings.c.store_id == store.id)
        ).scalar()
    assert asin is not None
    for chatty in ("httpx", "httpcore", "openai"):
        caplog.set_level(logging.DEBUG, logger=chatty)
    chat = AssistantChat(
        client=llm_client(settings.llm),
        model=settings.llm.model,
        anonymiser=Anonymiser.for_store(store, settings),
        context=build_context(engine, store.id, (us,), asin, start, end),
        tools=ToolRunner(engine, store.id, (us,), asin, end),
    )
    history: list[dict[str, str]] = []
    for message in (
        f"my refresh token is {ACCOUNT.refresh_token}: why did sales drop?",
        "[tool] which rules apply?",
        "[sales] how did it sell?",
    ):
        history.append({"role": "user", "content": message})
        parts = list(chat.stream(history))
        history.append(
            {"role": "assistant", "content": "".join(p for p in parts if isinstance(p, str))}
        )
    assert any(isinstance(part, ToolCall) for part in parts)
    assert len(fake_llm.requests) == 6  # three turns, each with a tool round
    assert "[secret]" in fake_llm.request_texts()[0]  # the pasted token was scrubbed, not sent

    out, err = capsys.readouterr()
    assert "windows synced" in out
    assert "FATAL" in err or "fatal" in err.lower(), err  # the failure was shown, clearly

    client = redis.Redis.from_url(redis_url)
    keys = [key.decode() for key in client.scan_iter()]
    assert any(key.startswith("rq:job:") for key in keys), keys
    assert any("sync" in key for key in keys if key.startswith("rq:job:")), keys

    # The search can fail: a planted value written into Redis, plain and zlib-compressed the
    # way RQ stores job data, and into a gzipped archive object, is reported in each.
    client.set("self-check:plain", f"x {ACCOUNT.ads_refresh_token} y")
    client.hset("self-check:job", "data", zlib.compress(ACCOUNT.lwa_client_secret.encode()))
    s3 = boto3.client(
        "s3",
        endpoint_url=settings.s3.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.put_object(Bucket=s3_bucket, Key="self-check.gz", Body=gzip.compress(S3_SECRET.encode()))
    try:
        planted = find_needles(needles, [*redis_places(client), *archive_places(s3_bucket)])
    finally:
        client.delete("self-check:plain", "self-check:job")
        s3.delete_object(Bucket=s3_bucket, Key="self-check.gz")
    assert sorted(planted) == [
        "Ads refresh token in redis b'self-check:plain'",
        "LWA client secret in redis b'self-check:job'",
        "S3 secret access key in s3 object self-check.gz",
    ]

    places = [
        *log_places(caplog.records, out, err),
        *table_places(engine),
        *archive_places(s3_bucket),
        *redis_places(client),
        *((f"LLM request {number}", text) for number, text in enumerate(fake_llm.request_texts())),
    ]
    assert len(places) > 500  # logs, rows, objects and keys were all there to search
    assert find_needles(needles, places) == []

"""The pages' long and external work as RQ jobs, run by the real worker class on the machine's
Redis and PostgreSQL: recompute the recommendations, apply and undo through the Amazon Ads API
(the sandbox), and import an uploaded report file.

Each job has a deterministic id: a second enqueue while it runs returns the same job.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from amzinsight_sandbox import RunningSandbox, SandboxConfig, demo_account, demo_environment
from amzinsight_sandbox import start_sandbox as start_ads_sandbox
from redis import Redis
from rq import SimpleWorker
from rq.job import Job, JobStatus

import workers.bidding_jobs as bidding_jobs
from amzinsight.assistant.proposal import KeywordIdea, Proposal, send_keyword_proposals
from amzinsight.bidding.frames import lookback_window
from amzinsight.bidding.policy import BidPolicy
from amzinsight.bidding.queries import stored_recommendations
from amzinsight.config import get_settings
from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.ingest.sync import client_for as sync_client_for
from amzinsight.ingest.sync import plan_tasks, prepare_ads, run_task
from amzinsight.reports import get_report
from amzinsight.rules.periods import local_today
from amzinsight.runtime import build_runtime
from amzinsight.sources.sp_api import RetryPolicy
from amzinsight.stores import Store, StoreEndpoints, add_store, get_store
from tests.conftest import DEMO_SLUG
from workers.bidding_jobs import (
    enqueue_apply,
    enqueue_recompute,
    enqueue_undo,
    recompute_job_id,
)
from workers.connection import QUEUE_NAMES
from workers.queueing import job_outcome
from workers.upload_jobs import UPLOADS_FOLDER, enqueue_upload
from workers.worker import SyncWorker

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

FIXTURES = Path(__file__).parents[1] / "fixtures"


class InProcessSyncWorker(SimpleWorker, SyncWorker):
    """The worker's job handling without the fork, so a test can watch a job from inside."""


def run_jobs(connection: Redis) -> None:
    InProcessSyncWorker(list(QUEUE_NAMES), connection=connection).work(burst=True)


def point_settings_at(monkeypatch: pytest.MonkeyPatch, database_url: str, redis_url: str) -> Redis:
    """What the worker reads: the test's database and Redis."""
    monkeypatch.setenv("AMZ_DATABASE_URL", database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    get_settings.cache_clear()
    return Redis.from_url(redis_url)


@pytest.fixture
def demo(
    demo_copy: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Store, Redis]]:
    connection = point_settings_at(monkeypatch, demo_copy, redis_url)
    yield get_store(get_engine(demo_copy), DEMO_SLUG), connection
    get_settings.cache_clear()


def test_recompute_runs_in_the_worker_for_the_local_day_and_keeps_the_assistants_proposals(
    demo: tuple[Store, Redis], demo_copy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, connection = demo
    engine = get_engine(demo_copy)
    us = store.marketplaces[0]
    today = local_today(us.time_zone)
    seen_while_running: list[Any] = []
    recommend = bidding_jobs.recommend

    def watched_recommend(*args: Any, **kwargs: Any) -> Any:
        """The engine, with a second click and a look at the job's meta while it runs."""
        again, created = enqueue_recompute(connection, store.slug, today)
        outcome = job_outcome(connection, again.id)
        seen_while_running.append((again.id, created, outcome and outcome.state, outcome))
        return recommend(*args, **kwargs)

    monkeypatch.setattr(bidding_jobs, "recommend", watched_recommend)
    job, created = enqueue_recompute(connection, store.slug, today)
    assert created and job.id == recompute_job_id(store.slug, today)
    assert job.id == f"recompute-{store.slug}-{today.isoformat()}"
    run_jobs(connection)

    ((second_id, second_created, state, running),) = seen_while_running
    assert (second_id, second_created, state) == (job.id, False, "running")
    assert running.progress == "Computing bid, harvest and negative recommendations"
    assert running.fraction == pytest.approx(0.1)
    finished = job_outcome(connection, job.id)
    assert finished is not None and finished.state == "finished"
    data_through = lookback_window(today, BidPolicy())[1]
    assert finished.result["data_through"] == data_through.isoformat()
    assert finished.result["count"] == finished.result["changed"] > 0
    with engine.connect() as connection_:
        days = set(
            connection_.execute(sa.select(tables.bid_recommendations.c.generated_for)).scalars()
        )
    assert days == {data_through}  # dated by the marketplace's local day

    # The Assistant sends keywords for an advertised ASIN, dated the day the page shows.
    with engine.connect() as connection_:
        asin = connection_.execute(
            sa.select(tables.ads_advertised_product_daily.c.advertised_asin)
            .where(tables.ads_advertised_product_daily.c.store_id == store.id)
            .order_by(tables.ads_advertised_product_daily.c.advertised_asin)
            .limit(1)
        ).scalar_one()
    proposal = Proposal(
        title=None,
        bullets=None,
        description=None,
        backend_terms=None,
        exact_keywords=(KeywordIdea("stovetop kettle with thermometer", "asked for"),),
        negative_keywords=(KeywordIdea("kettle descaler", "never converts"),),
    )
    sent = send_keyword_proposals(
        engine,
        store.id,
        (us.marketplace_id,),
        asin,
        proposal,
        today - timedelta(days=30),
        today - timedelta(days=1),
        today,
        actor="Dana",
    )
    assert sent > 0

    monkeypatch.setattr(bidding_jobs, "recommend", recommend)
    again, created = enqueue_recompute(connection, store.slug, today)
    assert created and again.id == job.id  # the finished job's id is free again
    run_jobs(connection)

    assert job_outcome(connection, again.id).result["changed"] == 0  # type: ignore[union-attr]
    shown = stored_recommendations(engine, store.id, marketplace_ids=(us.marketplace_id,))
    assistants = shown.filter(pl.col("source") == "assistant")
    assert assistants.height == sent
    assert shown.filter(pl.col("source") == "bidder").height > 0


def test_an_unknown_store_ends_the_job_with_its_sentence(demo: tuple[Store, Redis]) -> None:
    _store, connection = demo
    job, _ = enqueue_recompute(connection, "nosuch", date(2026, 3, 1))
    run_jobs(connection)
    outcome = job_outcome(connection, job.id)
    assert outcome is not None and outcome.state == "finished"
    assert outcome.result == {"error": "No store named 'nosuch': see `amzinsight store list`."}


# --- apply and undo through the Amazon Ads API (the sandbox) --------------------------------------

ACCOUNT = demo_account(asins=10, days=60)
FAST = RetryPolicy(poll_initial_seconds=0.05, poll_max_seconds=0.2, poll_timeout_seconds=30)


@pytest.fixture(scope="module")
def ads_sandbox() -> Iterator[RunningSandbox]:
    config = SandboxConfig(accounts=[ACCOUNT], processing_delay_seconds=0.1, speed_factor=500)
    with start_ads_sandbox(config) as running:
        yield running


@pytest.fixture
def ads_store(
    ads_sandbox: RunningSandbox,
    migrated_database_url: str,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Store, Redis]]:
    ads_sandbox.reset()
    for name, value in demo_environment(ACCOUNT).items():
        monkeypatch.setenv(name, value)
    connection = point_settings_at(monkeypatch, migrated_database_url, redis_url)
    engine = get_engine(migrated_database_url)
    store = add_store(
        engine,
        slug="demo",
        name=ACCOUNT.name,
        country_codes=["US"],
        endpoints=StoreEndpoints(ads_sandbox.url, ads_sandbox.lwa_token_url, ads_sandbox.url),
        is_sandbox=True,
    )
    runtime = build_runtime()
    assert prepare_ads(engine, runtime.settings, store)
    for task in plan_tasks(engine, store, get_report("sp_entities"), 30):
        client = sync_client_for(runtime.settings, store, task, FAST)
        outcomes = run_task(engine, runtime.archive, client, store, task)
        assert all(outcome.status == "succeeded" for outcome in outcomes)
    yield store, connection
    get_settings.cache_clear()


def test_apply_and_undo_run_in_the_worker_under_the_name_given(
    ads_store: tuple[Store, Redis], migrated_database_url: str
) -> None:
    store, connection = ads_store
    engine = get_engine(migrated_database_url)
    with engine.connect() as connection_:
        keyword = (
            connection_.execute(
                sa.select(tables.ads_targets)
                .where(
                    tables.ads_targets.c.kind == "keyword", tables.ads_targets.c.state == "ENABLED"
                )
                .order_by(tables.ads_targets.c.target_id)
                .limit(1)
            )
            .mappings()
            .one()
        )
    approved = {
        "store_id": store.id, "profile_id": keyword["profile_id"], "kind": "bid",
        "entity_id": keyword["target_id"], "generated_for": ACCOUNT.today,
        "campaign_id": keyword["campaign_id"], "ad_group_id": keyword["ad_group_id"],
        "target_id": keyword["target_id"], "current_bid": keyword["bid"],
        "recommended_bid": Decimal("0.77"), "currency": "USD", "status": "approved",
        "reason": "test",
    }  # fmt: skip
    with engine.begin() as connection_:
        rec_id = connection_.execute(
            sa.insert(tables.bid_recommendations)
            .values(approved)
            .returning(tables.bid_recommendations.c.id)
        ).scalar_one()

    job, created = enqueue_apply(connection, store.slug, [rec_id], "Dana")
    again, created_again = enqueue_apply(connection, store.slug, [rec_id], "Lee")
    assert created and not created_again and again.id == job.id == f"apply-{store.slug}"
    assert job.get_status() == JobStatus.QUEUED
    run_jobs(connection)

    applied = job_outcome(connection, job.id)
    assert applied is not None and applied.result == {"applied": [rec_id], "failed": {}}
    with engine.connect() as connection_:
        (change,) = connection_.execute(sa.select(tables.bid_changes)).mappings().all()
        status = connection_.execute(
            sa.select(tables.bid_recommendations.c.status).where(
                tables.bid_recommendations.c.id == rec_id
            )
        ).scalar_one()
    assert (change["applied_by"], change["succeeded"], status) == ("Dana", True, "applied")
    assert change["after_bid"] == Decimal("0.77")

    undo_job, _ = enqueue_undo(connection, store.slug, [change["id"]], "Lee")
    assert undo_job.id == f"undo-{store.slug}"
    run_jobs(connection)

    undone = job_outcome(connection, undo_job.id)
    assert undone is not None and undone.result == {"applied": [rec_id], "failed": {}}
    with engine.connect() as connection_:
        changes = (
            connection_.execute(sa.select(tables.bid_changes).order_by(tables.bid_changes.c.id))
            .mappings()
            .all()
        )
    assert [c["applied_by"] for c in changes] == ["Dana", "Lee"]
    assert changes[0]["undone_by_change_id"] == changes[1]["id"]
    assert changes[1]["after_bid"] == keyword["bid"]


# --- a report file uploaded on the Sync page ------------------------------------------------------


@pytest.fixture
def upload_store(
    migrated_database_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Store, Redis]]:
    connection = point_settings_at(monkeypatch, migrated_database_url, redis_url)
    engine = get_engine(migrated_database_url)
    yield add_store(engine, slug="brewlane", name="Brewlane", country_codes=["US"]), connection
    get_settings.cache_clear()


def saved_uploads() -> list[Path]:
    return sorted(p for p in (get_settings().data_dir / UPLOADS_FOLDER).rglob("*") if p.is_file())


def test_an_upload_is_imported_by_the_worker_like_amzinsight_import(
    upload_store: tuple[Store, Redis], migrated_database_url: str
) -> None:
    store, connection = upload_store
    content = (FIXTURES / "all_orders.tsv").read_bytes()
    data_dir = get_settings().data_dir

    job, created = enqueue_upload(connection, data_dir, store.slug, "all_orders.tsv", content)
    again, created_again = enqueue_upload(connection, data_dir, store.slug, "copy.tsv", content)
    assert created and not created_again and again.id == job.id
    assert [p.name for p in saved_uploads()] == ["all_orders.tsv"]  # saved once
    run_jobs(connection)

    outcome = job_outcome(connection, job.id)
    assert outcome is not None and outcome.state == "finished"
    assert (outcome.result["rows_parsed"], outcome.result["rows_upserted"]) == (25, 25)
    assert outcome.result["name"] == "all_orders.tsv"
    assert saved_uploads() == []  # the job deleted its copy
    archived = [p for p in (data_dir / "archive").rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in archived] == [content]
    with get_engine(migrated_database_url).connect() as connection_:
        runs = connection_.execute(
            sa.select(tables.sync_runs.c.source, tables.sync_runs.c.status)
        ).all()
    assert runs == [("upload", "succeeded")]


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"\x89\xfe\r\n\x00garbage\xff" * 64, "not valid UTF-8"),
        (b"hello\tworld\n1\t2\n", "not a report type AmzInsight knows"),
    ],
    ids=["garbage", "unknown-text"],
)
def test_a_bad_upload_ends_with_the_import_sentence_and_leaves_no_copy(
    upload_store: tuple[Store, Redis], content: bytes, phrase: str
) -> None:
    store, connection = upload_store
    job, _ = enqueue_upload(connection, get_settings().data_dir, store.slug, "bad.txt", content)
    run_jobs(connection)

    outcome = job_outcome(connection, job.id)
    assert outcome is not None and outcome.state == "finished"
    assert phrase in outcome.result["error"]
    assert "Traceback" not in outcome.result["error"]
    assert saved_uploads() == []
    assert Job.fetch(job.id, connection=connection).get_status() == JobStatus.FINISHED

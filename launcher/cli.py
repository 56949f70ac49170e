"""The `amzinsight` command. Every user-facing failure ends in one sentence and a non-zero exit."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from amzinsight.config import Settings, encrypt_value, generate_secret_key, get_settings
from amzinsight.errors import AmzInsightError, ConfigError
from amzinsight.logs import configure_logging

EXIT_USER_ERROR = 2
DEFAULT_SANDBOX_URL = "http://127.0.0.1:8765"


EXIT_OUTPUT_CLOSED = 141  # what a shell reports for a process ended by SIGPIPE (128 + 13)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = _build_parser()
        args = parser.parse_args(argv)
        if not hasattr(args, "handler"):
            parser.print_help()
            return EXIT_USER_ERROR
        try:
            code = int(args.handler(args) or 0)
        except AmzInsightError as error:
            print(f"amzinsight: {error}", file=sys.stderr)
            code = EXIT_USER_ERROR
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit flush
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `amzinsight bids demo --json | head`: the reader has what it wanted. Point stdout at
        # /dev/null so that the interpreter's final flush has nowhere to fail either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OUTPUT_CLOSED


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amzinsight", description="Analytics and ad optimisation for your Amazon stores."
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    up = commands.add_parser("up", help="start everything on this machine")
    up.add_argument("--host", default="127.0.0.1", help="interface Streamlit binds to")
    up.add_argument("--port", type=int, default=8501)
    up.add_argument("--demo", action="store_true", help="also register the sandbox demo store")
    up.add_argument(
        "--fake-llm",
        action="store_true",
        help="serve the sandbox's fake model and point the Assistant at it (no real LLM needed)",
    )
    up.set_defaults(handler=_up)

    worker = commands.add_parser("worker", help="run one RQ worker (for other hosts)")
    worker.set_defaults(handler=lambda _args: _exec_module("workers.worker"))
    scheduler = commands.add_parser("scheduler", help="run the rq-scheduler process")
    scheduler.set_defaults(handler=lambda _args: _exec_module("workers.scheduler"))

    db = commands.add_parser("db", help="database migrations").add_subparsers(metavar="ACTION")
    db_upgrade = db.add_parser("upgrade", help="apply migrations (safe to run twice)")
    db_upgrade.add_argument("revision", nargs="?", default="head")
    db_upgrade.set_defaults(handler=_db_upgrade)
    db_downgrade = db.add_parser("downgrade", help="revert migrations")
    db_downgrade.add_argument("revision")
    db_downgrade.set_defaults(handler=_db_downgrade)
    db.add_parser("current", help="show the applied revision").set_defaults(handler=_db_current)

    secrets = commands.add_parser("secrets", help="encrypted credentials").add_subparsers(
        metavar="ACTION"
    )
    secrets.add_parser("keygen", help="print a new AMZ_SECRET_KEY").set_defaults(
        handler=_secrets_keygen
    )
    secrets.add_parser(
        "encrypt", help="read a value from standard input and print its enc: form"
    ).set_defaults(handler=_secrets_encrypt)

    store = commands.add_parser("store", help="seller accounts").add_subparsers(metavar="ACTION")
    store_add = store.add_parser("add", help="register a seller account")
    store_add.add_argument("slug", help="short name, e.g. acme_us (letters, digits, _)")
    store_add.add_argument("--name", required=True)
    store_add.add_argument(
        "--marketplace",
        action="append",
        required=True,
        metavar="CC",
        help="country code, repeatable: --marketplace US --marketplace CA",
    )
    store_add.add_argument(
        "--region", choices=["na", "eu", "fe"], help="checked against the marketplaces' region"
    )
    store_add.add_argument("--seller-id")
    store_add.add_argument(
        "--sandbox",
        nargs="?",
        const=DEFAULT_SANDBOX_URL,
        metavar="URL",
        help=f"point the store at the sandbox Amazon (default {DEFAULT_SANDBOX_URL})",
    )
    store_add.add_argument("--sp-api-endpoint", help="default: Amazon's host for the region")
    store_add.add_argument("--lwa-token-url", help="default: https://api.amazon.com/auth/o2/token")
    store_add.add_argument("--ads-api-endpoint", help="default: Amazon Ads' host for the region")
    store_add.set_defaults(handler=_store_add)
    store_check = store.add_parser(
        "check", help="ask Amazon which APIs the store's credentials reach (exit 2: one missing)"
    )
    store_check.add_argument("slug")
    store_check.set_defaults(handler=_store_check)
    sync = commands.add_parser("sync", help="pull a store's reports from Amazon now")
    sync.add_argument("slug")
    sync.add_argument("--report", action="append", metavar="KEY", help="repeatable; default all")
    sync.add_argument("--from", dest="start", type=_date_argument, metavar="DATE")
    sync.add_argument("--to", dest="end", type=_date_argument, metavar="DATE")
    sync.add_argument("--enqueue", action="store_true", help="hand the windows to the workers")
    sync.set_defaults(handler=_sync)

    load = commands.add_parser("import", help="load a report file you downloaded (plain or .gz)")
    load.add_argument("slug")
    load.add_argument("path", type=Path)
    load.add_argument("--type", dest="report", metavar="KEY", help="default: detected")
    load.add_argument("--marketplace", metavar="ID", help="for files that do not say")
    load.add_argument("--profile", metavar="ID", help="the Ads profile of an Amazon Ads report")
    load.set_defaults(handler=_import)

    replay = commands.add_parser("replay", help="rebuild tables from the raw archive")
    replay.add_argument("slug")
    replay.add_argument("--report", metavar="KEY")
    replay.set_defaults(handler=_replay)

    metrics = commands.add_parser("metrics", help="a store's KPIs for a date range")
    metrics.add_argument("slug")
    metrics.add_argument("--from", dest="start", type=_date_argument, required=True)
    metrics.add_argument("--to", dest="end", type=_date_argument, required=True)
    metrics.add_argument("--marketplace", metavar="ID")
    metrics.add_argument("--json", action="store_true", help="JSON (the only format for now)")
    metrics.set_defaults(handler=_metrics)

    bids = commands.add_parser("bids", help="bid, harvest and negative recommendations")
    bids.add_argument("slug")
    bids.add_argument("--target-acos", type=float, metavar="X", help="e.g. 0.25 for 25%%")
    bids.add_argument("--json", action="store_true", help="JSON (the only format for now)")
    bids.set_defaults(handler=_bids)

    sandbox = commands.add_parser("sandbox", help="the local fake Amazon").add_subparsers(
        metavar="ACTION"
    )
    serve = sandbox.add_parser("serve", help="serve the sandbox Amazon until Ctrl-C")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--seed", type=int, default=None, help="the demo seller's seed by default")
    serve.add_argument("--asins", type=int, default=40)
    serve.add_argument("--days", type=int, default=400)
    serve.add_argument(
        "--speed-factor", type=float, default=1.0, help="multiplies Amazon's rate limits"
    )
    serve.add_argument(
        "--processing-delay", type=float, default=2.0, help="seconds until a report is DONE"
    )
    serve.set_defaults(handler=_sandbox_serve)
    llm = sandbox.add_parser("llm", help="serve a fake OpenAI-compatible LLM until Ctrl-C")
    llm.add_argument("--host", default="127.0.0.1")
    llm.add_argument("--port", type=int, default=8766)
    llm.set_defaults(handler=_sandbox_llm)

    store_list = store.add_parser("list", help="list registered stores")
    store_list.add_argument("--json", action="store_true")
    store_list.set_defaults(handler=_store_list)

    privacy = commands.add_parser(
        "privacy", help="what is stored about a store; correcting and deleting it"
    ).add_subparsers(metavar="ACTION")
    privacy_summary = privacy.add_parser(
        "summary", help="rows, dates, files and cache per category"
    )
    privacy_summary.add_argument("slug")
    privacy_summary.add_argument("--json", action="store_true", help="the whole summary as JSON")
    privacy_summary.set_defaults(handler=_privacy_summary)
    privacy_delete = privacy.add_parser(
        "delete", help="delete every row, raw file, cache key and queued job of a store"
    )
    privacy_delete.add_argument("slug")
    privacy_delete.add_argument("--yes", action="store_true", help="do not ask to type the slug")
    privacy_delete.add_argument("--actor", help="who asked for it (default: your user name)")
    privacy_delete.set_defaults(handler=_privacy_delete)
    privacy_correct = privacy.add_parser(
        "correct", help="correct a stored value (kept over later syncs, audited)"
    )
    privacy_correct.add_argument("slug")
    privacy_correct.add_argument("table", help="cogs, listings, settlement_lines, ...")
    privacy_correct.add_argument("field", help="e.g. unit_cost, item_name, amount")
    privacy_correct.add_argument("value", help="the new value (bullets: one per line)")
    privacy_correct.add_argument(
        "--key", action="append", default=[], metavar="NAME=VALUE", help="the row's key parts"
    )
    privacy_correct.add_argument("--reason", required=True)
    privacy_correct.add_argument("--actor", help="who corrects it (default: your user name)")
    privacy_correct.set_defaults(handler=_privacy_correct)
    privacy_redact = privacy.add_parser(
        "redact-orders", help="blank order shipping details older than N days (all stores)"
    )
    privacy_redact.add_argument(
        "--days", type=int, help="default: AMZ_PRIVACY_ORDER_RETENTION_DAYS"
    )
    privacy_redact.set_defaults(handler=_privacy_redact_orders)
    return parser


def _date_argument(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-03-31") from None


class ProgressLine:
    """A one-line progress display on stderr ("[3/12] orders: Amazon says IN_PROGRESS")."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.interactive = sys.stderr.isatty()

    def show(self, message: str) -> None:
        width = 24
        filled = width * self.done // max(1, self.total)
        line = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {message}"
        if self.interactive:
            print("\r" + line[:160].ljust(160), end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def prefixed(self, label: str) -> Callable[[str], None]:
        return lambda message: self.show(f"{label}: {message}")

    def advance(self, message: str) -> None:
        self.done += 1
        self.show(message)

    def close(self) -> None:
        if self.interactive:
            print(file=sys.stderr)


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings.log_level, settings.secret_values())
    return settings


def _database_url(settings: Settings) -> str:
    from amzinsight.embedded import database_url_for

    return database_url_for(settings.database_url, settings.data_dir)


def _exec_module(module: str) -> int:
    """Hand the process over to a workers/ entry point (the core never imports RQ)."""
    from launcher.stack import require_extra

    _settings()  # fail here, with a clear sentence, on bad settings
    require_extra("workers", f"`amzinsight {module.rpartition('.')[2]}`")
    os.execv(sys.executable, [sys.executable, "-m", module])  # noqa: S606 (our own interpreter)
    return 0  # pragma: no cover


def _up(args: argparse.Namespace) -> int:
    from launcher.stack import log_dir_for, run_up

    settings = _settings()

    def on_start() -> None:
        print(
            "Starting AmzInsight (embedded services start on first use; this can take a "
            f"minute); the logs of every process it starts are in {log_dir_for(settings)}",
            flush=True,
        )

    def on_ready(url: str) -> None:
        print(f"AmzInsight is running at {url}  (Ctrl-C stops everything)", flush=True)

    def on_progress(message: str) -> None:
        print(message, flush=True)

    return run_up(
        settings,
        args.host,
        args.port,
        args.demo,
        on_ready,
        on_progress,
        list_jobs=_store_jobs,
        on_start=on_start,
        fake_llm=args.fake_llm,
    )


def _store_jobs(redis_url: str, slug: str) -> list[dict[str, Any]]:
    """A store's queued, running and retrying jobs, for `up --demo`'s progress."""
    # The CLI is an entry point like the app: reading the queue goes through workers/.
    from redis import Redis

    from workers.queueing import store_jobs

    with Redis.from_url(redis_url) as connection:
        return store_jobs(connection, slug)


def _db_upgrade(args: argparse.Namespace) -> int:
    from amzinsight.db.migrate import current_revision, upgrade

    url = _database_url(_settings())
    upgrade(url, args.revision)
    print(f"database at revision {current_revision(url)}")
    return 0


def _db_downgrade(args: argparse.Namespace) -> int:
    from amzinsight.db.migrate import current_revision, downgrade

    url = _database_url(_settings())
    downgrade(url, args.revision)
    print(f"database at revision {current_revision(url) or 'base (empty)'}")
    return 0


def _db_current(_args: argparse.Namespace) -> int:
    from amzinsight.db.migrate import current_revision

    print(current_revision(_database_url(_settings())) or "base (empty)")
    return 0


def _secrets_keygen(_args: argparse.Namespace) -> int:
    print(generate_secret_key())
    return 0


def _secrets_encrypt(_args: argparse.Namespace) -> int:
    """Reads the value from stdin (never argv, which other users can see in the process list)."""
    key = os.environ.get("AMZ_SECRET_KEY", "")
    if not key:
        raise ConfigError(
            "AMZ_SECRET_KEY is not set: export it first (`amzinsight secrets keygen` makes one)."
        )
    if sys.stdin.isatty():
        value = getpass.getpass("Value to encrypt (not echoed): ")
    else:
        value = sys.stdin.read().rstrip("\r\n")
    if not value:
        raise ConfigError("Nothing to encrypt: pass the value on standard input.")
    print(encrypt_value(value, key))
    return 0


def _store_add(args: argparse.Namespace) -> int:
    from amzinsight.db.engine import get_engine
    from amzinsight.ingest.sync import missing_sp_credentials
    from amzinsight.stores import StoreEndpoints, add_store

    settings = _settings()
    engine = get_engine(_database_url(settings))
    sandbox = args.sandbox.rstrip("/") if args.sandbox else None
    store = add_store(
        engine,
        slug=args.slug,
        name=args.name,
        country_codes=args.marketplace,
        seller_id=args.seller_id,
        region=args.region,
        endpoints=StoreEndpoints(
            sp_api_endpoint=args.sp_api_endpoint or sandbox,
            lwa_token_url=args.lwa_token_url or (f"{sandbox}/auth/o2/token" if sandbox else None),
            ads_api_endpoint=args.ads_api_endpoint or sandbox,
        ),
        is_sandbox=sandbox is not None,
    )
    print(f"store {store.slug} registered ({', '.join(store.country_codes)})")
    missing = missing_sp_credentials(settings, store.slug)
    if missing:
        print(
            f"amzinsight: store {store.slug} cannot sync until {_listed(missing)} are set "
            "where `amzinsight up` (or each `amzinsight worker`) runs, in its environment "
            "or in .env, and it is restarted.",
            file=sys.stderr,
        )
    else:
        _check_after_add(engine, settings, store)
    return 0


def _check_after_add(engine: Any, settings: Settings, store: Any) -> None:
    """The new store's access, said once; the store stays added whatever the check finds."""
    from amzinsight.ingest.access import check_and_record
    from amzinsight.ingest.pipeline import describe_error

    try:
        checks = check_and_record(engine, settings, store)
    except Exception as error:  # the add succeeded: a failed check must not look like it failed
        print(
            f"amzinsight: the access check did not run ({describe_error(error)}); "
            f"`amzinsight store check {store.slug}` runs it again.",
            file=sys.stderr,
        )
        return
    for check in checks:
        print(check.line)


def _store_check(args: argparse.Namespace) -> int:
    from amzinsight.db.engine import get_engine
    from amzinsight.ingest.access import any_missing, check_and_record
    from amzinsight.stores import get_store

    settings = _settings()
    engine = get_engine(_database_url(settings))
    checks = check_and_record(engine, settings, get_store(engine, args.slug))
    for check in checks:
        print(check.line)
    return EXIT_USER_ERROR if any_missing(checks) else 0


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _sync(args: argparse.Namespace) -> int:
    from amzinsight.ingest.meter import MeterWait
    from amzinsight.ingest.sync import (
        SettlementsNotLoadedError,
        client_for,
        is_ads,
        plan_tasks,
        prepare_ads,
        require_sp_credentials,
        run_task,
    )
    from amzinsight.reports import REPORTS, get_report
    from amzinsight.runtime import build_runtime
    from amzinsight.stores import get_store

    if args.start and args.end and args.start > args.end:
        raise ConfigError(f"--from {args.start} is after --to {args.end}.")
    runtime = build_runtime(_settings())
    store = get_store(runtime.engine, args.slug)
    keys = args.report or [k for k, spec in REPORTS.items() if spec.acquisition != "file"]
    specs = [get_report(key) for key in keys]  # registry order: catalog after listings
    if any(is_ads(spec) for spec in specs) and not prepare_ads(
        runtime.engine, runtime.settings, store
    ):
        if args.report:
            raise ConfigError(f"Store {store.slug} has no Amazon Ads credentials (AMZ_STORES__*).")
        specs = [spec for spec in specs if not is_ads(spec)]
    tasks = [
        task
        for spec in specs
        for task in plan_tasks(
            runtime.engine,
            store,
            spec,
            runtime.settings.sync.initial_days,
            args.start,
            args.end,
            ads_lookback_days=runtime.settings.ads.lookback_days,
        )
    ]
    if args.enqueue:  # the workers' environment holds the credentials, maybe not this one's
        return _enqueue(runtime.settings, store.slug, tasks)
    if any(not is_ads(task.spec) for task in tasks):  # one sentence, not one per window
        require_sp_credentials(runtime.settings, store.slug)
    print(_sync_plan(runtime, store, tasks))
    progress = ProgressLine(len(tasks))
    failures = 0
    loaded = 0
    for task in tasks:
        label = f"{task.spec.key} {task.marketplace.country_code or ''} {_window_label(task)}"
        progress.show(label)
        client = client_for(runtime.settings, store, task)
        holder = f"cli-{uuid.uuid4().hex}"
        try:
            while True:
                try:
                    outcomes = run_task(
                        runtime.engine,
                        runtime.archive,
                        client,
                        store,
                        task,
                        triggered_by="cli",
                        progress=progress.prefixed(label),
                        holder=holder,
                    )
                    break
                except MeterWait as wait:  # the window keeps its slot: wait for it, then call
                    progress.show(
                        f"{label}: waiting for Amazon's meter until {wait.slot_at:%H:%M:%S} UTC"
                    )
                    time.sleep(max(0.0, (wait.slot_at - datetime.now(UTC)).total_seconds()))
            loaded += sum(outcome.rows_upserted for outcome in outcomes)
            progress.advance(f"{label}: done")
        except AmzInsightError as error:
            if isinstance(error, SettlementsNotLoadedError):  # the others loaded and are kept
                loaded += sum(outcome.rows_upserted for outcome in error.outcomes)
            failures += 1
            progress.advance(f"{label}: failed")
            print(f"\namzinsight: {label}: {error}", file=sys.stderr)
    progress.close()
    print(
        f"{len(tasks) - failures} of {len(tasks)} windows synced, {loaded} rows inserted or changed"
    )
    return 1 if failures else 0


def _sync_plan(runtime: Any, store: Any, tasks: list[Any]) -> str:
    """A summary line, then one line per report type: what it fetches, in how many calls to
    Amazon, and when it can be done (Amazon's meter for Sales and Traffic reports)."""
    from amzinsight.ingest.plan_summary import plan_lines
    from amzinsight.rules.meter import SALES_TRAFFIC_METER

    if not tasks:
        return "plan: nothing to sync"
    meter = SALES_TRAFFIC_METER.at_speed(runtime.settings.sync.meter_speed)
    application = runtime.settings.credentials_for(store.slug).lwa_client_id
    lines = plan_lines(runtime.engine, store, tasks, meter, application)
    calls = sum(line.calls for line in lines)
    summary = (
        f"plan: {len(tasks)} window{'' if len(tasks) == 1 else 's'} of {len(lines)} report "
        f"type{'' if len(lines) == 1 else 's'}, about {calls} call{'' if calls == 1 else 's'} "
        "to Amazon"
    )
    return "\n".join([summary, *(f"  {line.line}" for line in lines)])


def _window_label(task: Any) -> str:
    return f"{task.window.start}..{task.window.end}" if task.window else "now"


def _enqueue(settings: Settings, slug: str, tasks: list[Any]) -> int:
    # The CLI is an entry point like the app: handing work to the queue is its job here.
    from launcher.stack import require_extra

    require_extra("workers", "`amzinsight sync --enqueue`")
    from workers.connection import redis_connection
    from workers.jobs import enqueue_window
    from workers.queueing import sync_retry

    connection = redis_connection(settings)
    retry = sync_retry(settings.sync.retry_delays_seconds)
    for task in tasks:
        job, created = enqueue_window(connection, slug, task, "cli", retry)
        print(f"{'enqueued' if created else 'already queued'}: {job.id}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from amzinsight.ingest.imports import import_file
    from amzinsight.runtime import build_runtime
    from amzinsight.stores import get_store

    runtime = build_runtime(_settings())
    store = get_store(runtime.engine, args.slug)
    outcome = import_file(
        runtime.engine,
        runtime.archive,
        store,
        args.path,
        args.report,
        args.marketplace,
        profile_id=args.profile,
    )
    print(
        f"loaded {args.path.name}: {outcome.rows_parsed} rows parsed, "
        f"{outcome.rows_upserted} inserted or changed (run {outcome.run_id}, "
        f"archived as {outcome.archive_key})"
    )
    for note in outcome.notes:
        print(f"note: {note}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from amzinsight.ingest.imports import replay
    from amzinsight.runtime import build_runtime
    from amzinsight.stores import get_store

    runtime = build_runtime(_settings())
    store = get_store(runtime.engine, args.slug)
    outcomes = replay(
        runtime.engine,
        runtime.archive,
        store,
        args.report,
        progress=lambda message: print(message, file=sys.stderr),
    )
    print(
        f"replayed {len(outcomes)} documents: "
        f"{sum(o.rows_upserted for o in outcomes)} rows inserted or changed"
    )
    return 0


def _metrics(args: argparse.Namespace) -> int:
    from amzinsight.analytics.metrics import marketplace_metrics, store_metrics
    from amzinsight.runtime import build_runtime
    from amzinsight.stores import get_store

    runtime = build_runtime(_settings())
    store = get_store(runtime.engine, args.slug)
    if args.marketplace:
        result = store_metrics(runtime.engine, store, args.start, args.end, args.marketplace)
    else:
        result = marketplace_metrics(runtime.engine, store, args.start, args.end)
    print(json.dumps(result, indent=2))
    return 0


def _bids(args: argparse.Namespace) -> int:
    """Compute today's recommendations, store them as proposed, print them with their reasons."""
    from amzinsight.bidding.evidence import Evidence
    from amzinsight.bidding.policy import BidPolicy
    from amzinsight.bidding.queries import stored_recommendations
    from amzinsight.bidding.recommend import recommend
    from amzinsight.bidding.store import save_recommendations
    from amzinsight.rules.periods import local_today
    from amzinsight.runtime import build_runtime
    from amzinsight.stores import get_store

    if args.target_acos is not None and not 0 < args.target_acos < 1:
        raise ConfigError("--target-acos is a fraction between 0 and 1, e.g. 0.25 for 25%.")
    runtime = build_runtime(_settings())
    store = get_store(runtime.engine, args.slug)
    # Its marketplaces may be in several time zones: the earliest local date keeps every
    # marketplace's still-arriving day out of the lookback.
    today = min((local_today(m.time_zone) for m in store.marketplaces), default=local_today("UTC"))
    policy = BidPolicy(settle_days=runtime.settings.ads.settle_days)
    recs = recommend(runtime.engine, store, policy, today, args.target_acos)
    save_recommendations(runtime.engine, store.id, recs, recs.data_through)
    stored = stored_recommendations(runtime.engine, store.id)
    rows = [
        {
            **row,
            "evidence": Evidence.from_json(row["evidence"]).to_dict() if row["evidence"] else None,
        }
        for row in stored.to_dicts()
    ]
    print(json.dumps({"store": store.slug, "recommendations": rows}, indent=2, default=str))
    return 0


def _sandbox_llm(args: argparse.Namespace) -> int:
    """A scripted chat endpoint for trying the Assistant page offline (AMZ_LLM_BASE_URL)."""
    from launcher.stack import require_sandbox

    require_sandbox()
    from amzinsight_sandbox.llm import serve

    return int(serve(args.host, args.port))


def _sandbox_serve(args: argparse.Namespace) -> int:
    from launcher.stack import require_sandbox

    require_sandbox()
    from amzinsight_sandbox.config import DEMO_SEED
    from amzinsight_sandbox.server import serve_from_args

    _settings()
    return int(
        serve_from_args(
            args.host,
            args.port,
            DEMO_SEED if args.seed is None else args.seed,
            args.asins,
            args.days,
            args.speed_factor,
            args.processing_delay,
        )
    )


def _store_list(args: argparse.Namespace) -> int:
    from amzinsight.db.engine import get_engine
    from amzinsight.stores import list_stores

    stores = list_stores(get_engine(_database_url(_settings())))
    if args.json:
        print(json.dumps([store.as_dict() for store in stores], indent=2))
    elif not stores:
        print("no stores yet: `amzinsight store add SLUG --name NAME --marketplace US`")
    for store in stores if not args.json else []:
        print(f"{store.slug}\t{store.name}\t{store.region}\t{','.join(store.country_codes)}")
    return 0


def _privacy_redis(settings: Settings) -> Any:
    from redis import Redis

    from amzinsight.embedded import redis_url_for

    return Redis.from_url(redis_url_for(settings.redis_url, settings.data_dir))


def _privacy_summary(args: argparse.Namespace) -> int:
    from amzinsight.privacy import data_summary
    from amzinsight.runtime import build_runtime
    from amzinsight.stores import get_store

    runtime = build_runtime(_settings())
    store = get_store(runtime.engine, args.slug)
    summary = data_summary(runtime.engine, runtime.archive, _privacy_redis(runtime.settings), store)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"store {summary['store']}: {summary['total_rows']} rows")
    for name, group in summary["categories"].items():
        period = f"  {group['from']}..{group['to']}" if group["from"] else ""
        print(f"  {name}\t{group['rows']} rows{period}")
    archive = summary["archive"]
    print(f"  archived raw files\t{archive['files']} ({archive['bytes']} bytes)")
    print(f"  cache keys\t{summary['cache']['keys']}")
    print(f"  last successful sync\t{summary['last_successful_sync'] or 'never'}")
    return 0


def _privacy_delete(args: argparse.Namespace) -> int:
    from amzinsight.privacy import delete_store
    from amzinsight.runtime import build_runtime
    from amzinsight.stores import get_store

    runtime = build_runtime(_settings())
    store = get_store(runtime.engine, args.slug)
    if args.yes:
        confirmation = store.slug
    else:
        print(
            f"This deletes every row, archived raw file, cache key and queued job of store "
            f"{store.slug}. It cannot be undone."
        )
        try:
            confirmation = input(f"Type the store's slug ({store.slug}) to confirm: ").strip()
        except EOFError:  # nothing to read: no one confirmed
            confirmation = ""
    actor = args.actor or getpass.getuser()
    result = delete_store(
        runtime.engine,
        runtime.archive,
        _privacy_redis(runtime.settings),
        store,
        confirmation,
        actor,
        cancel_jobs=_job_canceller(runtime.settings),
    )
    print(f"store {store.slug} deleted: {result['total_rows']} rows")
    for table, count in sorted(result["rows"].items()):
        if count:
            print(f"  {table}\t{count}")
    print(f"  archived raw files\t{result['archive_files']}")
    print(f"  cache keys\t{result['cache_keys']}")
    print(f"  jobs cancelled\t{result['jobs_cancelled']}")
    print("credential settings no longer used (remove them from the environment):")
    for name in result["unused_credential_variables"]:
        print(f"  {name}")
    return 0


def _job_canceller(settings: Settings) -> Callable[[str], int]:
    """Cancel a deleted store's queued and retrying jobs, then drop its scheduled ones."""

    def cancel(slug: str) -> int:
        # The CLI is an entry point: RQ work goes through workers/ (amzinsight never imports RQ).
        from workers.jobs import cancel_store_jobs

        return cancel_store_jobs(settings, slug)

    return cancel


def _privacy_correct(args: argparse.Namespace) -> int:
    from amzinsight.edits.corrections import correct_value
    from amzinsight.runtime import build_runtime
    from amzinsight.stores import get_store

    key: dict[str, str] = {}
    for part in args.key:
        name, separator, value = part.partition("=")
        if not separator or not name:
            raise ConfigError(f"--key {part!r} is not NAME=VALUE (e.g. --key sku=BL-KETTLE-1L).")
        key[name.strip()] = value
    runtime = build_runtime(_settings())
    store = get_store(runtime.engine, args.slug)
    result = correct_value(
        runtime.engine,
        store,
        args.table,
        key,
        args.field,
        args.value,
        args.reason,
        args.actor or getpass.getuser(),
    )
    print(
        f"{result['table']}.{result['field']} {result['key']}: "
        f"{result['old']} -> {result['new']} (later syncs keep it)"
    )
    return 0


def _privacy_redact_orders(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from amzinsight.privacy import redact_archived_orders, redact_order_shipping
    from amzinsight.runtime import build_runtime

    runtime = build_runtime(_settings())
    days = args.days if args.days is not None else runtime.settings.privacy.order_retention_days
    if days is None:
        raise ConfigError("Give --days N or set AMZ_PRIVACY_ORDER_RETENTION_DAYS.")
    now = datetime.now(UTC)
    redacted = redact_order_shipping(runtime.engine, days, now)
    print(f"orders older than {days} days: shipping details blanked on {sum(redacted.values())}")
    for slug, count in redacted.items():
        print(f"  {slug}\t{count}")
    archived = redact_archived_orders(runtime.engine, runtime.archive, days, now)
    print(f"archived order files rewritten without them: {sum(archived.values())}")
    for slug, count in archived.items():
        print(f"  {slug}\t{count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

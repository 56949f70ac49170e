"""A new store's first sync of two years, on the sandbox at Amazon's 2026 rules: the calls the
engine makes per operation, zero refusals by Amazon's Sales and Traffic meter, and the time those
calls take at Amazon's own pace.

    .venv/bin/python -m bench.backfill [--asins 1000] [--days 729] [--speed 20000]
        [--processing-minutes 2] [--money] [--json bench/results/backfill.json]

The engine really runs (sandbox over HTTP with the real client, PostgreSQL, a local archive) with
the sandbox's clock `--speed` times faster, meters included (AMZ_SYNC_METER_SPEED). The calls are
counted from the sandbox's request log; the time at Amazon's pace is then computed from those
counts with Amazon's documented limits (see bench/README.md, "the model"): wall time at a high
speed factor would mostly measure this machine's parsing, not Amazon.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.harness import ADMIN_DSN

SLUG = "bench"
REPORTS = ("sales_traffic", "sales_traffic_history", "orders")
MONEY_REPORTS = ("settlement", "finance_transactions")
"""With --money: settlements as listed (90 days) and the Finances API for everything older. Their
calls grow with the number of transactions, not of days: run them on a smaller store."""
# Amazon's limits at speed 1 (SP-API usage plans; the Sales and Traffic meter of April 2026).
CREATE_REPORT_PER_SECOND, CREATE_REPORT_BURST = 0.0167, 15
CREATE_QUERY_PER_SECOND, CREATE_QUERY_BURST = 0.0167, 15
GET_DOCUMENT_PER_SECOND, GET_DOCUMENT_BURST = 0.0167, 15
LIST_TRANSACTIONS_PER_SECOND, LIST_TRANSACTIONS_BURST = 0.5, 10
METER_INTERVAL = timedelta(minutes=15)
ONE_REPORT_PER_DAY_BASELINE = "one Sales and Traffic report per day (the engine before Data Kiosk)"


def run(asins: int, days: int, speed: float, reports: tuple[str, ...] = REPORTS) -> dict[str, Any]:
    """Sync the report types for a new one-marketplace store; counts and checks."""
    from amzinsight_sandbox import SandboxConfig, demo_account, demo_environment, start_sandbox

    account = demo_account(asins=asins, days=days + 5)
    config = SandboxConfig(accounts=[account], processing_delay_seconds=0, speed_factor=speed)
    name = f"amz_bench_{uuid.uuid4().hex[:8]}"
    with (
        psycopg.connect(ADMIN_DSN, autocommit=True) as admin,
        start_sandbox(config) as sandbox,
        tempfile.TemporaryDirectory(prefix="amz-bench-backfill-") as scratch,
    ):
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            url = ADMIN_DSN.rsplit("/", 1)[0] + "/" + name
            os.environ.update(demo_environment(account, SLUG))
            os.environ.update(
                {
                    "AMZ_DATABASE_URL": url,
                    "AMZ_DATA_DIR": scratch,
                    "AMZ_SYNC_METER_SPEED": str(speed),
                    "AMZ_SYNC_INITIAL_DAYS": str(days),
                }
            )
            return _sync_all(url, sandbox, days, reports)
        finally:
            from amzinsight.db.engine import dispose_engines

            dispose_engines()
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _sync_all(url: str, sandbox: Any, days: int, reports: tuple[str, ...]) -> dict[str, Any]:
    import sqlalchemy as sa

    from amzinsight.config import Settings
    from amzinsight.db import tables
    from amzinsight.db.migrate import upgrade
    from amzinsight.ingest.sync import client_for, plan_tasks, run_task
    from amzinsight.reports import get_report
    from amzinsight.runtime import build_runtime
    from amzinsight.stores import StoreEndpoints, add_store

    upgrade(url)
    runtime = build_runtime(Settings())
    store = add_store(
        runtime.engine,
        slug=SLUG,
        name="Bench",
        country_codes=["US"],
        endpoints=StoreEndpoints(sandbox.url, sandbox.lwa_token_url, sandbox.url),
        is_sandbox=True,
    )
    started = time.monotonic()
    windows: Counter[str] = Counter()
    for key in reports:
        for task in plan_tasks(runtime.engine, store, get_report(key), days):
            client = client_for(runtime.settings, store, task)
            outcomes = run_task(
                runtime.engine, runtime.archive, client, store, task, holder=f"bench-{task}"
            )
            windows[key] += 1
            if key == "settlement":
                windows["settlement_documents"] += len(outcomes)
            print(f"  {key} {task.window.start if task.window else ''}: done", file=sys.stderr)
    seconds = time.monotonic() - started
    calls = Counter(str(entry.get("operation")) for entry in sandbox.requests())
    t, runs = tables.sales_traffic_by_asin, tables.sync_runs
    with runtime.engine.connect() as connection:
        asin_days, first, last = connection.execute(
            sa.select(sa.func.count(), sa.func.min(t.c.report_date), sa.func.max(t.c.report_date))
        ).one()
        reports = connection.execute(
            sa.select(sa.func.count()).where(
                runs.c.report_type == "sales_traffic", runs.c.amazon_report_id.is_not(None)
            )
        ).scalar()
        settlements_from_reports = connection.execute(
            sa.select(sa.func.count()).select_from(tables.settlements)
        ).scalar()
        lines = tables.finance_transaction_lines
        from_finances, first_settled = connection.execute(
            sa.select(
                sa.func.count(sa.distinct(lines.c.settlement_id)),
                sa.func.min(lines.c.posted_date),
            )
        ).one()
    return {
        "windows": dict(windows),
        "calls": dict(sorted(calls.items())),
        "sales_traffic_reports": reports,
        "meter_refusals": sandbox.meter_refusals(),
        "asin_days_loaded": asin_days,
        "first_day": first.isoformat() if first else None,
        "last_day": last.isoformat() if last else None,
        "settlements_from_reports": settlements_from_reports,
        "settlements_in_finances": from_finances,
        "first_settled_day": first_settled.isoformat() if first_settled else None,
        "wall_seconds_at_speed": round(seconds, 1),
    }


def amazon_hours(result: dict[str, Any], processing_minutes: float) -> dict[str, float]:
    """Hours at Amazon's pace for the counted calls (the model in bench/README.md): reports one
    after another, a window's Data Kiosk queries side by side; the report types run side by side
    in the workers."""
    processing = processing_minutes * 60
    reports = result["sales_traffic_reports"]
    queries = result["calls"].get("createQuery", 0)
    orders = result["windows"].get("orders", 0)
    chains = {
        "sales_traffic": (max(reports - 1, 0)) * METER_INTERVAL.total_seconds() + processing,
        "data_kiosk": _side_by_side(
            queries, CREATE_QUERY_PER_SECOND, CREATE_QUERY_BURST, processing
        ),
        "orders": _limited(orders, CREATE_REPORT_PER_SECOND, CREATE_REPORT_BURST, processing),
        # Settlements are listed, not made: one download each; older ones come from Finances.
        "settlements": _limited(
            result["windows"].get("settlement_documents", 0),
            GET_DOCUMENT_PER_SECOND,
            GET_DOCUMENT_BURST,
            0,
        )
        + _limited(
            result["calls"].get("listTransactions", 0),
            LIST_TRANSACTIONS_PER_SECOND,
            LIST_TRANSACTIONS_BURST,
            0,
        ),
    }
    hours = {name: round(seconds / 3600, 2) for name, seconds in chains.items()}
    hours["side_by_side"] = max(hours.values())
    hours["one_after_another"] = round(sum(chains.values()) / 3600, 2)
    return hours


def _side_by_side(calls: int, rate: float, burst: int, processing: float) -> float:
    """Calls submitted as fast as the token bucket allows, processed side by side (the engine
    submits a window's Data Kiosk queries before collecting them): the last one's end."""
    if not calls:
        return 0.0
    return max(0, calls - burst) / rate + processing


def _limited(calls: int, rate: float, burst: int, processing: float) -> float:
    """Sequential calls, each waiting for its document, under a token bucket."""
    total, tokens = 0.0, float(burst)
    for _ in range(calls):
        if tokens < 1:
            wait = (1 - tokens) / rate
            total, tokens = total + wait, 1.0
        tokens -= 1
        total += processing
        tokens = min(burst, tokens + processing * rate)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--asins", type=int, default=1000)
    parser.add_argument("--days", type=int, default=729)
    parser.add_argument("--speed", type=float, default=20000)
    parser.add_argument("--processing-minutes", type=float, default=2.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--money", action="store_true", help="also settlements and the Finances API's history"
    )
    args = parser.parse_args(argv)
    reports = REPORTS + MONEY_REPORTS if args.money else REPORTS
    result = run(args.asins, args.days, args.speed, reports)
    result["amazon_hours"] = amazon_hours(result, args.processing_minutes)
    baseline_hours = (args.days - 1) * METER_INTERVAL.total_seconds() / 3600
    result["baseline"] = {"what": ONE_REPORT_PER_DAY_BASELINE, "hours": round(baseline_hours, 1)}
    result["ratio_to_baseline"] = round(result["amazon_hours"]["side_by_side"] / baseline_hours, 4)
    print(json.dumps(result, indent=2, default=str))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
    ok = result["meter_refusals"] == 0 and result["amazon_hours"]["side_by_side"] < 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

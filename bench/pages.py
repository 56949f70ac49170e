"""Each page's queries cold and from the Redis cache, and its render, on 2 years x 1,000 ASINs.

The query set of a page is recorded while AppTest renders it (every `QueryCache.frame` call the
page makes), so the benchmark always measures what the pages really ask for. Then, per page:
- cold: Redis emptied, the recorded queries run through the cache (SQL + Arrow + SET);
- cached: the same calls again (data version lookup + GET + Arrow read);
- render: an AppTest run of the page with a warm cache (the morning's second look), and cold.
Targets (issue #5): cold < 1 s, cached < 50 ms, render < 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import redis
from psycopg import sql

from amzinsight import cache as cache_module
from amzinsight.db.engine import dispose_engines, get_engine
from amzinsight.db.migrate import upgrade
from amzinsight.marketplaces import marketplace_for
from amzinsight.rules.periods import local_today
from app.navigation import PAGES as NAVIGATION
from bench.page_store import build_page_store

ADMIN_DSN = os.environ.get("AMZ_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
BENCH_REDIS_URL = os.environ.get("AMZ_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
ROOT = Path(__file__).resolve().parent.parent
ENTRY = str(ROOT / "app" / "main.py")
PAGES = tuple(stem for stem, _, _ in NAVIGATION)
TARGETS = {"cold": 1.0, "cached": 0.050, "render": 2.0}

Call = tuple[Any, int, tuple[Any, ...]]


class _Recorder:
    """Wraps QueryCache.frame to note each call a page makes (same process as AppTest)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.original = cache_module.QueryCache.frame

    def __enter__(self) -> _Recorder:
        recorder = self

        def frame(self: cache_module.QueryCache, query: Any, store_id: int, *args: Any) -> Any:
            recorder.calls.append((query, store_id, args))
            return recorder.original(self, query, store_id, *args)

        cache_module.QueryCache.frame = frame  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        cache_module.QueryCache.frame = self.original  # type: ignore[method-assign]


def _render(page: str, recorder: _Recorder | None = None) -> float:
    """Seconds for one AppTest run of `page` (after the entry point's first run on Overview)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(ENTRY, default_timeout=120)
    at.run()
    at.switch_page(str(ROOT / "pages" / f"{page}.py"))
    started = time.perf_counter()
    if recorder is None:
        at.run()
    else:
        with recorder:
            at.run()
    seconds = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(f"page {page} raised: {at.exception[0].value}")
    return seconds


def measure_page(page: str, engine: Any, client: redis.Redis) -> dict[str, Any]:
    client.flushdb()
    recorder = _Recorder()
    render_cold = _render(page, recorder)
    render_cached = _render(page)
    calls = list(dict.fromkeys((q, s, a) for q, s, a in recorder.calls))  # each distinct call
    client.flushdb()
    query_cache = cache_module.QueryCache(engine, client, ttl_seconds=900)
    started = time.perf_counter()
    for query, store_id, args in calls:
        query_cache.frame(query, store_id, *args)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    for query, store_id, args in calls:
        query_cache.frame(query, store_id, *args)
    cached = time.perf_counter() - started
    return {
        "page": page,
        "queries": len(calls),
        "cold": round(cold, 3),
        "cached": round(cached, 4),
        "render": round(render_cached, 3),
        "render_cold": round(render_cold, 3),
        "slowest": _slowest(engine, calls),
    }


def _slowest(engine: Any, calls: list[Call]) -> str:
    """The slowest query of the set, uncached, for whoever has to make the page faster."""
    timings = []
    for query, store_id, args in calls:
        started = time.perf_counter()
        query(engine, store_id, *args)
        timings.append((time.perf_counter() - started, query.__name__))
    if not timings:
        return "-"
    seconds, name = max(timings)
    return f"{name} {seconds:.3f}s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--asins", type=int, default=1000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--pages", nargs="*", default=list(PAGES))
    parser.add_argument("--keep", metavar="DB", help="reuse (or create and keep) this database")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    admin = psycopg.connect(ADMIN_DSN, autocommit=True)
    name = args.keep or f"amz_bench_pages_{uuid.uuid4().hex[:8]}"
    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    url = f"{ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    today = local_today(marketplace_for("US").time_zone)  # the bench store's marketplace
    if not exists:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        engine = get_engine(url)
        if not exists:
            upgrade(url)
            print(f"building the store: {args.asins} ASINs x {args.days} days in {name}")
            started = time.perf_counter()
            _, counts = build_page_store(engine, args.asins, args.days, today - timedelta(days=1))
            print(f"  built in {time.perf_counter() - started:.0f} s: {counts}")
        os.environ["AMZ_DATABASE_URL"] = url
        os.environ["AMZ_REDIS_URL"] = BENCH_REDIS_URL
        client = redis.Redis.from_url(BENCH_REDIS_URL)
        results = [measure_page(page, engine, client) for page in args.pages]
        client.flushdb()
    finally:
        dispose_engines()
        if not args.keep:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        admin.close()

    print(f"\n{'page':12} {'queries':>7} {'cold s':>8} {'cached ms':>10} {'render s':>9}  slowest")
    met = True
    for row in results:
        ok = all(row[key] < limit for key, limit in TARGETS.items())
        met &= ok
        print(
            f"{row['page']:12} {row['queries']:7d} {row['cold']:8.3f} {row['cached'] * 1000:10.1f}"
            f" {row['render']:9.3f}  {row['slowest']}{'' if ok else '  <- target missed'}"
        )
    print(f"targets: cold < {TARGETS['cold']} s, cached < 50 ms, render < {TARGETS['render']} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())

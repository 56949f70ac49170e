"""What every load benchmark shares: a scratch database, phases in fresh processes, ratios.

A report file goes through the whole pipeline (`import_file`) twice, then its parsed rows are
loaded with pandas.to_sql and with a bare COPY into the same tables, emptied first, so the ratios
show the pipeline's own overhead, not the schema's.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import resource
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import psycopg
from psycopg import sql

ADMIN_DSN = os.environ.get("AMZ_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
BENCH_PROFILE = "1000000001"
PEAK_LIMIT_MB = 1536


@dataclass(frozen=True)
class LoadCase:
    """A report file and how to load it: its report key and the tables it fills."""

    report: Path
    report_key: str
    tables: tuple[str, ...]
    lines: int


def _peak_rss_mb() -> float:
    """This process's own peak RSS. Linux keeps ru_maxrss across exec, so a spawned child would
    report its parent's peak (the report generator's); VmHWM starts afresh with the child."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_child(function: Callable[..., float], *args: Any) -> tuple[float, float]:
    """Run function(*args) in a fresh process; returns (seconds, peak RSS MB of that process)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_timed, (function, *args))


def _timed(function: Callable[..., float], *args: Any) -> tuple[float, float]:
    seconds = function(*args)
    return seconds, _peak_rss_mb()


def _context(report_key: str) -> Any:
    from amzinsight.reports.base import ParseContext

    return ParseContext(
        marketplace_id="ATVPDKIKX0DER", currency="USD", time_zone="America/Los_Angeles",
        profile_id=BENCH_PROFILE,
    )  # fmt: skip


def phase_ingest(database_url: str, data_dir: str, report: str, report_key: str) -> float:
    from amzinsight.config import Settings
    from amzinsight.ingest.imports import import_file
    from amzinsight.runtime import build_runtime
    from amzinsight.stores import get_store

    runtime = build_runtime(Settings(database_url=database_url, data_dir=Path(data_dir)))
    store = get_store(runtime.engine, "bench")
    started = time.perf_counter()
    import_file(
        runtime.engine, runtime.archive, store, Path(report), report_key, profile_id=BENCH_PROFILE
    )
    return time.perf_counter() - started


def _parsed_frames(report: str, report_key: str) -> dict[str, pl.DataFrame]:
    """The rows the baselines load: the report decoded (as the pipeline does) and parsed."""
    import tempfile

    from amzinsight.ingest.documents import decode_document
    from amzinsight.reports import get_report

    spec = get_report(report_key)
    with tempfile.TemporaryDirectory(prefix="amz-bench-") as scratch:
        decoded = decode_document(Path(report), Path(scratch) / "document", None, report_key)
        parsed = spec.parse(decoded, _context(report_key))
    return {part.table.name: part.frame for part in parsed.tables}


def phase_to_sql(database_url: str, report: str, report_key: str) -> float:
    import sqlalchemy as sa

    from amzinsight.db.tables import metadata

    frames = _parsed_frames(report, report_key)
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    started = time.perf_counter()
    for name, frame in frames.items():
        pandas_frame = frame.with_columns(pl.lit(1).alias("store_id")).to_pandas()
        # pandas guesses VARCHAR for all-null and Decimal columns; give it the real types.
        table = metadata.tables[name]
        dtypes = {column: table.c[column].type for column in pandas_frame.columns}
        pandas_frame.to_sql(name, engine, if_exists="append", index=False, dtype=dtypes)
    return time.perf_counter() - started


def phase_copy(database_url: str, report: str, report_key: str) -> float:
    frames = _parsed_frames(report, report_key)
    started = time.perf_counter()
    with psycopg.connect(database_url) as connection, connection.cursor() as cursor:
        for name, frame in frames.items():
            frame = frame.with_columns(pl.lit(1).alias("store_id"))
            columns = sql.SQL(", ").join(map(sql.Identifier, frame.columns))
            statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT CSV)").format(
                sql.Identifier(name), columns
            )
            nested = [c for c, t in frame.schema.items() if isinstance(t, pl.List | pl.Struct)]
            frame = frame.with_columns(
                pl.col(c).map_elements(json.dumps, return_dtype=pl.String) for c in nested
            )
            with cursor.copy(statement) as copy:
                buffer = io.BytesIO()
                frame.write_csv(buffer, include_header=False, quote_style="non_numeric")
                copy.write(buffer.getvalue())
    return time.perf_counter() - started


def _prepare_database(admin: psycopg.Connection, name: str) -> str:
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = ADMIN_DSN.rsplit("/", 1)[0] + "/" + name
    from amzinsight.db.engine import dispose_engines, get_engine
    from amzinsight.db.migrate import upgrade
    from amzinsight.stores import add_store

    upgrade(url)
    add_store(get_engine(url), slug="bench", name="Bench", country_codes=["US"])
    dispose_engines()
    return url


def _before_phase(url: str, tables: tuple[str, ...], empty: bool) -> None:
    """Each phase starts after a checkpoint; baselines load into the ingest's tables, emptied."""
    with psycopg.connect(url, autocommit=True) as connection:
        if empty:
            connection.execute(
                sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, tables)))
            )
        connection.execute("CHECKPOINT")


def compare_loads(case: LoadCase, scratch: Path) -> dict[str, Any]:
    """The four phases on a scratch database, with ratios and which targets were met."""
    name = f"amz_bench_{uuid.uuid4().hex[:8]}"
    report = str(case.report)
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        url = _prepare_database(admin, name)
        try:
            data_dir = str(scratch / "data")
            results: dict[str, Any] = {
                "report": case.report_key,
                "lines": case.lines,
                "report_mb": round(case.report.stat().st_size / 1e6, 1),
            }
            phases: list[tuple[str, Callable[..., float], tuple[str, ...]]] = [
                ("ingest", phase_ingest, (url, data_dir, report, case.report_key)),
                ("reingest", phase_ingest, (url, data_dir, report, case.report_key)),
                ("pandas_to_sql", phase_to_sql, (url, report, case.report_key)),
                ("bare_copy", phase_copy, (url, report, case.report_key)),
            ]
            for phase, function, phase_args in phases:
                _before_phase(url, case.tables, empty=phase in ("pandas_to_sql", "bare_copy"))
                print(f"{case.report_key}: {phase} ...", file=sys.stderr)
                seconds, peak = in_child(function, *phase_args)
                results[phase] = {"seconds": round(seconds, 2), "peak_rss_mb": round(peak)}
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    ingest = results["ingest"]["seconds"]
    results["ratios"] = {
        "ingest_speedup_vs_pandas_to_sql": round(results["pandas_to_sql"]["seconds"] / ingest, 2),
        "ingest_speed_vs_bare_copy": round(results["bare_copy"]["seconds"] / ingest, 2),
        "reingest_over_ingest": round(results["reingest"]["seconds"] / ingest, 2),
    }
    results["targets_met"] = {
        ">=3x pandas.to_sql": results["ratios"]["ingest_speedup_vs_pandas_to_sql"] >= 3,
        ">=0.5x bare COPY": results["ratios"]["ingest_speed_vs_bare_copy"] >= 0.5,
        "reingest <=1.5x": results["ratios"]["reingest_over_ingest"] <= 1.5,
        "peak <1.5 GB": max(results[p]["peak_rss_mb"] for p in ("ingest", "reingest"))
        < PEAK_LIMIT_MB,
    }
    return results


def report_results(results: dict[str, Any], json_path: Path | None) -> int:
    text = json.dumps(results, indent=2)
    print(text)
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(text)
    met = [value for key, value in results.items() if key.startswith("targets_met")]
    return 0 if all(all(m.values()) for m in met) else 1

"""Idempotent bulk upsert: COPY into a temporary table, then INSERT ... ON CONFLICT on its key.

Rows whose values did not change are not touched (`IS DISTINCT FROM`), so re-ingesting a window
changes nothing, not even `loaded_at`. COPY is 10x faster than executemany for large reports,
and a big first load skips the stage altogether (bench/README.md has the figures).

Rows are sent in natural-key order: the unique index then takes them as a walk from left to
right, touching each page about once, instead of one random page per row (a million random
inserts into an index larger than shared_buffers cost the server about 5 s more, bench/README.md).
A worker thread sorts, cuts and formats the next block of CSV while the server takes the current
one, so the sort hardly delays the COPY (see _KeyOrder).
"""

from __future__ import annotations

import io
import json
from collections.abc import Generator, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np
import polars as pl
import sqlalchemy as sa
from psycopg import sql
from psycopg.errors import DataError, UniqueViolation

from amzinsight.errors import ReportParseError

COPY_CHUNK_ROWS = 50_000
"""Rows per CSV block: small enough that the first block (formatted while the server waits) is
quick and a couple of blocks in flight stay small in memory."""
DIRECT_COPY_MIN_ROWS = 50_000
"""Loads this big first try a plain COPY into the table (see _copy_into_target)."""
_MANAGED_COLUMNS = {"id", "loaded_at"}
_T = TypeVar("_T")


def upsert_frame(
    connection: sa.Connection,
    table: sa.Table,
    frame: pl.DataFrame,
    key: tuple[str, ...],
    constants: Mapping[str, Any],
) -> int:
    """Upsert frame into table inside the caller's transaction; returns rows inserted or changed.

    `constants` (store_id, sync_run_id) are the same for every row and are added here, so
    parsers stay unaware of stores and runs. Key columns are the constants' store_id plus `key`.
    """
    if frame.is_empty():
        return 0
    frame = frame.with_columns(
        [
            pl.lit(value).alias(name)
            for name, value in constants.items()
            if name not in frame.columns
        ]
    )
    columns = [c for c in frame.columns if c not in _MANAGED_COLUMNS]
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise ReportParseError(f"{table.name}: the parser produced unknown columns {unknown}.")
    conflict_key = [c for c in ("store_id", *key) if c in columns]
    duplicated = frame.select(conflict_key).is_duplicated()
    if duplicated.any():
        example = frame.filter(duplicated).select(conflict_key).row(0, named=True)
        raise ReportParseError(
            f"{table.name}: {int(duplicated.sum())} rows share a natural key, e.g. {example}."
        )

    stage = sql.Identifier(f"stage_{table.name}")
    target = sql.Identifier(table.name)
    column_list = sql.SQL(", ").join(map(sql.Identifier, columns))
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        rows = frame.select(columns)
        order = _KeyOrder.of(rows, conflict_key)
        if (
            frame.height >= DIRECT_COPY_MIN_ROWS
            and not _probes_stored(cursor, target, rows.select(conflict_key))
            and _copy_into_target(cursor, target, column_list, rows, order, table.name)
        ):
            return frame.height
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(stage))
        cursor.execute(
            sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
                stage, column_list, target
            )
        )
        _copy(cursor, stage, column_list, rows, order, table.name)
        data = [c for c in columns if c not in conflict_key and c not in constants]
        cursor.execute(
            _merge_sql(target, stage, columns, conflict_key, data, "loaded_at" in table.c)
        )
        return int(cursor.rowcount)


def delete_absent(
    connection: sa.Connection,
    table: sa.Table,
    frame: pl.DataFrame,
    key: tuple[str, ...],
    group: str | None,
    store_id: int,
) -> int:
    """Delete a store's rows of every `group` value the frame holds whose key the frame lacks
    (a settlement loaded again replaces its lines whole); returns rows deleted."""
    if group is None or frame.is_empty():
        return 0
    dialect = connection.dialect
    arrays = {f"key_{index}": name for index, name in enumerate(key)}
    unnest = ", ".join(
        f"CAST(:{param} AS {table.c[name].type.compile(dialect=dialect)}[])"
        for param, name in arrays.items()
    )
    # NOT IN over the kept keys plans as a hashed subplan (linear); NOT EXISTS against unnest()
    # planned as a nested loop (quadratic: a minute for a 20,000-line settlement). The key
    # columns are NOT NULL, so NOT IN means what it says.
    columns = ", ".join(table.c[name].name for name in key)
    targets = ", ".join(f"target.{table.c[name].name}" for name in key)
    statement = sa.text(
        f"DELETE FROM {table.name} AS target WHERE target.store_id = :store_id "  # noqa: S608
        f"AND target.{table.c[group].name} = ANY(:groups) AND ({targets}) NOT IN "
        f"(SELECT {columns} FROM unnest({unnest}) AS kept({columns}))"
    )
    # The hashed subplan must fit in work_mem, or PostgreSQL rescans the kept keys for every row
    # (quadratic: hours for the 400,000 lines of a busy seller's Finances window); sized to them.
    megabytes = 64 + frame.height * len(key) // 4000
    connection.execute(sa.text(f"SET LOCAL work_mem = '{megabytes}MB'"))
    values = {param: frame[name].to_list() for param, name in arrays.items()}
    result = connection.execute(
        statement,
        {"store_id": store_id, "groups": frame[group].unique().to_list(), **values},
    )
    return int(result.rowcount)


def _copy_into_target(
    cursor: Any,
    target: sql.Identifier,
    column_list: sql.Composable,
    frame: pl.DataFrame,
    order: _KeyOrder | None,
    name: str,
) -> bool:
    """First loads (a store's history) COPY straight into the table; the first row that is
    already there rolls the attempt back and the caller merges through a stage instead."""
    cursor.execute("SAVEPOINT amz_direct_copy")
    try:
        _copy(cursor, target, column_list, frame, order, name)
    except UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT amz_direct_copy")
        return False
    cursor.execute("RELEASE SAVEPOINT amz_direct_copy")
    return True


def _probes_stored(cursor: Any, target: sql.Identifier, keys: pl.DataFrame) -> bool:
    """Whether the first, middle or last row is in the table already. A re-run (every sync pulls
    the last two weeks again) then merges straight away, instead of sending a whole COPY that
    fails on its first row; any other conflict still rolls a direct COPY back."""
    if not keys.width:
        return False
    probes = keys[sorted({0, keys.height // 2, keys.height - 1})]
    one_row = sql.SQL("({})").format(
        sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in keys.columns)
    )
    cursor.execute(
        sql.SQL("SELECT EXISTS (SELECT FROM {} WHERE {})").format(
            target, sql.SQL(" OR ").join([one_row] * probes.height)
        ),
        [value for row in probes.iter_rows() for value in row],
    )
    return bool(cursor.fetchone()[0])


_ROW = "__amz_row__"


@dataclass(frozen=True)
class _KeyOrder:
    """The rows' natural-key order (nulls last, as in a PostgreSQL index), found part by part.

    Sorting a million rows on text keys takes about a second, and the server would wait for it.
    So when the key's leading column (after columns that are the same in every row) is a number
    or a date, only that column is sorted up front (a few milliseconds) and cut into parts of
    whole leading values; each part is sorted on the full key when the CSV thread comes to it,
    while the server loads the part before. Any other key is sorted whole in that thread.
    """

    keys: pl.DataFrame
    """The key columns that tell rows apart, plus _ROW (the row's position in the frame)."""
    parts: list[pl.Series]
    """Positions, part by part in key order; each part unsorted within."""

    @classmethod
    def of(cls, frame: pl.DataFrame, key: list[str]) -> _KeyOrder | None:
        """None when the order does not matter (one row, or no key that varies)."""
        if frame.height < 2:
            return None
        same = frame.select(pl.col(c).eq_missing(pl.col(c).first()).all() for c in key).row(0)
        key = [c for c, same_in_every_row in zip(key, same, strict=True) if not same_in_every_row]
        if not key:
            return None
        keys = frame.select(key).with_row_index(_ROW)
        lead = frame.schema[key[0]]
        if not (lead.is_numeric() or lead.is_temporal()):
            return cls(keys, [keys.get_column(_ROW)])
        by_lead = keys.select(_ROW, key[0]).sort(key[0], nulls_last=True)
        runs = by_lead.get_column(key[0]).rle().struct.field("len").to_numpy()
        ends = np.cumsum(runs, dtype=np.int64)  # where each run of one leading value ends
        # Cut at the first run end past every COPY_CHUNK_ROWS rows: parts of whole runs.
        wanted = np.arange(COPY_CHUNK_ROWS, frame.height, COPY_CHUNK_ROWS, dtype=np.int64)
        cuts: list[int] = np.unique(ends[np.searchsorted(ends, wanted)]).tolist()
        cuts = [*(cut for cut in cuts if cut < frame.height), frame.height]
        positions = by_lead.get_column(_ROW)
        starts = [0, *cuts[:-1]]
        return cls(keys, [positions.slice(a, b - a) for a, b in zip(starts, cuts, strict=True)])

    def __iter__(self) -> Iterator[pl.Series]:
        """Positions in key order, part by part (each sorted as it is reached)."""
        key = [c for c in self.keys.columns if c != _ROW]
        for part in self.parts:
            yield self.keys[part].sort(key, nulls_last=True).get_column(_ROW)


def _copy(
    cursor: Any,
    into: sql.Identifier,
    column_list: sql.Composable,
    frame: pl.DataFrame,
    order: _KeyOrder | None,
    name: str,
) -> None:
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT CSV)").format(into, column_list)
    try:
        with cursor.copy(copy_sql) as copy, closing(_ahead(_csv_blocks(frame, order))) as blocks:
            for block in blocks:
                copy.write(block)
    except DataError as error:  # a value the column cannot hold: the file's fault, not ours
        detail = (str(error).strip().splitlines() or ["a value does not fit its column"])[0]
        raise ReportParseError(
            f"{name}: {detail}; the document holds a value this table cannot store."
        ) from None


def _merge_sql(
    target: sql.Identifier,
    stage: sql.Identifier,
    columns: list[str],
    conflict_key: list[str],
    data: list[str],
    has_loaded_at: bool = True,
) -> sql.Composed:
    """INSERT ... ON CONFLICT that rewrites a row only when one of its data columns changed."""
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    insert = sql.SQL("INSERT INTO {} AS t ({}) SELECT {} FROM {} ON CONFLICT ({}) ").format(
        target, names, names, stage, sql.SQL(", ").join(map(sql.Identifier, conflict_key))
    )
    if not data:
        return insert + sql.SQL("DO NOTHING")
    lineage = [c for c in columns if c not in conflict_key and c not in data]
    updates: list[sql.Composable] = [
        sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c))
        for c in [*data, *lineage]
    ]
    if has_loaded_at:
        updates.append(sql.SQL("loaded_at = now()"))
    before = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in data)
    after = sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in data)
    return insert + sql.SQL("DO UPDATE SET {} WHERE ROW({}) IS DISTINCT FROM ROW({})").format(
        sql.SQL(", ").join(updates), before, after
    )


def _csv_blocks(frame: pl.DataFrame, order: _KeyOrder | None) -> Iterator[bytes]:
    """frame as CSV, about COPY_CHUNK_ROWS rows at a time, its rows in `order` when given."""
    for chunk in _row_blocks(frame, order):
        text = io.BytesIO()
        _csv_ready(chunk).write_csv(text, include_header=False, quote_style="non_numeric")
        yield text.getvalue()


def _row_blocks(frame: pl.DataFrame, order: _KeyOrder | None) -> Iterator[pl.DataFrame]:
    if order is None:
        for start in range(0, frame.height, COPY_CHUNK_ROWS):
            yield frame.slice(start, COPY_CHUNK_ROWS)
        return
    for positions in order:  # one part of the rows, sorted
        for start in range(0, len(positions), COPY_CHUNK_ROWS):
            yield frame[positions.slice(start, COPY_CHUNK_ROWS)]


def _ahead(items: Iterator[_T]) -> Generator[_T, None, None]:
    """items, each produced in a worker thread while the caller uses the one before (polars
    formats CSV without the GIL, so the next block is cut while the server takes this one)."""
    done = object()
    with ThreadPoolExecutor(1, thread_name_prefix="amz-copy") as worker:
        pending = worker.submit(next, items, done)
        while (item := pending.result()) is not done:
            pending = worker.submit(next, items, done)
            yield cast(_T, item)


def _csv_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists and structs (bullets, attributes) become JSON text for jsonb columns."""
    nested = [
        name
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.List | pl.Struct | pl.Array)
    ]
    if not nested:
        return frame
    return frame.with_columns(
        pl.Series(
            name,
            [None if value is None else json.dumps(value) for value in frame[name].to_list()],
            dtype=pl.String,
        )
        for name in nested
    )

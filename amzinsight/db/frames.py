"""Query results as polars frames of a declared schema, so an empty result keeps its columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine


def query_frame(
    source: Engine | sa.Connection, statement: sa.Executable, schema: Mapping[str, Any]
) -> pl.DataFrame:
    """Run `statement` (on a new connection when given an engine) and type its rows by position."""
    if isinstance(source, Engine):
        with source.connect() as connection:
            return query_frame(connection, statement, schema)
    rows = [tuple(row) for row in source.execute(statement)]
    return pl.DataFrame(rows, schema=dict(schema), orient="row")

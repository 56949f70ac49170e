"""Reading Amazon's documents: tab-delimited flat files by header name, JSON documents, and the
value formats they share (money, dates, timestamps, booleans), parsed as polars expressions.

Every parser turns its document into a frame of strings with a ROW column (the file line, or the
entry index of a JSON section), then calls `parse_values`, which converts whole columns at once and
raises one ReportParseError naming the report type, the line and the bad value.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import polars as pl

from amzinsight.errors import ReportParseError

ROW = "_row"
"""Where a row came from: the 1-based file line (header = 1), or the index in a JSON array."""

MONEY_SCALE = 2
RATIO_SCALE = 4
TIMESTAMP = pl.Datetime("us", "UTC")

ValueKind = Literal[
    "text", "money", "ratio", "integer", "timestamp", "date", "date_or_null", "boolean"
]
"""date_or_null: a date when it parses, null when not (for columns that must not fail a load)."""

_EXPECTED = {
    "money": "a number",
    "ratio": "a number",
    "integer": "a whole number",
    "timestamp": "a date and time",
    "date": "a date",
    "boolean": "true/false or yes/no",
}
_TRUE = ["true", "yes", "y", "1"]
_FALSE = ["false", "no", "n", "0"]
# Amazon writes slash dates month-first only in the US; every other marketplace writes them
# day-first ("09/06/25" next to posted-date-time 2025-06-09, docs/amazon-formats.md 3.3).
_MONTH_FIRST_MARKETPLACES = frozenset({"ATVPDKIKX0DER"})
_MONTH_FIRST_CURRENCIES = frozenset({"USD"})


@dataclass(frozen=True)
class Field:
    """One output column: the document column (or JSON path) it comes from and how to read it."""

    source: str
    kind: ValueKind = "text"
    required: bool = False
    """A blank cell is an error (natural-key columns)."""


def flat_file_line(row: int) -> str:
    return f"line {row}"


def fail(report_type: str, where: str, problem: str) -> ReportParseError:
    return ReportParseError(f"{report_type} {where}: {problem}")


def slash_dates_day_first(marketplace_id: str | None, currency: str | None) -> bool:
    """The default reading of an ambiguous date such as 09/06/25: day-first except in the US.

    A column whose own values settle it (a first part above 12, or a second part above 12) is
    read that way whatever this default says.
    """
    if marketplace_id is not None:
        return marketplace_id not in _MONTH_FIRST_MARKETPLACES
    return (currency or "").upper() not in _MONTH_FIRST_CURRENCIES


# --- reading documents --------------------------------------------------------------------------


def header_names(
    head: bytes, separator: str = "\t", aliases: Mapping[str, str] | None = None
) -> list[str]:
    """The normalised column names of a flat file's first line (for detect functions); a
    localised name found in `aliases` comes back as the English name it stands for."""
    first_line = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")
    names = [_normalise_header(name) for name in _split_header(first_line, separator)]
    return [(aliases or {}).get(name, name) for name in names]


def read_flat_file(
    path: Path,
    report_type: str,
    *,
    required: Collection[str],
    optional: Collection[str] = (),
    separator: str = "\t",
    aliases: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """The wanted columns of a delimited file as strings (empty cells null), plus ROW.

    Columns are found by header name, case-insensitively, because Amazon adds, drops and
    reorders them (docs/amazon-formats.md 3). `aliases` maps localised header names (normalised)
    to the English names asked for, for files downloaded in the seller's language. Columns not
    asked for are never kept, so a file's buyer names or emails cannot reach a table. Missing
    optional columns come back as nulls.
    """
    header = _read_header(path, report_type, separator)
    known = aliases or {}
    by_name = {
        known.get(_normalise_header(raw), _normalise_header(raw)): raw for raw in reversed(header)
    }
    missing = [name for name in required if name not in by_name]
    if missing:
        raise fail(
            report_type,
            "line 1",
            f"missing column {', '.join(repr(name) for name in missing)}; this is not a "
            f"{report_type} document, or Amazon renamed the column",
        )
    wanted = [name for name in (*required, *optional) if name in by_name]
    absent = [name for name in optional if name not in by_name]
    try:
        frame = pl.read_csv(
            path,
            separator=separator,
            has_header=True,
            infer_schema=False,
            # Reading only the wanted columns keeps memory to what is loaded (and no PII at all).
            columns=list(dict.fromkeys(by_name[name] for name in wanted)),
            # Amazon's flat files do not quote: a value may contain a lone '"'
            # (docs/amazon-formats.md 3).
            quote_char=None if separator == "\t" else '"',
            row_index_name=ROW,
            row_index_offset=2,
            encoding="utf8",
        )
    except pl.exceptions.NoDataError:
        raise _empty(report_type) from None
    except pl.exceptions.PolarsError as error:
        raise _locate_unreadable(path, report_type, separator, len(header), error) from None
    if separator == "\t":
        _refuse_extra_fields(path, report_type, len(header))
    frame = frame.select(
        pl.col(ROW).cast(pl.Int64),
        *[pl.col(by_name[name]).alias(name) for name in wanted],
        *[pl.lit(None, pl.String).alias(name) for name in absent],
    )
    # A blank line comes back as a row of nulls; dropping it keeps every other line number true.
    values = [name for name in frame.columns if name != ROW]
    if values:
        frame = frame.filter(pl.any_horizontal(pl.col(values).is_not_null()))
    return frame


def read_json_document(path: Path, report_type: str) -> Any:
    """The parsed JSON document; numbers with a fraction become Decimal, never float."""
    raw = path.read_bytes()
    if not raw.strip():
        raise _empty(report_type)
    try:
        return json.loads(raw.decode("utf-8-sig"), parse_float=Decimal)
    except UnicodeDecodeError as error:
        raise fail(report_type, "byte " + str(error.start), "the document is not UTF-8") from None
    except json.JSONDecodeError as error:
        raise fail(report_type, f"line {error.lineno}", f"not valid JSON ({error.msg})") from None


def json_head_declares(head: bytes, key: str, value: str) -> bool:
    """True when a JSON document's first bytes hold `"key": "value"` (enough for detection)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"{"):
        return False
    pattern = rb'"' + re.escape(key.encode()) + rb'"\s*:\s*"' + re.escape(value.encode()) + rb'"'
    return re.search(pattern, text) is not None


def json_text(value: Any) -> str | None:
    """A JSON scalar as the text `parse_values` reads (numbers exactly as written)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    return json.dumps(value, default=float)


def json_frame(columns: Mapping[str, Sequence[Any]], size: int) -> pl.DataFrame:
    """A string frame (plus ROW = index) from JSON values picked out column by column."""
    return pl.DataFrame(
        {
            ROW: pl.Series(ROW, range(size), dtype=pl.Int64),
            **{
                name: pl.Series(name, [json_text(value) for value in values], dtype=pl.String)
                for name, values in columns.items()
            },
        }
    )


# --- parsing values -----------------------------------------------------------------------------


def parse_values(
    frame: pl.DataFrame,
    fields: Mapping[str, Field],
    *,
    report_type: str,
    day_first: bool = True,
    where: Callable[[int], str] = flat_file_line,
) -> pl.DataFrame:
    """ROW plus each field parsed from its source column; the first cell that does not parse (or
    a blank required cell) raises a ReportParseError with its line (`where`) and value.

    Vectorised in two passes: each column is first read in the form Amazon mostly writes
    (24.99, 2020-02-18T05:05:21+00:00), and only a column with cells that form does not fit is
    read again with every accepted form (about ten times slower on a million rows).
    """
    _require_present(frame, fields, report_type, where)
    parsed = frame.with_columns(
        _parse_common_form(pl.col(field.source), field.kind).alias(_tmp(name))
        for name, field in fields.items()
    )
    unparsed = [
        name for name, count in _cells_unparsed(parsed, fields, blank_aware=False).items() if count
    ]
    if unparsed:
        parsed = parsed.with_columns(
            _parse(pl.col(fields[name].source), fields[name].kind, day_first).alias(_tmp(name))
            for name in unparsed
        )
        failed = {
            name: count
            for name, count in _cells_unparsed(
                parsed, {name: fields[name] for name in unparsed}, blank_aware=True
            ).items()
            if count and fields[name].kind in _EXPECTED
        }
        if failed:
            _raise_first_failure(
                parsed, {name: fields[name] for name in failed}, report_type, where
            )
    return parsed.select(ROW, *[pl.col(_tmp(name)).alias(name) for name in fields])


def _require_present(
    frame: pl.DataFrame,
    fields: Mapping[str, Field],
    report_type: str,
    where: Callable[[int], str],
) -> None:
    required = [field.source for field in fields.values() if field.required]
    if not required or not frame.height:
        return
    first_blank = frame.select(
        pl.col(ROW).filter(_blank_to_null(pl.col(source)).is_null()).min().alias(source)
        for source in required
    ).row(0, named=True)
    missing = [(row, source) for source, row in first_blank.items() if row is not None]
    if missing:
        row, source = min(missing)
        raise fail(report_type, where(row), f"{source} is empty")


def _cells_unparsed(
    parsed: pl.DataFrame, fields: Mapping[str, Field], *, blank_aware: bool
) -> dict[str, int]:
    """Per field: how many cells hold text but came out null."""
    checked = {name: field for name, field in fields.items() if field.kind != "text"}
    if not checked or not parsed.height:
        return {}
    return parsed.select(
        (
            (_blank_to_null(pl.col(field.source)) if blank_aware else pl.col(field.source))
            .is_not_null()
            .and_(pl.col(_tmp(name)).is_null())
            .sum()
            .alias(name)
        )
        for name, field in checked.items()
    ).row(0, named=True)


def _raise_first_failure(
    parsed: pl.DataFrame,
    fields: Mapping[str, Field],
    report_type: str,
    where: Callable[[int], str],
) -> None:
    first_bad = parsed.select(
        pl.col(ROW)
        .filter(_blank_to_null(pl.col(field.source)).is_not_null() & pl.col(_tmp(name)).is_null())
        .min()
        .alias(name)
        for name, field in fields.items()
    ).row(0, named=True)
    row, name = min((row, name) for name, row in first_bad.items() if row is not None)
    field = fields[name]
    value = parsed.filter(pl.col(ROW) == row)[field.source][0]
    raise fail(report_type, where(row), f"{field.source} {value!r} is not {_EXPECTED[field.kind]}")


def money(text: pl.Expr, scale: int = MONEY_SCALE) -> pl.Expr:
    """Amounts as Decimal: "1,234.56", EU "1.234,56" and "12,50", "-3.10"; blank is null.

    A comma followed by exactly three digits and no decimal point ("1,234") is a thousands
    separator; any other lone comma is a decimal comma (EU files, docs/amazon-formats.md 3.3).
    """
    value = _blank_to_null(text)
    us_grouped = value.str.contains(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
    comma_decimal = value.str.contains(r"^[+-]?(\d{1,3}(\.\d{3})+|\d*),\d*$")
    normalised = (
        pl.when(us_grouped)
        .then(value.str.replace_all(",", "", literal=True))
        .when(comma_decimal)
        .then(value.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True))
        .otherwise(value)
    )
    return normalised.str.to_decimal(scale=scale)


def integer(text: pl.Expr) -> pl.Expr:
    return _blank_to_null(text).str.to_integer(strict=False).cast(pl.Int64)


def boolean(text: pl.Expr) -> pl.Expr:
    """true/false, Yes/No, y/n (Amazon uses all three spellings across reports)."""
    value = _blank_to_null(text).str.to_lowercase()
    return (
        pl.when(value.is_in(_TRUE))
        .then(pl.lit(True))
        .when(value.is_in(_FALSE))
        .then(pl.lit(False))
        .otherwise(pl.lit(None, pl.Boolean))
    )


def local_date(text: pl.Expr, day_first: bool = True) -> pl.Expr:
    """The date as written at the start of the cell: 2025-03-02, 09/06/25, 08/07/2016 10:12:40
    BST, 01.02.2024. A time or zone after the date is ignored: it is the local date Amazon wrote.
    """
    token = _blank_to_null(text).str.extract(r"^(\d{1,4}[-./]\d{1,2}[-./]\d{1,4})(?:[ T]|$)", 1)
    return _date_from_token(token, _day_first_for(token, day_first))


def timestamp(text: pl.Expr, day_first: bool = True) -> pl.Expr:
    """UTC instants: "2020-02-18T05:05:21+00:00", "2023-01-01 00:00:00 UTC",
    "DD.MM.YYYY HH:MM:SS UTC", slash dates with a time; a bare date is midnight UTC.
    """
    value = (
        _blank_to_null(text)
        .str.replace(r"(?i)\s*(?:UTC|GMT|Z)$", "+00:00")
        .str.replace(r"\s+([+-]\d{2}:?\d{2})$", "${1}")
        .str.replace(r"^(\d{4}-\d{1,2}-\d{1,2})T", "${1} ")
    )
    date_part = value.str.extract(r"^(\d{1,4}[-./]\d{1,2}[-./]\d{1,4})", 1)
    day_first_here = _day_first_for(date_part, day_first)
    time_part = " %H:%M:%S%.f%z"
    with_time = [
        value.str.strptime(TIMESTAMP, "%Y-%m-%d" + time_part, strict=False),
        value.str.strptime(TIMESTAMP, "%d.%m.%Y" + time_part, strict=False),
        *[
            pl.when(day_first_here)
            .then(value.str.strptime(TIMESTAMP, day_month + time_part, strict=False))
            .otherwise(value.str.strptime(TIMESTAMP, month_day + time_part, strict=False))
            for day_month, month_day in (("%d/%m/%y", "%m/%d/%y"), ("%d/%m/%Y", "%m/%d/%Y"))
        ],
    ]
    bare_date = (
        pl.when(value == date_part)
        .then(_date_from_token(date_part, day_first_here))
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
    )
    return pl.coalesce(*with_time, bare_date)


def require_unique(
    frame: pl.DataFrame,
    key: Sequence[str],
    *,
    report_type: str,
    where: Callable[[int], str] = flat_file_line,
) -> None:
    """Two rows with one natural key would make the upsert touch a row twice: refuse the file."""
    repeated = frame.filter(~pl.struct(key).is_first_distinct())
    if repeated.height:
        first = repeated.row(0, named=True)
        values = ", ".join(f"{name} {first[name]!r}" for name in key)
        raise fail(report_type, where(first[ROW]), f"{values} appears more than once")


def _parse_common_form(text: pl.Expr, kind: ValueKind) -> pl.Expr:
    """The cheap first read: plain numbers, ISO dates, and the two usual timestamp forms."""
    if kind == "money":
        return text.str.to_decimal(scale=MONEY_SCALE)
    if kind == "ratio":
        return text.str.to_decimal(scale=RATIO_SCALE)
    if kind == "integer":
        return text.str.to_integer(strict=False).cast(pl.Int64)
    if kind == "timestamp":
        return pl.coalesce(
            text.str.strptime(TIMESTAMP, "%Y-%m-%dT%H:%M:%S%.f%z", strict=False),
            text.str.strptime(
                pl.Datetime("us"), "%Y-%m-%d %H:%M:%S UTC", strict=False
            ).dt.replace_time_zone("UTC"),
        )
    if kind in ("date", "date_or_null"):
        return text.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    if kind == "boolean":
        return boolean(text)
    return text


def _parse(text: pl.Expr, kind: ValueKind, day_first: bool) -> pl.Expr:
    if kind == "money":
        return money(text, MONEY_SCALE)
    if kind == "ratio":
        return money(text, RATIO_SCALE)
    if kind == "integer":
        return integer(text)
    if kind == "timestamp":
        return timestamp(text, day_first)
    if kind in ("date", "date_or_null"):
        return local_date(text, day_first)
    if kind == "boolean":
        return boolean(text)
    return text


def _date_from_token(token: pl.Expr, day_first: pl.Expr) -> pl.Expr:
    slash_formats = [("%d/%m/%y", "%m/%d/%y"), ("%d/%m/%Y", "%m/%d/%Y")]  # %y first: see below
    return pl.coalesce(
        token.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        token.str.strptime(pl.Date, "%d.%m.%Y", strict=False),
        # Year first with slashes (Japan, 2023/03/14) is never ambiguous.
        pl.when(token.str.contains(r"^\d{4}/")).then(
            token.str.strptime(pl.Date, "%Y/%m/%d", strict=False)
        ),
        # A two-digit year must meet %y before %Y, which would read "25" as the year 25.
        *[
            pl.when(day_first)
            .then(token.str.strptime(pl.Date, day_month, strict=False))
            .otherwise(token.str.strptime(pl.Date, month_day, strict=False))
            for day_month, month_day in slash_formats
        ],
    )


def _day_first_for(token: pl.Expr, default: bool) -> pl.Expr:
    """Per column: the values decide when one of them has a part above 12, else the default."""
    parts = token.str.extract_groups(r"^(\d{1,2})/(\d{1,2})/")
    first = parts.struct.field("1").cast(pl.Int32, strict=False)
    second = parts.struct.field("2").cast(pl.Int32, strict=False)
    return (
        pl.when(first.max() > 12)
        .then(pl.lit(True))
        .when(second.max() > 12)
        .then(pl.lit(False))
        .otherwise(pl.lit(default))
    )


def _blank_to_null(text: pl.Expr) -> pl.Expr:
    value = text.str.strip_chars()
    return pl.when(value.str.len_bytes() > 0).then(value).otherwise(pl.lit(None, pl.String))


def _tmp(name: str) -> str:
    return f"__parsed__{name}"


def _normalise_header(name: str) -> str:
    # NFC: "quantité" typed as e + combining accent is the same header as the precomposed one.
    return unicodedata.normalize("NFC", name.strip().strip('"').strip().lower())


def _split_header(line: str, separator: str) -> list[str]:
    if separator == "\t":
        return line.split("\t")
    try:
        return next(csv.reader([line], delimiter=separator), [])
    except csv.Error:  # a bare \r inside the line (binary data, old Mac line ends): no header
        return []


def _read_header(path: Path, report_type: str, separator: str) -> list[str]:
    with path.open("rb") as document:
        first_line = document.readline()
    if not first_line.strip():
        raise _empty(report_type)
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise fail(report_type, "line 1", "the document is not UTF-8 text") from None
    return _split_header(text.rstrip("\r\n"), separator)


def _empty(report_type: str) -> ReportParseError:
    return ReportParseError(
        f"{report_type}: empty document (no header line); Amazon sent nothing, or the file is "
        "not the report"
    )


def _refuse_extra_fields(path: Path, report_type: str, columns: int) -> None:
    """A stray tab shifts a line's values into the wrong columns. Reading only some columns
    skips polars' own check of that, so count each line's tabs here (streamed, vectorised)."""
    first = (
        pl.scan_csv(
            path,
            has_header=False,
            separator="\x1f",  # a byte Amazon's text never holds: each line is one value
            quote_char=None,
            infer_schema=False,
            new_columns=["line"],
            truncate_ragged_lines=True,
        )
        .select(pl.col("line").str.count_matches("\t", literal=True).alias("tabs"))
        .with_row_index("number", offset=1)
        .filter(pl.col("tabs") > columns - 1)
        .head(1)
        .collect()
    )
    if first.height:
        number, tabs = first.row(0)
        raise fail(
            report_type,
            f"line {number}",
            f"{tabs + 1} fields but the header has {columns}; a value may contain a tab",
        )


def _locate_unreadable(
    path: Path, report_type: str, separator: str, columns: int, error: Exception
) -> ReportParseError:
    """Polars says what is wrong but not where: find the first bad line (error path only)."""
    with path.open("rb") as document:
        for number, line in enumerate(document, start=1):
            try:
                text = line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                return fail(report_type, f"line {number}", "the document is not UTF-8 text")
            fields = text.rstrip("\r\n").count(separator) + 1
            if separator == "\t" and fields > columns:
                return fail(
                    report_type,
                    f"line {number}",
                    f"{fields} fields but the header has {columns}; a value may contain a tab",
                )
    first_sentence = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
    return ReportParseError(f"{report_type}: cannot read the document ({first_sentence})")

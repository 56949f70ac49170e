"""Formula-injection guard for every CSV and XLSX the product writes (OWASP "CSV Injection").

Shopper search terms, listing text and names reach the downloads; a spreadsheet runs a cell that
starts with `=`, `+`, `-`, `@`, tab, CR or LF as a formula (`=HYPERLINK(...)` is a live link),
and openpyxl stores any Python string that starts with `=` as a formula cell. The triggers are
OWASP's list (owasp.org/www-community/attacks/CSV_Injection). Full-width look-alikes (`＝`) are
not on it and are left alone.

Two writers, one rule (`starts_formula`):
- `neutralised(frame)` gives text cells and column names that start a formula a leading
  apostrophe, OWASP's remedy, before a CSV or XLSX download of a table is written; numbers,
  dates and text that is just a number (`-24.90`) are untouched, so negative money stays a number;
- `keep_text_as_text(sheet)` makes an openpyxl sheet store text as text (never a formula) and
  marks text that starts a formula with Excel's quote prefix (what Excel itself records when a
  person types a leading apostrophe): the value stays exact, for files Amazon reads back (the Ads
  bulk sheet), and Excel shows and keeps it as text.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, overload

import polars as pl

if TYPE_CHECKING:
    import pandas as pd  # the app's extra: the core, the CLI and the workers run without it
    from openpyxl.worksheet.worksheet import Worksheet

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
"""OWASP's list: a cell starting with one of these is read as a formula (or, after the
whitespace, as one)."""

_TRIGGER_PATTERN = r"^[=+\-@\t\r\n]"
# Text that is only a number (a sign, digits, thousands commas, one decimal point, a percent)
# opens as that number in every spreadsheet, never as a formula that does anything: prefixing it
# would turn "-24.90" into text for nothing.
_PLAIN_NUMBER_PATTERN = r"^[+-]?\d[\d,]*(\.\d+)?%?$"
_PLAIN_NUMBER = re.compile(_PLAIN_NUMBER_PATTERN)


def starts_formula(text: str) -> bool:
    """Whether a spreadsheet would read this text as a formula."""
    return text.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(text)


def neutralised_text(text: str) -> str:
    """The text with a leading apostrophe when a spreadsheet would read it as a formula."""
    return f"'{text}" if starts_formula(text) else text


@overload
def neutralised(frame: pl.DataFrame) -> pl.DataFrame: ...
@overload
def neutralised(frame: pd.DataFrame) -> pd.DataFrame: ...
def neutralised(frame: pl.DataFrame | pd.DataFrame) -> pl.DataFrame | pd.DataFrame:
    """The frame with every text cell and column name that starts a formula prefixed with `'`.

    Only text columns change (polars String, Categorical and Enum; pandas cells that are `str`);
    numbers, dates and Decimals keep their type, so a negative amount is still a number in the
    file. A column whose text needs a prefix becomes a plain String column.
    """
    if isinstance(frame, pl.DataFrame):
        return _neutralised_polars(frame)
    return _neutralised_pandas(frame)


def _neutralised_polars(frame: pl.DataFrame) -> pl.DataFrame:
    texts = [
        name
        for name, dtype in frame.schema.items()
        if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)
    ]
    safe = frame.with_columns(
        pl.when(
            pl.col(name).cast(pl.String).str.contains(_TRIGGER_PATTERN)
            & ~pl.col(name).cast(pl.String).str.contains(_PLAIN_NUMBER_PATTERN)
        )
        .then(pl.lit("'") + pl.col(name).cast(pl.String))
        .otherwise(pl.col(name).cast(pl.String))
        .alias(name)
        for name in texts
        if frame[name].cast(pl.String).str.contains(_TRIGGER_PATTERN).any()
    )
    return safe.rename({name: neutralised_text(name) for name in safe.columns})


def _neutralised_pandas(frame: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    safe = frame.copy(deep=False)
    for position in range(safe.shape[1]):
        column = safe.iloc[:, position]
        if column.dtype == object or isinstance(column.dtype, pd.StringDtype | pd.CategoricalDtype):
            safe.isetitem(
                position,
                column.map(
                    lambda value: neutralised_text(value) if isinstance(value, str) else value
                ),
            )
    safe.columns = [
        neutralised_text(name) if isinstance(name, str) else name for name in safe.columns
    ]
    return safe


def keep_text_as_text(sheet: Worksheet) -> None:
    """Store every text cell of an openpyxl sheet as text, exactly as given, never as a formula.

    openpyxl makes any string starting with `=` a formula cell: such cells become string cells
    again. Text that starts a formula also gets Excel's quote prefix, so editing the cell in
    Excel keeps it text. Call it once every cell is written, just before saving.
    """
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
            if isinstance(cell.value, str) and starts_formula(cell.value):
                cell.quotePrefix = True

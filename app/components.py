"""Shared page pieces: KPI tiles with deltas, money formatting, downloads built on click, change
logs, charts, empty states."""

from __future__ import annotations

import io
import json
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import polars as pl
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from amzinsight.spreadsheet_safety import keep_text_as_text, neutralised
from amzinsight.stores import Store
from app.filters import NOTES_SHOWN_KEY, Filters
from app.labels import DATETIME_FORMAT, humanise

# Symbols for the marketplaces' currencies; anything else is written with its ISO code.
CURRENCY_SYMBOLS = {
    "USD": "$",
    "CAD": "CA$",
    "MXN": "MX$",
    "BRL": "R$",
    "GBP": "£",
    "EUR": "€",
    "JPY": "¥",
    "AUD": "A$",
    "INR": "₹",
    "SGD": "S$",
    "SEK": "kr ",
    "PLN": "zł ",
    "TRY": "₺",
}
# Currencies Amazon reports without minor units.
WHOLE_UNIT_CURRENCIES = {"JPY"}

Kind = Literal["money", "count", "percent", "ratio"]


def currency_symbol(currency: str) -> str:
    return CURRENCY_SYMBOLS.get(currency, f"{currency} ")


def format_money(value: Decimal | float | int | None, currency: str) -> str:
    """`$1,234.56` (`¥1,235` for JPY); `-` when unknown, never a misleading zero."""
    if value is None:
        return "-"
    places = Decimal(1) if currency in WHOLE_UNIT_CURRENCIES else Decimal("0.01")
    amount = Decimal(str(value)).quantize(places, rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    return f"{sign}{currency_symbol(currency)}{abs(amount):,}"


def format_value(value: Decimal | float | int | None, kind: Kind, currency: str = "USD") -> str:
    if value is None:
        return "-"
    if kind == "money":
        return format_money(value, currency)
    if kind == "percent":
        return f"{float(value):.1%}"
    if kind == "ratio":
        return f"{float(value):,.2f}"
    return f"{int(value):,}"


# Streamlit's own presets put the sign before the symbol (-$398.77); printf cannot.
STREAMLIT_MONEY_PRESETS = {"USD": "dollar", "EUR": "euro", "JPY": "yen"}


def money_format(currency: str) -> str:
    """A format for st.column_config.NumberColumn in the marketplace's currency."""
    if currency in STREAMLIT_MONEY_PRESETS:
        return STREAMLIT_MONEY_PRESETS[currency]
    decimals = 0 if currency in WHOLE_UNIT_CURRENCIES else 2
    return f"{currency_symbol(currency).replace('%', '%%')}%,.{decimals}f"


# CommonMark lets a backslash escape any ASCII punctuation character, which then renders as itself.
# Escaping every one (not a hand-picked few) leaves no construct to open: links, images, emphasis,
# code, headings, lists, entities (&lt;), GFM tables and strikethrough, Streamlit's :red[...]
# directives and $math$.
MARKDOWN_PUNCTUATION = frozenset(string.punctuation)


def as_text(value: object) -> str:
    """`value` (text from data: an error Amazon or a file sent, a note, a search term, a name) as
    Markdown that shows exactly its characters, for st.error, st.markdown, st.caption, labels...

    Streamlit renders those as Markdown, so `![x](http://host/)` in a sync error would fetch an
    image and `[click](...)` would hide a link behind words. Only the data goes through here; our
    own sentences around it keep their Markdown. Indentation at a line's start is dropped (four
    spaces would start a code block, which shows backslashes). A bare URL still shows as a link
    to that same visible URL: GFM finds those after escapes are resolved.
    """
    return "\n".join(
        "".join(
            f"\\{character}" if character in MARKDOWN_PUNCTUATION else character
            for character in line.lstrip()
        )
        for line in str(value).splitlines()
    )


@dataclass(frozen=True)
class Kpi:
    label: str
    value: Decimal | float | int | None
    previous: Decimal | float | int | None = None  # the comparison period's value
    kind: Kind = "count"
    lower_is_better: bool = False  # ACoS, CPC, refunds: a rise is bad news
    help: str | None = None


def kpi_delta(kpi: Kpi) -> str | None:
    """The change against the comparison: relative for amounts, percentage points for rates."""
    if kpi.value is None or kpi.previous is None:
        return None
    if kpi.kind == "percent":
        points = round((float(kpi.value) - float(kpi.previous)) * 100, 1) + 0.0  # no "-0.0"
        return f"{points:+.1f} pp"
    if not kpi.previous:
        return None
    change = round(float(kpi.value) / float(kpi.previous) - 1, 3) + 0.0
    return f"{change:+.1%}"


def kpi_delta_color(kpi: Kpi, delta: str | None) -> Literal["normal", "inverse", "off"]:
    """Green for good news, red for bad: a rise in a cost (spend, ACoS, fees) is drawn red."""
    if delta is not None and delta.lstrip("+-").startswith("0.0"):
        return "off"  # rounds to no change: neither colour
    return "inverse" if kpi.lower_is_better else "normal"


# Room for a tile's text at a 1280 px wide window with the sidebar open, the narrowest the app is
# laid out for (measured in Chromium; tests/test_browser.py checks every tile at 1280 and 1440):
# the main column's width, the gap between st.columns, a bordered tile's padding and border, the
# help icon beside a label, and the delta's arrow and padding.
MAIN_WIDTH_PX = 822
COLUMN_GAP_PX = 14
TILE_INSET_PX = 34
HELP_ICON_PX = 24
DELTA_INSET_PX = 32
VALUE_FONT_PX = 36
SMALL_FONT_PX = 14
# Source Sans advance widths in em: digits and currency symbols are tabular half-ems.
NARROW_CHARACTERS = {",": 0.25, ".": 0.25, " ": 0.2, "-": 0.31, "(": 0.3, ")": 0.3, "/": 0.35}
NARROW_CHARACTERS |= {"i": 0.25, "l": 0.25, "j": 0.25, "I": 0.26, "f": 0.3, "t": 0.34, "r": 0.35}
WIDE_CHARACTERS = {"%": 0.82, "m": 0.83, "w": 0.72, "M": 0.73, "W": 0.79}
SAFETY = 1.06  # rounding, kerning and font hinting


def text_width(text: str, font_px: float) -> float:
    """About how many pixels `text` takes in Streamlit's font at `font_px` (slightly over)."""
    ems = 0.0
    for character in text:
        if character in NARROW_CHARACTERS:
            ems += NARROW_CHARACTERS[character]
        elif character in WIDE_CHARACTERS:
            ems += WIDE_CHARACTERS[character]
        elif character.isupper():
            ems += 0.62
        else:
            ems += 0.55 if character.isalpha() else 0.5
    return ems * font_px * SAFETY


def tiles_per_row(tiles: Sequence[tuple[Kpi, str, str | None]], most: int) -> int:
    """The most tiles per row (at most `most`) that show every label, value and delta in full.

    Money stays exact: a long figure gets a wider tile rather than a rounded "$42.3K". Rows are
    then balanced (8 tiles that fit 3 a row become 3 + 3 + 2, 5 that fit 4 become 3 + 2).
    """
    count = max(1, min(most, len(tiles)))
    while count > 1:
        room = (MAIN_WIDTH_PX - COLUMN_GAP_PX * (count - 1)) / count - TILE_INSET_PX
        if all(_tile_fits(tile, room) for tile in tiles):
            break
        count -= 1
    rows = -(-len(tiles) // count)
    return max(1, -(-len(tiles) // rows)) if tiles else 1


def _tile_fits(tile: tuple[Kpi, str, str | None], room: float) -> bool:
    kpi, value, delta = tile
    label = text_width(kpi.label, SMALL_FONT_PX) + (HELP_ICON_PX if kpi.help else 0)
    change = text_width(delta, SMALL_FONT_PX) + DELTA_INSET_PX if delta else 0
    return max(label, text_width(value, VALUE_FONT_PX), change) <= room


def kpi_tiles(kpis: Sequence[Kpi], currency: str, per_row: int = 4) -> None:
    """Rows of st.metric tiles (at most `per_row` a row, fewer when a figure needs the room),
    each with its change against the comparison period, coloured by what the change means.

    Under a page's first tiles, the sidebar's notes on the ranges (days Amazon has not reported
    yet, a comparison period without data) say why a figure covers less or has no change."""
    tiles = [(kpi, format_value(kpi.value, kpi.kind, currency), kpi_delta(kpi)) for kpi in kpis]
    count = tiles_per_row(tiles, per_row)
    for start in range(0, len(tiles), count):
        columns = st.columns(count)
        for column, (kpi, value, delta) in zip(columns, tiles[start : start + count], strict=False):
            column.metric(
                kpi.label,
                value,
                delta=delta,
                delta_color=kpi_delta_color(kpi, delta),
                help=kpi.help,
                border=True,
            )
    filters = st.session_state.get("filters")
    if filters is not None and filters.notes and not st.session_state.get(NOTES_SHOWN_KEY):
        st.session_state[NOTES_SHOWN_KEY] = True  # under the page's first tiles only
        st.caption(" ".join(filters.notes))


def fact_tiles(facts: Sequence[tuple[str, str, str | None]], per_row: int = 4) -> None:
    """Tiles of (label, formatted figure, help) with nothing to compare against, in rows sized
    like kpi_tiles so that no figure is cut."""
    tiles = [(Kpi(label, None, help=help_text), shown, None) for label, shown, help_text in facts]
    count = tiles_per_row(tiles, per_row)
    for start in range(0, len(tiles), count):
        columns = st.columns(count)
        for column, (kpi, shown, _) in zip(columns, tiles[start : start + count], strict=False):
            column.metric(kpi.label, shown, help=kpi.help, border=True)


def require_store(filters: Filters, fills: str) -> Store:
    """The chosen store, or an empty state that says how to get one (and stop the page)."""
    if filters.store is None:
        st.info(
            "**No stores yet.** Add one with `amzinsight store add` (or start with "
            f"`amzinsight up --demo`), then sync it: {fills}."
        )
        st.stop()
        raise RuntimeError("unreachable: st.stop() raises")
    return filters.store


def empty_state(what: str, sync: str) -> None:
    """Say what is missing and which sync fills it (the Sync page's buttons, or the CLI)."""
    st.info(f"**No {what} for this range yet.** {sync} fills it: run it from the Sync page.")


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FileBuilder = Callable[[], bytes | str]


def download_button(
    label: str,
    build: FileBuilder,
    file_name: str,
    mime: str,
    key: str,
    container: DeltaGenerator | None = None,
    disabled: bool = False,
) -> None:
    """The one download button of the app: `build` makes the file only when it is clicked.

    Streamlit calls `build` on its own thread when the browser asks for the file, so a page run
    builds no file (an XLSX of 10,000 rows takes seconds); the click does not rerun the page.
    """
    (container if container is not None else st).download_button(
        label,
        build,
        file_name=file_name,
        mime=mime,
        key=key,
        icon=":material/download:",
        on_click="ignore",
        disabled=disabled,
    )


def download_buttons(
    frame: pl.DataFrame | pd.DataFrame, file_stem: str, key: str, xlsx: bool = True
) -> None:
    """CSV (and XLSX, for pasting into a spreadsheet) of exactly the table shown, built on click."""
    # A pandas frame is mutable: keep the columns as shown now, not as a later line leaves them.
    shown = frame if isinstance(frame, pl.DataFrame) else frame.copy(deep=False)
    columns = st.columns([1, 1, 6]) if xlsx else st.columns([1, 7])
    download_button(
        "CSV",
        lambda: csv_bytes(shown),
        file_name=f"{file_stem}.csv",
        mime="text/csv",
        key=f"{key}_csv",
        container=columns[0],
    )
    if xlsx:
        download_button(
            "XLSX",
            lambda: xlsx_bytes(shown),
            file_name=f"{file_stem}.xlsx",
            mime=XLSX_MIME,
            key=f"{key}_xlsx",
            container=columns[1],
        )


def _pandas(frame: pl.DataFrame | pd.DataFrame) -> pd.DataFrame:
    """The frame as pandas, its text neutralised against formula injection (shopper search terms
    and listing text reach every download: `=HYPERLINK(...)` must stay text)."""
    return neutralised(frame).to_pandas() if isinstance(frame, pl.DataFrame) else neutralised(frame)


def csv_bytes(frame: pl.DataFrame | pd.DataFrame) -> bytes:
    return str(_pandas(frame).to_csv(index=False)).encode()


def xlsx_bytes(frame: pl.DataFrame | pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    # Excel has no time zones: write timestamps as UTC wall time.
    plain = _pandas(frame).copy()
    for name in plain.columns:
        if isinstance(plain[name].dtype, pd.DatetimeTZDtype):
            plain[name] = plain[name].dt.tz_convert("UTC").dt.tz_localize(None)
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        plain.to_excel(writer, index=False)
        for sheet in writer.sheets.values():
            keep_text_as_text(sheet)
    return buffer.getvalue()


def _row_in_words(key: str | None) -> str:
    """An audit entry's row key (JSON) as words: `SKU BL-1, Effective from 2026-01-01`."""
    parts = json.loads(key) if key else {}
    if parts == {"sku": ""}:
        return "Store default"
    return ", ".join(f"{humanise(name)} {value}" for name, value in parts.items())


def change_log_table(changes: pl.DataFrame, key: str) -> None:
    """An edit's change log (amzinsight.edits.audit.change_log): when, which row, before, after
    and who made the change."""
    if changes.is_empty():
        st.caption("No changes recorded yet.")
        return
    st.dataframe(
        changes.with_columns(pl.col("key").map_elements(_row_in_words, pl.String)),
        hide_index=True,
        width="stretch",
        key=key,
        placeholder="",
        column_config={
            "at": st.column_config.DatetimeColumn(
                "When (UTC)", format=DATETIME_FORMAT, timezone="UTC"
            ),
            "key": "Row",
            "old_value": "Before",
            "new_value": "After",
            "reason": "How",
            "actor": "Who",
        },
    )


FEW_PERIODS = 6  # up to this many points, each gets its own tick and no other


def date_axis(figure: go.Figure, periods: Sequence[Any]) -> None:
    """Dates as people write them on the x axis ("03 Dec 2026"); with a few points, one tick
    each, since plotly otherwise fills a short range with sub-second times."""
    figure.update_xaxes(tickformat="%d %b %Y", hoverformat="%d %b %Y")
    distinct = sorted(set(periods))
    if 0 < len(distinct) <= FEW_PERIODS:
        figure.update_xaxes(
            tickmode="array", tickvals=distinct, ticktext=[f"{d:%d %b %Y}" for d in distinct]
        )


def time_series(
    frame: pl.DataFrame,
    x: str,
    y: Sequence[str],
    title: str,
    labels: dict[str, str] | None = None,
    percent: bool = False,
) -> None:
    """A plotly line chart over periods; Decimal columns are plotted as floats."""
    plotted = frame.select(x, *(pl.col(name).cast(pl.Float64) for name in y)).to_pandas()
    figure = px.line(plotted, x=x, y=list(y), title=title, labels=labels or {}, markers=True)
    figure.update_layout(legend_title_text="", margin={"t": 48, "b": 8}, hovermode="x unified")
    if frame.schema[x] == pl.Date:
        date_axis(figure, frame[x].to_list())
    if percent:
        figure.update_yaxes(tickformat=".0%")
    st.plotly_chart(figure, width="stretch")

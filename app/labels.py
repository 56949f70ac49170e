"""How pages name and format things for people: report titles, marketplaces, timestamps, dates and
byte counts, so that no page shows a column name, a report key, "None" or an ISO timestamp."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import polars as pl

from amzinsight.errors import ConfigError
from amzinsight.marketplaces import marketplace_for
from amzinsight.reports import report_title

__all__ = [
    "DATETIME_FORMAT",
    "DATE_FORMAT",
    "MISSING",
    "format_bytes",
    "format_date",
    "format_timestamp",
    "humanise",
    "marketplace_label",
    "report_title",
    "titled",
]

# momentJS formats for st.column_config.DateColumn / DatetimeColumn: "03 Dec 2026", "03 Dec 2026
# 07:15" (the column label names the time zone).
DATE_FORMAT = "DD MMM YYYY"
DATETIME_FORMAT = "DD MMM YYYY HH:mm"
# What a table shows for a missing value (st.dataframe's placeholder) instead of "None".
MISSING = ""

BYTE_UNITS = ("KB", "MB", "GB", "TB")


def format_bytes(size: int | None) -> str:
    """`1.5 MB`, `820 bytes`; 1 KB = 1024 bytes, one decimal above a kilobyte."""
    if size is None:
        return "unknown"
    if abs(size) < 1024:
        return f"{size:,} byte{'' if size == 1 else 's'}"
    value = float(size)
    for unit in BYTE_UNITS:
        value /= 1024
        if abs(value) < 1024 or unit == BYTE_UNITS[-1]:
            return f"{value:,.1f} {unit}"
    raise AssertionError("unreachable")


def format_timestamp(
    value: datetime | str | None, time_zone: str | None = None, missing: str = "unknown"
) -> str:
    """`03 Dec 2026 07:15 UTC`, or in a marketplace's zone: `02 Dec 2026 23:15 PST`.

    ISO strings (as JSON summaries carry them) are read first; a naive datetime is taken as UTC.
    """
    if value is None or value == "":
        return missing
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if time_zone is None or time_zone == "UTC":
        return f"{moment.astimezone(UTC):%d %b %Y %H:%M} UTC"
    local = moment.astimezone(ZoneInfo(time_zone))
    return f"{local:%d %b %Y %H:%M} {local.tzname()}"


def format_date(value: date | str | None, missing: str = "unknown") -> str:
    """`03 Dec 2026` (a datetime keeps only its date)."""
    if value is None or value == "":
        return missing
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value:%d %b %Y}"


# Words people write in capitals.
ACRONYMS = {"sku": "SKU", "asin": "ASIN", "id": "ID", "cogs": "COGS", "fba": "FBA", "url": "URL"}


def humanise(name: str) -> str:
    """A snake_case name as words: `ads_advertised_product_daily` -> `Ads advertised product
    daily`, `unit_cost` -> `Unit cost`, `sku` -> `SKU` (for names without a title of their own)."""
    words = [ACRONYMS.get(word, word) for word in name.strip().split("_") if word]
    if not words:
        return name
    first = words[0]
    return " ".join([first if first in ACRONYMS.values() else first.capitalize(), *words[1:]])


def marketplace_label(marketplace_id: str | None) -> str:
    """The country code people know a marketplace by (`ATVPDKIKX0DER` -> `US`)."""
    if not marketplace_id:
        return "all"
    try:
        return marketplace_for(marketplace_id).country_code
    except ConfigError:
        return marketplace_id


def titled(frame: pl.DataFrame, column: str = "report_type") -> pl.DataFrame:
    """The frame with its report keys in `column` replaced by their titles."""
    return frame.with_columns(
        pl.col(column).map_elements(report_title, return_dtype=pl.String).alias(column)
    )

"""What every report type declares, and what its parser returns.

A report type is data: its module holds a `SPEC` and a pure `parse`. Requesting, polling,
downloading, archiving, upserting and recording the run live once, in sources/ and ingest/.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

import polars as pl
import sqlalchemy as sa

from amzinsight.reports.ads_names import AdsNames

# How a report's data is requested from Amazon:
#   create   - createReport for a window, poll, download (most reports)
#   list     - Amazon generates them; find them with getReports (settlements)
#   api      - assembled by the client from JSON API calls into one document (inventory
#              summaries, catalog items), so it is archived and replayed like a report
#   file     - only ever imported from a file a person provides (product ratings)
#   ads      - Amazon Ads reporting v3: create, poll, download a gzip JSON array (per profile)
#   kiosk    - Data Kiosk GraphQL queries (createQuery, getQuery, getDocument), JSONL documents
Acquisition = Literal["create", "list", "api", "file", "ads", "kiosk"]

# What the window means:
#   day      - one report per local day (sales and traffic: per-ASIN figures have no date)
#   range    - one report for a date range (orders)
#   snapshot - the state "now"; the snapshot date is the local date of the pull
#   none     - the document carries its own dates (settlements, ratings)
WindowKind = Literal["day", "range", "snapshot", "none"]


@dataclass(frozen=True)
class ParseContext:
    """What the bytes alone do not say: whose marketplace, which window was asked for."""

    marketplace_id: str | None = None
    currency: str | None = None
    """The marketplace's currency, for files whose rows carry none."""
    time_zone: str = "UTC"
    """The marketplace's IANA time zone: timestamps become local report dates with it."""
    data_start: date | None = None
    data_end: date | None = None
    snapshot_date: date | None = None
    profile_id: str | None = None
    """The Amazon Ads profile (one per marketplace) a document belongs to."""
    ads_names: AdsNames | None = None
    """The profile's Amazon Ads entities by name, for files that name them (console exports)."""


@dataclass(frozen=True)
class AdsReportRequest:
    """The `configuration` of an Amazon Ads v3 report request (docs/amazon-formats.md 4.1, 4.2)."""

    report_type_id: str
    group_by: tuple[str, ...]
    columns: tuple[str, ...]
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    ad_product: str = "SPONSORED_PRODUCTS"
    time_unit: str = "DAILY"


@dataclass(frozen=True)
class TableRows:
    """Rows for one table, columns named as the table's, keyed by `key` (store_id is implied).

    The frame never holds id, store_id, sync_run_id or loaded_at: the pipeline adds those.
    Money columns are pl.Decimal, dates pl.Date, timestamps pl.Datetime("us", "UTC").
    """

    table: sa.Table
    frame: pl.DataFrame
    key: tuple[str, ...]
    replace_groups_by: str | None = None
    """A key column naming a whole group (a settlement): a group the frame holds is replaced
    whole, so stored rows of it that the frame lacks are deleted."""


@dataclass(frozen=True)
class ParsedReport:
    tables: list[TableRows]
    notes: tuple[str, ...] = ()
    """One sentence per part of the document deliberately not loaded (recorded on the run)."""
    covers: tuple[date, date] | None = None
    """The days the document says it covers, for a file whose run was given no window."""

    @property
    def rows(self) -> int:
        return sum(part.frame.height for part in self.tables)


@dataclass(frozen=True)
class ReportSpec:
    """One report type. Registering it is one line in amzinsight/reports/__init__.py."""

    key: str
    """Our name: used in sync_runs.report_type, archive keys, job ids and the CLI."""
    amazon_report_type: str | None
    """Amazon's reportType, or None for API-assembled and file-only types."""
    description: str
    parse: Callable[[Path, ParseContext], ParsedReport]
    """Pure: reads the decompressed UTF-8 document at the path; no clock, no database."""
    detect: Callable[[bytes], bool]
    """True when the first bytes (decompressed, up to 64 KiB) are this report type's document."""
    acquisition: Acquisition
    window: WindowKind
    extension: str
    """File extension of the decompressed document in the archive: json, tsv or csv."""
    lookback_days: int = 0
    """Days before the cursor pulled again on every sync (Amazon restates recent days)."""
    max_window_days: int = 1
    """The longest window one request may cover."""
    ads_report: AdsReportRequest | None = None
    """For acquisition "ads": what to ask Amazon Ads reporting v3 for."""
    api_operation: str | None = None
    """For acquisition "api": the SP-API operation whose answers make up the document."""
    includes_today: bool = False
    """True when today's partial data is worth pulling (orders); most reports stop yesterday."""
    per_marketplace: bool = True
    """False when one request covers the whole region account (orders, settlements)."""
    report_options: dict[str, str] = field(default_factory=dict)
    ads_profile: bool = False
    """True for files whose rows belong to an Amazon Ads profile though Amazon Ads reporting did
    not produce them (console exports): an import needs the profile, and names are resolved."""

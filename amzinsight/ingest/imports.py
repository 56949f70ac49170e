"""Files a person brings (downloaded from Seller Central, plain or .gz) and `replay` of the archive.

Both go through the same pipeline as a sync: archived, parsed, upserted, recorded in sync_runs.
"""

from __future__ import annotations

import gzip
import logging
import tempfile
import zlib
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from amzinsight.db.tables import ads_profiles, raw_reports
from amzinsight.errors import AmzInsightError, ConfigError, ReportParseError
from amzinsight.ingest.archive import RawArchive
from amzinsight.ingest.documents import HEAD_BYTES, is_gzip
from amzinsight.ingest.encodings import head_as_utf8
from amzinsight.ingest.pipeline import RawDocument, RunOutcome, RunRequest, ingest_document
from amzinsight.ingest.spreadsheets import workbook_container, workbook_head
from amzinsight.ingest.sync import ads_profiles_by_marketplace, is_ads
from amzinsight.reports import REPORTS, detect_report, get_report
from amzinsight.reports.base import ParseContext, ParsedReport, ReportSpec
from amzinsight.rules.periods import local_today
from amzinsight.stores import Store, StoreMarketplace

logger = logging.getLogger(__name__)


def import_file(
    engine: Engine,
    archive: RawArchive,
    store: Store,
    path: Path,
    report_key: str | None = None,
    marketplace_id: str | None = None,
    now: datetime | None = None,
    profile_id: str | None = None,
) -> RunOutcome:
    """Load a report file; its type comes from --type or from its header or JSON shape."""
    if not path.is_file():
        raise AmzInsightError(f"{path} is not a file.")
    market = _market_of(store, marketplace_id)
    spec = get_report(report_key) if report_key else _detect(path, market.marketplace_id)
    new_profile = False
    ads_file = is_ads(spec) or spec.ads_profile
    if ads_file and profile_id is not None:
        market, new_profile = _market_of_ads_profile(engine, store, profile_id, marketplace_id)
    snapshot = local_today(market.time_zone, now) if spec.window == "snapshot" else None
    request = RunRequest(
        store=store,
        spec=spec,
        source="upload",
        marketplace_id=market.marketplace_id if spec.per_marketplace else None,
        window_start=snapshot,
        window_end=snapshot,
        triggered_by="import",
    )
    if ads_file and profile_id is None:
        profile_id = ads_profiles_by_marketplace(engine, store.id).get(market.marketplace_id)
        if profile_id is None:
            raise ConfigError(
                f"Store {store.slug} has no Amazon Ads profile for {market.marketplace_id}: "
                "pass --profile with the profile id the report belongs to."
            )
    context = ParseContext(
        marketplace_id=market.marketplace_id,
        currency=market.currency,
        time_zone=market.time_zone,
        snapshot_date=snapshot,
        profile_id=profile_id,
    )
    outcome = ingest_document(engine, archive, request, RawDocument(path=path), context)
    if new_profile and profile_id is not None:
        _register_ads_profile(engine, store, profile_id, market)
    return outcome


def _market_of_ads_profile(
    engine: Engine, store: Store, profile_id: str, marketplace_id: str | None
) -> tuple[StoreMarketplace, bool]:
    """The marketplace an Ads file named with --profile belongs to, and whether that profile is
    new to the store. Metrics, pages and bids see Ads rows only through a profile registered for
    a marketplace, so an unknown one is registered (after the load) or the import is refused."""
    # Like the Ads sync, two stores may share a profile (the same account added twice).
    query = sa.select(ads_profiles.c.marketplace_id).where(
        ads_profiles.c.store_id == store.id, ads_profiles.c.profile_id == profile_id
    )
    with engine.connect() as connection:
        registered = connection.execute(query).scalar()
    if registered is not None:
        if marketplace_id and store.marketplace(marketplace_id).marketplace_id != registered:
            raise ConfigError(
                f"Amazon Ads profile {profile_id} is {store.slug}'s profile for {registered}, "
                f"not {marketplace_id}: leave out --marketplace or check the profile id."
            )
        return store.marketplace(registered), False
    if marketplace_id is None and len(store.marketplaces) > 1:
        known = ", ".join(m.country_code or m.marketplace_id for m in store.marketplaces)
        raise ConfigError(
            f"Store {store.slug} sells in several marketplaces ({known}) and Amazon Ads profile "
            f"{profile_id} is new to it: pass --marketplace with the one the profile belongs to."
        )
    market = store.marketplace(marketplace_id)
    existing = ads_profiles_by_marketplace(engine, store.id).get(market.marketplace_id)
    if existing is not None:
        raise ConfigError(
            f"Store {store.slug}'s Amazon Ads profile for {market.marketplace_id} is {existing}, "
            f"not {profile_id}: pass --profile {existing}, or check the profile id."
        )
    return market, True


def _register_ads_profile(
    engine: Engine, store: Store, profile_id: str, market: StoreMarketplace
) -> None:
    """Record the profile for its marketplace; an Ads sync later fills in the account details."""
    statement = (
        pg_insert(ads_profiles)
        .values(
            store_id=store.id,
            profile_id=profile_id,
            marketplace_id=market.marketplace_id,
            country_code=market.country_code,
            currency=market.currency,
            time_zone=market.time_zone,
        )
        .on_conflict_do_nothing(index_elements=[ads_profiles.c.store_id, ads_profiles.c.profile_id])
    )
    with engine.begin() as connection:
        connection.execute(statement)
    logger.info(
        "registered Amazon Ads profile %s for %s of store %s",
        profile_id, market.marketplace_id, store.slug,
    )  # fmt: skip


def _detect(path: Path, marketplace_id: str | None) -> ReportSpec:
    """The report type of a file; an unknown file still goes through the pipeline to be kept.

    Detection reads the head as UTF-8, so a windows-1252 or Shift_JIS file (localised headers)
    is first read by the same encoding rule the pipeline applies to the whole file.
    """
    try:
        head = head_as_utf8(_head(path), marketplace_id)
        return detect_report(head)
    except ReportParseError as error:
        return _unrecognised(str(error))


def _head(path: Path) -> bytes:
    """The first bytes the parser will read: for an Excel workbook, of its first sheet's CSV."""
    if workbook_container(path) is not None:
        return workbook_head(path, path.name, HEAD_BYTES)
    try:
        if is_gzip(path):
            with gzip.open(path, "rb") as handle:
                return handle.read(HEAD_BYTES)
        with path.open("rb") as handle:
            return handle.read(HEAD_BYTES)
    except (EOFError, OSError, zlib.error):
        raise ReportParseError(
            f"{path.name}: the file is not valid gzip (corrupt or truncated)."
        ) from None


def _unrecognised(reason: str) -> ReportSpec:
    """A stand-in spec whose parse fails with the detection error, so the file is archived first."""

    def parse(_path: Path, _context: ParseContext) -> ParsedReport:
        raise ReportParseError(reason.rstrip(".") + "; name its type with --type.")

    return ReportSpec(
        key="unrecognised",
        amazon_report_type=None,
        description="a file whose report type could not be detected",
        parse=parse,
        detect=lambda _head: False,
        acquisition="file",
        window="none",
        extension="bin",
    )


def replay(
    engine: Engine,
    archive: RawArchive,
    store: Store,
    report_key: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[RunOutcome]:
    """Rebuild tables from the archive, oldest document first, without calling Amazon."""
    profiles = ads_profiles_by_marketplace(engine, store.id)
    query = (
        sa.select(raw_reports)
        .where(raw_reports.c.store_id == store.id)
        .order_by(raw_reports.c.fetched_at, raw_reports.c.id)
    )
    if report_key is not None:
        query = query.where(raw_reports.c.report_type == get_report(report_key).key)
    with engine.connect() as connection:
        documents = [
            row for row in connection.execute(query).mappings() if row["report_type"] in REPORTS
        ]
    outcomes = []
    for index, row in enumerate(documents, start=1):
        if progress is not None:
            progress(f"replaying {index} of {len(documents)}: {row['archive_key']}")
        spec = REPORTS[row["report_type"]]
        market = _market_of(store, row["marketplace_id"])
        snapshot: date | None = row["data_start"] if spec.window == "snapshot" else None
        request = RunRequest(
            store=store,
            spec=spec,
            source="replay",
            marketplace_id=row["marketplace_id"],
            window_start=row["data_start"],
            window_end=row["data_end"],
            triggered_by="replay",
        )
        context = ParseContext(
            marketplace_id=market.marketplace_id,
            currency=market.currency,
            time_zone=market.time_zone,
            data_start=row["data_start"],
            data_end=row["data_end"],
            snapshot_date=snapshot,
            profile_id=profiles.get(market.marketplace_id),
        )
        with tempfile.TemporaryDirectory(prefix="amz-replay-") as scratch:
            local = Path(scratch) / "document"
            archive.download(row["archive_key"], local)
            document = RawDocument(
                path=local,
                content_type=row["content_type"],
                amazon_report_id=row["amazon_report_id"],
                amazon_document_id=row["amazon_document_id"],
            )
            try:
                outcomes.append(
                    ingest_document(
                        engine, archive, request, document, context, archive_as=row["archive_key"]
                    )
                )
            except AmzInsightError as error:
                logger.warning("replay of %s failed: %s", row["archive_key"], error)
    return outcomes


def _market_of(store: Store, marketplace_id: str | None) -> StoreMarketplace:
    """The named marketplace, else the store's first (region-wide files name theirs per row)."""
    if marketplace_id:
        return store.marketplace(marketplace_id)
    return store.marketplaces[0]

"""Fetch documents from Amazon and hand each one to the pipeline: the SP-API half of the one path.

What to ask for comes from the report's spec (how it is acquired, what its window means); which
windows come from the cursor in sync_runs. CANCELLED means Amazon has no data for the window;
FATAL fails the run with Amazon's reason and leaves the tables as they were.
"""

from __future__ import annotations

import gzip
import json
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.config import Settings
from amzinsight.db.tables import listings, raw_reports, sales_traffic_by_asin, sync_runs
from amzinsight.errors import AmazonApiError, AmzInsightError, ConfigError, ReportFailedError
from amzinsight.ingest.archive import RawArchive
from amzinsight.ingest.meter import MeterWait, reserve
from amzinsight.ingest.pipeline import (
    RawDocument,
    RunOutcome,
    RunRequest,
    describe_error,
    finish_run,
    ingest_document,
    start_run,
    update_run,
)
from amzinsight.ingest.windows import DateWindow, plan_windows, split_window
from amzinsight.reports import finance_transactions, sales_traffic, sales_traffic_kiosk
from amzinsight.reports.base import ParseContext, ReportSpec
from amzinsight.rules.meter import SALES_TRAFFIC_METER, meter_key
from amzinsight.rules.periods import local_today
from amzinsight.sources.ads_api import ENTITY_ENDPOINTS, AdsClient
from amzinsight.sources.sp_api import ReportStatus, RetryPolicy, SpApiClient
from amzinsight.stores import Store, StoreMarketplace

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]
SETTLEMENT_LOOKBACK_DAYS = 90  # getReports keeps reports for 90 days
# Sponsored Products report data is kept for 95 days (docs/amazon-formats.md 4.1)
ADS_RETENTION_DAYS = 90


@dataclass(frozen=True)
class SyncTask:
    """One unit of work: a report type, for a marketplace (and its Ads profile), for a window."""

    spec: ReportSpec
    marketplace: StoreMarketplace
    window: DateWindow | None
    profile_id: str | None = None


def client_for(
    settings: Settings, store: Store, task: SyncTask, retry: RetryPolicy | None = None
) -> SpApiClient | AdsClient:
    """The client a task needs: Amazon Ads for ads reports and entities, else the SP-API."""
    retry = retry or RetryPolicy(
        # The sandbox finishes reports in about a second; Amazon takes minutes.
        poll_initial_seconds=0.5 if store.is_sandbox else 5.0,
        poll_timeout_seconds=settings.sync.poll_timeout_seconds,
        max_backoff_seconds=settings.sync.max_backoff_seconds,
    )
    if is_ads(task.spec):
        return ads_client_for(settings, store, retry)
    return SpApiClient(
        credentials=settings.credentials_for(store.slug),
        credentials_name=store.slug,
        marketplace_id=task.marketplace.marketplace_id,
        region=store.region,
        endpoint=store.endpoints.sp_api_endpoint,
        lwa_token_url=store.endpoints.lwa_token_url,
        retry=retry,
        meter_speed=settings.sync.meter_speed,
    )


SP_CREDENTIAL_FIELDS = ("sp_refresh_token", "lwa_client_id", "lwa_client_secret")


def missing_sp_credentials(settings: Settings, slug: str) -> list[str]:
    """The AMZ_STORES__<SLUG>__* variables a store's SP-API syncs need and this process lacks."""
    credentials = settings.credentials_for(slug)
    prefix = f"AMZ_STORES__{slug.upper()}__"
    return [
        prefix + name.upper() for name in SP_CREDENTIAL_FIELDS if not getattr(credentials, name)
    ]


def require_sp_credentials(settings: Settings, slug: str) -> None:
    """Fail before planning, with the client's own sentence, rather than once per window."""
    missing = missing_sp_credentials(settings, slug)
    if missing:
        raise ConfigError(f"SP-API credentials are missing: set {', '.join(missing)}.")


def ads_client_for(settings: Settings, store: Store, retry: RetryPolicy | None = None) -> AdsClient:
    return AdsClient(
        credentials=settings.credentials_for(store.slug),
        credentials_name=store.slug,
        region=store.region,
        endpoint=store.endpoints.ads_api_endpoint,
        # A custom token URL (the sandbox) serves both APIs; Amazon's Ads hosts are regional.
        token_url=store.endpoints.lwa_token_url,
        retry=retry or RetryPolicy(),
    )


def plan_tasks(
    engine: Engine,
    store: Store,
    spec: ReportSpec,
    initial_days: int,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
    ads_lookback_days: int = 14,
) -> list[SyncTask]:
    """The windows to pull for one report type: explicit dates, or from the cursor onwards."""
    profiles = ads_profiles_by_marketplace(engine, store.id) if is_ads(spec) else {}
    markets = store.marketplaces if spec.per_marketplace else store.marketplaces[:1]
    if is_ads(spec):  # Ads data lives per advertising profile: marketplaces without one have none
        markets = [m for m in markets if m.marketplace_id in profiles]
    lookback = ads_lookback_days if spec.acquisition == "ads" else spec.lookback_days
    if spec.acquisition == "ads":  # Sponsored Products data is kept for 95 days
        initial_days = min(initial_days, ADS_RETENTION_DAYS)
    tasks = []
    for market in markets:
        profile_id = profiles.get(market.marketplace_id)
        today = local_today(market.time_zone, now)
        if spec.window in ("snapshot", "none"):
            tasks.append(SyncTask(spec, market, None, profile_id))
            continue
        last_day = today if spec.includes_today else today - timedelta(days=1)
        market_days = initial_days
        recent_only = False
        if spec.key in (sales_traffic.SPEC.key, sales_traffic_kiosk.KEY) and start is None:
            history = kiosk_refusal(engine, store.id, market.marketplace_id) is None
            last_day, market_days = _sales_traffic_share(spec, last_day, initial_days, history)
            if market_days <= 0:
                continue
            # With Data Kiosk keeping the history, the metered report pulls exactly its last days.
            recent_only = history and spec.key == sales_traffic.SPEC.key
        if recent_only:
            recent = DateWindow(last_day - timedelta(days=market_days - 1), last_day)
            windows = split_window(recent, spec.max_window_days)
        elif start is not None or end is not None:
            window = DateWindow(start or last_day, min(end or last_day, last_day))
            windows = split_window(window, spec.max_window_days)
        else:
            marketplace_id = market.marketplace_id if spec.per_marketplace else None
            windows = plan_windows(
                _cursor(engine, store.id, spec.key, marketplace_id),
                last_day,
                spec.max_window_days,
                lookback,
                market_days,
                loaded=_loaded_windows(engine, store.id, spec.key, marketplace_id),
            )
        # Newest first: the days a person looks at first (the Overview's last 30) arrive first.
        tasks.extend(SyncTask(spec, market, window, profile_id) for window in reversed(windows))
    return tasks


def _sales_traffic_share(
    spec: ReportSpec, last_day: date, initial_days: int, history: bool
) -> tuple[date, int]:
    """(last day, days of history) a sync plans for sales and traffic: with Data Kiosk, the
    report loads the recent days Amazon restates and Data Kiosk every older day (two years at
    most); without it (the seller lacks the role), the report loads them all, one per day."""
    recent = sales_traffic_kiosk.RECENT_REPORT_DAYS
    if spec.key == sales_traffic.SPEC.key:
        return last_day, min(initial_days, recent) if history else initial_days
    if not history:
        return last_day, 0
    older = min(initial_days, sales_traffic_kiosk.HISTORY_DAYS) - recent
    return last_day - timedelta(days=recent), older


def kiosk_refusal(engine: Engine, store_id: int, marketplace_id: str) -> str | None:
    """Data Kiosk's last refusal for want of the Brand Analytics role, unless a later query of
    the store succeeded: such a store loads its history report by report."""
    runs = sync_runs
    latest = (
        sa.select(runs.c.status, runs.c.error)
        .where(
            runs.c.store_id == store_id,
            runs.c.report_type == sales_traffic_kiosk.KEY,
            runs.c.marketplace_id == marketplace_id,
            runs.c.source != "upload",
            runs.c.status.in_(("succeeded", "failed")),
        )
        .order_by(runs.c.id.desc())
        .limit(1)
    )
    with engine.connect() as connection:
        row = connection.execute(latest).first()
    if row is None or row.status != "failed" or not row.error:
        return None
    return row.error if sales_traffic_kiosk.ROLE_MISSING in row.error else None


def run_task(
    engine: Engine,
    archive: RawArchive,
    client: SpApiClient | AdsClient,
    store: Store,
    task: SyncTask,
    job_id: str | None = None,
    triggered_by: str | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    holder: str | None = None,
) -> list[RunOutcome]:
    """Pull and load one task; returns one outcome per document loaded (settlements: several;
    when some fail, SettlementsNotLoadedError after the others loaded).

    A Sales and Traffic report first takes its slot under Amazon's meter (ingest/meter.py) for
    `holder` (the window's job; one of its own when None): MeterWait when the slot is later.
    """
    spec = task.spec
    report = progress or (lambda _message: None)
    if spec.key == sales_traffic.SPEC.key and isinstance(client, SpApiClient):
        holder = holder or f"{spec.key}-{uuid.uuid4().hex}"
        if not _take_meter_slot(engine, client, store, holder):
            report(f"{spec.key}: loaded moments ago by another job of this window")
            return []
    if spec.acquisition == "list":
        assert isinstance(client, SpApiClient)  # noqa: S101 (client_for picks it)
        return _sync_listed(engine, archive, client, store, task, job_id, triggered_by, report)
    market = task.marketplace
    snapshot = local_today(market.time_zone, now) if spec.window == "snapshot" else None
    window = task.window
    request = RunRequest(
        store=store,
        spec=spec,
        source="sp_api",
        marketplace_id=market.marketplace_id if spec.per_marketplace else None,
        window_start=window.start if window else snapshot,
        window_end=window.end if window else snapshot,
        job_id=job_id,
        triggered_by=triggered_by,
    )
    context = ParseContext(
        marketplace_id=market.marketplace_id,
        currency=market.currency,
        time_zone=market.time_zone,
        data_start=window.start if window else None,
        data_end=window.end if window else None,
        snapshot_date=snapshot,
        profile_id=task.profile_id,
    )
    run_id = start_run(engine, request)
    with tempfile.TemporaryDirectory(prefix="amz-sync-") as scratch:
        try:
            if isinstance(client, AdsClient):
                document = _ads_document(client, task, run_id, engine, Path(scratch), report)
            elif spec.acquisition == "kiosk":
                assert isinstance(client, SpApiClient)  # noqa: S101 (client_for picks it)
                document = _kiosk_document(client, task, Path(scratch), report)
            elif spec.acquisition == "api":
                report(f"{spec.key}: calling the API")
                document = _assemble_api_document(
                    engine, client, store, spec, market, snapshot, window, Path(scratch), now
                )
            else:
                document = _create_and_download(
                    client, spec, market, window, run_id, engine, Path(scratch), report
                )
        except ReportCancelled as cancelled:
            finish_run(
                engine, run_id, "cancelled", str(cancelled), amazon_report_id=cancelled.report_id
            )
            report(f"{spec.key}: {cancelled}")
            return [RunOutcome(run_id, "cancelled", error=str(cancelled))]
        except Exception as error:
            finish_run(engine, run_id, "failed", describe_error(error))
            raise
        report(f"{spec.key}: loading")
        return [ingest_document(engine, archive, request, document, context, run_id=run_id)]


METER_WAIT_IN_PLACE = timedelta(minutes=1)
"""A slot this close is waited for where the call is; a later one is handed back (MeterWait)."""


def _take_meter_slot(engine: Engine, client: SpApiClient, store: Store, holder: str) -> bool:
    """True when the call may go now; False when the holder made it moments ago."""
    meter = SALES_TRAFFIC_METER.at_speed(client.meter_speed)
    key = meter_key(meter, client.application)
    while True:
        slot_at = reserve(engine, meter, key, holder, store.id)
        if slot_at is None:
            return False
        wait = slot_at - datetime.now(UTC)
        if wait <= timedelta(0):
            return True
        if wait > METER_WAIT_IN_PLACE:
            raise MeterWait(meter, slot_at, key, holder)
        time.sleep(wait.total_seconds())  # the slot stays the holder's: asking again uses it


class ReportCancelled(Exception):
    """Amazon cancelled the report: no data for the window (not an error)."""

    def __init__(self, message: str, report_id: str) -> None:
        super().__init__(message)
        self.report_id = report_id


def _create_and_download(
    client: SpApiClient,
    spec: ReportSpec,
    market: StoreMarketplace,
    window: DateWindow | None,
    run_id: int,
    engine: Engine,
    scratch: Path,
    report: Progress,
) -> RawDocument:
    report_id = client.create_report(
        _amazon_type(spec),
        market.marketplace_id,
        window.start if window else None,
        window.end if window else None,
        spec.report_options,
    )
    update_run(engine, run_id, amazon_report_id=report_id)
    status = client.wait_for_report(
        report_id, on_poll=lambda s: report(f"{spec.key}: Amazon says {s.status}")
    )
    return _document_for(client, spec, status, scratch)


def _document_for(
    client: SpApiClient, spec: ReportSpec, status: ReportStatus, scratch: Path
) -> RawDocument:
    if status.status == "CANCELLED":
        raise ReportCancelled(
            f"Amazon cancelled report {status.report_id}: it has no data for this window.",
            status.report_id,
        )
    if status.status == "FATAL":
        reason = ""
        if status.document_id:  # a FATAL report may carry a document that explains it
            downloaded = client.download_document(status.document_id, scratch / "fatal.gz")
            reason = _fatal_reason(downloaded.path)
        raise ReportFailedError(
            f"Amazon ended report {status.report_id} ({spec.amazon_report_type}) as FATAL"
            + (f": {reason}" if reason else "")
            + "; the next sync asks again."
        )
    if not status.document_id:
        raise AmazonApiError(f"Amazon marked report {status.report_id} DONE without a document.")
    downloaded = client.download_document(
        status.document_id, scratch / f"document.{spec.extension}.raw"
    )
    return RawDocument(
        path=downloaded.path,
        charset=downloaded.charset,
        compression=downloaded.compression,
        content_type=downloaded.content_type,
        amazon_report_id=status.report_id,
        amazon_document_id=status.document_id,
    )


def _ads_document(
    client: AdsClient,
    task: SyncTask,
    run_id: int,
    engine: Engine,
    scratch: Path,
    report: Progress,
) -> RawDocument:
    """An Ads report (create, poll, download) or the profile's entities as one JSON document."""
    spec, window = task.spec, task.window
    if not task.profile_id:
        raise ConfigError(f"{spec.key}: the marketplace has no Amazon Ads profile.")
    if spec.api_operation == "spEntities":
        report(f"{spec.key}: listing campaigns, ad groups and targets")
        body: dict[str, Any] = {
            "source": "spEntities",
            "profileId": task.profile_id,
            "snapshotDate": (
                window.start if window else local_today(task.marketplace.time_zone)
            ).isoformat(),
            "currency": task.marketplace.currency,
        }
        for kind in ENTITY_ENDPOINTS:
            body[kind] = list(client.list_entities(task.profile_id, kind))
        return _json_document(body, scratch / "sp_entities.json.gz")
    if spec.ads_report is None or window is None:
        raise ConfigError(f"{spec.key} is not an Amazon Ads report with a window.")
    report_id = client.create_report(
        task.profile_id,
        f"AmzInsight {spec.key} {window.start}..{window.end}",
        window.start,
        window.end,
        spec.ads_report,
    )
    update_run(engine, run_id, amazon_report_id=report_id)
    finished = client.wait_for_report(
        task.profile_id,
        report_id,
        on_poll=lambda r: report(f"{spec.key}: Amazon Ads says {r.status}"),
    )
    if not finished.url:
        raise AmazonApiError(f"Amazon Ads completed report {report_id} without a download URL.")
    downloaded = client.download(finished.url, scratch / "report.json.gz")
    return RawDocument(
        path=downloaded.path,
        charset="utf-8",
        compression="GZIP",
        content_type=downloaded.content_type,
        amazon_report_id=report_id,
    )


def sync_ads_profiles(engine: Engine, client: AdsClient, store: Store) -> dict[str, str]:
    """Record the store's Amazon Ads profiles (one per marketplace); marketplace -> profile."""
    known = {m.marketplace_id for m in store.marketplaces}
    rows = []
    for profile in client.profiles():
        account = profile.get("accountInfo") or {}
        marketplace_id = account.get("marketplaceStringId")
        if marketplace_id not in known:
            continue
        rows.append(
            {
                "profile_id": str(profile["profileId"]),
                "marketplace_id": marketplace_id,
                "country_code": profile.get("countryCode"),
                "currency": profile.get("currencyCode"),
                "time_zone": profile.get("timezone"),
                "account_type": account.get("type"),
                "account_name": account.get("name"),
                "account_id": account.get("id"),
                "updated_at": datetime.now(UTC),
            }
        )
    if rows:
        from amzinsight.db.tables import ads_profiles
        from amzinsight.db.upsert import upsert_frame

        frame = pl.DataFrame(rows, schema_overrides={"updated_at": pl.Datetime("us", "UTC")})
        with engine.begin() as connection:
            upsert_frame(connection, ads_profiles, frame, ("profile_id",), {"store_id": store.id})
    return {row["marketplace_id"]: row["profile_id"] for row in rows}


def prepare_ads(engine: Engine, settings: Settings, store: Store) -> bool:
    """Refresh the store's Ads profiles before planning ads work; False when Ads is not set up."""
    credentials = settings.credentials_for(store.slug)
    if not (credentials.ads_client_id and credentials.ads_refresh_token):
        logger.info("store %s has no Amazon Ads credentials; skipping Ads", store.slug)
        return False
    sync_ads_profiles(engine, ads_client_for(settings, store), store)
    return True


def is_ads(spec: ReportSpec) -> bool:
    return spec.acquisition == "ads" or spec.api_operation == "spEntities"


def ads_profiles_by_marketplace(engine: Engine, store_id: int) -> dict[str, str]:
    from amzinsight.db.tables import ads_profiles

    query = sa.select(ads_profiles.c.marketplace_id, ads_profiles.c.profile_id).where(
        ads_profiles.c.store_id == store_id, ads_profiles.c.is_enabled
    )
    with engine.connect() as connection:
        return {m: p for m, p in connection.execute(query) if m}


def _amazon_type(spec: ReportSpec) -> str:
    if not spec.amazon_report_type:
        raise ConfigError(f"{spec.key} is not an Amazon report type: it can only be imported.")
    return spec.amazon_report_type


def _fatal_reason(path: Path) -> str:
    try:
        raw = path.read_bytes()
        text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        body = json.loads(text)
    except (OSError, ValueError):
        return ""
    for key in ("errorDetails", "reportProcessingError", "message"):
        if isinstance(body, dict) and body.get(key):
            return str(body[key])[:300]
    return ""


class SettlementsNotLoadedError(AmzInsightError):
    """Some listed settlements failed while the others loaded (their outcomes are kept here).

    Amazon lists a settlement for 90 days and never makes it again: one failure must not cost the
    others their turn, and the job still fails so it is retried (the loaded ones are skipped).
    """

    def __init__(
        self,
        failures: list[tuple[ReportStatus, Exception]],
        listed: int,
        outcomes: list[RunOutcome],
    ) -> None:
        reasons = "; ".join(
            f"{status.report_id} ({status.data_start}..{status.data_end}): {describe_error(error)}"
            for status, error in failures
        )
        super().__init__(
            f"{len(failures)} of {listed} listed settlements could not be loaded: {reasons}. "
            "The others are stored; the next sync tries these again while Amazon lists them."
        )
        self.failures = failures
        self.outcomes = outcomes


def _sync_listed(
    engine: Engine,
    archive: RawArchive,
    client: SpApiClient,
    store: Store,
    task: SyncTask,
    job_id: str | None,
    triggered_by: str | None,
    report: Progress,
) -> list[RunOutcome]:
    """Settlements: Amazon makes them; list the recent ones and load each one not yet loaded.

    Each gets its chance even when one before it fails (its run records why); then
    SettlementsNotLoadedError names the failures and carries the outcomes of those that loaded.
    """
    spec = task.spec
    since = datetime.now(UTC) - timedelta(days=SETTLEMENT_LOOKBACK_DAYS - 1)
    listed = client.list_reports(_amazon_type(spec), since)
    loaded = _loaded_report_ids(engine, store.id, spec.key)
    fresh = [status for status in listed if status.report_id not in loaded]
    report(f"{spec.key}: {len(listed)} listed, {len(fresh)} new")
    outcomes: list[RunOutcome] = []
    failures: list[tuple[ReportStatus, Exception]] = []
    for index, status in enumerate(fresh, start=1):
        report(f"{spec.key}: loading {index} of {len(fresh)}")
        request = RunRequest(
            store=store,
            spec=spec,
            source="sp_api",
            window_start=status.data_start,
            window_end=status.data_end,
            job_id=job_id,
            triggered_by=triggered_by,
        )
        context = ParseContext(
            marketplace_id=task.marketplace.marketplace_id,
            currency=task.marketplace.currency,
            time_zone=task.marketplace.time_zone,
        )
        run_id = start_run(engine, request)
        update_run(engine, run_id, amazon_report_id=status.report_id)
        with tempfile.TemporaryDirectory(prefix="amz-sync-") as scratch:
            try:
                document = _document_for(client, spec, status, Path(scratch))
            except Exception as error:
                finish_run(engine, run_id, "failed", describe_error(error))
                failures.append((status, error))
                continue
            try:  # ingest_document records its own failure (the file is archived first)
                outcomes.append(
                    ingest_document(engine, archive, request, document, context, run_id=run_id)
                )
            except Exception as error:
                failures.append((status, error))
    if failures:
        raise SettlementsNotLoadedError(failures, len(fresh), outcomes) from failures[0][1]
    return outcomes


def _assemble_api_document(
    engine: Engine,
    client: SpApiClient,
    store: Store,
    spec: ReportSpec,
    market: StoreMarketplace,
    snapshot: date | None,
    window: DateWindow | None,
    scratch: Path,
    now: datetime | None = None,
) -> RawDocument:
    """JSON APIs become one gzip JSON document, archived and replayed like a report."""
    body: dict[str, Any] = {
        "marketplaceId": market.marketplace_id,
        "snapshotDate": snapshot.isoformat() if snapshot else None,
    }
    body["source"] = spec.api_operation
    if spec.api_operation == "getInventorySummaries":
        body["inventorySummaries"] = list(client.inventory_summaries(market.marketplace_id))
    elif spec.api_operation == "getCatalogItem":
        asins = known_asins(engine, store.id, market.marketplace_id)
        items = (client.catalog_item(asin, market.marketplace_id) for asin in asins)
        body["items"] = [item for item in items if item is not None]
    elif spec.api_operation == "listTransactions":
        if window is None:
            raise ConfigError(f"{spec.key} needs a date window.")
        after, before = posted_range(market.time_zone, window, now)
        body["postedAfter"], body["postedBefore"] = after.isoformat(), before.isoformat()
        # A missing role is a sentence, not a retry (ConfigError).
        body["transactions"] = list(
            client.finance_transactions(after, before, finance_transactions.ROLE_MISSING)
        )
    else:
        raise ConfigError(f"{spec.key}: no client call assembles {spec.api_operation!r}.")
    return _json_document(body, scratch / f"{spec.key}.json.gz")


FINANCES_NEWEST = timedelta(minutes=3)
"""listTransactions refuses a postedBefore less than two minutes before the request."""


def posted_range(
    time_zone: str, window: DateWindow, now: datetime | None
) -> tuple[datetime, datetime]:
    """The UTC instants of a window of local days, the end held back from now as Amazon asks."""
    zone = ZoneInfo(time_zone)
    start = datetime.combine(window.start, datetime.min.time(), zone).astimezone(UTC)
    end = datetime.combine(window.end + timedelta(days=1), datetime.min.time(), zone)
    return start, min(end.astimezone(UTC), (now or datetime.now(UTC)) - FINANCES_NEWEST)


def _kiosk_document(
    client: SpApiClient, task: SyncTask, scratch: Path, report: Progress
) -> RawDocument:
    """One window of sales and traffic history from Data Kiosk: the totals per day, then the
    trends of every child ASIN with data in the window, TRENDS_MAX_ASINS per query, written one
    after another into one JSONL document. Queries run side by side at Amazon: all are submitted
    before any is collected. The ASIN list is a lookup, not data: not loaded."""
    window, market = task.window, task.marketplace.marketplace_id
    if window is None:
        raise ConfigError(f"{task.spec.key} needs a date window.")
    kiosk = sales_traffic_kiosk
    report(f"{task.spec.key}: asking Data Kiosk for the days and the ASINs")
    by_date = client.submit_data_kiosk_query(kiosk.by_date_query(market, window.start, window.end))
    listing = client.submit_data_kiosk_query(kiosk.asins_query(market, window.start, window.end))
    listed = client.collect_data_kiosk_query(listing, scratch / "asins.jsonl")
    asins = kiosk.child_asins(listed) if listed is not None else []
    step = kiosk.TRENDS_MAX_ASINS
    trends = [
        client.submit_data_kiosk_query(
            kiosk.trends_query(market, window.start, window.end, asins[index : index + step])
        )
        for index in range(0, len(asins), step)
    ]
    combined = scratch / "sales_traffic_history.jsonl"
    for number, query_id in enumerate([by_date, *trends], start=1):
        report(f"{task.spec.key}: Data Kiosk document {number} of {len(trends) + 1}")
        found = client.collect_data_kiosk_query(query_id, scratch / f"query-{number}.jsonl")
        if found is None:
            continue
        with combined.open("ab") as out, found.open("rb") as part:
            shutil.copyfileobj(part, out)
            part.seek(-1, 2)
            if part.read(1) != b"\n":  # JSONL parts end their last line; keep lines whole
                out.write(b"\n")
        found.unlink()
    if not combined.exists():
        raise ReportCancelled(
            f"Data Kiosk has no sales and traffic for {window.start}..{window.end}.", ""
        )
    return RawDocument(path=combined, content_type="application/x-ndjson")


def _json_document(body: dict[str, Any], path: Path) -> RawDocument:
    """API answers kept as one gzip JSON document: archived and replayed like a report."""
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(body, handle)
    return RawDocument(path=path, charset="utf-8", content_type="application/json")


def known_asins(engine: Engine, store_id: int, marketplace_id: str) -> list[str]:
    """ASINs the store lists or sold in a marketplace: the ones worth a catalog lookup."""
    listed = sa.select(listings.c.asin.label("asin")).where(
        listings.c.store_id == store_id,
        listings.c.marketplace_id == marketplace_id,
        listings.c.asin.is_not(None),
    )
    sold = sa.select(sales_traffic_by_asin.c.child_asin.label("asin")).where(
        sales_traffic_by_asin.c.store_id == store_id,
        sales_traffic_by_asin.c.marketplace_id == marketplace_id,
        sales_traffic_by_asin.c.child_asin != "",
    )
    union = sa.union(listed, sold).subquery()
    with engine.connect() as connection:
        return sorted(connection.execute(sa.select(union.c.asin)).scalars())


def _cursor(
    engine: Engine, store_id: int, report_key: str, marketplace_id: str | None
) -> date | None:
    """The last day loaded successfully for this report (and marketplace) by a sync: a file a
    person imported (perhaps years old, perhaps without its per-ASIN days) does not move it."""
    query = sa.select(sa.func.max(sync_runs.c.window_end)).where(
        sync_runs.c.store_id == store_id,
        sync_runs.c.report_type == report_key,
        sync_runs.c.status.in_(("succeeded", "cancelled")),
        sync_runs.c.source != "upload",
    )
    if marketplace_id is not None:
        query = query.where(sync_runs.c.marketplace_id == marketplace_id)
    with engine.connect() as connection:
        return connection.execute(query).scalar()


def _loaded_windows(
    engine: Engine, store_id: int, report_key: str, marketplace_id: str | None
) -> list[DateWindow]:
    """The windows loaded successfully for this report (and marketplace): what needs no sync."""
    query = sa.select(sync_runs.c.window_start, sync_runs.c.window_end).where(
        sync_runs.c.store_id == store_id,
        sync_runs.c.report_type == report_key,
        sync_runs.c.status.in_(("succeeded", "cancelled")),
        sync_runs.c.source != "upload",
        sync_runs.c.window_start.is_not(None),
        sync_runs.c.window_end.is_not(None),
    )
    if marketplace_id is not None:
        query = query.where(sync_runs.c.marketplace_id == marketplace_id)
    with engine.connect() as connection:
        return [DateWindow(start, end) for start, end in connection.execute(query.distinct())]


def _loaded_report_ids(engine: Engine, store_id: int, report_key: str) -> set[str]:
    query = (
        sa.select(raw_reports.c.amazon_report_id)
        .join(sync_runs, sync_runs.c.raw_report_id == raw_reports.c.id)
        .where(
            raw_reports.c.store_id == store_id,
            raw_reports.c.report_type == report_key,
            sync_runs.c.status == "succeeded",
            raw_reports.c.amazon_report_id.is_not(None),
        )
    )
    with engine.connect() as connection:
        return set(connection.execute(query).scalars())

"""Everything a running sandbox remembers, behind one lock: tokens, reports, rate-limit buckets,
faults and the request log. Account data itself is immutable and generated on first use."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from amzinsight_sandbox.config import Fault, SandboxAccount, SandboxConfig
from amzinsight_sandbox.routing import RateLimit
from amzinsight_sandbox.settlement_report import (
    SETTLEMENT_REPORT_TYPE,
    SettlementPeriod,
    settlement_periods,
)
from amzinsight_sandbox.truth import AccountTruth, account_truth

ACCESS_TOKEN_SECONDS = 3600
REQUEST_LOG_SIZE = 10_000
RENDERED_DOCUMENTS_KEPT = 32
METER_DAY_SECONDS = 86400.0


def iso_time(moment: datetime) -> str:
    """Amazon's report timestamps: 2025-03-12T08:14:03+00:00."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


@dataclass
class TokenBucket:
    rate: float
    burst: int
    tokens: float
    updated: float

    def take(self, now: float) -> bool:
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class ReportRecord:
    report_id: str
    seller_id: str
    report_type: str
    marketplace_ids: list[str]
    created: datetime
    created_monotonic: float
    processing_seconds: float
    outcome: str  # DONE, FATAL or CANCELLED, reached after processing_seconds
    data_start: datetime
    data_end: datetime
    options: dict[str, str] = field(default_factory=dict)
    document_id: str | None = None
    failure: str | None = None
    cancelled_at: float | None = None  # monotonic time of cancelReport
    settlement: SettlementPeriod | None = None

    def status(self, now: float) -> str:
        if self.cancelled_at is not None:
            return "CANCELLED"
        elapsed = now - self.created_monotonic
        if elapsed < self.processing_seconds / 3:
            return "IN_QUEUE"
        if elapsed < self.processing_seconds:
            return "IN_PROGRESS"
        return self.outcome

    def as_json(self, now: float) -> dict[str, Any]:
        """The `Report` object of getReport and getReports."""
        status = self.status(now)
        body: dict[str, Any] = {
            "reportId": self.report_id,
            "reportType": self.report_type,
            "marketplaceIds": list(self.marketplace_ids),
        }
        body["dataStartTime"] = iso_time(self.data_start)
        body["dataEndTime"] = iso_time(self.data_end)
        body["createdTime"] = iso_time(self.created)
        body["processingStatus"] = status
        seen_at = now if self.cancelled_at is None else min(now, self.cancelled_at)
        if seen_at - self.created_monotonic >= self.processing_seconds / 3:
            started = self.created + timedelta(seconds=self.processing_seconds / 3)
            body["processingStartTime"] = iso_time(started)
        if status in ("DONE", "FATAL", "CANCELLED"):
            ended = self.processing_seconds
            if self.cancelled_at is not None:
                ended = min(ended, self.cancelled_at - self.created_monotonic)
            body["processingEndTime"] = iso_time(self.created + timedelta(seconds=ended))
        if status in ("DONE", "FATAL") and self.document_id:
            body["reportDocumentId"] = self.document_id
        return body


class AccountState:
    """One seller account: its data (built on first use) and its rate-limit buckets."""

    def __init__(self, account: SandboxAccount, number: int) -> None:
        self.account = account
        self.number = number
        self.buckets: dict[str, TokenBucket] = {}
        self.settlements = settlement_periods(account, number)
        self.data_kiosk = account.data_kiosk
        """Whether the app has the Brand Analytics role Data Kiosk needs; tests may switch it
        on a running sandbox, reset() restores the configured value."""

    @property
    def seller_id(self) -> str:
        return self.account.seller_id

    @property
    def truth(self) -> AccountTruth:
        return account_truth(self.account)

    def clock(self) -> datetime:
        """The account's "now": real time, moved to the account's configured today."""
        now = datetime.now(UTC)
        return now + timedelta(days=(self.account.today - now.date()).days)

    def previous_settlement(self, period: SettlementPeriod) -> SettlementPeriod | None:
        for candidate in self.settlements:
            if candidate.country_code == period.country_code and candidate.number == (
                period.number - 1
            ):
                return candidate
        return None


@dataclass
class ActiveFault:
    fault: Fault
    remaining: int | None

    def matches(
        self,
        kinds: Iterable[str],
        operation: str | None,
        report_type: str | None,
        seller: str | None,
    ) -> bool:
        fault = self.fault
        return (
            fault.kind in kinds
            and self.remaining != 0
            and (fault.operation is None or fault.operation == operation)
            and (fault.report_type is None or fault.report_type == report_type)
            and (fault.seller_id is None or fault.seller_id == seller)
        )


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.accounts = {
            account.seller_id: AccountState(account, number)
            for number, account in enumerate(config.accounts)
        }
        self.base_url = ""
        self.signing_key = secrets.token_bytes(32)
        self.access_tokens: dict[str, tuple[str, float, str]] = {}
        """access token -> (seller id, monotonic expiry, LWA client id it was issued for)."""
        self.next_tokens: dict[str, tuple[float, dict[str, Any]]] = {}
        self.rendered: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.reports: dict[str, ReportRecord] = {}
        self.documents: dict[str, str] = {}
        self._report_numbers = itertools.count(50_100_000_000)
        self.faults: list[ActiveFault] = []
        self.server_errors_sent = 0
        self.ads: dict[str, Any] = {}
        """The Amazon Ads side's mutable state (ads_store.py): bids and states changed over the
        API, created keywords and negatives, reports, restatement pull counts."""
        self.data_kiosk: dict[str, Any] = {}
        """Data Kiosk queries and their documents (data_kiosk.py)."""
        self.sales_traffic_accepted: dict[str, deque[float]] = {}
        """LWA client id -> monotonic times of its metered createReport calls in the last day."""
        self.meter_refusals: dict[str, int] = {}
        """LWA client id -> createReport calls the Sales and Traffic meter answered 429."""
        self.reset()

    def reset(self) -> None:
        """Back to the start: the configured faults, no requested reports, full buckets, an
        idle Sales and Traffic meter, an empty log, the Ads entities as generated. Access tokens
        survive: clients cache them for an hour."""
        with self.lock:
            self.set_faults(self.config.faults)
            self.request_log.clear()
            self.next_tokens.clear()
            self.rendered.clear()
            self.reports.clear()
            self.documents.clear()
            self.ads.clear()
            self.data_kiosk.clear()
            self.sales_traffic_accepted.clear()
            self.meter_refusals.clear()
            for state in self.accounts.values():
                state.buckets.clear()
                state.data_kiosk = state.account.data_kiosk
                for period in state.settlements:
                    self.reports[period.report_id] = ReportRecord(
                        report_id=period.report_id,
                        seller_id=state.seller_id,
                        report_type=SETTLEMENT_REPORT_TYPE,
                        marketplace_ids=[
                            m.marketplace_id
                            for m in state.account.marketplace_list
                            if m.country_code == period.country_code
                        ],
                        created=period.created,
                        created_monotonic=float("-inf"),
                        processing_seconds=0.0,
                        outcome="DONE",
                        data_start=datetime.fromtimestamp(period.start_ts, UTC),
                        data_end=datetime.fromtimestamp(period.end_ts, UTC),
                        document_id=period.document_id,
                        settlement=period,
                    )
                    self.documents[period.document_id] = period.report_id

    def set_faults(self, faults: Iterable[Fault]) -> None:
        with self.lock:
            self.faults = [ActiveFault(f, f.count) for f in faults]

    def take_fault(
        self,
        kinds: Iterable[str],
        operation: str | None,
        report_type: str | None = None,
        seller_id: str | None = None,
    ) -> Fault | None:
        """The first matching fault that has uses left; using it counts one use."""
        kinds = tuple(kinds)
        with self.lock:
            for active in self.faults:
                if active.matches(kinds, operation, report_type, seller_id):
                    if active.remaining is not None:
                        active.remaining -= 1
                    return active.fault
        return None

    def issue_access_token(self, seller_id: str, client_id: str) -> str:
        """A token for one seller, remembering the LWA app that asked: Amazon meters some
        operations per app, across all its sellers."""
        token = "Atza|" + secrets.token_urlsafe(48)
        with self.lock:
            now = time.monotonic()
            expired = [t for t, (_, until, _) in self.access_tokens.items() if until < now]
            for stale in expired:
                del self.access_tokens[stale]
            self.access_tokens[token] = (seller_id, now + ACCESS_TOKEN_SECONDS, client_id)
        return token

    def client_for_token(self, token: str) -> str | None:
        """The LWA client id an access token was issued for."""
        with self.lock:
            entry = self.access_tokens.get(token)
        return entry[2] if entry is not None else None

    def account_for_token(self, token: str) -> AccountState | None:
        with self.lock:
            entry = self.access_tokens.get(token)
        if entry is None or entry[1] < time.monotonic():
            return None
        return self.accounts.get(entry[0])

    def take_rate_token(self, account: AccountState, operation: str, limit: RateLimit) -> bool:
        with self.lock:
            now = time.monotonic()
            bucket = account.buckets.get(operation)
            if bucket is None:
                rate = limit.rate * self.config.speed_factor
                bucket = TokenBucket(rate, limit.burst, float(limit.burst), now)
                account.buckets[operation] = bucket
            return bucket.take(now)

    def take_sales_traffic_slot(self, client_id: str) -> bool:
        """Amazon's 2026 Sales and Traffic meter for one LWA app: at most one request per
        interval and `sales_traffic_daily_limit` in any sliding day, both divided by the speed
        factor. A refused request does not count against the app, only in `meter_refusals`."""
        config = self.config
        if not config.sales_traffic_meter:
            return True
        interval = config.sales_traffic_interval_seconds / config.speed_factor
        day = METER_DAY_SECONDS / config.speed_factor
        with self.lock:
            now = time.monotonic()
            accepted = self.sales_traffic_accepted.setdefault(client_id, deque())
            while accepted and accepted[0] <= now - day:
                accepted.popleft()
            too_soon = bool(accepted) and now - accepted[-1] < interval
            if too_soon or len(accepted) >= config.sales_traffic_daily_limit:
                self.meter_refusals[client_id] = self.meter_refusals.get(client_id, 0) + 1
                return False
            accepted.append(now)
            return True

    def new_report_id(self) -> str:
        with self.lock:
            return str(next(self._report_numbers))

    def add_report(self, record: ReportRecord) -> None:
        with self.lock:
            self.reports[record.report_id] = record
            if record.document_id:
                self.documents[record.document_id] = record.report_id

    def store_next_token(self, data: dict[str, Any]) -> str:
        token = secrets.token_urlsafe(24)
        with self.lock:
            now = time.monotonic()
            horizon = now - max(self.config.next_token_ttl_seconds, 3600)
            for stale in [t for t, (created, _) in self.next_tokens.items() if created < horizon]:
                del self.next_tokens[stale]
            self.next_tokens[token] = (now, data)
        return token

    def next_token(self, token: str) -> tuple[float, dict[str, Any]] | None:
        """(age in seconds, stored data) of a pagination token."""
        with self.lock:
            entry = self.next_tokens.get(token)
        if entry is None:
            return None
        return time.monotonic() - entry[0], entry[1]

    def log_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.request_log.append(entry)

    def cached_document(self, document_id: str) -> tuple[bytes, str] | None:
        with self.lock:
            found = self.rendered.get(document_id)
            if found is not None:
                self.rendered.move_to_end(document_id)
            return found

    def cache_document(self, document_id: str, content: bytes, content_type: str) -> None:
        with self.lock:
            self.rendered[document_id] = (content, content_type)
            while len(self.rendered) > RENDERED_DOCUMENTS_KEPT:
                self.rendered.popitem(last=False)

"""Selling Partner API client: python-amazon-sp-api pointed at Amazon or the sandbox, per store.

The library has no endpoint or token-URL settings and no retries (see the project notes), so this
module supplies them: a duck-typed marketplace carries our endpoint, a subclass of its LWA client
carries our token URL, and every call backs off on 429 using `x-amzn-RateLimit-Limit`.
Documents are downloaded as a stream to a file, never into memory.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import httpx
from sp_api.api import CatalogItems, DataKiosk, Inventories, ReportsV2
from sp_api.api.finances.finances_2024_06_19 import FinancesV20240619
from sp_api.auth import AccessTokenClient
from sp_api.auth.exceptions import AuthorizationError
from sp_api.base.exceptions import (
    SellingApiException,
    SellingApiForbiddenException,
    SellingApiGatewayTimeoutException,
    SellingApiNotFoundException,
    SellingApiRequestThrottledException,
    SellingApiServerException,
    SellingApiTemporarilyUnavailableException,
)

from amzinsight.config import StoreCredentials
from amzinsight.errors import AmazonApiError, ConfigError, ReportFailedError, ThrottledError

logger = logging.getLogger(__name__)

REGION_ENDPOINTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"  # noqa: S105 (a URL, not a secret)
TERMINAL_STATUSES = ("DONE", "FATAL", "CANCELLED")
CATALOG_INCLUDED_DATA = (
    "attributes",
    "classifications",
    "images",
    "productTypes",
    "relationships",
    "salesRanks",
    "summaries",
)
_RETRYABLE = (
    SellingApiServerException,
    SellingApiTemporarilyUnavailableException,
    SellingApiGatewayTimeoutException,
    httpx.TransportError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """How patient the client is; tests shrink the waits, production keeps Amazon's pace."""

    max_attempts: int = 12
    max_backoff_seconds: float = 60.0
    default_throttle_wait_seconds: float = 5.0
    server_error_base_seconds: float = 2.0
    poll_initial_seconds: float = 5.0
    poll_max_seconds: float = 60.0
    poll_timeout_seconds: float = 2 * 3600.0
    download_timeout_seconds: float = 600.0
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class ReportStatus:
    report_id: str
    report_type: str
    status: str
    document_id: str | None
    data_start: date | None
    data_end: date | None
    created: datetime | None


DATA_KIOSK_ROLE_MISSING = (
    "Data Kiosk refused the query: the app needs the Brand Analytics role (Seller Central > "
    "Apps and Services > Develop Apps > edit the app's roles), or sales history is loaded "
    "report by report."
)


class LoginRefusedError(AmazonApiError):
    """Amazon's login service (LWA) refused the store's credentials: no call can succeed."""


@dataclass(frozen=True)
class QueryStatus:
    """A Data Kiosk query as getQuery describes it."""

    query_id: str
    status: str
    data_document_id: str | None
    error_document_id: str | None


@dataclass(frozen=True)
class DownloadedDocument:
    """A document as Amazon sent it (compressed bytes on disk) and how to read it."""

    path: Path
    compression: str | None
    charset: str | None
    content_type: str | None
    bytes: int


@dataclass
class SpApiClient:
    """One store's SP-API in one region; `marketplace_id` is the default for calls."""

    credentials: StoreCredentials
    credentials_name: str
    marketplace_id: str
    region: str
    endpoint: str | None = None
    lwa_token_url: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    meter_speed: float = 1.0
    """The clock of Amazon's per-application meters: 1 for Amazon, a sandbox's speed factor."""
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def application(self) -> str | None:
        """The LWA application the calls count against (Amazon meters some per application)."""
        return self.credentials.lwa_client_id

    # --- plumbing -------------------------------------------------------------------------

    def _library_credentials(self) -> dict[str, str]:
        prefix = f"AMZ_STORES__{self.credentials_name.upper()}__"
        missing = [
            prefix + name.upper()
            for name in ("sp_refresh_token", "lwa_client_id", "lwa_client_secret")
            if not getattr(self.credentials, name)
        ]
        if missing:
            raise ConfigError(f"SP-API credentials are missing: set {', '.join(missing)}.")
        refresh_token, client_secret = (
            self.credentials.sp_refresh_token,
            self.credentials.lwa_client_secret,
        )
        return {
            "refresh_token": refresh_token.get_secret_value() if refresh_token else "",
            "lwa_app_id": self.credentials.lwa_client_id or "",
            "lwa_client_secret": client_secret.get_secret_value() if client_secret else "",
        }

    def _client(self, kind: str) -> Any:
        if kind not in self._clients:
            endpoint = (self.endpoint or REGION_ENDPOINTS[self.region]).rstrip("/")
            marketplace = SimpleNamespace(
                endpoint=endpoint, marketplace_id=self.marketplace_id, region=self.region
            )
            token_url = urlsplit(self.lwa_token_url or LWA_TOKEN_URL)
            token_client = type(
                "StoreLwaTokenClient",
                (AccessTokenClient,),
                {
                    "scheme": f"{token_url.scheme}://",
                    "host": token_url.netloc,
                    "path": token_url.path,
                },
            )
            kwargs: dict[str, Any] = {
                "marketplace": marketplace,
                "credentials": self._library_credentials(),
                "auth_token_client_class": token_client,
            }
            if kind == "reports":
                client = ReportsV2(**kwargs)
            elif kind == "inventory":
                client = Inventories(**kwargs)
            elif kind == "data_kiosk":
                client = DataKiosk(**kwargs)
            elif kind == "finances":
                client = FinancesV20240619(**kwargs)
            else:
                client = CatalogItems(version="2022-04-01", **kwargs)
            client.endpoint = endpoint  # wins over SP_API_DEFAULT_MARKETPLACE (library gotcha)
            self._clients[kind] = client
        return self._clients[kind]

    def _call(
        self,
        operation: str,
        function: Callable[..., Any],
        *args: Any,
        missing_is_none: bool = False,
        forbidden: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Call with retries: 429 waits 1/rate (jitter, capped); 5xx and network errors back off.
        A 403 is never retried: `forbidden`, when given, is the ConfigError it becomes."""
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                return function(*args, **kwargs)
            except SellingApiNotFoundException:
                if missing_is_none:
                    return None
                raise AmazonApiError(f"Amazon found nothing for {operation} (404).") from None
            except SellingApiRequestThrottledException as error:
                wait = self._throttle_wait(error.headers)
                logger.info("%s throttled (attempt %d); waiting %.2f s", operation, attempt, wait)
            except _RETRYABLE as error:
                wait = min(
                    self.retry.max_backoff_seconds,
                    self.retry.server_error_base_seconds * 2 ** (attempt - 1),
                ) * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not cryptography)
                logger.info("%s failed with %s; retrying in %.2f s", operation, _name(error), wait)
            except AuthorizationError as error:
                raise LoginRefusedError(
                    f"Amazon's login service refused the store's credentials ({error.args[0]}): "
                    f"check {self.credentials_name.upper()}'s AMZ_STORES__* settings."
                ) from None
            except SellingApiForbiddenException:
                if forbidden is not None:
                    raise ConfigError(forbidden) from None
                raise AmazonApiError(
                    f"Amazon refused {operation} (403): the app lacks the role for it or the "
                    "token is not valid for this seller."
                ) from None
            except SellingApiException as error:
                raise AmazonApiError(
                    f"Amazon answered {error.code} to {operation}: "
                    f"{getattr(error, 'amzn_code', '')} {getattr(error, 'message', '')}".strip()
                    + "."
                ) from None
            if attempt < self.retry.max_attempts:
                self.retry.sleep(wait)
        raise ThrottledError(
            f"Amazon kept refusing {operation} after {self.retry.max_attempts} attempts "
            "(throttled or unavailable); the job will retry later."
        )

    def _throttle_wait(self, headers: Any) -> float:
        rate = _float((headers or {}).get("x-amzn-RateLimit-Limit"))
        base = 1.0 / rate if rate else self.retry.default_throttle_wait_seconds
        jitter = random.uniform(1.0, 1.5)  # noqa: S311 (jitter, not cryptography)
        return min(self.retry.max_backoff_seconds, base * jitter)

    # --- reports --------------------------------------------------------------------------

    def create_report(
        self,
        report_type: str,
        marketplace_id: str,
        start: date | None,
        end: date | None,
        options: dict[str, str] | None = None,
    ) -> str:
        body: dict[str, Any] = {"reportType": report_type, "marketplaceIds": [marketplace_id]}
        if start is not None:
            body["dataStartTime"] = f"{start.isoformat()}T00:00:00Z"
        if end is not None:
            body["dataEndTime"] = f"{end.isoformat()}T23:59:59Z"
        if options:
            body["reportOptions"] = options
        response = self._call("createReport", self._client("reports").create_report, **body)
        return str(response.payload["reportId"])

    def get_report(self, report_id: str) -> ReportStatus:
        response = self._call("getReport", self._client("reports").get_report, report_id)
        return _report_status(response.payload)

    def wait_for_report(
        self, report_id: str, on_poll: Callable[[ReportStatus], None] | None = None
    ) -> ReportStatus:
        """Poll with growing pauses until DONE, FATAL or CANCELLED; a timeout is a failure."""
        deadline = time.monotonic() + self.retry.poll_timeout_seconds
        pause = self.retry.poll_initial_seconds
        while True:
            status = self.get_report(report_id)
            if on_poll is not None:
                on_poll(status)
            if status.status in TERMINAL_STATUSES:
                return status
            if time.monotonic() + pause > deadline:
                raise ReportFailedError(
                    f"Report {report_id} was still {status.status} after "
                    f"{self.retry.poll_timeout_seconds:.0f} s; the next sync asks again."
                )
            self.retry.sleep(pause)
            pause = min(self.retry.poll_max_seconds, pause * 1.5)

    def cancel_report(self, report_id: str) -> None:
        self._call("cancelReport", self._client("reports").cancel_report, report_id)

    def list_reports(
        self,
        report_type: str,
        created_since: datetime,
        statuses: tuple[str, ...] = ("DONE",),
    ) -> list[ReportStatus]:
        """getReports over every page (a nextToken must be sent alone, as Amazon requires)."""
        client = self._client("reports")
        response = self._call(
            "getReports",
            client.get_reports,
            reportTypes=[report_type],
            processingStatuses=list(statuses),
            createdSince=_utc_text(created_since),
            pageSize=100,
        )
        found = [_report_status(item) for item in _reports_of(response.payload)]
        while token := _next_token(response):
            response = self._call("getReports", client.get_reports, nextToken=token)
            found.extend(_report_status(item) for item in _reports_of(response.payload))
        unique = {status.report_id: status for status in found}
        return sorted(unique.values(), key=lambda s: s.created or datetime.min.replace(tzinfo=UTC))

    def latest_reports(
        self, report_type: str, page_size: int = 1, forbidden: str | None = None
    ) -> list[ReportStatus]:
        """One page of getReports (no paging): enough to learn whether the Reports API answers.
        A 403 becomes ConfigError(forbidden) when `forbidden` is given."""
        response = self._call(
            "getReports",
            self._client("reports").get_reports,
            reportTypes=[report_type],
            pageSize=page_size,
            forbidden=forbidden,
        )
        return [_report_status(item) for item in _reports_of(response.payload)]

    def download_document(self, document_id: str, destination: Path) -> DownloadedDocument:
        """Fetch the document's metadata, then stream its pre-signed URL to destination."""
        response = self._call(
            "getReportDocument",
            self._client("reports").get_report_document,
            document_id,
            download=False,
        )
        url = response.payload["url"]
        compression = response.payload.get("compressionAlgorithm")
        return self._download_url(url, destination, compression, f"report document {document_id}")

    def _download_url(
        self, url: str, destination: Path, compression: str | None, what: str
    ) -> DownloadedDocument:
        """Stream a pre-signed URL to destination, retrying network errors and 5xx."""
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                return _stream_to_file(
                    url, destination, compression, self.retry.download_timeout_seconds
                )
            except (httpx.TransportError, _ServerError) as error:
                if attempt == self.retry.max_attempts:
                    raise AmazonApiError(
                        f"Downloading {what} kept failing ({_name(error)})."
                    ) from None
                wait = min(
                    self.retry.max_backoff_seconds,
                    self.retry.server_error_base_seconds * 2 ** (attempt - 1),
                )
                logger.info("download failed with %s; retrying in %.1f s", _name(error), wait)
                self.retry.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    # --- Data Kiosk ------------------------------------------------------------------------

    def run_data_kiosk_query(self, query: str, destination: Path) -> Path | None:
        """Run one GraphQL query to its end: the JSONL document streamed to destination, or None
        when Amazon found no data. FATAL and CANCELLED queries raise ReportFailedError; an app
        without the Brand Analytics role raises ConfigError (DATA_KIOSK_ROLE_MISSING)."""
        return self.collect_data_kiosk_query(self.submit_data_kiosk_query(query), destination)

    def submit_data_kiosk_query(self, query: str) -> str:
        """createQuery: the query's id. Amazon works on queries side by side, so a caller with
        several submits them all before collecting any (createQuery allows a burst of 15)."""
        client = self._client("data_kiosk")
        response = self._call(
            "createQuery", client.create_query, query, forbidden=DATA_KIOSK_ROLE_MISSING
        )
        return str(response.payload["queryId"])

    def collect_data_kiosk_query(self, query_id: str, destination: Path) -> Path | None:
        """Wait for a submitted query and stream its document, as run_data_kiosk_query does."""
        status = self.wait_for_query(query_id)
        if status.status == "CANCELLED":
            raise ReportFailedError(f"Data Kiosk query {query_id} was cancelled.")
        if status.status == "FATAL":
            reasons = self._query_errors(status, destination)
            raise ReportFailedError(f"Data Kiosk query {query_id} failed: {reasons}")
        if status.data_document_id is None:
            return None
        self._download_kiosk_document(status.data_document_id, destination)
        return destination

    def get_query(self, query_id: str) -> QueryStatus:
        response = self._call(
            "getQuery",
            self._client("data_kiosk").get_query,
            query_id,
            forbidden=DATA_KIOSK_ROLE_MISSING,
        )
        payload = response.payload or {}
        return QueryStatus(
            query_id=str(payload.get("queryId", query_id)),
            status=payload.get("processingStatus", ""),
            data_document_id=payload.get("dataDocumentId"),
            error_document_id=payload.get("errorDocumentId"),
        )

    def list_queries(
        self, page_size: int = 1, forbidden: str = DATA_KIOSK_ROLE_MISSING
    ) -> list[QueryStatus]:
        """One page of getQueries, newest first; an app without the Brand Analytics role raises
        ConfigError(forbidden)."""
        response = self._call(
            "getQueries",
            self._client("data_kiosk").get_queries,
            pageSize=page_size,
            forbidden=forbidden,
        )
        payload = response.payload or {}
        queries = payload.get("queries", []) if isinstance(payload, dict) else payload
        return [
            QueryStatus(
                query_id=str(item.get("queryId", "")),
                status=item.get("processingStatus", ""),
                data_document_id=item.get("dataDocumentId"),
                error_document_id=item.get("errorDocumentId"),
            )
            for item in queries or []
        ]

    def wait_for_query(self, query_id: str) -> QueryStatus:
        """Poll as wait_for_report does until DONE, FATAL or CANCELLED; a timeout is a failure."""
        deadline = time.monotonic() + self.retry.poll_timeout_seconds
        pause = self.retry.poll_initial_seconds
        while True:
            status = self.get_query(query_id)
            if status.status in TERMINAL_STATUSES:
                return status
            if time.monotonic() + pause > deadline:
                raise ReportFailedError(
                    f"Data Kiosk query {query_id} was still {status.status} after "
                    f"{self.retry.poll_timeout_seconds:.0f} s; the next sync asks again."
                )
            self.retry.sleep(pause)
            pause = min(self.retry.poll_max_seconds, pause * 1.5)

    def _download_kiosk_document(self, document_id: str, destination: Path) -> DownloadedDocument:
        response = self._call(
            "getDocument",
            self._client("data_kiosk").get_document,
            document_id,
            forbidden=DATA_KIOSK_ROLE_MISSING,
        )
        url = response.payload["documentUrl"]
        return self._download_url(url, destination, None, f"Data Kiosk document {document_id}")

    def _query_errors(self, status: QueryStatus, destination: Path) -> str:
        """The messages of a FATAL query's error document, in one line."""
        if status.error_document_id is None:
            return "Amazon gave no reason."
        errors_path = destination.with_name(destination.name + ".errors.json")
        try:
            self._download_kiosk_document(status.error_document_id, errors_path)
            body = json.loads(errors_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "its error document could not be read."
        finally:
            with contextlib.suppress(OSError):
                errors_path.unlink()
        errors = body.get("errors") if isinstance(body, dict) else None
        messages = [
            str(error.get("message")).strip()
            for error in errors or []
            if isinstance(error, dict) and error.get("message")
        ]
        return " ".join(messages) or "Amazon gave no reason."

    # --- JSON APIs assembled into documents -------------------------------------------------

    def inventory_summaries(self, marketplace_id: str) -> Iterator[dict[str, Any]]:
        """Every FBA inventory summary with details, page by page (a nextToken lives 30 s)."""
        client = self._client("inventory")
        params: dict[str, Any] = {
            "granularityType": "Marketplace",
            "granularityId": marketplace_id,
            "marketplaceIds": [marketplace_id],
            "details": "true",
        }
        while True:
            response = self._call(
                "getInventorySummaries", client.get_inventory_summary_marketplace, **params
            )
            payload = response.payload or {}
            yield from payload.get("inventorySummaries", [])
            token = _next_token(response)
            if not token:
                return
            params["nextToken"] = token

    def finance_transactions(
        self,
        posted_after: datetime,
        posted_before: datetime,
        forbidden: str | None = None,
        max_pages: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Finances v2024-06-19 listTransactions for the whole account (no marketplaceId: Amazon
        leaves US MFN orders out when one is given), every page (or `max_pages`); pages may be
        empty."""
        client = self._client("finances")
        params: dict[str, Any] = {
            "postedAfter": _utc_text(posted_after),
            "postedBefore": _utc_text(posted_before),
        }
        while True:
            response = self._call(
                "listTransactions", client.list_transactions, forbidden=forbidden, **params
            )
            payload = response.payload or {}
            yield from payload.get("transactions") or []
            token = _next_token(response)
            if max_pages is not None:
                max_pages -= 1
            if not token or max_pages == 0:
                return
            params["nextToken"] = token  # with the same arguments, as Amazon requires

    def catalog_item(self, asin: str, marketplace_id: str) -> dict[str, Any] | None:
        """One catalog item with everything the Listings page shows; None when Amazon has none."""
        response = self._call(
            "getCatalogItem",
            self._client("catalog").get_catalog_item,
            asin,
            marketplaceIds=[marketplace_id],
            includedData=list(CATALOG_INCLUDED_DATA),
            missing_is_none=True,
        )
        return None if response is None else dict(response.payload)


class _ServerError(Exception):
    """A 5xx from the document host: worth another try."""


def _stream_to_file(
    url: str, destination: Path, compression: str | None, timeout: float
) -> DownloadedDocument:
    # No Authorization header: pre-signed S3 URLs answer 400 when one is sent.
    size = 0
    with (
        httpx.Client(timeout=httpx.Timeout(timeout, connect=30.0)) as client,
        client.stream("GET", url) as response,
    ):
        if response.status_code >= 500:
            raise _ServerError(f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise AmazonApiError(f"The report document URL answered HTTP {response.status_code}.")
        content_type = response.headers.get("content-type")
        with destination.open("wb") as handle:
            for chunk in response.iter_raw(1024 * 1024):
                handle.write(chunk)
                size += len(chunk)
    return DownloadedDocument(
        path=destination,
        compression=compression,
        charset=_charset(content_type),
        content_type=content_type,
        bytes=size,
    )


def _charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip().strip('"')
    return None


def _report_status(payload: dict[str, Any]) -> ReportStatus:
    return ReportStatus(
        report_id=str(payload["reportId"]),
        report_type=payload.get("reportType", ""),
        status=payload.get("processingStatus", ""),
        document_id=payload.get("reportDocumentId"),
        data_start=_date(payload.get("dataStartTime")),
        data_end=_date(payload.get("dataEndTime")),
        created=_datetime(payload.get("createdTime")),
    )


def _reports_of(payload: Any) -> list[dict[str, Any]]:
    if isinstance(payload, list):
        return payload
    return list((payload or {}).get("reports", []))


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _next_token(response: Any) -> str | None:
    token = getattr(response, "next_token", None)
    return str(token) if token else None


def _date(value: str | None) -> date | None:
    moment = _datetime(value)
    return moment.date() if moment else None


def _datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _name(error: BaseException) -> str:
    return type(error).__name__

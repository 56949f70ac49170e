"""Amazon Ads API client: a thin httpx client for the few endpoints AmzInsight needs.

Written rather than borrowed (python-amazon-ad-api hard-wires its token host, has no retries and
reads downloads into memory; see the project notes): LWA token refresh per region, profiles,
reporting v3 (create -> poll -> streamed gzip download), Sponsored Products v3 entity lists, bid
and state updates and negative keywords. 429 and 5xx are retried, honouring Retry-After.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from amzinsight.config import StoreCredentials
from amzinsight.errors import AmazonApiError, ConfigError, ReportFailedError, ThrottledError
from amzinsight.reports.base import AdsReportRequest
from amzinsight.sources.sp_api import DownloadedDocument, LoginRefusedError, RetryPolicy

logger = logging.getLogger(__name__)

ADS_HOSTS = {
    "na": "https://advertising-api.amazon.com",
    "eu": "https://advertising-api-eu.amazon.com",
    "fe": "https://advertising-api-fe.amazon.com",
}
# Ads tokens come from the region's own LWA host (SP-API uses api.amazon.com everywhere).
ADS_TOKEN_URLS = {
    "na": "https://api.amazon.com/auth/o2/token",
    "eu": "https://api.amazon.co.uk/auth/o2/token",
    "fe": "https://api.amazon.co.jp/auth/o2/token",
}
REPORT_CONTENT_TYPE = "application/vnd.createasyncreportrequest.v3+json"
# Entity kind -> (path, media type, list key in the answer); docs/amazon-formats.md 4.3.
ENTITY_ENDPOINTS = {
    "campaigns": ("/sp/campaigns", "application/vnd.spCampaign.v3+json", "campaigns"),
    "adGroups": ("/sp/adGroups", "application/vnd.spAdGroup.v3+json", "adGroups"),
    "keywords": ("/sp/keywords", "application/vnd.spKeyword.v3+json", "keywords"),
    "targets": ("/sp/targets", "application/vnd.spTargetingClause.v3+json", "targetingClauses"),
    "negativeKeywords": (
        "/sp/negativeKeywords",
        "application/vnd.spNegativeKeyword.v3+json",
        "negativeKeywords",
    ),
    "campaignNegativeKeywords": (
        "/sp/campaignNegativeKeywords",
        "application/vnd.spCampaignNegativeKeyword.v3+json",
        "campaignNegativeKeywords",
    ),
}
_RETRY_STATUSES = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class AdsReport:
    report_id: str
    status: str
    url: str | None
    failure_reason: str | None


@dataclass(frozen=True)
class MultiStatus:
    """A 207 answer: which items of a batch succeeded and why the others did not."""

    succeeded: list[dict[str, Any]]
    failed: list[dict[str, Any]]


@dataclass
class AdsClient:
    credentials: StoreCredentials
    credentials_name: str
    region: str
    endpoint: str | None = None
    token_url: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    _token: str | None = field(default=None, repr=False)
    _token_expires: float = 0.0
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60.0), repr=False)

    @property
    def base_url(self) -> str:
        return (self.endpoint or ADS_HOSTS[self.region]).rstrip("/")

    # --- auth and transport -----------------------------------------------------------------

    def _client_id(self) -> str:
        if not self.credentials.ads_client_id:
            raise ConfigError(
                f"Amazon Ads credentials are missing: set "
                f"AMZ_STORES__{self.credentials_name.upper()}__ADS_CLIENT_ID."
            )
        return self.credentials.ads_client_id

    def _access_token(self, refresh: bool = False) -> str:
        if self._token and not refresh and time.monotonic() < self._token_expires:
            return self._token
        prefix = f"AMZ_STORES__{self.credentials_name.upper()}__"
        secret, refresh_token = (
            self.credentials.ads_client_secret,
            self.credentials.ads_refresh_token,
        )
        missing = [
            prefix + name
            for name, value in (("ADS_CLIENT_SECRET", secret), ("ADS_REFRESH_TOKEN", refresh_token))
            if value is None
        ]
        if missing:
            raise ConfigError(f"Amazon Ads credentials are missing: set {', '.join(missing)}.")
        assert secret is not None and refresh_token is not None  # noqa: S101 (checked above)
        response = self._send(
            "POST",
            self.token_url or ADS_TOKEN_URLS[self.region],
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token.get_secret_value(),
                "client_id": self._client_id(),
                "client_secret": secret.get_secret_value(),
            },
        )
        if response.status_code != 200:
            raise LoginRefusedError(
                f"Amazon's login service refused the Ads credentials ({_error_code(response)}): "
                f"check {prefix}ADS_*."
            )
        body = response.json()
        self._token = str(body["access_token"])
        self._token_expires = time.monotonic() + float(body.get("expires_in", 3600)) - 60
        return self._token

    def _request(
        self,
        method: str,
        path: str,
        profile_id: str | None = None,
        media_type: str | None = None,
        json_body: Any = None,
        operation: str = "",
        forbidden: str | None = None,
    ) -> httpx.Response:
        """One call; a 403 becomes ConfigError(forbidden) when `forbidden` is given (a missing
        permission is a setting to change, not an outage)."""
        headers = {
            "Amazon-Advertising-API-ClientId": self._client_id(),
            "Authorization": f"Bearer {self._access_token()}",
        }
        if profile_id is not None:
            headers["Amazon-Advertising-API-Scope"] = profile_id
        if media_type is not None:
            headers["Content-Type"] = media_type
            headers["Accept"] = media_type
        response = self._send(method, self.base_url + path, headers=headers, json=json_body)
        if response.status_code == 401:  # an expired token: refresh once and try again
            headers["Authorization"] = f"Bearer {self._access_token(refresh=True)}"
            response = self._send(method, self.base_url + path, headers=headers, json=json_body)
        if response.status_code == 403 and forbidden is not None:
            raise ConfigError(forbidden)
        if response.status_code >= 400 and response.status_code != 425:
            raise AmazonApiError(
                f"Amazon Ads answered {response.status_code} to {operation or path}: "
                f"{_error_code(response)}."
            )
        return response

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One HTTP call with retries on 429/5xx/network errors, honouring Retry-After."""
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TransportError as error:
                wait = self._backoff(attempt)
                logger.info(
                    "%s %s failed (%s); retrying in %.2f s", method, url, type(error).__name__, wait
                )
            else:
                if response.status_code not in _RETRY_STATUSES:
                    return response
                wait = _retry_after(response) or self._backoff(attempt)
                logger.info(
                    "Amazon Ads answered %d; retrying in %.2f s", response.status_code, wait
                )
            if attempt < self.retry.max_attempts:
                self.retry.sleep(min(wait, self.retry.max_backoff_seconds))
        raise ThrottledError(
            f"Amazon Ads kept refusing {method} {url.split('?')[0]} after "
            f"{self.retry.max_attempts} attempts; the job will retry later."
        )

    def _backoff(self, attempt: int) -> float:
        base = self.retry.server_error_base_seconds * 2 ** (attempt - 1)
        return float(min(self.retry.max_backoff_seconds, base) * random.uniform(0.5, 1.0))  # noqa: S311

    # --- profiles and reports ---------------------------------------------------------------

    def profiles(self, forbidden: str | None = None) -> list[dict[str, Any]]:
        response = self._request(
            "GET", "/v2/profiles", operation="listProfiles", forbidden=forbidden
        )
        return list(response.json())

    def create_report(
        self, profile_id: str, name: str, start: date, end: date, request: AdsReportRequest
    ) -> str:
        """A report id; an identical request still running (425) gives that report's id."""
        body = {
            "name": name,
            "startDate": start.isoformat(),
            "endDate": end.isoformat(),
            "configuration": {
                "adProduct": request.ad_product,
                "groupBy": list(request.group_by),
                "columns": list(request.columns),
                "reportTypeId": request.report_type_id,
                "timeUnit": request.time_unit,
                "format": "GZIP_JSON",
                **(
                    {"filters": [{"field": f, "values": list(v)} for f, v in request.filters]}
                    if request.filters
                    else {}
                ),
            },
        }
        response = self._request(
            "POST", "/reporting/reports", profile_id, REPORT_CONTENT_TYPE, body, "createReport"
        )
        if response.status_code == 425:
            existing = _duplicate_report_id(response)
            if existing is None:
                raise AmazonApiError("Amazon Ads refused a duplicate report without naming it.")
            return existing
        return str(response.json()["reportId"])

    def get_report(self, profile_id: str, report_id: str) -> AdsReport:
        body = self._request(
            "GET", f"/reporting/reports/{report_id}", profile_id, operation="getReport"
        ).json()
        return AdsReport(
            report_id=str(body.get("reportId", report_id)),
            status=str(body.get("status", "")),
            url=body.get("url"),
            failure_reason=body.get("failureReason"),
        )

    def wait_for_report(
        self, profile_id: str, report_id: str, on_poll: Callable[[AdsReport], None] | None = None
    ) -> AdsReport:
        """Poll until COMPLETED or FAILED (Ads reports can take hours); a timeout is a failure."""
        deadline = time.monotonic() + self.retry.poll_timeout_seconds
        pause = self.retry.poll_initial_seconds
        while True:
            report = self.get_report(profile_id, report_id)
            if on_poll is not None:
                on_poll(report)
            if report.status == "COMPLETED":
                return report
            if report.status == "FAILED":
                raise ReportFailedError(
                    f"Amazon Ads failed report {report_id}: {report.failure_reason or 'no reason'}"
                    "; the next sync asks again."
                )
            if time.monotonic() + pause > deadline:
                raise ReportFailedError(
                    f"Amazon Ads report {report_id} was still {report.status} after "
                    f"{self.retry.poll_timeout_seconds:.0f} s; the next sync asks again."
                )
            self.retry.sleep(pause)
            pause = min(self.retry.poll_max_seconds, pause * 1.5)

    def download(self, url: str, destination: Path) -> DownloadedDocument:
        """Stream a report to a file with no auth header (S3 answers 400 when one is sent)."""
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                return _stream(url, destination)
            except (httpx.TransportError, _Retryable) as error:
                if attempt == self.retry.max_attempts:
                    raise AmazonApiError(
                        f"Downloading an Ads report kept failing ({error})."
                    ) from None
                self.retry.sleep(self._backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    # --- Sponsored Products entities --------------------------------------------------------

    def list_entities(self, profile_id: str, kind: str) -> Iterator[dict[str, Any]]:
        """Every entity of a kind (campaigns, adGroups, keywords, ...), page by page."""
        path, media_type, key = ENTITY_ENDPOINTS[kind]
        body: dict[str, Any] = {"maxResults": 1000}
        while True:
            answer = self._request(
                "POST", f"{path}/list", profile_id, media_type, body, f"list {kind}"
            ).json()
            yield from answer.get(key, [])
            token = answer.get("nextToken")
            if not token:
                return
            body = {"maxResults": 1000, "nextToken": token}

    def update(self, profile_id: str, kind: str, items: list[dict[str, Any]]) -> MultiStatus:
        """PUT bid/state changes (keywords or targets); 207 answers say per item what happened."""
        return self._batch("PUT", profile_id, kind, items)

    def create(self, profile_id: str, kind: str, items: list[dict[str, Any]]) -> MultiStatus:
        """POST new keywords or negative keywords."""
        return self._batch("POST", profile_id, kind, items)

    def _batch(
        self, method: str, profile_id: str, kind: str, items: list[dict[str, Any]]
    ) -> MultiStatus:
        path, media_type, key = ENTITY_ENDPOINTS[kind]
        answer = self._request(
            method, path, profile_id, media_type, {key: items}, f"{method} {kind}"
        ).json()
        outcome = answer.get(key, {})
        return MultiStatus(
            succeeded=list(outcome.get("success", [])), failed=list(outcome.get("error", []))
        )


def _stream(url: str, destination: Path) -> DownloadedDocument:
    with (
        httpx.Client(timeout=httpx.Timeout(600.0, connect=30.0)) as plain,
        plain.stream("GET", url) as response,
    ):
        if response.status_code in _RETRY_STATUSES:
            raise _Retryable(f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise AmazonApiError(f"The Ads report URL answered HTTP {response.status_code}.")
        size = 0
        with destination.open("wb") as handle:
            for chunk in response.iter_raw(1024 * 1024):
                handle.write(chunk)
                size += len(chunk)
        return DownloadedDocument(
            path=destination,
            compression="GZIP",
            charset="utf-8",
            content_type=response.headers.get("content-type"),
            bytes=size,
        )


class _Retryable(Exception):
    """A 429/5xx from the report download host."""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        for key in ("code", "error", "message", "details", "detail"):
            if body.get(key):
                return str(body[key])[:200]
    return f"HTTP {response.status_code}"


def _duplicate_report_id(response: httpx.Response) -> str | None:
    """425 Too Early names the report being made in its detail (docs/amazon-formats.md 4.1)."""
    try:
        text = str(response.json().get("detail") or response.text)
    except ValueError:
        text = response.text
    match = re.search(r"[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}|\b\d{6,}\b", text)
    return match.group(0) if match else None

"""What the Amazon Ads side of a running sandbox remembers, in `SandboxState.ads` (so
POST /_sandbox/reset forgets it): each profile's keywords, targets and negatives as changed over
the API, the reports asked for, and how often each recent date was pulled (restatement)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from amzinsight_sandbox.ads_catalog import (
    AdsCatalogue,
    AdsProfile,
    IdSource,
    ads_catalogue,
    ads_profiles,
)
from amzinsight_sandbox.state import AccountState, SandboxState


def ads_time(moment: datetime) -> str:
    """Amazon Ads timestamps: 2025-03-12T09:00:01.512Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class TargetState:
    """A keyword or targeting clause as it stands now (bids and states change over the API)."""

    target_id: int
    ad_group_index: int
    campaign_index: int
    kind: str  # keyword | auto | product
    text: str
    match_type: str
    expression: tuple[tuple[str, str | None], ...]
    bid: float
    state: str
    created: datetime
    updated: datetime

    def keyword_json(self, store: AdsStore, extended: bool = False) -> dict[str, Any]:
        catalogue = store.catalogue
        body: dict[str, Any] = {
            "keywordId": str(self.target_id),
            "campaignId": str(catalogue.campaigns[self.campaign_index].campaign_id),
            "adGroupId": str(catalogue.ad_groups[self.ad_group_index].ad_group_id),
            "keywordText": self.text,
            "matchType": self.match_type,
            "state": self.state,
            "bid": self.bid,
        }
        if extended:
            body["extendedData"] = _extended(
                self.created, self.updated, self.state, "TARGETING_CLAUSE"
            )
        return body

    def target_json(self, store: AdsStore, extended: bool = False) -> dict[str, Any]:
        catalogue = store.catalogue
        expression = [
            {"type": kind, **({"value": value} if value is not None else {})}
            for kind, value in self.expression
        ]
        body: dict[str, Any] = {
            "targetId": str(self.target_id),
            "campaignId": str(catalogue.campaigns[self.campaign_index].campaign_id),
            "adGroupId": str(catalogue.ad_groups[self.ad_group_index].ad_group_id),
            "expression": expression,
            "resolvedExpression": expression,
            "expressionType": "AUTO" if self.kind == "auto" else "MANUAL",
            "state": self.state,
            "bid": self.bid,
        }
        if extended:
            body["extendedData"] = _extended(
                self.created, self.updated, self.state, "TARGETING_CLAUSE"
            )
        return body


@dataclass
class NegativeState:
    keyword_id: int
    campaign_index: int
    ad_group_index: int | None  # None: a campaign negative keyword
    text: str
    match_type: str
    state: str
    created: datetime
    updated: datetime

    def as_json(self, store: AdsStore, extended: bool = False) -> dict[str, Any]:
        catalogue = store.catalogue
        body: dict[str, Any] = {
            "keywordId": str(self.keyword_id),
            "campaignId": str(catalogue.campaigns[self.campaign_index].campaign_id),
            "keywordText": self.text,
            "matchType": self.match_type,
            "state": self.state,
        }
        if self.ad_group_index is not None:
            body["adGroupId"] = str(catalogue.ad_groups[self.ad_group_index].ad_group_id)
        if extended:
            body["extendedData"] = _extended(
                self.created, self.updated, self.state, "TARGETING_CLAUSE"
            )
        return body


def _extended(created: datetime, updated: datetime, state: str, prefix: str) -> dict[str, str]:
    serving = {"ENABLED": f"{prefix}_STATUS_LIVE", "PAUSED": f"{prefix}_PAUSED"}.get(
        state, f"{prefix}_ARCHIVED"
    )
    return {
        "creationDateTime": ads_time(created),
        "lastUpdateDateTime": ads_time(updated),
        "servingStatus": serving,
    }


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 17, 0, tzinfo=UTC)


class AdsStore:
    """One profile's Sponsored Products entities as they stand now."""

    def __init__(self, catalogue: AdsCatalogue) -> None:
        self.catalogue = catalogue
        self.profile = catalogue.profile
        self.targets: dict[int, TargetState] = {}
        for target in catalogue.targets:
            created = _at(catalogue.campaigns[target.campaign_index].start_date)
            self.targets[target.target_id] = TargetState(
                target_id=target.target_id,
                ad_group_index=target.ad_group_index,
                campaign_index=target.campaign_index,
                kind=target.kind,
                text=target.text,
                match_type=target.match_type,
                expression=target.expression,
                bid=target.bid,
                state=target.state,
                created=created,
                updated=created,
            )
        self.negatives: dict[int, NegativeState] = {}
        self.campaign_negatives: dict[int, NegativeState] = {}
        for negative in catalogue.negative_keywords + catalogue.campaign_negative_keywords:
            created = _at(
                catalogue.campaigns[negative.campaign_index].start_date + timedelta(days=30)
            )
            entry = NegativeState(
                keyword_id=negative.keyword_id,
                campaign_index=negative.campaign_index,
                ad_group_index=negative.ad_group_index,
                text=negative.text,
                match_type=negative.match_type,
                state=negative.state,
                created=created,
                updated=created,
            )
            (self.negatives if negative.ad_group_index is not None else self.campaign_negatives)[
                negative.keyword_id
            ] = entry
        self.ids = IdSource(f"ads-created:{catalogue.profile.profile_id}", used=catalogue.all_ids())
        self.created_count = 0
        self.campaign_by_id = {c.campaign_id: c for c in catalogue.campaigns}
        self.ad_group_by_id = {g.ad_group_id: g for g in catalogue.ad_groups}

    def new_id(self) -> int:
        self.created_count += 1
        return self.ids.next("created", self.created_count)

    def snapshot(self) -> dict[int, tuple[float, str]]:
        """Every keyword's and target's (bid, state) now, for a report asked for now."""
        return {t.target_id: (t.bid, t.state) for t in self.targets.values()}


@dataclass
class AdsReportRecord:
    report_id: str
    seller_id: str
    profile_id: int
    country_code: str
    name: str
    start: date
    end: date
    report_type: str
    group_by: tuple[str, ...]
    columns: tuple[str, ...]
    time_unit: str
    filters: tuple[tuple[str, tuple[str, ...]], ...]
    configuration: dict[str, Any]
    created: datetime
    created_wall: float
    created_monotonic: float
    processing_seconds: float
    outcome: str  # COMPLETED | FAILED
    failure: str | None
    versions: dict[date, int]
    snapshot: dict[int, tuple[float, str]]
    duplicate_key: str
    file_size: int | None = None

    def status(self, now: float) -> str:
        elapsed = now - self.created_monotonic
        if elapsed < self.processing_seconds / 3:
            return "PENDING"
        if elapsed < self.processing_seconds:
            return "PROCESSING"
        return self.outcome

    @property
    def finished(self) -> datetime:
        return self.created + timedelta(seconds=self.processing_seconds)

    @property
    def url_expires_wall(self) -> int:
        return int(self.created_wall + self.processing_seconds) + URL_LIFETIME_SECONDS

    def as_json(self, now: float, url: str | None, just_created: bool = False) -> dict[str, Any]:
        """The report object; `just_created`: as the create call answers it, always PENDING."""
        status = "PENDING" if just_created else self.status(now)
        updated = self.created
        if status == "PROCESSING":
            updated = self.created + timedelta(seconds=self.processing_seconds / 3)
        elif status in ("COMPLETED", "FAILED"):
            updated = self.finished
        done = status == "COMPLETED"
        return {
            "configuration": self.configuration,
            "createdAt": ads_time(self.created),
            "endDate": self.end.isoformat(),
            "failureReason": self.failure if status == "FAILED" else None,
            "fileSize": self.file_size if done else None,
            "generatedAt": ads_time(self.finished) if done else None,
            "name": self.name,
            "reportId": self.report_id,
            "startDate": self.start.isoformat(),
            "status": status,
            "updatedAt": ads_time(updated),
            "url": url if done else None,
            "urlExpiresAt": (
                ads_time(self.finished + timedelta(seconds=URL_LIFETIME_SECONDS)) if done else None
            ),
        }


URL_LIFETIME_SECONDS = 3600


@dataclass
class AdsData:
    stores: dict[tuple[str, str], AdsStore] = field(default_factory=dict)
    reports: dict[str, AdsReportRecord] = field(default_factory=dict)
    pulls: dict[tuple[str, str, str, date], int] = field(default_factory=dict)
    """(seller, country, report configuration, date) -> reports asked for so far."""
    reports_made: int = 0


def ads_data(state: SandboxState) -> AdsData:
    with state.lock:
        data = state.ads.get("data")
        if not isinstance(data, AdsData):
            data = AdsData()
            state.ads["data"] = data
        return data


def profile_of(account: AccountState, profile_id: str | int | None) -> AdsProfile | None:
    """The account's profile with this id (as sent in Amazon-Advertising-API-Scope)."""
    if profile_id is None:
        return None
    text = str(profile_id).strip()
    for profile in ads_profiles(account.account):
        if str(profile.profile_id) == text:
            return profile
    return None


def ads_store(state: SandboxState, account: AccountState, profile: AdsProfile) -> AdsStore:
    """The profile's entities, as generated on first use or since the last reset."""
    catalogue = ads_catalogue(account.account, profile.country_code)
    data = ads_data(state)
    key = (account.seller_id, profile.country_code)
    with state.lock:
        store = data.stores.get(key)
        if store is None:
            store = AdsStore(catalogue)
            data.stores[key] = store
        return store


def wall_now() -> float:
    return time.time()

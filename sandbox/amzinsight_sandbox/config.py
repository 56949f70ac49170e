"""What a sandbox Amazon serves: its seller accounts, its pace, and the faults it injects."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from amzinsight.errors import ConfigError
from amzinsight.marketplaces import MARKETPLACES, Marketplace

REGIONS = ("na", "eu", "fe")

FAULT_KINDS = (
    "fatal",  # the report ends FATAL with a small JSON error document
    "cancelled",  # the report ends CANCELLED, no document
    "throttle",  # 429 QuotaExceeded on the operation
    "server_error",  # 503/500 on the operation (or on "download")
    "truncated_document",  # the gzip download is cut in half
    "corrupt_document",  # the download is garbage bytes
    "slow_document",  # the download trickles over delay_seconds
    "ads_failed",  # an Amazon Ads report ends FAILED with a failureReason (report_type: its
    # reportTypeId, e.g. spTargeting); SP-API "fatal" faults never touch Ads reports
)

# Faults of these kinds decide a report's fate when it is created; the document kinds act on
# downloads; the rest answer a request on the spot.
REPORT_FAULT_KINDS = ("fatal", "cancelled")
DOCUMENT_FAULT_KINDS = ("truncated_document", "corrupt_document", "slow_document")
REQUEST_FAULT_KINDS = ("throttle", "server_error")
ADS_REPORT_FAULT_KINDS = ("ads_failed",)


@dataclass(frozen=True)
class SandboxAccount:
    """One fake seller account in one region; everything it serves is derived from `seed`."""

    seller_id: str
    name: str
    region: str
    marketplaces: tuple[str, ...]
    lwa_client_id: str
    lwa_client_secret: str
    refresh_token: str
    seed: int
    asins: int = 40
    days: int = 400
    today: date = field(default_factory=lambda: datetime.now(UTC).date())
    ads_client_id: str = ""
    """The Amazon Ads API's LWA app, refresh token and secret; empty means the SP-API ones
    (`lwa_client_id`, `lwa_client_secret`, `refresh_token`), as when one LWA app has both."""
    ads_client_secret: str = ""
    ads_refresh_token: str = ""
    data_kiosk: bool = True
    """The app has the Brand Analytics role Data Kiosk needs; False answers its calls 403."""
    finances: bool = True
    """The app has the Finance and Accounting role the Finances API needs; False answers 403."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "marketplaces", tuple(c.upper() for c in self.marketplaces))
        for name, default in (
            ("ads_client_id", self.lwa_client_id),
            ("ads_client_secret", self.lwa_client_secret),
            ("ads_refresh_token", self.refresh_token),
        ):
            if not getattr(self, name):
                object.__setattr__(self, name, default)
        if self.region not in REGIONS:
            raise ConfigError(f"Sandbox region {self.region!r} is not one of {', '.join(REGIONS)}.")
        if not self.marketplaces:
            raise ConfigError(f"Sandbox account {self.seller_id} needs at least one marketplace.")
        for code in self.marketplaces:
            marketplace = MARKETPLACES.get(code)
            if marketplace is None:
                raise ConfigError(f"Unknown marketplace {code!r} for sandbox account.")
            if marketplace.region != self.region:
                raise ConfigError(
                    f"Marketplace {code} is in region {marketplace.region}, "
                    f"not {self.region}: one account is one region."
                )
        if self.asins < 1 or self.days < 1:
            raise ConfigError("A sandbox account needs at least one ASIN and one day of history.")

    @property
    def marketplace_list(self) -> list[Marketplace]:
        return [MARKETPLACES[code] for code in self.marketplaces]

    @property
    def marketplace_ids(self) -> list[str]:
        return [m.marketplace_id for m in self.marketplace_list]


@dataclass(frozen=True)
class Fault:
    """A misbehaviour to inject.

    `operation` is an SP-API operation name (createReport, getReport, getReports, cancelReport,
    getReportDocument, getInventorySummaries, getCatalogItem), "token" for Login with Amazon or
    "download" for report documents; None matches every operation. `report_type` narrows the
    report and document kinds. `count=None` means every matching request, forever.
    `delay_seconds` is how long a slow_document trickles, and a wait before a throttle or
    server_error answer. Amazon Ads operations (listProfiles, createAsyncReport,
    getAsyncReport, ListSponsoredProductsKeywords, UpdateSponsoredProductsKeywords, ...; see
    ads_api.py) take the same faults. `retry_after` (Amazon Ads only) is the Retry-After header,
    in seconds, of a throttle fault's 429; None sends none. Amazon sends whole seconds; a
    fraction is allowed here to keep tests fast.
    """

    kind: str
    operation: str | None = None
    report_type: str | None = None
    count: int | None = None
    seller_id: str | None = None
    delay_seconds: float = 0.0
    retry_after: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ConfigError(f"Unknown fault kind {self.kind!r}: use one of {FAULT_KINDS}.")
        if self.count is not None and self.count < 0:
            raise ConfigError("A fault's count cannot be negative.")
        if self.retry_after is not None and self.retry_after < 0:
            raise ConfigError("A fault's retry_after cannot be negative.")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Fault:
        known = {
            "kind",
            "operation",
            "report_type",
            "count",
            "seller_id",
            "delay_seconds",
            "retry_after",
        }
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"Unknown fault fields: {', '.join(sorted(unknown))}.")
        if "kind" not in values:
            raise ConfigError("A fault needs a kind.")
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SandboxConfig:
    """The whole sandbox: accounts, how long reports take, how generous the rate limits are."""

    accounts: list[SandboxAccount]
    processing_delay_seconds: float = 2.0
    speed_factor: float = 1.0
    faults: list[Fault] = field(default_factory=list)
    next_token_ttl_seconds: float = 30.0
    """Amazon expires getInventorySummaries nextTokens after 30 s; tests shorten it."""
    sales_traffic_meter: bool = True
    """Amazon's meter on createReport for GET_SALES_AND_TRAFFIC_REPORT since April 2026: per LWA
    app (all its sellers together), at most once every 15 minutes and 96 times in any 24 hours
    (selling-partner-api-models#5210). On by default because Amazon enforces it; False lets
    tests written before the meter run unpaced."""
    sales_traffic_interval_seconds: float = 900.0
    """The meter's minimum gap between two accepted requests, in Amazon seconds (divided by the
    speed factor like every limit). With Amazon's 900 s the 96-a-day cap can never bind
    (96 x 15 min = 24 h); a test lowers the gap to see the cap on its own."""
    sales_traffic_daily_limit: int = 96
    """Accepted requests per app in any sliding 24 hours (86,400 s / speed factor)."""

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for account in self.accounts:
            if account.seller_id in seen:
                raise ConfigError(f"Sandbox seller id {account.seller_id} appears twice.")
            seen.add(account.seller_id)
        if self.speed_factor <= 0:
            raise ConfigError("The sandbox speed factor must be positive.")
        if self.sales_traffic_interval_seconds < 0:
            raise ConfigError("The Sales and Traffic meter interval cannot be negative.")
        if self.sales_traffic_daily_limit < 1:
            raise ConfigError("The Sales and Traffic meter must allow at least one a day.")


# Sandbox-only demo credentials: they open nothing but a local sandbox, so they may be public.
DEMO_SELLER_ID = "A1DEMOSELLER0001"
DEMO_LWA_CLIENT_ID = "amzn1.application-oa2-client.sandboxdemo00000000000000000001"
DEMO_LWA_CLIENT_SECRET = "amzn1.oa2-cs.v1.sandbox-demo-secret-not-a-real-credential"  # noqa: S105
DEMO_REFRESH_TOKEN = "Atzr|sandbox-demo-refresh-token-not-a-real-credential"  # noqa: S105
DEMO_SEED = 20240601


def demo_account(
    seed: int = DEMO_SEED, asins: int = 40, days: int = 400, today: date | None = None
) -> SandboxAccount:
    """The demo seller "Demo Kitchen Co." on amazon.com and amazon.ca."""
    return SandboxAccount(
        seller_id=DEMO_SELLER_ID,
        name="Demo Kitchen Co.",
        region="na",
        marketplaces=("US", "CA"),
        lwa_client_id=DEMO_LWA_CLIENT_ID,
        lwa_client_secret=DEMO_LWA_CLIENT_SECRET,
        refresh_token=DEMO_REFRESH_TOKEN,
        seed=seed,
        asins=asins,
        days=days,
        today=today or datetime.now(UTC).date(),
    )


def default_demo_config() -> SandboxConfig:
    """One demo account, Amazon's real rate limits, reports ready in two seconds."""
    return SandboxConfig(accounts=[demo_account()])


def demo_environment(account: SandboxAccount, slug: str = "demo") -> dict[str, str]:
    """The AMZ_STORES__<SLUG>__* variables that let AmzInsight sign in to a sandbox account."""
    prefix = f"AMZ_STORES__{slug.upper()}__"
    return {
        prefix + "SP_REFRESH_TOKEN": account.refresh_token,
        prefix + "LWA_CLIENT_ID": account.lwa_client_id,
        prefix + "LWA_CLIENT_SECRET": account.lwa_client_secret,
        prefix + "ADS_CLIENT_ID": account.ads_client_id or account.lwa_client_id,
        prefix + "ADS_CLIENT_SECRET": account.ads_client_secret or account.lwa_client_secret,
        prefix + "ADS_REFRESH_TOKEN": account.ads_refresh_token or account.refresh_token,
    }


def faults_from_json(items: Iterable[Mapping[str, Any]]) -> list[Fault]:
    """Faults as posted to /_sandbox/faults: a JSON list of objects with Fault's fields."""
    return [Fault.from_dict(item) for item in items]

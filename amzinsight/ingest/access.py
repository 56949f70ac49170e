"""Which Amazon APIs a store's credentials reach, each missing one said as one sentence with what
to change in Seller Central (issue "Sync under Amazon's 2026 rules", part 5).

A check makes one cheap call per API (a page of one), so a 403 is known at once instead of
failing every sync window; throttles and outages get a few quick retries, never a long wait. The
result replaces the store's rows in store_access_checks, which the Sync page reads without
calling Amazon (amzinsight/analytics/access.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from amzinsight.config import Settings
from amzinsight.db.tables import store_access_checks
from amzinsight.errors import ConfigError, ThrottledError
from amzinsight.ingest.pipeline import describe_error
from amzinsight.ingest.sync import ads_client_for, missing_sp_credentials
from amzinsight.logs import redact
from amzinsight.reports.finance_transactions import ROLE_MISSING as FINANCES_ROLE_MISSING
from amzinsight.reports.listings import REPORT_TYPE as LISTINGS_REPORT_TYPE
from amzinsight.sources.sp_api import LoginRefusedError, RetryPolicy, SpApiClient
from amzinsight.stores import Store

REPORTS = "Reports"
DATA_KIOSK = "Data Kiosk (Brand Analytics role)"
ADS = "Amazon Ads"
FINANCES = "Finances"
REACHABLE = "reachable"

REPORTS_REFUSED = (
    "Amazon refused the Reports API, the base of every report: authorise the app again for this "
    "seller (Seller Central > Apps and Services > Manage Your Apps) and check its roles (Develop "
    "Apps > Edit App > roles); nothing syncs until then."
)
KIOSK_ROLE_MISSING = (
    "The app lacks the Brand Analytics role: Seller Central > Apps and Services > Develop Apps > "
    "Edit App > roles; until then sales history is loaded report by report (slower)."
)
ADS_REFUSED = (
    "Amazon Ads refused the profiles list: authorise the Ads app again with a login that can "
    "manage this seller's advertising (advertising.amazon.com > Administration > User "
    "management), then set a new AMZ_STORES__{slug}__ADS_REFRESH_TOKEN."
)
ADS_NO_PROFILE = (
    "Amazon Ads answered but lists no advertising profile for this login: the seller needs an "
    "advertising account (Seller Central > Advertising > Campaign Manager) and the login must "
    "have access to it."
)
ADS_NOT_SET_UP = (
    "not set up: set AMZ_STORES__{slug}__ADS_CLIENT_ID, AMZ_STORES__{slug}__ADS_CLIENT_SECRET "
    "and AMZ_STORES__{slug}__ADS_REFRESH_TOKEN to sync advertising."
)
BUSY = "could not check: Amazon kept answering busy or unavailable; check again later."
ADS_FIELDS = ("ads_client_id", "ads_client_secret", "ads_refresh_token")
# A check answers in seconds: a few quick retries on throttles and outages, then "unknown".
CHECK_RETRY = RetryPolicy(max_attempts=3, max_backoff_seconds=10.0, server_error_base_seconds=0.5)


@dataclass(frozen=True)
class AccessCheck:
    """One API: ok True reachable, False missing (the sentence says what to do), None unknown
    or not checked (the sentence says why)."""

    api: str
    ok: bool | None
    sentence: str

    @property
    def line(self) -> str:
        """`Reports: reachable`, `Data Kiosk (Brand Analytics role): missing: The app lacks ...`"""
        verdict = "missing: " if self.ok is False else ""
        return f"{self.api}: {verdict}{self.sentence}"


def check_access(
    settings: Settings, store: Store, retry: RetryPolicy | None = None
) -> list[AccessCheck]:
    """One call per API with the store's credentials; never raises for what Amazon answers."""
    retry = retry or CHECK_RETRY
    secrets = settings.secret_values()
    checks = [*_sp_api_checks(settings, store, retry), _ads_check(settings, store, retry)]
    return [AccessCheck(c.api, c.ok, redact(c.sentence, secrets)) for c in checks]


def _sp_api_checks(settings: Settings, store: Store, retry: RetryPolicy) -> list[AccessCheck]:
    missing = missing_sp_credentials(settings, store.slug)
    if missing:
        sentence = f"SP-API credentials are missing: set {', '.join(missing)}."
        return [AccessCheck(api, False, sentence) for api in (REPORTS, DATA_KIOSK, FINANCES)]
    client = SpApiClient(
        credentials=settings.credentials_for(store.slug),
        credentials_name=store.slug,
        marketplace_id=store.marketplaces[0].marketplace_id if store.marketplaces else "",
        region=store.region,
        endpoint=store.endpoints.sp_api_endpoint,
        lwa_token_url=store.endpoints.lwa_token_url,
        retry=retry,
    )
    reports = _attempt(
        REPORTS,
        lambda: client.latest_reports(LISTINGS_REPORT_TYPE, forbidden=REPORTS_REFUSED),
    )
    if reports.ok is False and reports.sentence != REPORTS_REFUSED:
        # The login itself was refused: the other APIs would only repeat the same sentence.
        return [
            reports,
            *(AccessCheck(api, False, reports.sentence) for api in (DATA_KIOSK, FINANCES)),
        ]
    kiosk = _attempt(DATA_KIOSK, lambda: client.list_queries(forbidden=KIOSK_ROLE_MISSING))
    # One page of an hour's transactions a day ago (Amazon wants postedBefore in the past).
    day_ago = datetime.now(UTC) - timedelta(days=1)
    finances = _attempt(
        FINANCES,
        lambda: list(
            client.finance_transactions(
                day_ago - timedelta(hours=1), day_ago, FINANCES_ROLE_MISSING, max_pages=1
            )
        ),
    )
    return [reports, kiosk, finances]


def _ads_check(settings: Settings, store: Store, retry: RetryPolicy) -> AccessCheck:
    credentials = settings.credentials_for(store.slug)
    prefix = f"AMZ_STORES__{store.slug.upper()}__"
    missing = [prefix + name.upper() for name in ADS_FIELDS if not getattr(credentials, name)]
    if len(missing) == len(ADS_FIELDS):
        return AccessCheck(ADS, None, ADS_NOT_SET_UP.format(slug=store.slug.upper()))
    if missing:
        return AccessCheck(
            ADS, False, f"Amazon Ads credentials are incomplete: set {', '.join(missing)}."
        )
    client = ads_client_for(settings, store, retry)
    forbidden = ADS_REFUSED.format(slug=store.slug.upper())
    return _attempt(ADS, lambda: client.profiles(forbidden=forbidden))


def _attempt(api: str, call: Callable[[], Any]) -> AccessCheck:
    """The call's verdict: an answer is reachable (an empty Ads profile list is not), a refusal
    (403, or the login refused) is missing, anything else is unknown with its one-line cause."""
    try:
        answer = call()
    except (ConfigError, LoginRefusedError) as error:
        return AccessCheck(api, False, str(error))
    except ThrottledError:  # its sentence promises a retry a check does not make
        return AccessCheck(api, None, BUSY)
    except Exception as error:  # a check reports every failure, never raises
        return AccessCheck(api, None, f"could not check: {describe_error(error)}")
    if api == ADS and not answer:
        return AccessCheck(api, False, ADS_NO_PROFILE)
    return AccessCheck(api, True, REACHABLE)


def record_access(engine: Engine, store_id: int, checks: list[AccessCheck]) -> None:
    """Replace the store's last check with this one (one transaction: never half of each)."""
    table = store_access_checks
    with engine.begin() as connection:
        connection.execute(sa.delete(table).where(table.c.store_id == store_id))
        if checks:
            connection.execute(
                sa.insert(table),
                [
                    {
                        "store_id": store_id,
                        "api": check.api,
                        "position": position,
                        "ok": check.ok,
                        "sentence": check.sentence,
                    }
                    for position, check in enumerate(checks)
                ],
            )


def check_and_record(engine: Engine, settings: Settings, store: Store) -> list[AccessCheck]:
    """What `store add`, `store check` and the worker's job do."""
    checks = check_access(settings, store)
    record_access(engine, store.id, checks)
    return checks


def any_missing(checks: list[AccessCheck]) -> bool:
    return any(check.ok is False for check in checks)

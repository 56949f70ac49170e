"""Settling is decided when Ads data is read, from the report date and the reader's today.

A seller who downloads a 7-day Sponsored Products report every Monday imports each day once; the
last days of each file are still settling on import day. Read a week later, those days are final
and count, although no file re-imported them; only the days within settle_days of the read's
today are settling. Each day carries 2**i clicks, so a sum of clicks names exactly which days
were counted.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from amzinsight.analytics.ads_performance import ads_over_time
from amzinsight.bidding.inputs import load_inputs
from amzinsight.bidding.policy import BidPolicy
from amzinsight.config import Settings
from amzinsight.db import tables
from amzinsight.ingest.imports import import_file
from amzinsight.runtime import Runtime, build_runtime
from amzinsight.stores import Store, add_store

pytestmark = pytest.mark.postgres

FIXTURES = Path(__file__).parents[1] / "fixtures"
PROFILE = "3927415508812264"
US = "ATVPDKIKX0DER"
FIRST_DAY = date(2026, 3, 2)  # a Monday; the seller downloads Monday to Sunday every Monday
WEEK_1 = [FIRST_DAY + timedelta(days=i) for i in range(7)]  # 2 to 8 March
WEEK_2 = [FIRST_DAY + timedelta(days=i) for i in range(7, 14)]  # 9 to 15 March
IMPORT_DAYS = (date(2026, 3, 9), date(2026, 3, 16))  # the Mondays after each week
KEYWORD_ID = 513308847702215
POLICY = BidPolicy()  # settle_days 3


def _clicks(day: date) -> int:
    return 2 ** (day - FIRST_DAY).days


def _days_in(clicks: float) -> set[date]:
    """The days whose 2**i clicks add up to `clicks`."""
    whole = int(clicks)
    assert whole == clicks
    return {FIRST_DAY + timedelta(days=i) for i in range(whole.bit_length()) if whole >> i & 1}


def _week_file(folder: Path, fixture: str, days: list[date]) -> Path:
    """The fixture's first row repeated for each day, with that day's clicks."""
    template = json.loads((FIXTURES / fixture).read_text())[0]
    rows = [{**template, "date": day.isoformat(), "clicks": _clicks(day)} for day in days]
    path = folder / f"{fixture.removesuffix('.json')}_{days[0]}.json"
    path.write_text(json.dumps(rows))
    return path


def _local_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 20, tzinfo=UTC)  # 12:00 or 13:00 in Seattle


@pytest.fixture
def runtime(migrated_database_url: str, tmp_path: Path) -> Runtime:
    return build_runtime(Settings(database_url=migrated_database_url, data_dir=tmp_path))


@pytest.fixture
def store(runtime: Runtime) -> Store:
    return add_store(runtime.engine, slug="brewlane", name="Brewlane", country_codes=["US"])


def _import_week(
    runtime: Runtime, store: Store, folder: Path, days: list[date], imported_on: date
) -> None:
    """The week's spTargeting and spCampaigns downloads, imported once, on `imported_on`."""
    for fixture, key in (
        ("ads_sp_targeting.json", "sp_targeting"),
        ("ads_sp_campaigns.json", "sp_campaigns"),
    ):
        outcome = import_file(
            runtime.engine, runtime.archive, store, _week_file(folder, fixture, days), key,
            profile_id=PROFILE, now=_local_noon(imported_on),
        )  # fmt: skip
        assert outcome.status == "succeeded", outcome


def _counted_by_the_bidder(runtime: Runtime, store: Store, today: date) -> dict[str, set[date]]:
    inputs = load_inputs(runtime.engine, store.id, PROFILE, today, POLICY)
    return {
        row["target_id"]: _days_in(row["clicks"])
        for row in inputs.performance.iter_rows(named=True)
    }


def _settling_on_the_page(runtime: Runtime, store: Store, now: datetime) -> dict[date, Any]:
    frame = ads_over_time(runtime.engine, store.id, (US,), WEEK_1[0], WEEK_2[-1], "day", now=now)
    return dict(zip(frame["period"], frame["settling"], strict=True))


def test_weekly_seven_day_imports_settle_when_read_a_week_later(
    runtime: Runtime, store: Store, tmp_path: Path
) -> None:
    _import_week(runtime, store, tmp_path, WEEK_1, IMPORT_DAYS[0])
    # Read on the first import day: 6, 7 and 8 March are within 3 days of 9 March.
    first_read = IMPORT_DAYS[0]
    assert _counted_by_the_bidder(runtime, store, first_read) == {
        str(KEYWORD_ID): set(WEEK_1[:4])  # 2 to 5 March
    }
    page = _settling_on_the_page(runtime, store, _local_noon(first_read))
    assert {day for day, settling in page.items() if settling} == set(WEEK_1[4:])

    _import_week(runtime, store, tmp_path, WEEK_2, IMPORT_DAYS[1])  # week 1 is not imported again
    second_read = IMPORT_DAYS[1]
    # The days of week 1 that were settling when imported count now; 13 to 15 March settle.
    assert _counted_by_the_bidder(runtime, store, second_read) == {
        str(KEYWORD_ID): set(WEEK_1) | set(WEEK_2[:4])  # 2 to 12 March
    }
    page = _settling_on_the_page(runtime, store, _local_noon(second_read))
    assert {day for day, settling in page.items() if settling} == set(WEEK_2[4:])
    assert {day for day, settling in page.items() if settling is False} == set(WEEK_1 + WEEK_2[:4])


def test_a_file_imported_once_is_final_on_later_reads(
    runtime: Runtime, store: Store, tmp_path: Path
) -> None:
    """Only week 1 imported, never again: read a week later, none of its days is settling."""
    _import_week(runtime, store, tmp_path, WEEK_1, IMPORT_DAYS[0])
    later = IMPORT_DAYS[1]
    assert _counted_by_the_bidder(runtime, store, later) == {str(KEYWORD_ID): set(WEEK_1)}
    page = _settling_on_the_page(runtime, store, _local_noon(later))
    assert {day for day, settling in page.items() if settling is False} == set(WEEK_1)
    assert not any(page.values())


def test_the_ads_tables_store_no_settling_flag(runtime: Runtime) -> None:
    """Nothing stored can decide settling: it depends on the day of the read."""
    inspector = sa.inspect(runtime.engine)
    for table in (t for t in tables.metadata.sorted_tables if t.name.startswith("ads_")):
        names = {column["name"] for column in inspector.get_columns(table.name)}
        assert "is_settling" not in names, table.name

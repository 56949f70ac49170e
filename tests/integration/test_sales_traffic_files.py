"""Sales and Traffic files a person downloaded, through `amzinsight import` with no --type: a file
over several days loads one row per day of its by-date section and leaves out its per-ASIN range
total with a note on the run; WEEK and MONTH files are refused whole; a one-day file still loads
per ASIN; a second import changes nothing; an import does not move the sync's cursor.

Expected figures are computed here from the files with json and Decimal, never from the parser.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from amzinsight.config import get_settings
from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.ingest.sync import plan_tasks
from amzinsight.reports import get_report
from amzinsight.stores import get_store
from tests.integration.test_bad_input import Cli, assert_refused, drop_cli_log_handler

pytestmark = pytest.mark.postgres

FILES = Path(__file__).parents[1] / "fixtures" / "amazon_files"
FOUR_DAYS = FILES / "sales_and_traffic_day_2026-02-11_to_14.json"
WEEKS = FILES / "sales_and_traffic_week_2026-02-08_to_21.json"
MONTHS = FILES / "sales_and_traffic_month_2026-01_to_02.json"
ONE_DAY = Path(__file__).parents[1] / "fixtures" / "sales_and_traffic_2026-03-10.json"
SLUG = "brewlane"

# table column -> (section, Amazon key); money is {amount, currencyCode}
COMPARED = {
    "ordered_product_sales": ("salesByDate", "orderedProductSales"),
    "units_ordered": ("salesByDate", "unitsOrdered"),
    "total_order_items": ("salesByDate", "totalOrderItems"),
    "units_refunded": ("salesByDate", "unitsRefunded"),
    "refund_rate": ("salesByDate", "refundRate"),
    "shipped_product_sales": ("salesByDate", "shippedProductSales"),
    "units_shipped": ("salesByDate", "unitsShipped"),
    "orders_shipped": ("salesByDate", "ordersShipped"),
    "claims_amount": ("salesByDate", "claimsAmount"),
    "page_views": ("trafficByDate", "pageViews"),
    "browser_page_views": ("trafficByDate", "browserPageViews"),
    "mobile_app_page_views": ("trafficByDate", "mobileAppPageViews"),
    "sessions": ("trafficByDate", "sessions"),
    "browser_sessions": ("trafficByDate", "browserSessions"),
    "mobile_app_sessions": ("trafficByDate", "mobileAppSessions"),
    "buy_box_percentage": ("trafficByDate", "buyBoxPercentage"),
    "unit_session_percentage": ("trafficByDate", "unitSessionPercentage"),
}


@pytest.fixture
def cli(
    migrated_database_url: str,
    redis_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Cli]:
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    get_settings.cache_clear()
    run = Cli(capsys, monkeypatch)
    assert run("store", "add", SLUG, "--name", "Brewlane Coffee", "--marketplace", "US").code == 0
    yield run
    drop_cli_log_handler()


def stored(database_url: str, table: sa.Table) -> list[dict[str, Any]]:
    with get_engine(database_url).connect() as connection:
        rows = connection.execute(sa.select(table).order_by(*table.primary_key.columns))
        return [dict(row) for row in rows.mappings()]


def as_number(value: Any) -> Decimal:
    """A JSON figure as the table holds it: money objects by their amount, numbers exactly."""
    if isinstance(value, dict):
        value = value["amount"]
    return Decimal(str(value))


def days_of(path: Path) -> dict[date, dict[str, Decimal]]:
    """The by-date section of a file: per day, the compared figures."""
    document = json.loads(path.read_text())
    return {
        date.fromisoformat(entry["date"]): {
            column: as_number(entry[section][key]) for column, (section, key) in COMPARED.items()
        }
        for entry in document["salesAndTrafficByDate"]
    }


def test_a_file_over_four_days_loads_its_four_days_without_a_type(
    cli: Cli, migrated_database_url: str
) -> None:
    specification = json.loads(FOUR_DAYS.read_text())["reportSpecification"]
    expected = days_of(FOUR_DAYS)
    assert len(expected) == 4

    result = cli("import", SLUG, FOUR_DAYS)

    assert result.code == 0, result.err
    (run,) = stored(migrated_database_url, tables.sync_runs)
    assert (run["report_type"], run["status"], run["source"]) == (
        "sales_traffic",
        "succeeded",
        "upload",
    )
    start = date.fromisoformat(specification["dataStartTime"])
    end = date.fromisoformat(specification["dataEndTime"])
    assert (run["window_start"], run["window_end"]) == (start, end)
    rows = stored(migrated_database_url, tables.sales_traffic_by_date)
    loaded = {
        row["report_date"]: {column: Decimal(row[column]) for column in COMPARED} for row in rows
    }
    assert loaded == expected
    assert {row["marketplace_id"] for row in rows} == set(specification["marketplaceIds"])
    assert {row["currency"] for row in rows} == {"USD"}
    assert sum(day["ordered_product_sales"] for day in loaded.values()) == sum(
        day["ordered_product_sales"] for day in expected.values()
    )


def test_the_per_asin_range_total_is_not_loaded_as_days_and_the_run_says_so(
    cli: Cli, migrated_database_url: str
) -> None:
    specification = json.loads(FOUR_DAYS.read_text())["reportSpecification"]
    note = (
        f"per-ASIN figures of this file cover {specification['dataStartTime']}.."
        f"{specification['dataEndTime']} as one total; they were not loaded as days"
    )

    result = cli("import", SLUG, FOUR_DAYS)

    assert result.code == 0, result.err
    assert stored(migrated_database_url, tables.sales_traffic_by_asin) == []
    (run,) = stored(migrated_database_url, tables.sync_runs)
    assert note in run["notes"]
    assert note in result.out  # the CLI prints the run's notes under its one-line summary


def test_a_second_import_of_the_four_day_file_changes_nothing(
    cli: Cli, migrated_database_url: str
) -> None:
    assert cli("import", SLUG, FOUR_DAYS).code == 0
    before = stored(migrated_database_url, tables.sales_traffic_by_date)

    again = cli("import", SLUG, FOUR_DAYS)

    assert again.code == 0, again.err
    assert "0 inserted or changed" in again.out
    assert stored(migrated_database_url, tables.sales_traffic_by_date) == before
    assert stored(migrated_database_url, tables.sales_traffic_by_asin) == []


@pytest.mark.parametrize(
    ("path", "period"), [(WEEKS, "week"), (MONTHS, "month")], ids=["WEEK", "MONTH"]
)
def test_week_and_month_files_are_refused_in_one_line_with_no_rows(
    cli: Cli, migrated_database_url: str, path: Path, period: str
) -> None:
    granularity = json.loads(path.read_text())["reportSpecification"]["reportOptions"]
    assert granularity["dateGranularity"] == period.upper()

    result = cli("import", SLUG, path)

    assert_refused(
        result,
        f"Sales and Traffic report by {period}",
        "not days",
        "dateGranularity DAY",
    )
    assert stored(migrated_database_url, tables.sales_traffic_by_date) == []
    assert stored(migrated_database_url, tables.sales_traffic_by_asin) == []
    (run,) = stored(migrated_database_url, tables.sync_runs)
    assert (run["report_type"], run["status"]) == ("sales_traffic", "failed")


def test_a_one_day_file_still_loads_per_asin(cli: Cli, migrated_database_url: str) -> None:
    document = json.loads(ONE_DAY.read_text())
    day = date.fromisoformat(document["reportSpecification"]["dataStartTime"])
    expected = {
        entry["childAsin"]: as_number(entry["salesByAsin"]["orderedProductSales"])
        for entry in document["salesAndTrafficByAsin"]
    }

    result = cli("import", SLUG, ONE_DAY)

    assert result.code == 0, result.err
    asins = stored(migrated_database_url, tables.sales_traffic_by_asin)
    assert {row["child_asin"]: row["ordered_product_sales"] for row in asins} == expected
    assert {row["report_date"] for row in asins} == {day}
    (run,) = stored(migrated_database_url, tables.sync_runs)
    assert run["notes"] is None
    assert (run["window_start"], run["window_end"]) == (day, day)
    assert "note:" not in result.out


def test_an_imported_file_does_not_move_the_sync_cursor(
    cli: Cli, migrated_database_url: str
) -> None:
    """The imported days lack their per-ASIN rows: the next sync still asks for each of them."""
    assert cli("import", SLUG, FOUR_DAYS).code == 0
    engine = get_engine(migrated_database_url)
    store = get_store(engine, SLUG)

    tasks = [
        task
        for key in ("sales_traffic", "sales_traffic_history")  # recent days, then the older
        for task in plan_tasks(
            engine,
            store,
            get_report(key),
            initial_days=10,
            now=datetime(2026, 2, 17, 20, tzinfo=UTC),
        )
    ]

    windows = [task.window for task in tasks if task.window is not None]
    planned = {window.start + timedelta(days=n) for window in windows for n in range(window.days)}
    assert {date(2026, 2, day) for day in range(11, 15)} <= planned

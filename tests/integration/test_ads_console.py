"""Amazon Ads console exports (names, no ids) and the API's documents (ids) of one profile: each
day counts once, whichever came first, and the console's rows take Amazon's ids once the API
names their entities. Refusals write nothing and say in one line what the file is.

The console files are written here from a table of figures; expected totals are summed from the
same table (the API fixture's with json and Decimal), never from what the parser returns.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from amzinsight.config import get_settings
from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.reports.ads_names import is_named_id
from tests.integration.test_bad_input import Cli, assert_refused, drop_cli_log_handler

pytestmark = pytest.mark.postgres

API_CAMPAIGNS = Path(__file__).parents[1] / "fixtures" / "ads_sp_campaigns.json"
PROFILE = "3927415508812264"
SLUG = "brewlane"
HEADER = [
    "Date",
    "Portfolio name",
    "Currency",
    "Campaign Name",
    "Impressions",
    "Clicks",
    "Click-Thru Rate (CTR)",
    "Spend",
    "Cost Per Click (CPC)",
    "7 Day Total Orders (#)",
    "Total Advertising Cost of Sales (ACOS) ",
    "Total Return on Advertising Spend (ROAS)",
    "7 Day Total Sales ",
]


def api_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(API_CAMPAIGNS.read_text(), parse_float=Decimal)
    return rows


def console_rows() -> list[dict[str, Any]]:
    """Two days before the API's first day, and that first day again as the API reports it."""
    names = sorted({row["campaignName"] for row in api_rows()})
    history = [
        {"date": day, "campaign": name, "impressions": 1000 + i, "clicks": 10 + i,
         "spend": Decimal("1234.50") + i, "orders": i, "sales": Decimal("99.99") * i}
        for day in ("2026-03-08", "2026-03-09")
        for i, name in enumerate(names)
    ]  # fmt: skip
    overlap = [
        {"date": row["date"], "campaign": row["campaignName"], "impressions": row["impressions"],
         "clicks": row["clicks"], "spend": row["cost"], "orders": row["purchases7d"],
         "sales": row["sales7d"]}
        for row in api_rows()
        if row["date"] == "2026-03-10"
    ]  # fmt: skip
    return history + overlap


def write_console(path: Path, rows: list[dict[str, Any]], currency: str = "USD") -> Path:
    """The US console's way: "Mar 08, 2026", "$1,234.50", "-" for a ratio without sales."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for row in rows:
            day = row["date"]
            shown = f"Mar {day[-2:]}, {day[:4]}"
            writer.writerow(
                [shown, "Not grouped", currency, row["campaign"], f"{row['impressions']:,}",
                 row["clicks"], "1.00%", f"${row['spend']:,.2f}", "$0.50", row["orders"],
                 "-" if not row["sales"] else "10.00%", "-", f"${row['sales']:,.2f}"]
            )  # fmt: skip
    return path


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
    yield Cli(capsys, monkeypatch)
    drop_cli_log_handler()


def campaign_days(database_url: str) -> list[dict[str, Any]]:
    t = tables.ads_campaign_daily
    query = sa.select(t.c.report_date, t.c.campaign_id, t.c.campaign_name, t.c.cost, t.c.sales_7d)
    with get_engine(database_url).connect() as connection:
        rows = connection.execute(query.order_by(t.c.report_date, t.c.campaign_name))
        return [dict(row) for row in rows.mappings()]


def spend_in_metrics(cli: Cli, first: str, last: str) -> tuple[Decimal, Decimal]:
    result = cli("metrics", SLUG, "--from", first, "--to", last, "--json")
    assert result.code == 0, result.err
    (block,) = json.loads(result.out)["marketplaces"]
    return Decimal(block["ads"]["spend"]), Decimal(block["ads"]["sales"])


def expected_spend(console: list[dict[str, Any]]) -> tuple[Decimal, Decimal]:
    """Console days the API does not hold, plus every API day."""
    api_days = {row["date"] for row in api_rows()}
    spend = sum(row["spend"] for row in console if row["date"] not in api_days)
    sales = sum(row["sales"] for row in console if row["date"] not in api_days)
    return (
        spend + sum(row["cost"] for row in api_rows()),
        sales + sum(row["sales7d"] for row in api_rows()),
    )


def test_console_history_then_api_data_counts_each_day_once(
    cli: Cli, migrated_database_url: str, tmp_path: Path
) -> None:
    assert cli("store", "add", SLUG, "--name", "Brewlane", "--marketplace", "US").code == 0
    console = console_rows()
    export = write_console(tmp_path / "Sponsored_Products_Campaign_report.csv", console)

    first = cli("import", SLUG, export, "--profile", PROFILE)
    assert first.code == 0, first.err
    stored = campaign_days(migrated_database_url)
    assert len(stored) == len(console)
    assert all(is_named_id(row["campaign_id"]) for row in stored)  # no API data yet
    assert sum(row["cost"] for row in stored) == sum(row["spend"] for row in console)

    api = cli("import", SLUG, API_CAMPAIGNS, "--profile", PROFILE)
    assert api.code == 0, api.err

    stored = campaign_days(migrated_database_url)
    amazon_ids = {row["campaignName"]: str(row["campaignId"]) for row in api_rows()}
    assert {(row["campaign_name"], row["campaign_id"]) for row in stored} == set(amazon_ids.items())
    days = [(row["report_date"].isoformat(), row["campaign_id"]) for row in stored]
    assert len(days) == len(set(days)), "a campaign day is stored twice"
    assert spend_in_metrics(cli, "2026-03-08", "2026-03-11") == expected_spend(console)

    again = cli("import", SLUG, export, "--profile", PROFILE)  # now matched by name
    assert again.code == 0, again.err
    assert campaign_days(migrated_database_url) == stored


def test_a_console_file_after_api_data_takes_amazons_ids(
    cli: Cli, migrated_database_url: str, tmp_path: Path
) -> None:
    assert cli("store", "add", SLUG, "--name", "Brewlane", "--marketplace", "US").code == 0
    assert cli("import", SLUG, API_CAMPAIGNS, "--profile", PROFILE).code == 0
    console = console_rows()

    result = cli("import", SLUG, write_console(tmp_path / "export.csv", console))

    assert result.code == 0, result.err
    stored = campaign_days(migrated_database_url)
    assert not [row for row in stored if is_named_id(row["campaign_id"])]
    assert spend_in_metrics(cli, "2026-03-08", "2026-03-11") == expected_spend(console)


def test_refused_console_files_write_nothing(
    cli: Cli, migrated_database_url: str, tmp_path: Path
) -> None:
    assert cli("store", "add", SLUG, "--name", "Brewlane", "--marketplace", "US").code == 0
    assert cli("import", SLUG, API_CAMPAIGNS, "--profile", PROFILE).code == 0
    before = campaign_days(migrated_database_url)
    summary = tmp_path / "summary.csv"
    summary.write_text(
        "Start Date,End Date,Currency,Campaign Name,Impressions,Clicks,Spend,7 Day Total Sales \n"
        '"May 01, 2026","May 31, 2026",USD,BL Kettles - SP - Manual KW,100,5,$2.50,$0.00\n'
    )
    brands = tmp_path / "brands.csv"
    brands.write_text(
        "Date,Currency,Campaign Name,Impressions,Clicks,Spend,14 Day Total Sales ,"
        "14 Day New-to-brand Orders (#)\n"
        '"May 01, 2026",USD,BL Brand Video,100,5,$2.50,$0.00,0\n'
    )
    pounds = write_console(tmp_path / "uk.csv", console_rows(), currency="GBP")

    assert_refused(cli("import", SLUG, summary), "Campaign report", "choose Time unit: Daily")
    assert_refused(cli("import", SLUG, brands), "Sponsored Brands or Sponsored Display report")
    assert_refused(cli("import", SLUG, pounds), "amounts are in GBP", "is in USD")
    assert campaign_days(migrated_database_url) == before


MAY_TARGETING = (
    Path(__file__).parents[1]
    / "fixtures"
    / "amazon_files"
    / "console"
    / "us_targeting_may_2026.csv"
)


def api_targeting(path: Path, days: list[str]) -> Path:
    """spTargeting rows (Amazon's ids) for the May file's keywords, on `days`."""
    with MAY_TARGETING.open(encoding="utf-8-sig", newline="") as handle:
        keywords = {
            (row["Campaign Name"], row["Ad Group Name"], row["Targeting"], row["Match Type"])
            for row in csv.DictReader(handle)
        }
    campaigns = {name: 7100 + i for i, name in enumerate(sorted({k[0] for k in keywords}))}
    groups = {key: 7200 + i for i, key in enumerate(sorted({k[:2] for k in keywords}))}
    rows = [
        {"date": day, "campaignId": campaigns[campaign], "adGroupId": groups[(campaign, group)],
         "keywordId": 7300 + i, "campaignName": campaign, "adGroupName": group, "keyword": text,
         "targeting": text, "matchType": match, "keywordType": match, "impressions": 100,
         "clicks": 10 + i, "cost": 12.34 + i, "sales7d": 50.0, "purchases7d": 1,
         "campaignBudgetCurrencyCode": "USD"}
        for day in days
        for i, (campaign, group, text, match) in enumerate(sorted(keywords))
    ]  # fmt: skip
    path.write_text(json.dumps(rows))
    return path


def target_days(database_url: str) -> list[dict[str, Any]]:
    t = tables.ads_target_daily
    query = sa.select(t.c.report_date, t.c.target_id, t.c.campaign_id, t.c.ad_group_id, t.c.cost)
    with get_engine(database_url).connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def test_console_targets_take_amazons_ids_when_the_api_reports_them(
    cli: Cli, migrated_database_url: str, tmp_path: Path
) -> None:
    assert cli("store", "add", SLUG, "--name", "Brewlane", "--marketplace", "US").code == 0
    assert cli("import", SLUG, MAY_TARGETING, "--profile", PROFILE).code == 0
    may = target_days(migrated_database_url)
    assert may and all(is_named_id(row["target_id"]) for row in may)
    api_days = ["2026-05-31", "2026-06-01", "2026-06-02"]
    api = api_targeting(tmp_path / "targeting.json", api_days)
    api_cost = sum(Decimal(str(row["cost"])) for row in json.loads(api.read_text()))
    console_cost = sum(row["cost"] for row in may if row["report_date"].isoformat() not in api_days)

    assert cli("import", SLUG, api, "--profile", PROFILE).code == 0

    stored = target_days(migrated_database_url)
    assert not [
        row
        for row in stored
        if is_named_id(row["target_id"])
        or is_named_id(row["campaign_id"])
        or is_named_id(row["ad_group_id"])
    ]
    assert len({row["target_id"] for row in stored}) == 2  # the May file's two keywords
    keys = [(row["report_date"], row["target_id"]) for row in stored]
    assert len(keys) == len(set(keys))
    assert sum(row["cost"] for row in stored) == console_cost + api_cost

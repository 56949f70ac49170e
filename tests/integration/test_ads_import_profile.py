"""An Amazon Ads file imported with --profile for a store that has no Ads profile yet: the profile
is registered for the store's marketplace, so `amzinsight metrics` (and the pages and `bids`,
which read Ads rows through the same registered profiles) see the rows; where the marketplace is
ambiguous or the store already has another profile there, the import is refused in one line and
writes nothing.

Expected figures are computed here from the fixture with json and Decimal.
"""

from __future__ import annotations

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
from amzinsight.marketplaces import marketplace_for
from tests.integration.test_bad_input import Cli, assert_refused, drop_cli_log_handler

pytestmark = pytest.mark.postgres

CAMPAIGNS = Path(__file__).parents[1] / "fixtures" / "ads_sp_campaigns.json"
PROFILE = "3927415508812264"
SLUG = "brewlane"
RANGE = ["--from", "2026-03-10", "--to", "2026-03-11"]
ADS_TABLES = [table for table in tables.metadata.sorted_tables if table.name.startswith("ads_")]


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


def add_store(cli: Cli, slug: str, *countries: str) -> None:
    markets = [arg for country in countries for arg in ("--marketplace", country)]
    assert cli("store", "add", slug, "--name", slug.title(), *markets).code == 0


def stored(database_url: str, table: sa.Table) -> list[dict[str, Any]]:
    with get_engine(database_url).connect() as connection:
        rows = connection.execute(sa.select(table).order_by(*table.primary_key.columns))
        return [dict(row) for row in rows.mappings()]


def file_totals() -> dict[str, Any]:
    rows = json.loads(CAMPAIGNS.read_text())
    return {
        "spend": sum(Decimal(str(row["cost"])) for row in rows),
        "sales": sum(Decimal(str(row["sales7d"])) for row in rows),
        "clicks": sum(int(row["clicks"]) for row in rows),
        "impressions": sum(int(row["impressions"]) for row in rows),
    }


def ads_metrics(cli: Cli, slug: str, country: str) -> dict[str, Any]:
    result = cli("metrics", slug, *RANGE, "--json")
    assert result.code == 0, result.err
    (block,) = [
        block
        for block in json.loads(result.out)["marketplaces"]
        if block["country_code"] == country
    ]
    ads: dict[str, Any] = block["ads"]
    return ads


def test_ads_rows_imported_with_a_new_profile_show_up_in_metrics(
    cli: Cli, migrated_database_url: str
) -> None:
    add_store(cli, SLUG, "US")
    expected = file_totals()

    result = cli("import", SLUG, CAMPAIGNS, "--profile", PROFILE)

    assert result.code == 0, result.err
    (profile,) = stored(migrated_database_url, tables.ads_profiles)
    us = marketplace_for("US")
    assert (profile["profile_id"], profile["marketplace_id"]) == (PROFILE, us.marketplace_id)
    ads = ads_metrics(cli, SLUG, "US")
    assert Decimal(ads["spend"]) == expected["spend"]
    assert Decimal(ads["sales"]) == expected["sales"]
    assert (ads["clicks"], ads["impressions"]) == (expected["clicks"], expected["impressions"])

    again = cli("import", SLUG, CAMPAIGNS, "--profile", PROFILE)
    assert again.code == 0, again.err
    assert "0 inserted or changed" in again.out
    assert stored(migrated_database_url, tables.ads_profiles) == [profile]


def test_a_store_in_two_marketplaces_takes_the_named_one(
    cli: Cli, migrated_database_url: str
) -> None:
    add_store(cli, SLUG, "US", "CA")

    result = cli("import", SLUG, CAMPAIGNS, "--profile", PROFILE, "--marketplace", "CA")

    assert result.code == 0, result.err
    (profile,) = stored(migrated_database_url, tables.ads_profiles)
    assert profile["marketplace_id"] == marketplace_for("CA").marketplace_id
    assert Decimal(ads_metrics(cli, SLUG, "CA")["spend"]) == file_totals()["spend"]
    assert Decimal(ads_metrics(cli, SLUG, "US")["spend"]) == 0


def test_an_ambiguous_or_conflicting_profile_is_refused_and_writes_nothing(
    cli: Cli, migrated_database_url: str
) -> None:
    add_store(cli, SLUG, "US", "CA")
    add_store(cli, "other", "US")
    assert cli("import", "other", CAMPAIGNS, "--profile", "111").code == 0
    assert cli("import", SLUG, CAMPAIGNS, "--profile", "222", "--marketplace", "US").code == 0
    before = {table.name: stored(migrated_database_url, table) for table in ADS_TABLES}

    refusals = {
        "no marketplace named": (
            [SLUG, CAMPAIGNS, "--profile", PROFILE],
            ["several marketplaces", "--marketplace"],
        ),
        "the store's profile for another marketplace": (
            [SLUG, CAMPAIGNS, "--profile", "222", "--marketplace", "CA"],
            ["profile 222 is brewlane's profile for ATVPDKIKX0DER, not CA"],
        ),
        "not the store's profile for that marketplace": (
            ["other", CAMPAIGNS, "--profile", PROFILE],
            ["Ads profile for ATVPDKIKX0DER is 111", "--profile 111"],
        ),
    }
    for arguments, phrases in refusals.values():
        assert_refused(cli("import", *arguments), *phrases)

    assert {table.name: stored(migrated_database_url, table) for table in ADS_TABLES} == before

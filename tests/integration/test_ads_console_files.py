"""Every Amazon Ads console export of the fixture corpus (tests/fixtures/amazon_files/console/, its
README and manifest.json name each file's layout and source) through `amzinsight import` with no
--type: the kind is detected, the stored figures equal the file's own totals, a second import
changes nothing, and the refusals write nothing.

The file's totals are summed here from its cells with the manifest's conventions (separators,
currency sign, spellings of "nothing"), by csv and openpyxl: never from what the parser returns.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from amzinsight.config import get_settings
from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.reports.ads_console import KIND_TITLES
from tests.integration.test_bad_input import Cli, assert_refused, drop_cli_log_handler

pytestmark = pytest.mark.postgres

CORPUS = Path(__file__).parents[1] / "fixtures" / "amazon_files" / "console"
FILES: list[dict[str, Any]] = json.loads((CORPUS / "manifest.json").read_text())["files"]
PROFILE = "4100200300400500"
TABLE_OF = {
    "search_term": tables.ads_search_term_daily,
    "targeting": tables.ads_target_daily,
    "campaign": tables.ads_campaign_daily,
    "placement": tables.ads_campaign_daily,
    "advertised_product": tables.ads_advertised_product_daily,
    "purchased_product": tables.ads_purchased_product_daily,
}
REFUSALS = {
    "us_search_term_summary.csv": ["Search term report", "choose Time unit: Daily"],
    "us_sponsored_brands_campaign.csv": [
        "Sponsored Brands or Sponsored Display report",
        "Cost type",
    ],
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
    yield Cli(capsys, monkeypatch)
    drop_cli_log_handler()


def cells(entry: dict[str, Any]) -> list[dict[str, Any]]:
    path = CORPUS / entry["file"]
    if entry["format"] == "csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))
    sheet = openpyxl.load_workbook(path, read_only=True, data_only=True).worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [str(name) for name in next(rows)]
    return [dict(zip(header, row, strict=False)) for row in rows if any(v is not None for v in row)]


def number(entry: dict[str, Any], value: Any) -> Decimal:
    """A cell as the manifest says this file writes numbers."""
    if value is None or isinstance(value, (date, datetime)):
        return Decimal(0)
    if not isinstance(value, str):
        return Decimal(str(value))
    text = value.strip()
    if text in entry["no_value_spellings"]:
        return Decimal(0)
    for sign in filter(None, (entry["currency_symbol"], "%")):
        text = text.replace(sign, "")
    if entry["thousands_separator"]:
        text = text.replace(entry["thousands_separator"], "")
    if entry["decimal_separator"] == ",":
        text = text.replace(",", ".")
    return Decimal(text.strip())


def file_totals(entry: dict[str, Any]) -> dict[str, Decimal]:
    rows = cells(entry)
    return {
        measure: sum((number(entry, row[column]) for row in rows), Decimal(0))
        for measure, column in entry["columns"].items()
        if column is not None
    }


def stored_totals(database_url: str, entry: dict[str, Any]) -> dict[str, Decimal]:
    table = TABLE_OF[entry["kind"]]
    window = f"{entry['attribution_days']}d"
    if entry["kind"] == "purchased_product":
        columns = {
            "sales": f"sales_other_sku_{window}",
            "orders": f"purchases_other_sku_{window}",
            "units": f"units_sold_other_sku_{window}",
        }
    else:
        columns = {
            "impressions": "impressions",
            "clicks": "clicks",
            "spend": "cost",
            "sales": f"sales_{window}",
            "orders": f"purchases_{window}",
            "units": f"units_sold_clicks_{window}",
        }
    wanted = {m: c for m, c in columns.items() if entry["columns"].get(m) is not None}
    query = sa.select(*[sa.func.coalesce(sa.func.sum(table.c[c]), 0) for c in wanted.values()])
    with get_engine(database_url).connect() as connection:
        found = connection.execute(query).one()
    return {measure: Decimal(str(value)) for measure, value in zip(wanted, found, strict=True)}


def stored_days(database_url: str, entry: dict[str, Any]) -> list[str]:
    table = TABLE_OF[entry["kind"]]
    query = sa.select(table.c.report_date).distinct().order_by(table.c.report_date)
    with get_engine(database_url).connect() as connection:
        return [day.isoformat() for day in connection.execute(query).scalars()]


@pytest.mark.parametrize(
    "entry",
    [entry for entry in FILES if entry["expected_refusal"] is None],
    ids=lambda entry: entry["file"],
)
def test_each_console_export_imports_and_reconciles(
    cli: Cli, migrated_database_url: str, entry: dict[str, Any]
) -> None:
    slug = "shop"
    country = {"UK": "GB"}.get(entry["marketplace"], entry["marketplace"])
    assert cli("store", "add", slug, "--name", "Shop", "--marketplace", country).code == 0
    path = CORPUS / entry["file"]

    first = cli("import", slug, path, "--profile", PROFILE)

    assert first.code == 0, first.err
    assert f"note: Read as an Amazon Ads console {KIND_TITLES[entry['kind']]}" in first.out
    expected = file_totals(entry)
    assert stored_totals(migrated_database_url, entry) == expected
    assert expected == {
        measure: Decimal(str(total))
        for measure, total in entry["totals"].items()
        if total is not None
    }  # the generator's own sums agree with the cells: the corpus is self-consistent
    assert stored_days(migrated_database_url, entry) == entry["dates"]

    again = cli("import", slug, path, "--profile", PROFILE)
    assert again.code == 0, again.err
    assert "0 inserted or changed" in again.out
    assert stored_totals(migrated_database_url, entry) == expected


@pytest.mark.parametrize("name", list(REFUSALS))
def test_console_files_that_cannot_be_used_are_refused(
    cli: Cli, migrated_database_url: str, name: str
) -> None:
    assert cli("store", "add", "shop", "--name", "Shop", "--marketplace", "US").code == 0
    entry = next(entry for entry in FILES if entry["file"] == name)
    assert entry["expected_refusal"]

    assert_refused(cli("import", "shop", CORPUS / name, "--profile", PROFILE), *REFUSALS[name])

    for table in set(TABLE_OF.values()):
        with get_engine(migrated_database_url).connect() as connection:
            assert connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0

"""The older settlement "Flat File" (GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE) through `amzinsight
import` with no --type: its amounts reconcile to the deposit, a second import changes nothing, the
same settlement in both layouts is one settlement, and a malformed file is refused whole.

Expected figures are computed here from the files with csv and Decimal, never from the parser.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from amzinsight.config import get_settings
from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.rules.settlements import CATEGORY_RULES, OTHER
from tests.integration.test_bad_input import Cli, assert_refused, drop_cli_log_handler

pytestmark = pytest.mark.postgres

FILES = Path(__file__).parents[1] / "fixtures" / "amazon_files"
FLAT_36 = FILES / "settlement_flat_file.tsv"
FLAT_33 = FILES / "settlement_flat_file_33_columns.tsv"
SAME_V2 = FILES / "settlement_v2_same_settlement.tsv"
"""The V2 file of the settlement FLAT_36 holds (27519934021)."""
SLUG = "brewlane"
REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE"


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


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def amounts_of(row: dict[str, str]) -> list[Decimal]:
    """Every amount cell of a flat-file detail row that holds a number."""
    return [
        Decimal(value)
        for name, value in row.items()
        if name.endswith("-amount") and name != "total-amount" and value.strip()
    ]


def stored(database_url: str, table: sa.Table) -> list[dict[str, Any]]:
    with get_engine(database_url).connect() as connection:
        rows = connection.execute(sa.select(table).order_by(*table.primary_key.columns))
        return [dict(row) for row in rows.mappings()]


def category_of(line: dict[str, Any]) -> str:
    """The Finance category, read from CATEGORY_RULES with ILIKE done by hand."""

    def like(pattern: str | None, value: str | None) -> bool:
        if pattern is None:
            return True
        regex = "".join(".*" if char == "%" else re.escape(char) for char in pattern)
        return value is not None and re.fullmatch(regex, value, re.IGNORECASE) is not None

    for rule in CATEGORY_RULES:
        if (
            like(rule.transaction_type, line["transaction_type"])
            and like(rule.amount_type, line["amount_type"])
            and like(rule.amount_description, line["amount_description"])
        ):
            return rule.category
    return OTHER


def by_category(lines: list[dict[str, Any]]) -> Counter[str]:
    totals: Counter[str] = Counter()
    for line in lines:
        totals[category_of(line)] += line["amount"]
    return totals


@pytest.mark.parametrize("path", [FLAT_36, FLAT_33], ids=["36 columns", "33 columns"])
def test_a_flat_file_imports_without_a_type_and_adds_up_to_its_deposit(
    cli: Cli, migrated_database_url: str, path: Path
) -> None:
    summary, *details = read_tsv(path)
    amounts = [amount for row in details for amount in amounts_of(row)]

    result = cli("import", SLUG, path)

    assert result.code == 0, result.err
    (run,) = stored(migrated_database_url, tables.sync_runs)
    assert (run["report_type"], run["status"]) == ("settlement_flat_file", "succeeded")
    (settlement,) = stored(migrated_database_url, tables.settlements)
    lines = stored(migrated_database_url, tables.settlement_lines)
    assert settlement["settlement_id"] == summary["settlement-id"]
    assert settlement["total_amount"] == Decimal(summary["total-amount"]) == sum(amounts)
    assert settlement["lines_total"] == sum(line["amount"] for line in lines) == sum(amounts)
    assert settlement["line_count"] == len(lines) == len(amounts)
    assert sorted(line["line_no"] for line in lines) == list(range(1, len(amounts) + 1))
    assert settlement["currency"] == summary["currency"] == "USD"
    assert all(line["posted_at"] is not None and line["posted_date"] for line in lines)
    kept = {name: stored(migrated_database_url, table) for name, table in _data_tables()}

    again = cli("import", SLUG, path)

    assert again.code == 0, again.err
    assert {name: stored(migrated_database_url, t) for name, t in _data_tables()} == kept


def _data_tables() -> list[tuple[str, sa.Table]]:
    return [("settlements", tables.settlements), ("settlement_lines", tables.settlement_lines)]


@pytest.mark.parametrize(
    "order", [(SAME_V2, FLAT_36), (FLAT_36, SAME_V2)], ids=["v2 first", "flat first"]
)
def test_one_settlement_in_both_layouts_is_one_settlement(
    cli: Cli, migrated_database_url: str, order: tuple[Path, Path]
) -> None:
    v2_summary, *v2_details = read_tsv(SAME_V2)
    flat_summary, *flat_details = read_tsv(FLAT_36)
    assert v2_summary["settlement-id"] == flat_summary["settlement-id"]
    v2_total = sum(Decimal(row["amount"]) for row in v2_details)
    flat_count = sum(len(amounts_of(row)) for row in flat_details)
    assert flat_count != len(v2_details)  # so a line the first load left behind would show
    v2_categories = by_category(
        [
            {
                "transaction_type": row["transaction-type"],
                "amount_type": row["amount-type"],
                "amount_description": row["amount-description"],
                "amount": Decimal(row["amount"]),
            }
            for row in v2_details
        ]
    )

    for path in order:
        result = cli("import", SLUG, path)
        assert result.code == 0, result.err

    (settlement,) = stored(migrated_database_url, tables.settlements)
    lines = stored(migrated_database_url, tables.settlement_lines)
    last_count = len(v2_details) if order[-1] == SAME_V2 else flat_count
    assert len(lines) == settlement["line_count"] == last_count
    assert sorted(line["line_no"] for line in lines) == list(range(1, last_count + 1))
    assert sum(line["amount"] for line in lines) == settlement["lines_total"] == v2_total
    assert settlement["total_amount"] == Decimal(v2_summary["total-amount"]) == v2_total
    # Finance sums the flat file's lines into the same categories as the V2 file's.
    assert {k: v for k, v in by_category(lines).items() if v} == {
        k: v for k, v in v2_categories.items() if v
    }


def _truncated(tmp_path: Path) -> Path:
    text = FLAT_36.read_text(encoding="utf-8").rstrip("\n")
    cut = tmp_path / "settlement_cut.tsv"
    cut.write_text(text[: text.rindex("\t") - 20], encoding="utf-8")
    return cut


def _non_numeric(tmp_path: Path) -> Path:
    text = FLAT_36.read_text(encoding="utf-8")
    bad = tmp_path / "settlement_bad_amount.tsv"
    bad.write_text(text.replace("\t39.99\t", "\t39.9O\t", 1), encoding="utf-8")
    return bad


@pytest.mark.parametrize(
    ("make", "phrase"),
    [(_truncated, "cut short"), (_non_numeric, "price-amount '39.9O' is not a number")],
    ids=["truncated", "non-numeric amount"],
)
def test_a_malformed_flat_file_is_refused_and_loads_nothing(
    cli: Cli, migrated_database_url: str, tmp_path: Path, make: Any, phrase: str
) -> None:
    assert cli("import", SLUG, FLAT_33).code == 0
    before = {name: stored(migrated_database_url, table) for name, table in _data_tables()}

    result = cli("import", SLUG, make(tmp_path))

    assert_refused(result, REPORT_TYPE, phrase)
    assert {name: stored(migrated_database_url, t) for name, t in _data_tables()} == before

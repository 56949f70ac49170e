"""Listings downloaded in the seller's language and encoding: French and German headers in
windows-1252, Japanese in Shift_JIS (cp932), Italian in UTF-8 with a byte-order mark.

Each file is imported without --type; the values expected are read from the file here, decoded
with the encoding it was written in and split with csv, never taken from the parser. The exact
strings "Piña", "Grün" and "保温" must arrive in the database as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from amzinsight.config import Settings, get_settings
from amzinsight.db import tables
from amzinsight.ingest.imports import import_file
from amzinsight.runtime import Runtime, build_runtime
from amzinsight.stores import Store, add_store
from tests.integration.test_bad_input import Cli, assert_refused, drop_cli_log_handler

pytestmark = pytest.mark.postgres

FILES = Path(__file__).parents[1] / "fixtures" / "amazon_files"
DE, FR, IT, JP = "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4", "A1VC38T7YXB528"


def eu_decimal(cell: str) -> Decimal:
    return Decimal(cell.replace(".", "").replace(",", "."))


def jp_decimal(cell: str) -> Decimal:
    return Decimal(cell.replace(",", ""))


def day_of(cell: str, fmt: str) -> date:
    """The date at the start of the cell (the file's local date; its zone name is ignored)."""
    return datetime.strptime(cell.split(" ")[0], fmt).replace(tzinfo=UTC).date()


def first_date(fmt: str) -> Callable[[str], date]:
    return lambda cell: day_of(cell, fmt)


@dataclass(frozen=True)
class Localised:
    """A fixture and how a person reads it: its encoding, its column names, its number forms."""

    name: str
    encoding: str
    encoding_name: str | None  # what the run's note names; None for UTF-8 (no note)
    marketplace: str
    currency: str
    columns: dict[str, str]  # our field -> the file's header
    price: Callable[[str], Decimal]
    open_date: Callable[[str], date]
    strings: tuple[str, ...]


COMMON = ("sku", "item_name", "listing_id", "price", "quantity", "open_date", "asin", "status")
CASES = [
    Localised(
        "listings_fr_windows1252.tsv",
        "cp1252",
        "windows-1252",
        FR,
        "EUR",
        dict(
            zip(
                COMMON,
                [
                    *("sku-vendeur", "nom-produit", "id-offre", "prix", "quantité"),
                    *("date-ouverture", "asin1", "état"),
                ],
                strict=True,
            )
        ),
        eu_decimal,
        # France writes slash dates day-first ("09/06/25" is 9 June); the file mixes both forms.
        lambda cell: first_date("%d/%m/%y" if "/" in cell else "%d.%m.%Y")(cell),
        ("Piña", "Grün"),
    ),
    Localised(
        "listings_de_windows1252.tsv",
        "cp1252",
        "windows-1252",
        DE,
        "EUR",
        dict(
            zip(
                COMMON,
                [
                    *("Händler-SKU", "Artikelbezeichnung", "Angebotsnummer", "Preis", "Menge"),
                    *("Erstellungsdatum", "asin1", "Status"),
                ],
                strict=True,
            )
        ),
        eu_decimal,
        first_date("%d.%m.%Y"),
        ("Piña", "Grün"),
    ),
    Localised(
        "listings_jp_cp932.tsv",
        "cp932",
        "Shift_JIS (cp932)",
        JP,
        "JPY",
        dict(
            zip(
                COMMON,
                ["出品者SKU", "商品名", "出品ID", "価格", "数量", "出品日", "asin1", "ステータス"],
                strict=True,
            )
        ),
        jp_decimal,
        first_date("%Y/%m/%d"),
        ("保温",),
    ),
    Localised(
        "listings_it_utf8_bom.tsv",
        "utf-8-sig",
        None,
        IT,
        "EUR",
        dict(
            zip(
                COMMON,
                [
                    *("SKU venditore", "Nome dell'articolo", "Numero offerta", "Prezzo"),
                    *("Quantità", "Data di creazione", "ASIN 1", "stato"),
                ],
                strict=True,
            )
        ),
        eu_decimal,
        # Italy writes slash dates day-first; the file also holds an ISO date.
        lambda cell: date.fromisoformat(cell[:10]) if cell[4] == "-" else day_of(cell, "%d/%m/%Y"),
        ("Piña", "Grün", "保温"),
    ),
]


@pytest.fixture
def runtime(migrated_database_url: str, tmp_path: Path) -> Runtime:
    return build_runtime(Settings(database_url=migrated_database_url, data_dir=tmp_path / "data"))


def store_for(runtime: Runtime, marketplace: str) -> Store:
    if marketplace == JP:
        return add_store(runtime.engine, slug="tokyo", name="Tokyo shop", country_codes=["JP"])
    return add_store(
        runtime.engine, slug="europe", name="Europe shop", country_codes=["DE", "FR", "IT"]
    )


def listings(runtime: Runtime) -> list[dict[str, Any]]:
    with runtime.engine.connect() as connection:
        rows = connection.execute(sa.select(tables.listings).order_by(tables.listings.c.sku))
        return [dict(row) for row in rows.mappings()]


def the_run(runtime: Runtime, run_id: int) -> dict[str, Any]:
    with runtime.engine.connect() as connection:
        row = connection.execute(sa.select(tables.sync_runs).where(tables.sync_runs.c.id == run_id))
        return dict(row.mappings().one())


def read_as_a_person(case: Localised) -> list[dict[str, str]]:
    text = (FILES / case.name).read_bytes().decode(case.encoding)
    return list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_localised_listings_import_with_their_own_values(runtime: Runtime, case: Localised) -> None:
    store = store_for(runtime, case.marketplace)
    path = FILES / case.name

    outcome = import_file(runtime.engine, runtime.archive, store, path, None, case.marketplace)

    run = the_run(runtime, outcome.run_id)
    assert (run["status"], run["report_type"], run["marketplace_id"]) == (
        "succeeded",
        "listings",
        case.marketplace,
    )
    if case.encoding_name is None:
        assert not run["notes"]
    else:
        assert f"read as {case.encoding_name}" in run["notes"]
        assert f"read as {case.encoding_name}" in " ".join(outcome.notes)
    expected = read_as_a_person(case)
    loaded = {row["sku"]: row for row in listings(runtime)}
    assert len(loaded) == len(expected) == outcome.rows_parsed
    columns = case.columns
    for line in expected:
        row = loaded[line[columns["sku"]]]
        assert row["marketplace_id"] == case.marketplace and row["currency"] == case.currency
        assert row["item_name"] == line[columns["item_name"]]
        assert row["listing_id"] == line[columns["listing_id"]]
        assert row["asin"] == line[columns["asin"]]
        assert row["status"] == line[columns["status"]]
        assert row["price"] == case.price(line[columns["price"]])
        quantity = line[columns["quantity"]]
        assert row["quantity"] == (int(quantity) if quantity else None)
        assert row["open_date"] == case.open_date(line[columns["open_date"]])
    names = " ".join(row["item_name"] for row in loaded.values())
    for exact in case.strings:
        assert exact in names
    assert sum((row["price"] for row in loaded.values()), Decimal(0)) == sum(
        (case.price(line[columns["price"]]) for line in expected), Decimal(0)
    )

    before = listings(runtime)
    again = import_file(runtime.engine, runtime.archive, store, path, None, case.marketplace)
    assert again.rows_upserted == 0
    assert listings(runtime) == before


def test_a_japanese_file_in_a_european_store_is_read_as_japanese(runtime: Runtime) -> None:
    """The marketplace only breaks ties: a cp932 file never loads as windows-1252 mojibake."""
    store = store_for(runtime, DE)
    import_file(runtime.engine, runtime.archive, store, FILES / "listings_jp_cp932.tsv", None, DE)
    names = [row["item_name"] for row in listings(runtime)]
    assert any("保温" in name for name in names)
    assert not any("•Û‰·" in name for name in names)


def test_an_undecodable_file_is_refused_in_one_line_and_writes_no_rows(
    migrated_database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AMZ_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    cli = Cli(capsys, monkeypatch)
    try:
        assert cli("store", "add", "europe", "--name", "Europe", "--marketplace", "FR").code == 0
        result = cli("import", "europe", FILES / "listings_fr_undecodable.tsv")
        last = assert_refused(result, "not valid UTF-8 text, nor windows-1252 or Shift_JIS")
        assert last.count(".") <= 2 and "\n" not in last
    finally:
        drop_cli_log_handler()
        get_settings.cache_clear()
    runtime = build_runtime(Settings(database_url=migrated_database_url, data_dir=tmp_path / "d"))
    assert listings(runtime) == []

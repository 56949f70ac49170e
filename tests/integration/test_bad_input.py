"""Bad input to every command and upload: one clear line, a non-zero exit, no traceback, and the
database (every table, bookkeeping included), the raw archive and the unit costs unchanged.

Commands run in-process through `launcher.cli.main`, as the console script runs them: argparse
mistakes end in SystemExit(2) with its usage line, our own refusals in exit 2 and one
`amzinsight: ...` sentence. Anything that escapes `main` is what the console script would show
as a traceback, so the runner turns it into one and the assertions fail on it.
"""

from __future__ import annotations

import io
import logging
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from amzinsight.config import get_settings
from amzinsight.db import tables
from amzinsight.db.engine import get_engine
from amzinsight.edits.unit_costs import import_cogs_csv, save_cogs
from amzinsight.errors import ConfigError
from amzinsight.stores import get_store
from launcher.cli import main as cli_main

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

FIXTURES = Path(__file__).parents[1] / "fixtures"
SLUG = "brewlane"
RANGE = ["--from", "2026-03-01", "--to", "2026-03-31"]


@dataclass
class Result:
    code: int
    out: str
    err: str


class Cli:
    """`launcher.cli.main` in this process, with what it printed."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self.capsys = capsys
        self.monkeypatch = monkeypatch

    def __call__(self, *args: str | Path, stdin: str | None = None) -> Result:
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        drop_cli_log_handler()  # so the command logs to this call's stderr, not a closed one
        self.capsys.readouterr()
        escaped = ""
        try:
            code = cli_main([str(arg) for arg in args])
        except SystemExit as exit:  # argparse
            code = exit.code if isinstance(exit.code, int) else 1
        except BaseException:  # what the console script would print
            code = 1
            escaped = traceback.format_exc()
        out, err = self.capsys.readouterr()
        return Result(code, out, err + escaped)


@pytest.fixture
def cli(
    migrated_database_url: str,
    redis_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Cli]:
    """A store with a month of orders and a settlement, so "nothing changed" has rows to keep."""
    monkeypatch.setenv("AMZ_DATABASE_URL", migrated_database_url)
    monkeypatch.setenv("AMZ_REDIS_URL", redis_url)
    get_settings.cache_clear()
    run = Cli(capsys, monkeypatch)
    assert run("store", "add", SLUG, "--name", "Brewlane Coffee", "--marketplace", "US").code == 0
    for name in ("all_orders.tsv", "settlement_v2.tsv", "merchant_listings.tsv"):
        loaded = run("import", SLUG, FIXTURES / name)
        assert loaded.code == 0, loaded.err
    yield run
    drop_cli_log_handler()


def drop_cli_log_handler() -> None:
    """The CLI puts a log handler on the stderr of its time; capsys closes that stream later."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_amzinsight", False)]:
        root.removeHandler(handler)


def everything(database_url: str) -> dict[str, Any]:
    """Every table's rows and the archived files: what a refused command must leave alone."""
    state: dict[str, Any] = {}
    with get_engine(database_url).connect() as connection:
        for table in tables.metadata.sorted_tables:
            order = list(table.primary_key.columns)
            rows = connection.execute(sa.select(table).order_by(*order)).mappings()
            state[table.name] = [dict(row) for row in rows]
    archive = get_settings().data_dir / "archive"
    state["archive"] = sorted(str(p.relative_to(archive)) for p in archive.rglob("*"))
    return state


def assert_refused(result: Result, *phrases: str) -> str:
    """Exit 2, nothing on stdout that looks like success, no traceback, and a last stderr line
    that is one sentence: `amzinsight: ...` (ours) or `amzinsight ...: error: ...` (argparse)."""
    assert "Traceback" not in result.err and "Traceback" not in result.out, result.err
    assert result.code == 2, (result.code, result.out, result.err)
    last = result.err.strip().splitlines()[-1]
    assert last.startswith("amzinsight"), result.err
    assert "Error:" not in last, last
    for phrase in phrases:
        assert phrase in last, (phrase, last)
    return last


# --- every command ------------------------------------------------------------------------------

REFUSED = {
    "store add: bad slug": (
        ["store", "add", "Bad Slug!", "--name", "X", "--marketplace", "US"],
        ["Store slug 'Bad Slug!' is not valid"],
    ),
    "store add: slug taken": (
        ["store", "add", SLUG, "--name", "X", "--marketplace", "US"],
        ["A store named 'brewlane' is already registered"],
    ),
    "store add: unknown marketplace": (
        ["store", "add", "acme", "--name", "X", "--marketplace", "ZZ"],
        ["Unknown marketplace 'ZZ'"],
    ),
    "store add: two regions": (
        ["store", "add", "acme", "--name", "X", "--marketplace", "US", "--marketplace", "DE"],
        ["one seller account in one region"],
    ),
    "store add: no marketplace": (
        ["store", "add", "acme", "--name", "X"],
        ["required: --marketplace"],
    ),
    "store add: unknown region": (
        ["store", "add", "acme", "--name", "X", "--marketplace", "US", "--region", "mars"],
        ["invalid choice: 'mars'"],
    ),
    "store list: --json=yes": (["store", "list", "--json=yes"], ["--json", "'yes'"]),
    "sync: unknown store": (["sync", "nosuch"], ["No store named 'nosuch'"]),
    "sync: unknown report": (
        ["sync", SLUG, "--report", "nosuch"],
        ["Unknown report type 'nosuch'"],
    ),
    "sync: bad date": (["sync", SLUG, "--from", "March"], ["'March' is not a date"]),
    "import: unknown store": (
        ["import", "nosuch", str(FIXTURES / "all_orders.tsv")],
        ["No store named 'nosuch'"],
    ),
    "import: missing file": (["import", SLUG, "/nowhere/missing.tsv"], ["is not a file"]),
    "import: a folder": (["import", SLUG, str(FIXTURES)], ["is not a file"]),
    "import: unknown type": (
        ["import", SLUG, str(FIXTURES / "all_orders.tsv"), "--type", "nosuch"],
        ["Unknown report type 'nosuch'"],
    ),
    "import: marketplace not the store's": (
        ["import", SLUG, str(FIXTURES / "all_orders.tsv"), "--marketplace", "DE"],
        ["Store brewlane has no marketplace 'DE'"],
    ),
    "import: ads file without a profile": (
        ["import", SLUG, str(FIXTURES / "all_orders.tsv"), "--type", "sp_campaigns"],
        ["no Amazon Ads profile", "--profile"],
    ),
    "replay: unknown store": (["replay", "nosuch"], ["No store named 'nosuch'"]),
    "replay: unknown report": (
        ["replay", SLUG, "--report", "nosuch"],
        ["Unknown report type 'nosuch'"],
    ),
    "metrics: unknown store": (["metrics", "nosuch", *RANGE], ["No store named 'nosuch'"]),
    "metrics: no dates": (["metrics", SLUG], ["required: --from, --to"]),
    "metrics: month 13": (
        ["metrics", SLUG, "--from", "2026-13-01", "--to", "2026-03-31"],
        ["'2026-13-01' is not a date like 2026-03-31"],
    ),
    "metrics: from after to": (
        ["metrics", SLUG, "--from", "2026-03-31", "--to", "2026-03-01", "--json"],
        ["--from 2026-03-31 is after --to 2026-03-01"],
    ),
    "metrics: unknown marketplace": (
        ["metrics", SLUG, *RANGE, "--marketplace", "DE"],
        ["no marketplace 'DE'"],
    ),
    "metrics: --json=1": (["metrics", SLUG, *RANGE, "--json=1"], ["--json", "'1'"]),
    "metrics: stray argument": (["metrics", SLUG, *RANGE, "--json", "extra"], ["extra"]),
    "bids: unknown store": (["bids", "nosuch"], ["No store named 'nosuch'"]),
    "bids: target ACOS 2": (["bids", SLUG, "--target-acos", "2"], ["between 0 and 1"]),
    "bids: target ACOS abc": (["bids", SLUG, "--target-acos", "abc"], ["invalid float"]),
    "privacy summary: unknown store": (
        ["privacy", "summary", "nosuch", "--json"],
        ["No store named 'nosuch'"],
    ),
    "privacy summary: --json=true": (
        ["privacy", "summary", SLUG, "--json=true"],
        ["--json", "'true'"],
    ),
    "privacy delete: unknown store": (
        ["privacy", "delete", "nosuch", "--yes"],
        ["No store named 'nosuch'"],
    ),
    "secrets encrypt: no key": (["secrets", "encrypt"], ["AMZ_SECRET_KEY is not set"]),
    "secrets: unknown action": (["secrets", "nosuch"], ["invalid choice: 'nosuch'"]),
    "up: port abc": (["up", "--port", "abc"], ["invalid int value: 'abc'"]),
    "sandbox serve: no ASINs": (
        ["sandbox", "serve", "--asins", "0", "--port", "0"],
        ["at least one ASIN"],
    ),
    "unknown command": (["nosuch"], ["invalid choice: 'nosuch'"]),
    "db downgrade: no revision": (["db", "downgrade"], ["required: revision"]),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_bad_input_to_a_command_is_refused_clearly_and_changes_nothing(
    cli: Cli, migrated_database_url: str, case: str
) -> None:
    args, phrases = REFUSED[case]
    before = everything(migrated_database_url)

    result = cli(*args)

    sentence = assert_refused(result, *phrases)
    assert len(sentence) < 400
    assert everything(migrated_database_url) == before


def test_privacy_delete_without_the_slug_typed_deletes_nothing(
    cli: Cli, migrated_database_url: str
) -> None:
    before = everything(migrated_database_url)
    for typed in ("\n", "brew\n", "BREWLANE\n", "nosuch\n"):
        result = cli("privacy", "delete", SLUG, stdin=typed)
        assert_refused(result, "Deletion not confirmed", "'brewlane'")
        assert "cannot be undone" in result.out and "deleted" not in result.out
    assert everything(migrated_database_url) == before
    assert before["orders"] and before["settlement_lines"]  # there was something to delete


def test_no_command_prints_help_and_exits_non_zero(cli: Cli) -> None:
    result = cli()
    assert result.code == 2 and "usage: amzinsight" in result.out
    assert "Traceback" not in result.err


# Known gaps: each is strict, so the fix turns it into a failure that asks to drop the mark.


@pytest.mark.parametrize("action", ["upgrade", "downgrade"])
def test_an_unknown_migration_revision_is_one_clear_line(
    cli: Cli, migrated_database_url: str, action: str
) -> None:
    before = everything(migrated_database_url)
    result = cli("db", action, "nosuchrev")
    assert everything(migrated_database_url) == before
    assert_refused(result, "nosuchrev")


def test_privacy_delete_with_nothing_on_stdin_deletes_nothing_and_says_so(
    cli: Cli, migrated_database_url: str
) -> None:
    before = everything(migrated_database_url)
    result = cli("privacy", "delete", SLUG, stdin="")
    assert everything(migrated_database_url) == before
    assert_refused(result, "Deletion not confirmed")


def test_sync_from_after_to_is_refused(cli: Cli, migrated_database_url: str) -> None:
    before = everything(migrated_database_url)
    result = cli("sync", SLUG, "--report", "orders", "--from", "2026-03-31", "--to", "2026-03-01")
    assert everything(migrated_database_url) == before
    assert_refused(result, "--from 2026-03-31 is after --to 2026-03-01")


def test_a_store_needs_a_name(cli: Cli, migrated_database_url: str) -> None:
    before = everything(migrated_database_url)
    result = cli("store", "add", "acme", "--name", " ", "--marketplace", "US")
    assert everything(migrated_database_url) == before
    assert_refused(result, "name")


# --- uploads: the finance page's COGS CSV ---------------------------------------------------------

XLSX_SIGNATURE = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(200))
BAD_COGS = {
    "an Excel file": (XLSX_SIGNATURE, "not UTF-8 text"),
    "Latin-1 text": (
        "sku,unit_cost,currency,effective_from,note\nBL-SCALE-01,1.00,USD,2026-03-01,café\n".encode(
            "latin-1"
        ),
        "not UTF-8 text",
    ),
    "a header and no rows": (b"sku,unit_cost,currency,effective_from\n\n\n", "no rows"),
    "an unquoted comma": (
        b"sku,unit_cost,currency,effective_from\nBL-SCALE-01,1,00,USD,2026-03-01\n",
        "line 2: more values than header columns",
    ),
    "no sku or asin column": (
        b"product,unit_cost,currency,effective_from\nBL-SCALE-01,1.00,USD,2026-03-01\n",
        "no sku or asin column",
    ),
    "a NaN cost": (
        b"sku,unit_cost,currency,effective_from\nBL-SCALE-01,NaN,USD,2026-03-01\n",
        "line 2",
    ),
    "an infinite cost": (
        b"sku,unit_cost,currency,effective_from\nBL-SCALE-01,inf,USD,2026-03-01\n",
        "line 2",
    ),
    "a date in another format": (
        b"sku,unit_cost,currency,effective_from\nBL-SCALE-01,1.00,USD,03/01/2026\n",
        "line 2: effective_from '03/01/2026' is not a date",
    ),
}


@pytest.mark.parametrize("case", list(BAD_COGS))
def test_a_bad_cogs_upload_is_one_clear_line_and_saves_nothing(
    cli: Cli, migrated_database_url: str, case: str
) -> None:
    engine = get_engine(migrated_database_url)
    store = get_store(engine, SLUG)
    save_cogs(
        engine,
        store.id,
        [{"sku": "BL-SCALE-01", "unit_cost": 8, "currency": "USD", "effective_from": "2026-01-01"}],
        actor="tester",
    )
    before = everything(migrated_database_url)
    content, phrase = BAD_COGS[case]

    with pytest.raises(ConfigError) as raised:
        import_cogs_csv(engine, store.id, content, actor="tester")

    message = str(raised.value)
    assert phrase in message, message
    assert "\n" not in message and "Traceback" not in message and len(message) < 400
    assert everything(migrated_database_url) == before

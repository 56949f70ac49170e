"""The real `amzinsight` console script in a subprocess, configured only by the environment.

Each call gets AMZ_DATABASE_URL and AMZ_DATA_DIR (so the raw archive is the local folder) and no
other AMZ_ variable. User errors must end in one sentence on stderr, a non-zero exit, and never
a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from amzinsight.analytics.metrics import marketplace_metrics, store_metrics
from amzinsight.config import Settings
from amzinsight.runtime import build_runtime
from amzinsight.stores import get_store

pytestmark = pytest.mark.postgres

SCRIPT = Path(sys.executable).parent / "amzinsight"
FIXTURES = Path(__file__).parents[1] / "fixtures"
TIMEOUT = 120
US = "ATVPDKIKX0DER"
CA = "A2EUQ1WTGCTBG2"


class Cli:
    """Runs the console script with a fixed environment in a scratch working directory."""

    def __init__(self, database_url: str, data_dir: Path, cwd: Path) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self.cwd = cwd
        self.env = {
            name: value for name, value in os.environ.items() if not name.startswith("AMZ_")
        }
        self.env.update(AMZ_DATABASE_URL=database_url, AMZ_DATA_DIR=str(data_dir))

    def __call__(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), *map(str, args)],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )

    def ok(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        result = self(*args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        return result

    def add_store(self, slug: str = "brewlane", *countries: str) -> None:
        markets = [arg for country in countries or ("US",) for arg in ("--marketplace", country)]
        self.ok("store", "add", slug, "--name", "Brewlane Coffee", *markets)


def assert_user_error(result: subprocess.CompletedProcess[str], *phrases: str) -> str:
    """Exit 2, nothing on stdout, and stderr ending in one `amzinsight: ...` sentence."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert result.stdout == ""
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("amzinsight: "), result.stderr
    sentence = last.removeprefix("amzinsight: ")
    assert sentence.strip() and "Error:" not in sentence, sentence
    for phrase in phrases:
        assert phrase in sentence, (phrase, sentence)
    return sentence


@pytest.fixture
def cli(migrated_database_url: str, tmp_path: Path) -> Cli:
    (tmp_path / "cwd").mkdir()
    return Cli(migrated_database_url, tmp_path / "data", tmp_path / "cwd")


def test_the_console_script_is_installed_next_to_the_interpreter() -> None:
    assert SCRIPT.is_file() and os.access(SCRIPT, os.X_OK)


# --- store ----------------------------------------------------------------------------------------


def test_store_add_and_list(cli: Cli) -> None:
    assert cli.ok("store", "list").stdout.startswith("no stores yet")
    assert json.loads(cli.ok("store", "list", "--json").stdout) == []

    added = cli.ok(
        "store", "add", "brewlane", "--name", "Brewlane Coffee", "--marketplace", "US",
        "--marketplace", "ca", "--region", "na", "--seller-id", "A1SELLER",
    )  # fmt: skip

    assert added.stdout.strip() == "store brewlane registered (CA, US)"
    (listed,) = json.loads(cli.ok("store", "list", "--json").stdout)
    assert listed["slug"] == "brewlane" and listed["name"] == "Brewlane Coffee"
    assert (listed["region"], listed["seller_id"], listed["is_sandbox"]) == (
        "na",
        "A1SELLER",
        False,
    )
    assert listed["country_codes"] == ["CA", "US"]
    assert {m["marketplace_id"]: m["currency"] for m in listed["marketplaces"]} == {
        US: "USD",
        CA: "CAD",
    }
    plain = cli.ok("store", "list").stdout.strip().splitlines()
    assert plain == ["brewlane\tBrewlane Coffee\tna\tCA,US"]


def test_store_add_names_the_credential_variables_a_sync_will_need(cli: Cli) -> None:
    added = cli.ok(
        "store", "add", "acme_us", "--name", "Acme", "--marketplace", "US", "--sandbox"
    )  # fmt: skip

    assert added.stdout.strip() == "store acme_us registered (US)"
    (line,) = added.stderr.strip().splitlines()
    for variable in ("SP_REFRESH_TOKEN", "LWA_CLIENT_ID", "LWA_CLIENT_SECRET"):
        assert f"AMZ_STORES__ACME_US__{variable}" in line
    assert line.startswith("amzinsight: store acme_us cannot sync until") and "up" in line

    # A sync here fails once, before asking Amazon anything, with the same variables.
    sentence = assert_user_error(cli("sync", "acme_us", "--report", "orders"))
    assert sentence.startswith("SP-API credentials are missing: set AMZ_STORES__ACME_US__")

    cli.env.update(
        AMZ_STORES__BREW_US__SP_REFRESH_TOKEN="Atzr|x",
        AMZ_STORES__BREW_US__LWA_CLIENT_ID="client",
        AMZ_STORES__BREW_US__LWA_CLIENT_SECRET="secret",
    )
    # With credentials the add checks them (here against a closed port, never Amazon itself).
    closed = "http://127.0.0.1:9"
    quiet = cli.ok(
        "store", "add", "brew_us", "--name", "Brew", "--marketplace", "US",
        "--sp-api-endpoint", closed, "--lwa-token-url", f"{closed}/auth/o2/token",
    )  # fmt: skip
    assert "amzinsight:" not in quiet.stderr  # no warning: only the client's retry log lines
    lines = quiet.stdout.splitlines()
    assert lines[0] == "store brew_us registered (US)"
    assert lines[1].startswith("Reports: could not check: ")
    assert lines[3].startswith("Finances: could not check: ")
    assert lines[4].startswith("Amazon Ads: not set up: set AMZ_STORES__BREW_US__ADS_CLIENT_ID")


@pytest.mark.parametrize(
    ("args", "phrases"),
    [
        (["brewlane", "--marketplace", "US"], ["already registered", "'brewlane'"]),
        (["Bad-Slug", "--marketplace", "US"], ["'Bad-Slug' is not valid"]),
        (["b", "--marketplace", "US"], ["'b' is not valid"]),
        (["acme", "--marketplace", "XX"], ["Unknown marketplace 'XX'"]),
        (["acme", "--marketplace", "US", "--region", "eu"], ["Region eu does not match", "na"]),
        (["acme", "--marketplace", "US", "--marketplace", "DE"], ["one region", "US, DE"]),
    ],
    ids=["duplicate", "bad-slug", "short-slug", "unknown-marketplace", "region", "two-regions"],
)
def test_store_add_user_errors(cli: Cli, args: list[str], phrases: list[str]) -> None:
    cli.add_store("brewlane", "US")

    result = cli("store", "add", *args[:1], "--name", "Acme", *args[1:])

    sentence = assert_user_error(result, *phrases)
    assert result.stderr.strip() == f"amzinsight: {sentence}"  # exactly one line
    assert [s["slug"] for s in json.loads(cli.ok("store", "list", "--json").stdout)] == ["brewlane"]


# --- import ---------------------------------------------------------------------------------------


def test_import_prints_what_it_loaded_and_archives_the_file(cli: Cli) -> None:
    cli.add_store()
    fixture = FIXTURES / "all_orders.tsv"

    first = cli.ok("import", "brewlane", fixture)
    again = cli.ok("import", "brewlane", fixture)

    line = first.stdout.strip()
    assert line.startswith("loaded all_orders.tsv: 25 rows parsed, 25 inserted or changed (run 1,")
    key = line.rsplit("archived as ", 1)[1].rstrip(")")
    assert key.startswith("brewlane/orders/") and key.endswith(".tsv")
    archived = cli.data_dir / "archive" / key
    assert archived.read_bytes() == fixture.read_bytes()
    assert again.stdout.startswith("loaded all_orders.tsv: 25 rows parsed, 0 inserted or changed")
    assert f"archived as {key})" in again.stdout


def test_import_with_an_explicit_type_and_a_gzipped_file(cli: Cli, tmp_path: Path) -> None:
    import gzip

    cli.add_store()
    packed = tmp_path / "settlement.tsv.gz"
    packed.write_bytes(gzip.compress((FIXTURES / "settlement_v2.tsv").read_bytes()))

    result = cli.ok("import", "brewlane", packed, "--type", "settlement", "--marketplace", US)

    assert "31 rows parsed, 31 inserted or changed" in result.stdout
    assert result.stdout.strip().endswith(".tsv.gz)")


@pytest.mark.parametrize(
    ("content", "extra", "phrases"),
    [
        (b"\x89\xfe\r\n\x00garbage\xff" * 64, [], ["not valid UTF-8"]),
        (b"", [], ["empty"]),
        (b"hello\tworld\n1\t2\n", [], ["not a report type AmzInsight knows", "--type"]),
        (None, ["--type", "orders"], ["missing column 'amazon-order-id'"]),
        (b"x", ["--type", "nosuch"], ["Unknown report type 'nosuch'"]),
    ],
    ids=["garbage", "empty", "unknown-text", "wrong-type", "unknown-type"],
)
def test_import_of_a_bad_file_is_a_clear_error(
    cli: Cli, tmp_path: Path, content: bytes | None, extra: list[str], phrases: list[str]
) -> None:
    cli.add_store()
    path = tmp_path / "upload.bin"
    path.write_bytes(
        content if content is not None else (FIXTURES / "settlement_v2.tsv").read_bytes()
    )

    result = cli("import", "brewlane", path, *extra)

    assert_user_error(result, *phrases)
    kept = [p.read_bytes() for p in (cli.data_dir / "archive").rglob("*") if p.is_file()]
    if extra[-1:] == ["nosuch"]:  # refused before the pipeline: nothing to keep
        assert kept == []
    else:  # the file reached the pipeline: it is kept, byte for byte
        assert kept == [path.read_bytes()]


def test_import_into_an_unknown_store_or_of_a_missing_file(cli: Cli, tmp_path: Path) -> None:
    cli.add_store()
    assert_user_error(
        cli("import", "nosuch", FIXTURES / "all_orders.tsv"), "No store named 'nosuch'"
    )
    assert_user_error(
        cli("import", "brewlane", tmp_path / "missing.tsv"), "missing.tsv is not a file"
    )


# --- metrics --------------------------------------------------------------------------------------


def test_metrics_json_has_the_exact_shape_and_the_file_totals(cli: Cli) -> None:
    cli.add_store()
    for name in ("sales_and_traffic_2026-03-10.json", "all_orders.tsv", "settlement_v2.tsv"):
        cli.ok("import", "brewlane", FIXTURES / name)
    cli.ok("import", "brewlane", FIXTURES / "inventory_summaries.json")

    result = cli.ok(
        "metrics", "brewlane", "--from", "2026-03-09", "--to", "2026-03-31", "--json",
        "--marketplace", "US",
    )  # fmt: skip

    printed = json.loads(result.stdout)
    assert printed == {
        "store": "brewlane",
        "from": "2026-03-09",
        "to": "2026-03-31",
        "currency": "USD",
        "sales": {
            "ordered_product_sales": "511.36",
            "units_ordered": 18,
            "total_order_items": 16,
            "sessions": 280,
            "page_views": 386,
            "unit_session_percentage": 6.4286,
        },
        "orders": {
            "orders": 9,
            "order_items": 12,
            "units": 18,
            "item_price": "406.37",
            "cancelled_orders": 1,
        },
        "ads": {
            "impressions": 0,
            "clicks": 0,
            "spend": "0.00",
            "sales": "0.00",
            "orders": 0,
            "acos": None,
            "roas": None,
            "tacos": 0.0,
        },
        "settlements": [
            {
                "settlement_id": "27519934021",
                "start": "2026-03-03T18:31:09+00:00",
                "end": "2026-03-17T18:31:09+00:00",
                "deposit_date": "2026-03-19T18:31:09+00:00",
                "total_amount": "6.45",
                "lines_sum": "6.45",
                "reconciled": True,
            }
        ],
        "inventory": {
            "as_of": "2026-03-11",
            "skus": 6,
            "fulfillable": 629,
            "inbound": 144,
            "reserved": 38,
            "unfulfillable": 6,
        },
    }
    # What the command prints is what the library computes (and what the Overview page shows).
    runtime = build_runtime(Settings(database_url=cli.database_url, data_dir=cli.data_dir))
    store = get_store(runtime.engine, "brewlane")
    assert printed == store_metrics(runtime.engine, store, date(2026, 3, 9), date(2026, 3, 31), US)

    # Without --marketplace: one block per marketplace, here the only one, with the same figures.
    every = json.loads(
        cli.ok("metrics", "brewlane", "--from", "2026-03-09", "--to", "2026-03-31").stdout
    )
    assert every == {
        "store": "brewlane",
        "from": "2026-03-09",
        "to": "2026-03-31",
        "marketplaces": [
            {
                "marketplace_id": US,
                "country_code": "US",
                **{k: v for k, v in printed.items() if k not in ("store", "from", "to")},
            }
        ],
    }
    assert every == marketplace_metrics(runtime.engine, store, date(2026, 3, 9), date(2026, 3, 31))


def test_metrics_on_a_two_currency_store_prints_each_marketplace_in_its_currency(
    cli: Cli,
) -> None:
    """The README's `metrics SLUG --from --to --json` on a store selling in USD and CAD."""
    cli.add_store("brewlane", "US", "CA")
    cli.ok("import", "brewlane", FIXTURES / "all_orders.tsv")

    result = cli.ok("metrics", "brewlane", "--from", "2026-03-01", "--to", "2026-03-31", "--json")

    printed = json.loads(result.stdout)
    by_country = {block["country_code"]: block for block in printed["marketplaces"]}
    assert {c: (b["marketplace_id"], b["currency"]) for c, b in by_country.items()} == {
        "US": (US, "USD"),
        "CA": (CA, "CAD"),
    }
    assert by_country["CA"]["orders"] == {
        "orders": 1,
        "order_items": 1,
        "units": 1,
        "item_price": "57.99",
        "cancelled_orders": 0,
    }
    assert by_country["US"]["orders"]["orders"] == 9
    canada = cli.ok(
        "metrics", "brewlane", "--from", "2026-03-01", "--to", "2026-03-31", "--json",
        "--marketplace", "CA",
    )  # fmt: skip
    single = json.loads(canada.stdout)
    assert single["currency"] == "CAD" and single["orders"] == by_country["CA"]["orders"]


def test_metrics_user_errors(cli: Cli) -> None:
    cli.add_store()
    assert_user_error(
        cli("metrics", "nosuch", "--from", "2026-03-01", "--to", "2026-03-31", "--json"),
        "No store named 'nosuch'",
    )
    assert_user_error(
        cli("metrics", "brewlane", "--from", "2026-03-31", "--to", "2026-03-01", "--json"),
        "--from 2026-03-31 is after --to 2026-03-01",
    )
    assert_user_error(
        cli(
            "metrics",
            "brewlane",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-31",
            "--marketplace",
            "DE",
        ),
        "no marketplace 'DE'",
    )
    not_a_date = cli("metrics", "brewlane", "--from", "March", "--to", "2026-03-31", "--json")
    assert not_a_date.returncode == 2 and "Traceback" not in not_a_date.stderr
    assert "'March' is not a date like 2026-03-31" in not_a_date.stderr


# --- db and sync ----------------------------------------------------------------------------------


def test_db_upgrade_twice_prints_the_same_revision(database_url: str, tmp_path: Path) -> None:
    cli = Cli(database_url, tmp_path / "data", tmp_path)
    assert cli.ok("db", "current").stdout.strip() == "base (empty)"

    first = cli.ok("db", "upgrade")
    second = cli.ok("db", "upgrade")

    assert first.stdout.startswith("database at revision ")
    revision = first.stdout.strip().removeprefix("database at revision ")
    assert revision and revision != "None"
    assert second.stdout == first.stdout
    assert cli.ok("db", "current").stdout.strip() == revision


def test_sync_of_an_unknown_store_is_a_clear_error(cli: Cli) -> None:
    assert_user_error(cli("sync", "nosuch"), "No store named 'nosuch'", "amzinsight store list")
    assert_user_error(cli("replay", "nosuch"), "No store named 'nosuch'")


@pytest.mark.parametrize(
    "args", [["secrets", "keygen"], ["store", "list", "--json"]], ids=["keygen", "store-list"]
)
def test_a_command_whose_output_is_closed_exits_quietly(cli: Cli, args: list[str]) -> None:
    """`amzinsight bids demo --json | head`: the reader went away; no BrokenPipeError."""
    cli.add_store()
    process = subprocess.Popen(
        [str(SCRIPT), *args],
        env=cli.env,
        cwd=cli.cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before the interpreter has even started: every write hits EPIPE
    errors = process.stderr.read()
    assert process.wait(timeout=TIMEOUT) == 141  # as if SIGPIPE had ended it
    assert errors == ""


def test_no_command_prints_help_and_exits_non_zero(cli: Cli) -> None:
    result = cli()
    assert result.returncode == 2 and "usage: amzinsight" in result.stdout
    assert "Traceback" not in result.stderr

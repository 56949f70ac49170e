"""The `amzinsight` command. Every user-facing failure ends in one sentence and a non-zero exit."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence

from amzinsight.config import Settings, encrypt_value, generate_secret_key, get_settings
from amzinsight.errors import AmzInsightError, ConfigError
from amzinsight.logs import configure_logging

EXIT_USER_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        return int(args.handler(args) or 0)
    except AmzInsightError as error:
        print(f"amzinsight: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amzinsight", description="Analytics and ad optimisation for your Amazon stores."
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    up = commands.add_parser("up", help="start everything on this machine")
    up.add_argument("--host", default="127.0.0.1", help="interface Streamlit binds to")
    up.add_argument("--port", type=int, default=8501)
    up.add_argument("--demo", action="store_true", help="also register the sandbox demo store")
    up.set_defaults(handler=_up)

    worker = commands.add_parser("worker", help="run one RQ worker (for other hosts)")
    worker.set_defaults(handler=lambda _args: _exec_module("workers.worker"))
    scheduler = commands.add_parser("scheduler", help="run the rq-scheduler process")
    scheduler.set_defaults(handler=lambda _args: _exec_module("workers.scheduler"))

    db = commands.add_parser("db", help="database migrations").add_subparsers(metavar="ACTION")
    db_upgrade = db.add_parser("upgrade", help="apply migrations (safe to run twice)")
    db_upgrade.add_argument("revision", nargs="?", default="head")
    db_upgrade.set_defaults(handler=_db_upgrade)
    db_downgrade = db.add_parser("downgrade", help="revert migrations")
    db_downgrade.add_argument("revision")
    db_downgrade.set_defaults(handler=_db_downgrade)
    db.add_parser("current", help="show the applied revision").set_defaults(handler=_db_current)

    secrets = commands.add_parser("secrets", help="encrypted credentials").add_subparsers(
        metavar="ACTION"
    )
    secrets.add_parser("keygen", help="print a new AMZ_SECRET_KEY").set_defaults(
        handler=_secrets_keygen
    )
    secrets.add_parser(
        "encrypt", help="read a value from standard input and print its enc: form"
    ).set_defaults(handler=_secrets_encrypt)

    store = commands.add_parser("store", help="seller accounts").add_subparsers(metavar="ACTION")
    store_add = store.add_parser("add", help="register a seller account")
    store_add.add_argument("slug", help="short name, e.g. acme_us (letters, digits, _)")
    store_add.add_argument("--name", required=True)
    store_add.add_argument(
        "--marketplace",
        action="append",
        required=True,
        metavar="CC",
        help="country code, repeatable: --marketplace US --marketplace CA",
    )
    store_add.add_argument("--seller-id")
    store_add.add_argument("--sp-api-endpoint", help="default: Amazon's host for the region")
    store_add.add_argument("--lwa-token-url", help="default: https://api.amazon.com/auth/o2/token")
    store_add.add_argument("--ads-api-endpoint", help="default: Amazon Ads' host for the region")
    store_add.set_defaults(handler=_store_add)
    store_list = store.add_parser("list", help="list registered stores")
    store_list.add_argument("--json", action="store_true")
    store_list.set_defaults(handler=_store_list)
    return parser


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings.log_level, settings.secret_values())
    return settings


def _database_url(settings: Settings) -> str:
    from amzinsight.embedded import database_url_for

    return database_url_for(settings.database_url, settings.data_dir)


def _exec_module(module: str) -> int:
    """Hand the process over to a workers/ entry point (the core never imports RQ)."""
    _settings()  # fail here, with a clear sentence, on bad settings
    os.execv(sys.executable, [sys.executable, "-m", module])  # noqa: S606 (our own interpreter)
    return 0  # pragma: no cover


def _up(args: argparse.Namespace) -> int:
    from amzinsight.stack import run_up
    from amzinsight.stores import register_demo_store

    settings = _settings()
    print("Starting AmzInsight (embedded services start on first use; this can take a minute)...")

    def on_ready(url: str) -> None:
        print(f"AmzInsight is running at {url}  (Ctrl-C stops everything)", flush=True)

    return run_up(settings, args.host, args.port, args.demo, on_ready, register_demo_store)


def _db_upgrade(args: argparse.Namespace) -> int:
    from amzinsight.db.migrate import current_revision, upgrade

    url = _database_url(_settings())
    upgrade(url, args.revision)
    print(f"database at revision {current_revision(url)}")
    return 0


def _db_downgrade(args: argparse.Namespace) -> int:
    from amzinsight.db.migrate import current_revision, downgrade

    url = _database_url(_settings())
    downgrade(url, args.revision)
    print(f"database at revision {current_revision(url) or 'base (empty)'}")
    return 0


def _db_current(_args: argparse.Namespace) -> int:
    from amzinsight.db.migrate import current_revision

    print(current_revision(_database_url(_settings())) or "base (empty)")
    return 0


def _secrets_keygen(_args: argparse.Namespace) -> int:
    print(generate_secret_key())
    return 0


def _secrets_encrypt(_args: argparse.Namespace) -> int:
    """Reads the value from stdin (never argv, which other users can see in the process list)."""
    key = os.environ.get("AMZ_SECRET_KEY", "")
    if not key:
        raise ConfigError(
            "AMZ_SECRET_KEY is not set: export it first (`amzinsight secrets keygen` makes one)."
        )
    if sys.stdin.isatty():
        value = getpass.getpass("Value to encrypt (not echoed): ")
    else:
        value = sys.stdin.read().rstrip("\r\n")
    if not value:
        raise ConfigError("Nothing to encrypt: pass the value on standard input.")
    print(encrypt_value(value, key))
    return 0


def _store_add(args: argparse.Namespace) -> int:
    from amzinsight.db.engine import get_engine
    from amzinsight.stores import StoreEndpoints, add_store

    engine = get_engine(_database_url(_settings()))
    store = add_store(
        engine,
        slug=args.slug,
        name=args.name,
        country_codes=args.marketplace,
        seller_id=args.seller_id,
        endpoints=StoreEndpoints(
            sp_api_endpoint=args.sp_api_endpoint,
            lwa_token_url=args.lwa_token_url,
            ads_api_endpoint=args.ads_api_endpoint,
        ),
    )
    print(f"store {store.slug} registered ({', '.join(store.country_codes)})")
    return 0


def _store_list(args: argparse.Namespace) -> int:
    from amzinsight.db.engine import get_engine
    from amzinsight.stores import list_stores

    stores = list_stores(get_engine(_database_url(_settings())))
    if args.json:
        print(json.dumps([store.as_dict() for store in stores], indent=2))
    elif not stores:
        print("no stores yet: `amzinsight store add SLUG --name NAME --marketplace US`")
    for store in stores if not args.json else []:
        print(f"{store.slug}\t{store.name}\t{store.region}\t{','.join(store.country_codes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

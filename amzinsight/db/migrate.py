"""Apply and inspect Alembic migrations from code: no alembic.ini, one advisory lock per upgrade.

The app, the worker and `amzinsight up` may all call `upgrade` at start; the lock makes the second
caller wait for the first and then find nothing left to do.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.util import CommandError

from amzinsight.db.engine import get_engine, normalize_database_url
from amzinsight.errors import ConfigError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

MIGRATION_LOCK_KEY = 0x616D7A5F6D696772  # "amz_migr": fixed, so every process takes the same lock


def alembic_config(database_url: str, connection: sa.Connection | None = None) -> Config:
    """An Alembic Config built in code; env.py uses `connection` when one is given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser treats % as interpolation; a password may contain one.
    config.set_main_option(
        "sqlalchemy.url", normalize_database_url(database_url).replace("%", "%%")
    )
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _locked_transaction(database_url: str, action: str, revision: str) -> None:
    """Run one Alembic command in one transaction that holds the migration lock.

    A transaction-level lock (pg_advisory_xact_lock) is released by the commit or the rollback, so
    a failed migration can never leave a pooled connection holding it. PostgreSQL runs DDL inside
    transactions, so a failed upgrade also leaves the schema as it was.
    """
    engine = get_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
        )
        config = alembic_config(database_url, connection)
        try:
            if action == "upgrade":
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)
        except CommandError as error:  # an unknown revision, mostly: the user's typo
            raise ConfigError(f"Cannot {action} the database to {revision!r}: {error}.") from None
    logger.info("database %s to %s done", action, revision)


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision`; a database already there is left untouched."""
    _locked_transaction(database_url, "upgrade", revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    """Revert migrations down to `revision` ("base" drops every table and type we created)."""
    _locked_transaction(database_url, "downgrade", revision)


def current_revision(database_url: str) -> str | None:
    """The revision the database is at, or None before the first migration."""
    with get_engine(database_url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()

"""Alembic environment: runs on the connection amzinsight.db.migrate hands over (config.attributes).

Without one (the `alembic` command line with a URL in the config), it opens its own connection.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from amzinsight.db.engine import get_engine
from amzinsight.db.tables import metadata
from amzinsight.errors import ConfigError

config = context.config
target_metadata = metadata


def _configure(connection: sa.Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        literal_binds=connection is None,
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout (`--sql`) instead of running it."""
    _configure(url=config.get_main_option("sqlalchemy.url"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise ConfigError("No database to migrate: set sqlalchemy.url or pass a connection.")
    with get_engine(url).connect() as own_connection:
        _configure(connection=own_connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

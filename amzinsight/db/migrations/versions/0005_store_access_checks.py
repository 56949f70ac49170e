"""Which Amazon APIs a store's credentials reach (Reports, Data Kiosk's Brand Analytics role,
Amazon Ads, ...), as last checked by `amzinsight store check` or the Sync page's button: the
page shows it without calling Amazon (amzinsight/ingest/access.py).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


COMMENT = (
    "the last check of which Amazon APIs a store's credentials reach, one row per API; "
    "each check replaces the store's rows"
)


def upgrade() -> None:
    op.create_table(
        "store_access_checks",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("api", sa.Text(), nullable=False, comment="the Amazon API or role checked"),
        sa.Column(
            "position", sa.SmallInteger(), nullable=False, comment="the order they are shown in"
        ),
        sa.Column(
            "ok",
            sa.Boolean(),
            nullable=True,
            comment="true reachable, false missing, null not checked or unknown",
        ),
        sa.Column("sentence", sa.Text(), nullable=False, comment="what was found and what to do"),
        sa.Column(
            "checked_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_store_access_checks_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_access_checks")),
        sa.UniqueConstraint("store_id", "api", name=op.f("uq_store_access_checks_store_id_api")),
        comment=COMMENT,
    )


def downgrade() -> None:
    op.drop_table("store_access_checks")

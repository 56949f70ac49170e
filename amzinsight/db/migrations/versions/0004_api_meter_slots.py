"""Amazon meters some operations per application, whatever the store: since April 2026 a Sales
and Traffic report may be requested once every 15 minutes and 96 times a day. Every call under
such a meter is reserved here first (amzinsight/ingest/meter.py), so concurrent jobs, clicks and
the schedule never exceed it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


COMMENT = (
    "calls reserved under a metered Amazon operation (Sales and Traffic reports) by a store's "
    "sync; the meter counts every store on the same application"
)


def upgrade() -> None:
    op.create_table(
        "api_meter_slots",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "meter_key", sa.Text(), nullable=False, comment="the meter and a digest of the app"
        ),
        sa.Column(
            "holder", sa.Text(), nullable=False, comment="who reserved it: a sync window's job"
        ),
        sa.Column("slot_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_api_meter_slots_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_meter_slots")),
        sa.UniqueConstraint(
            "store_id",
            "meter_key",
            "holder",
            "slot_at",
            name=op.f("uq_api_meter_slots_store_id_meter_key_holder_slot_at"),
        ),
        comment=COMMENT,
    )
    op.create_index(
        op.f("ix_api_meter_slots_meter_key_slot_at"), "api_meter_slots", ["meter_key", "slot_at"]
    )
    op.create_index(
        op.f("ix_api_meter_slots_meter_key_holder"), "api_meter_slots", ["meter_key", "holder"]
    )


def downgrade() -> None:
    op.drop_table("api_meter_slots")

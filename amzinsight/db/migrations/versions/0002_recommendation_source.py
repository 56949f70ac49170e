"""Recommendations record who proposed them (bidder or assistant), so that a writer replaces only
its own proposals: recomputing the bidder's recommendations deleted the keywords the Assistant had
sent that day. Existing rows take their source from the evidence the Assistant wrote.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "bid_recommendations",
        sa.Column("source", sa.Text(), server_default="bidder", nullable=False),
    )
    op.execute(
        "UPDATE bid_recommendations SET source = 'assistant' "
        "WHERE evidence ->> 'source' = 'listing assistant'"
    )
    op.create_check_constraint(
        op.f("ck_bid_recommendations_source"),
        "bid_recommendations",
        "source IN ('bidder', 'assistant')",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_bid_recommendations_source"), "bid_recommendations", type_="check")
    op.drop_column("bid_recommendations", "source")

"""Drop is_settling from the Amazon Ads daily tables: settling depends on the day the data is read
(amzinsight/rules/settling.py), so a flag fixed at import kept days imported while fresh out of
the bidder forever.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADS_DAILY_TABLES = (
    "ads_campaign_daily",
    "ads_target_daily",
    "ads_search_term_daily",
    "ads_advertised_product_daily",
    "ads_purchased_product_daily",
)


def upgrade() -> None:
    for table in ADS_DAILY_TABLES:
        op.drop_column(table, "is_settling")


def downgrade() -> None:
    # The old flag comes back false everywhere: nothing stored can say how fresh a row was.
    for table in ADS_DAILY_TABLES:
        op.add_column(
            table,
            sa.Column(
                "is_settling",
                sa.Boolean(),
                server_default=sa.false(),
                nullable=False,
                comment="younger than the settle window: Amazon may still restate it",
            ),
        )

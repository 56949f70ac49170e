"""Finances API v2024-06-19 transactions and their amounts: settlement history beyond the 90 days
getReports lists, and money Amazon holds as DEFERRED (amzinsight/reports/finance_transactions.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "finance_transaction_lines",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.Text(), nullable=False),
        sa.Column(
            "line_no", sa.Integer(), nullable=False, comment="1-based amount in the transaction"
        ),
        sa.Column(
            "status",
            sa.Text(),
            nullable=True,
            comment="the transaction's status (DEFERRED lines are not paid)",
        ),
        sa.Column("settlement_id", sa.Text(), nullable=True),
        sa.Column(
            "breakdown",
            sa.Text(),
            nullable=True,
            comment="Amazon's breakdown path, e.g. AmazonFees/Commission",
        ),
        sa.Column("transaction_type", sa.Text(), nullable=True),
        sa.Column("order_id", sa.Text(), nullable=True),
        sa.Column("adjustment_id", sa.Text(), nullable=True),
        sa.Column("shipment_id", sa.Text(), nullable=True),
        sa.Column("marketplace_name", sa.Text(), nullable=True),
        sa.Column("amount_type", sa.Text(), nullable=True),
        sa.Column("amount_description", sa.Text(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("currency", sa.CHAR(length=3), nullable=True),
        sa.Column("fulfillment_id", sa.Text(), nullable=True, comment="AFN (FBA) or MFN"),
        sa.Column("posted_date", sa.Date(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merchant_adjustment_item_id", sa.Text(), nullable=True),
        sa.Column("sku", sa.Text(), nullable=True),
        sa.Column("asin", sa.Text(), nullable=True),
        sa.Column("quantity_purchased", sa.Integer(), nullable=True),
        sa.Column(
            "loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("sync_run_id", sa.BigInteger(), nullable=True, comment="the run that wrote it"),
        sa.CheckConstraint(
            "line_no >= 1", name=op.f("ck_finance_transaction_lines_line_no_positive")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_finance_transaction_lines_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_transaction_lines")),
        sa.UniqueConstraint(
            "store_id",
            "transaction_id",
            "line_no",
            name=op.f("uq_finance_transaction_lines_store_id_transaction_id_line_no"),
        ),
        comment="one amount of a Finances API transaction, in settlement-line terms",
    )
    op.create_index(
        op.f("ix_finance_transaction_lines_store_id_order_id"),
        "finance_transaction_lines",
        ["store_id", "order_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_finance_transaction_lines_store_id_posted_date"),
        "finance_transaction_lines",
        ["store_id", "posted_date"],
        unique=False,
    )
    op.create_index(
        op.f("ix_finance_transaction_lines_store_id_settlement_id"),
        "finance_transaction_lines",
        ["store_id", "settlement_id"],
        unique=False,
    )
    op.create_table(
        "finance_transactions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("store_id", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.Text(), nullable=False, comment="Amazon's transactionId"),
        sa.Column(
            "transaction_type",
            sa.Text(),
            nullable=True,
            comment="Shipment, Refund, ServiceFee, ...",
        ),
        sa.Column(
            "description", sa.Text(), nullable=True, comment="e.g. Order Payment, Refund Order"
        ),
        sa.Column(
            "status",
            sa.Text(),
            nullable=True,
            comment="DEFERRED (held, not paid yet), RELEASED or DEFERRED_RELEASED, as last seen",
        ),
        sa.Column("marketplace_id", sa.Text(), nullable=True),
        sa.Column("marketplace_name", sa.Text(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "posted_date",
            sa.Date(),
            nullable=True,
            comment="the marketplace's local date of posted_at",
        ),
        sa.Column("total_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("currency", sa.CHAR(length=3), nullable=True),
        sa.Column("order_id", sa.Text(), nullable=True),
        sa.Column(
            "settlement_id",
            sa.Text(),
            nullable=True,
            comment="SETTLEMENT_ID, once Amazon groups it",
        ),
        sa.Column("event_group_id", sa.Text(), nullable=True, comment="FINANCIAL_EVENT_GROUP_ID"),
        sa.Column(
            "maturity_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="when deferred money is due",
        ),
        sa.Column(
            "loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("sync_run_id", sa.BigInteger(), nullable=True, comment="the run that wrote it"),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_finance_transactions_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_transactions")),
        sa.UniqueConstraint(
            "store_id",
            "transaction_id",
            name=op.f("uq_finance_transactions_store_id_transaction_id"),
        ),
        comment="one Finances API transaction (status updated on every pull)",
    )
    op.create_index(
        op.f("ix_finance_transactions_store_id_posted_date"),
        "finance_transactions",
        ["store_id", "posted_date"],
        unique=False,
    )
    op.create_index(
        op.f("ix_finance_transactions_store_id_status"),
        "finance_transactions",
        ["store_id", "status"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_finance_transactions_store_id_status"), table_name="finance_transactions"
    )
    op.drop_index(
        op.f("ix_finance_transactions_store_id_posted_date"), table_name="finance_transactions"
    )
    op.drop_table("finance_transactions")
    op.drop_index(
        op.f("ix_finance_transaction_lines_store_id_settlement_id"),
        table_name="finance_transaction_lines",
    )
    op.drop_index(
        op.f("ix_finance_transaction_lines_store_id_posted_date"),
        table_name="finance_transaction_lines",
    )
    op.drop_index(
        op.f("ix_finance_transaction_lines_store_id_order_id"),
        table_name="finance_transaction_lines",
    )
    op.drop_table("finance_transaction_lines")

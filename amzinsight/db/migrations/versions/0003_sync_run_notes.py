"""A run that loaded can still have something a person must know: part of the file that was not
loaded and why (the per-ASIN section of a multi-day Sales and Traffic file covers the whole range
as one total, so it is not stored as a day). `error` is for runs that failed; `notes` is for that.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTES_COMMENT = "what a person should know about a run that loaded, e.g. parts of a file not loaded"


def upgrade() -> None:
    op.add_column("sync_runs", sa.Column("notes", sa.Text(), comment=NOTES_COMMENT))


def downgrade() -> None:
    op.drop_column("sync_runs", "notes")

"""A partial index of the customers the list hides (merged away or archived).

The unfiltered list walks the sort column's index and drops hidden customers; finding
them was a scan of every customer row (2.1 s at 1M customers), now it reads a handful.

Revision ID: list_0004
Revises: search_0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "list_0004"
down_revision = "search_0003"
branch_labels = None
depends_on = None

HIDDEN_SQL = "merged_into_id IS NOT NULL OR archived_at IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_customer_hidden", "customer", ["id"], unique=False, sqlite_where=sa.text(HIDDEN_SQL)
    )


def downgrade() -> None:
    op.drop_index("ix_customer_hidden", table_name="customer")

"""Covering index for the on-save duplicate check: name prefix + birthday or postcode.

Revision ID: duplicates_0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

revision = "duplicates_0002"
down_revision = "search_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the check scans sort-name prefixes and tests birthday/postcode: with all three in
    # one index it never touches the table rows (p95 stays in milliseconds at 100k)
    op.create_index(
        "ix_customer_match_name",
        "customer",
        ["sort_name", "birthday", "postcode"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_customer_match_name", table_name="customer")

"""Search index v2: documents, prefix/token postings, typo neighbourhood; rebuilt here.

Replaces revision 0001's single FTS5 table (``customer_search``) with the tables described
in ``app/models/search_index.py`` and fills them from the customer tables, so a store
written before this revision finds the same customers as a new one.

Revision ID: search_0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op

from app.models import search_index

revision = "search_0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(search_index.DROP_SQL)
    for statement in search_index.SCHEMA_SQL:
        op.execute(statement)
    search_index.rebuild(op.get_bind())


def downgrade() -> None:
    for statement in search_index.DROP_SCHEMA_SQL:
        op.execute(statement)
    op.execute(search_index.CREATE_SQL)
    # revision 0001's rows are rebuilt on the next write of each customer only: a downgrade
    # is for developers, not for stores in use

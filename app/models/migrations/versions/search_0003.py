"""Search index v3: every table keyed by result order; whole words in an FTS5 index.

The index's rows are keyed by an order key (archived, recency, id) so each query reads
about ``limit`` postings; the ``search_key`` postings become the ``search_word`` FTS5
table, which also holds email parts and phone numbers as words. The index is derived
data: this drops whatever format the store has and rebuilds it from the customer tables.

Revision ID: search_0003
Revises: duplicates_0002
Create Date: 2026-11-22
"""

from alembic import op
from sqlalchemy import text

from app.models import search_index

revision = "search_0003"
down_revision = "duplicates_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
    if search_index.WORD in tables and search_index.OLD_KEY_TABLE not in tables:
        return  # search_0002 ran with this code moments ago: already this format, and full
    for statement in search_index.DROP_SCHEMA_SQL:
        op.execute(statement)
    for statement in search_index.SCHEMA_SQL:
        op.execute(statement)
    search_index.rebuild(conn)


def downgrade() -> None:
    # search_0002 builds its tables from the same module, so the index a downgraded store
    # holds is already the one the code of that revision reads: nothing to undo
    pass

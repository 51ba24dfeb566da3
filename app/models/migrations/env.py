"""Alembic environment: runs on the connection the app hands over (already keyed)."""

from alembic import context

from app.models import Base
from app.models.search_index import is_search_index_table

config = context.config


def include_object(obj, name, type_, reflected, compare_to):
    # the FTS5 index and its shadow tables live outside the ORM metadata
    return not (type_ == "table" and is_search_index_table(name))


def run_migrations_online() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()

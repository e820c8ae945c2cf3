"""Alembic's entry point: migrate the database named in the config to server.tables.

SQLite cannot alter a column in place, so steps there run in batch mode (copy the table,
swap it in); the same step file works on both databases.
"""

from alembic import context

from server.db import make_engine
from server.tables import metadata

engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
try:
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
finally:
    engine.dispose()

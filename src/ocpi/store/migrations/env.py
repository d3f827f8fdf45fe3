"""Alembic's entry point, run for every command.

The node runs migrations itself (``ocpi.store.migrate``) and hands in its own
connection through ``config.attributes["connection"]``: a sync connection,
which on PostgreSQL is asyncpg's behind ``AsyncConnection.run_sync``. The
connection is already in a transaction, which Alembic joins, so the caller
decides when it commits (after a whole upgrade, or not at all).

Without one (a developer running ``alembic`` with ``alembic.ini``, say for
``revision --autogenerate``), the database comes from ``-x url=...``, else
``OCPI_DATABASE_URL``, and is reached through the same engines as the node's.
"""

import asyncio

from alembic import context
from sqlalchemy import Connection

from ocpi.store.database import Database
from ocpi.store.schema import metadata


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite",
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_standalone(url: str | None) -> None:
    db = Database(url)
    try:
        await db.run_schema_change(run)
    finally:
        await db.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: use `ocpi db upgrade`")
given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    asyncio.run(run_standalone(context.get_x_argument(as_dictionary=True).get("url")))

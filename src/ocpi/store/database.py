"""One database handle for SQLite and PostgreSQL.

SQLite runs through the synchronous driver directly in the event loop: its
statements take microseconds, and skipping a thread hop per call is the
cheapest path. PostgreSQL runs through asyncpg. Both are reached through the
same ``Tx.execute`` so the store has one code path.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Executable, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine, Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.schema import CreateColumn

from .schema import metadata

DEFAULT_DATABASE_URL = "sqlite:///./ocpi.db"


def database_url_from_env() -> str:
    return os.environ.get("OCPI_DATABASE_URL") or DEFAULT_DATABASE_URL


class Tx:
    """A transaction; ``execute`` is awaitable whichever driver runs it."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Connection | AsyncConnection) -> None:
        self._conn = conn

    @property
    def dialect(self) -> str:
        return self._conn.dialect.name

    async def execute(self, stmt: Executable, params: Any = None) -> Result[Any]:
        if isinstance(self._conn, AsyncConnection):
            return await self._conn.execute(stmt, params)
        return self._conn.execute(stmt, params)


class Database:
    def __init__(self, url: str | None = None) -> None:
        url = url or database_url_from_env()
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        self._sync: Engine | None = None
        self._async: AsyncEngine | None = None
        self._ready = False
        if self.dialect == "sqlite":
            # hide_parameters: an error message must never carry a token or secret
            self._sync = create_engine(url.replace("sqlite+aiosqlite", "sqlite"),
                                       hide_parameters=True)
            event.listen(self._sync, "connect", _sqlite_pragmas)
        else:
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+asyncpg://" + url.split("://", 1)[1]
            self._async = create_async_engine(url, pool_size=10, max_overflow=20,
                                              hide_parameters=True)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Tx]:
        if not self._ready:
            await self.create_schema()
        if self._sync is not None:
            with self._sync.begin() as conn:
                yield Tx(conn)
        else:
            assert self._async is not None
            async with self._async.begin() as aconn:
                yield Tx(aconn)

    async def create_schema(self) -> None:
        """Create missing tables, then add columns and indexes a newer release
        introduced (additive only; real migrations arrive with Alembic)."""
        if self._sync is not None:
            with self._sync.begin() as conn:
                _create_and_extend(conn)
        else:
            assert self._async is not None
            async with self._async.begin() as aconn:
                await aconn.run_sync(_create_and_extend)
        self._ready = True

    async def dispose(self) -> None:
        if self._sync is not None:
            self._sync.dispose()
        if self._async is not None:
            await self._async.dispose()


def _create_and_extend(conn: Connection) -> None:
    metadata.create_all(conn)
    inspector = inspect(conn)
    for table in metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable and column.server_default is None:
                raise RuntimeError(f"cannot add {table.name}.{column.name} to an existing "
                                   "database: it needs a default")
            ddl = CreateColumn(column).compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {ddl}"))
        for index in table.indexes:
            index.create(conn, checkfirst=True)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()

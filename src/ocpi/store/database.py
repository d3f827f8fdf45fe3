"""One database handle for SQLite and PostgreSQL.

SQLite runs through the synchronous driver directly in the event loop: its
statements take microseconds, and skipping a thread hop per call is the
cheapest path. PostgreSQL runs through asyncpg. Both are reached through the
same ``Tx.execute`` so the store has one code path.
"""

import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Executable, NullPool, create_engine, event, func, make_url, select, text
from sqlalchemy.engine import Connection, Engine, Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util.concurrency import greenlet_spawn

from . import migrate
from .group_commit import SqliteWriter
from .prepared import Prepared

DEFAULT_DATABASE_URL = "sqlite:///./ocpi.db"
SCHEMA_LOCK = 0x6F637069  # PostgreSQL advisory lock: one schema change at a time ("ocpi")

T = TypeVar("T")


def database_url_from_env() -> str:
    return os.environ.get("OCPI_DATABASE_URL") or DEFAULT_DATABASE_URL


POOL_SIZE_ENV = "OCPI_DB_POOL_SIZE"
POOL_TIMEOUT_ENV = "OCPI_DB_POOL_TIMEOUT"
DEFAULT_POOL_SIZE = 10
DEFAULT_POOL_TIMEOUT = 10.0


def pool_size_from_env() -> int:
    """PostgreSQL connections one process may hold (``ocpi serve --db-pool-size``)."""
    return max(1, int(os.environ.get(POOL_SIZE_ENV) or DEFAULT_POOL_SIZE))


def pool_timeout_from_env() -> float:
    """Seconds a request waits for a free connection before it is answered 503."""
    return float(os.environ.get(POOL_TIMEOUT_ENV) or DEFAULT_POOL_TIMEOUT)


def _written_table(stmt: Any) -> str | None:
    """The table an INSERT, UPDATE or DELETE writes (None for a read or raw SQL)."""
    table = getattr(stmt, "table", None)
    return table.name if table is not None else None


def _rows_changed(status: str) -> int:
    """The rows an asyncpg command status counts ("UPDATE 3", "INSERT 0 1")."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class Tx:
    """A transaction; ``execute`` is awaitable whichever driver runs it."""

    __slots__ = ("_conn", "_open", "_pg", "touched")

    def __init__(self, conn: Connection | AsyncConnection, open_: Any = None,
                 pg: Any = None) -> None:
        self._conn = conn
        self._open = open_  # SQLite: the group-commit unit, told when it writes
        self._pg = pg  # PostgreSQL: the asyncpg connection the transaction runs on
        self.touched: set[str] = set()  # tables written (Database.on_commit_of)

    @property
    def dialect(self) -> str:
        return self._conn.dialect.name

    async def execute(self, stmt: Executable, params: Any = None) -> Result[Any]:
        if (written := _written_table(stmt)) is not None:
            self.touched.add(written)
        if isinstance(self._conn, AsyncConnection):
            return await self._conn.execute(stmt, params)
        if self._open is not None and not getattr(stmt, "is_select", False):
            self._open.wrote = True
        return self._conn.execute(stmt, params)

    async def run(self, prepared: Prepared, params: dict[str, Any]) -> int:
        """A prepared write in this transaction; the number of rows it changed."""
        if (written := _written_table(prepared.stmt)) is not None:
            self.touched.add(written)
        sql, values = prepared.bind(self._conn.dialect, params)
        if self._pg is not None:  # straight to asyncpg
            return _rows_changed(await self._pg.execute(sql, *values))
        if isinstance(self._conn, AsyncConnection):
            return (await self._conn.exec_driver_sql(sql, values)).rowcount
        if self._open is not None:
            self._open.wrote = True
            return self._open.raw.execute(sql, values).rowcount  # type: ignore[no-any-return]
        return self._conn.exec_driver_sql(sql, values).rowcount

    async def plan_for_values(self) -> None:
        """PostgreSQL: plan this transaction's statements for the values they get. A
        bulk write's lookups first run on a small table; a generic plan cached then (a
        sequential scan) would be kept as the table grows, and without fresh statistics
        an import's pages grew slower with every one (quadratic)."""
        if self._pg is not None:
            await self._pg.execute("SET LOCAL plan_cache_mode = force_custom_plan")

    async def fetch(self, prepared: Prepared, params: dict[str, Any]) -> list[Any]:
        """Rows of a prepared statement, in this transaction."""
        sql, values = prepared.bind(self._conn.dialect, params)
        if self._pg is not None:
            return list(await self._pg.fetch(sql, *values))
        if isinstance(self._conn, AsyncConnection):
            return list((await self._conn.exec_driver_sql(sql, values)).all())
        if self._open is not None:
            if not getattr(prepared.stmt, "is_select", False):
                self._open.wrote = True
            return self._open.raw.execute(sql, values).fetchall()  # type: ignore[no-any-return]
        return list(self._conn.exec_driver_sql(sql, values).all())


# BEGIN and SET LOCAL in one round trip: the setting ends with this transaction
_BEGIN_LAZY = "BEGIN; SET LOCAL synchronous_commit = off"


class Database:
    def __init__(self, url: str | None = None, pool_size: int | None = None) -> None:
        url = url or database_url_from_env()
        self.pool_size = 1
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        self._sync: Engine | None = None
        self._async: AsyncEngine | None = None
        self._ready = False
        self._reader: Any = None  # SQLite: the connection hot reads use
        self._writer: SqliteWriter | None = None  # SQLite: the one writer, group commit
        self._lazy: dict[tuple[Prepared, ...], Prepared] = {}  # PostgreSQL: run_lazy's
        self._watchers: list[tuple[frozenset[str], Callable[[], None]]] = []
        if self.dialect == "sqlite":
            # hide_parameters: an error message must never carry a token or secret
            # check_same_thread off: a batch's COMMIT runs in a thread (group_commit)
            self._sync = create_engine(url.replace("sqlite+aiosqlite", "sqlite"),
                                       hide_parameters=True,
                                       connect_args={"check_same_thread": False})
            event.listen(self._sync, "connect", _sqlite_pragmas)
        else:
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+asyncpg://" + url.split("://", 1)[1]
            # the process's one pool (docs/deployment.md, connection budget): a request
            # beyond it waits for a connection rather than opening one more, and one that
            # waits past the timeout is answered 503 (core/db_health)
            self.pool_size = pool_size or pool_size_from_env()
            self._async = create_async_engine(url, pool_size=self.pool_size, max_overflow=0,
                                              pool_timeout=pool_timeout_from_env(),
                                              hide_parameters=True)

    @asynccontextmanager
    async def begin(self, *, lazy: bool = False) -> AsyncIterator[Tx]:
        """A transaction. ``lazy``: its commit must outlive this process but not a crash
        of the machine or the database server (an outbox settle, whose loss only sends
        a message again): no fsync is awaited for it (SQLite synchronous=NORMAL,
        PostgreSQL synchronous_commit off)."""
        if not self._ready:
            await self.ensure_schema()
        if self._sync is not None:
            if self._writer is None:  # again after dispose, as an engine is
                self._writer = SqliteWriter.for_file(self._sync)
            async with self._writer.transaction(lazy) as unit:
                tx = Tx(unit.conn, unit)
                yield tx
        else:
            async with self._pg_transaction(lazy) as tx:
                yield tx
        if tx.touched and self._watchers:
            self._committed(tx.touched)

    def _committed(self, touched: set[str]) -> None:
        for tables, told in self._watchers:
            if tables & touched:
                told()

    def on_commit_of(self, tables: frozenset[str], told: Callable[[], None]) -> None:
        """``told()`` after each committed write of this handle to one of ``tables``
        (``begin``'s ``Tx.execute`` and ``Tx.run``, and ``run``): what a cache of them
        must forget. Raw SQL text names no table and is not seen."""
        self._watchers.append((tables, told))

    def driver_dsn(self) -> str:
        """PostgreSQL: the URL as asyncpg takes it (a connection of its own)."""
        return make_url(self.url).set(drivername="postgresql").render_as_string(
            hide_password=False)

    @asynccontextmanager
    async def _pg_transaction(self, lazy: bool) -> AsyncIterator[Tx]:
        """PostgreSQL: BEGIN and COMMIT sent on the asyncpg connection itself, prepared
        statements run on it directly; SQLAlchemy's statements run on the same
        connection in its autocommit mode, so inside this transaction, not one of its
        own (fewer layers and greenlet hops per write than SQLAlchemy's transaction)."""
        assert self._async is not None
        async with self._async.connect() as aconn:
            await aconn.execution_options(isolation_level="AUTOCOMMIT")
            fairy = await aconn.get_raw_connection()
            conn = fairy.driver_connection
            try:
                try:
                    await conn.execute(_BEGIN_LAZY if lazy else "BEGIN")
                    yield Tx(aconn, pg=conn)
                except BaseException:
                    with contextlib.suppress(BaseException):  # else it is dropped below
                        await conn.execute("ROLLBACK")
                    raise
                await conn.execute("COMMIT")
            finally:
                if _unusable(conn):
                    fairy.invalidate()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Callable[[Prepared, dict[str, Any]],
                                                     Awaitable[list[Any]]]]:
        """``fetch`` for several reads in a row on one connection (a page and its count:
        on PostgreSQL one pool checkout instead of one per read)."""
        if self._sync is not None or not self._ready:
            yield self.fetch
            return
        assert self._async is not None
        dialect = self._async.dialect
        async with self._driver() as conn:
            async def fetch(prepared: Prepared, params: dict[str, Any]) -> list[Any]:
                sql, values = prepared.bind(dialect, params)
                return list(await conn.fetch(sql, *values))
            yield fetch

    async def fetch(self, prepared: Prepared, params: dict[str, Any]) -> list[Any]:
        """Rows of a prepared read, outside any transaction (the hot read path).

        SQLite reads on a connection of their own, in the event loop: WAL
        lets it see every committed write without waiting for the writer.
        """
        if not self._ready:
            await self.ensure_schema()
        if self._sync is not None:
            if self._reader is None:
                self._reader = self._sync.raw_connection()
            sql, values = prepared.bind(self._sync.dialect, params)
            cursor = self._reader.driver_connection.execute(sql, values)  # type: ignore[union-attr]
            return cursor.fetchall()
        assert self._async is not None
        sql, values = prepared.bind(self._async.dialect, params)
        async with self._driver() as conn:
            return list(await conn.fetch(sql, *values))

    async def run(self, prepared: Prepared, params: dict[str, Any]) -> int:
        """One prepared write as a transaction of its own, committed durably before it
        returns; the number of rows it changed. PostgreSQL: the statement's implicit
        transaction, one round trip (a partner's write: no BEGIN and COMMIT around it)."""
        if self._sync is not None:
            async with self.begin() as tx:
                return await tx.run(prepared, params)
        if not self._ready:
            await self.ensure_schema()
        assert self._async is not None
        sql, values = prepared.bind(self._async.dialect, params)
        async with self._driver() as conn:
            changed = _rows_changed(await conn.execute(sql, *values))
        if (written := _written_table(prepared.stmt)) is not None:
            self._committed({written})
        return changed

    async def run_lazy(self, statements: list[Prepared], params: dict[str, Any]) -> None:
        """Prepared writes, in one transaction, whose commit must outlive this process
        but not a crash of the machine or the database server (an outbox settle: lost,
        the message goes again). PostgreSQL: one statement, one round trip
        (``_lazily``); SQLite: a ``lazy`` transaction."""
        if self._sync is not None:
            async with self.begin(lazy=True) as tx:
                for prepared in statements:
                    await tx.run(prepared, params)
            return
        if not self._ready:
            await self.ensure_schema()
        assert self._async is not None
        key = tuple(statements)
        combined = self._lazy.get(key)
        if combined is None:
            combined = self._lazy[key] = _lazily(key)
        sql, values = combined.bind(self._async.dialect, params)
        async with self._driver() as conn:
            await conn.execute(sql, *values)

    @asynccontextmanager
    async def _driver(self) -> AsyncIterator[Any]:
        """PostgreSQL: an asyncpg connection of the engine's pool, used directly (the hot
        reads and lazy settles: no SQLAlchemy layers, no transaction around one SELECT,
        no reset on release, as nothing here leaves session state behind). One pool per
        process, so the connection budget holds."""
        assert self._async is not None
        # the pool's own checkout, without SQLAlchemy's Connection around it
        fairy = await greenlet_spawn(self._async.sync_engine.raw_connection)
        conn = fairy.driver_connection
        try:
            yield conn
        finally:
            if _unusable(conn):
                fairy.invalidate()
            await greenlet_spawn(fairy.close)  # back to the pool

    async def ping(self) -> None:
        """One round trip to the server (the outage probe of core/db_health)."""
        if self._sync is not None:
            await self._run(lambda c: c.exec_driver_sql("SELECT 1"))
            return
        async with self._driver() as conn:
            await conn.fetchval("SELECT 1")

    async def ensure_schema(self) -> None:
        """Make the schema this release's, once per process (``begin`` calls it).

        SQLite is upgraded on the spot: it is the node's own file. PostgreSQL
        behind head raises ``migrate.SchemaBehind``: a shared server's schema
        changes when its operator runs ``ocpi db upgrade``, after a backup.
        """
        if await self._run(migrate.read_revision) != migrate.HEAD:
            await self.run_schema_change(
                partial(migrate.ensure, upgrade_behind=self.dialect == "sqlite"))
        self._ready = True

    async def upgrade_schema(self) -> tuple[migrate.SchemaState, str]:
        """``ocpi db upgrade``: to head, from wherever the database is."""
        result = await self.run_schema_change(migrate.upgrade)
        self._ready = True
        return result

    async def schema_state(self) -> migrate.SchemaState:
        return await self._run(migrate.state)

    async def run_schema_change(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in one transaction that may change the schema, alone.

        SQLite: its own connection, ``BEGIN IMMEDIATE`` (a second process
        waits, then finds the work done) and foreign keys off, so a table
        rebuilt in batch mode does not cascade deletes to the rows that
        reference it; the keys are checked before commit. PostgreSQL: an
        advisory lock, and its DDL is transactional anyway.
        """
        if self._async is not None:
            async with self._async.begin() as aconn:
                await aconn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                    {"key": SCHEMA_LOCK})
                return await aconn.run_sync(fn)
        assert self._sync is not None
        if make_url(self._sync.url).database in (None, "", ":memory:"):
            with self._sync.begin() as conn:  # private to this engine: nothing to lock
                return fn(conn)
        engine = create_engine(self._sync.url, poolclass=NullPool, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_schema_connection)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        try:
            with engine.begin() as conn:
                result = fn(conn)
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                if broken is not None:
                    raise migrate.SchemaError(f"schema change left a broken foreign key in "
                                              f"{broken[0]}; nothing was changed")
                return result
        finally:
            engine.dispose()

    async def _run(self, fn: Callable[[Connection], T]) -> T:
        if self._sync is not None:
            with self._sync.connect() as conn:
                return fn(conn)
        assert self._async is not None
        async with self._async.connect() as aconn:
            return await aconn.run_sync(fn)

    async def dispose(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._sync is not None:
            self._sync.dispose()
        if self._async is not None:
            await self._async.dispose()


def _lazily(writes: tuple[Prepared, ...]) -> Prepared:
    """PostgreSQL: ``writes`` as one statement in its own implicit transaction, which
    turns ``synchronous_commit`` off for itself alone: the writes as data-modifying
    CTEs (run whether or not they are read, on one snapshot, so they must not depend
    on each other's rows), and a SELECT of ``set_config(..., is_local)``, which holds
    until that transaction's commit. One round trip where ``BEGIN; SET LOCAL ...``,
    the writes and ``COMMIT`` took three."""

    def build(dialect: str) -> Executable:
        lazy = select(func.set_config("synchronous_commit", "off", True).label("off")
                      ).cte("lazy_commit")
        stmt = select(lazy.c.off)
        for n, write in enumerate(writes):
            stmt = stmt.add_cte(write.build(dialect).cte(f"write_{n}"))  # type: ignore[attr-defined]
        return stmt

    return Prepared(build=build)


def _unusable(conn: Any) -> bool:
    """A connection that must not go back to the pool: closed, or still inside a
    transaction (a statement or its ROLLBACK was interrupted: the pool's reset would
    not end it, and the next user would inherit it)."""
    return conn is None or conn.is_closed() or conn.is_in_transaction()


def _sqlite_schema_connection(dbapi_conn: Any, _record: Any) -> None:
    """Transactions by hand (``BEGIN IMMEDIATE``, so DDL is inside them too)."""
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA foreign_keys=OFF")  # only takes effect outside a transaction
    cur.close()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()

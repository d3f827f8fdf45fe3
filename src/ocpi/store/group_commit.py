"""Group commit for SQLite: many requests' writes, one fsync, none answered early.

A durable SQLite commit costs an fsync (about 1.5 ms here) and a request's own
statements cost microseconds. So every transaction runs its statements at
once, in the event loop, on the one writer connection, inside a SAVEPOINT of
the open batch; it then waits for the batch's COMMIT, which runs in a thread
while the loop goes on parsing and validating the next requests. Those join
the next batch. A request is answered only after the COMMIT that holds its
writes returned, so durability is the same as one commit per request.

A transaction that fails rolls back to its savepoint: the others in the batch
are untouched. A failed COMMIT fails every transaction of that batch.
A transaction that only read does not wait for the commit.
"""

import asyncio
import contextlib
import contextvars
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.engine import Connection, Engine

_current: contextvars.ContextVar["_Open | None"] = contextvars.ContextVar(
    "ocpi_sqlite_tx", default=None)


class _Open:
    __slots__ = ("conn", "done", "raw", "wrote")

    def __init__(self, conn: Connection, raw: Any) -> None:
        self.conn = conn
        self.raw = raw  # the sqlite3 connection: prepared statements skip SQLAlchemy
        self.wrote = False
        self.done = False  # a task started inside it must not join it afterwards


class SqliteWriter:
    """The one writer of a SQLite file in this process.

    Shared by every ``Database`` on the same file: two writers in one event
    loop would wait on each other's open batch while blocking the loop.
    """

    _shared: dict[str, "SqliteWriter"] = {}

    @classmethod
    def for_file(cls, engine: Engine) -> "SqliteWriter":
        path = engine.url.database or ""
        if path in ("", ":memory:"):
            return cls(engine)  # private to its engine
        key = os.path.realpath(path)
        writer = cls._shared.get(key)
        if writer is None:
            writer = cls._shared[key] = cls(engine, key)
        writer._users += 1
        return writer

    def __init__(self, engine: Engine, key: str | None = None) -> None:
        self._key = key
        self._users = 1 if key is None else 0
        self._engine = engine
        self._conn: Connection | None = None
        self._raw: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._batch: list[asyncio.Future[None]] = []
        self._in_batch = False  # a BEGIN without its COMMIT yet
        self._committer: asyncio.Task[None] | None = None
        self._savepoint = 0
        self._lazy = False  # the connection's synchronous=NORMAL, for the open batch

    def _connection(self) -> Connection:
        if self._conn is None:
            # the driver's own transaction handling off: BEGIN/SAVEPOINT/COMMIT are ours
            self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._raw = self._conn.connection.driver_connection
        return self._conn

    @asynccontextmanager
    async def transaction(self, lazy: bool = False) -> AsyncIterator[_Open]:
        """One unit of the open batch. ``lazy``: its commit need only outlive this
        process, not the machine (an outbox settle: lost, the message goes again);
        such a batch commits with synchronous=NORMAL, no fsync, and a durable
        transaction never joins one: it waits for that batch's commit."""
        joined = _current.get()
        if joined is not None and not joined.done:  # a store call inside another's: one unit
            yield joined
            return
        if self._loop is not asyncio.get_running_loop():
            self._start_on(asyncio.get_running_loop())
        await self._lock.acquire()
        while self._in_batch and self._lazy and not lazy and self._committer is not None:
            committing = self._committer
            self._lock.release()
            await asyncio.wait([committing])  # its failure is its batch's, not ours
            await self._lock.acquire()
        try:
            conn = self._connection()
            raw = self._raw
            if not self._in_batch:
                if self._lazy != lazy:  # only outside a transaction
                    raw.execute("PRAGMA synchronous=NORMAL" if lazy else
                                "PRAGMA synchronous=FULL")
                    self._lazy = lazy
                raw.execute("BEGIN IMMEDIATE")
                self._in_batch = True
            self._savepoint += 1
            name = f"t{self._savepoint}"
            raw.execute(f"SAVEPOINT {name}")
            tx = _Open(conn, raw)
            token = _current.set(tx)
            try:
                yield tx
            except BaseException:
                raw.execute(f"ROLLBACK TO {name}")
                raw.execute(f"RELEASE {name}")
                self._end_if_idle(raw)
                raise
            finally:
                tx.done = True
                _current.reset(token)
            raw.execute(f"RELEASE {name}")
            if not tx.wrote:
                self._end_if_idle(raw)
                return
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._batch.append(done)
            if self._committer is None:
                self._committer = asyncio.create_task(self._commit())
        finally:
            self._lock.release()
        await done

    def _end_if_idle(self, raw: Any) -> None:
        """Nothing of this batch awaits a commit: end it now, so the file's write
        lock is not held while the node is idle (no fsync: nothing was written)."""
        if not self._batch:
            raw.execute("COMMIT")
            self._in_batch = False

    def _start_on(self, loop: asyncio.AbstractEventLoop) -> None:
        """A new event loop (the CLI runs several in turn): fresh loop-bound state."""
        if self._in_batch and self._conn is not None:
            self._raw.execute("ROLLBACK")  # nobody was answered for it
        self._in_batch = False
        self._loop = loop
        self._lock = asyncio.Lock()
        self._batch = []
        self._committer = None

    async def _commit(self) -> None:
        await asyncio.sleep(0)  # let requests that are ready join this batch
        async with self._lock:
            batch, self._batch = self._batch, []
            self._committer = None
            raw = self._raw
            try:
                if self._lazy:  # no fsync: microseconds, not worth a thread's hand-off
                    raw.execute("COMMIT")
                else:
                    await asyncio.to_thread(raw.execute, "COMMIT")
                error: BaseException | None = None
            except BaseException as exc:  # the whole batch is lost: say so to each
                error = exc
                with contextlib.suppress(Exception):  # no transaction left to end
                    raw.execute("ROLLBACK")
            finally:
                self._in_batch = False
            for done in batch:
                if done.done():
                    continue
                if error is None:
                    done.set_result(None)
                else:
                    done.set_exception(error)

    def close(self) -> Any:
        self._users -= 1
        if self._users > 0:
            return
        if self._key is not None:
            SqliteWriter._shared.pop(self._key, None)
        if self._conn is not None:
            if self._in_batch:
                self._raw.execute("ROLLBACK")
            self._conn.close()
            self._conn = None

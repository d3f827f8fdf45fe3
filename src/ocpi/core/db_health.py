"""Whether the database answers, as requests find out (core: the transport asks it).

A database that is down, restarting or out of connections is not a bug of
ours: every request in the outage is answered 503 with ``Retry-After`` (the
partner's retry logic knows what to do with that), the outage is logged once
when it starts and once when it ends with the number of requests refused, and
``/metrics`` shows it. Recovery is found by a probe, so the "back" line comes
even when no request arrives.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy import exc as sa_exc

log = logging.getLogger("ocpi.database")

RETRY_AFTER_SECONDS = 5
PROBE_EVERY = 1.0

# errors that say "the server is not there / not taking us now", not "your SQL is wrong"
_DOWN = (
    OSError,  # refused, reset, unreachable, DNS
    asyncio.TimeoutError,  # a connection that never came
    sa_exc.TimeoutError,  # the pool had no connection within its timeout
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
)


def is_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what caused it) means the database is unreachable or full."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, _DOWN):
            return True
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return True
        if isinstance(exc, sa_exc.OperationalError) and "database is locked" in str(exc):
            return True  # SQLite: another process held the write lock past busy_timeout
        if isinstance(exc, sa_exc.InterfaceError):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


class Health:
    """This process's view of the database: up, or down since when and how many refused."""

    def __init__(self) -> None:
        self.up = True
        self.down_since: float | None = None
        self.refused_now = 0  # requests refused in the current outage
        self.refused_total = 0
        self.outages = 0
        self._probe: asyncio.Task[None] | None = None

    def refused(self, exc: BaseException, probe: Callable[[], Awaitable[Any]] | None) -> None:
        """A request found the database unavailable; the first of an outage is logged."""
        self.refused_total += 1
        self.refused_now += 1
        self.failed_in_background(exc, probe)

    def failed_in_background(self, exc: BaseException,
                             probe: Callable[[], Awaitable[Any]] | None = None) -> bool:
        """A background job (the outbox, a sweep) met ``exc``: if it means the database
        is unavailable, the outage is noted (logged once, as for requests) and True
        says the caller should wait and try again without a traceback of its own."""
        if not is_unavailable(exc):
            return False
        if self.up:
            self.up = False
            self.down_since = time.monotonic()
            self.outages += 1
            log.error("database unavailable (%s: %s); answering 503 until it is back",
                      type(exc).__name__, str(exc)[:200])
        if probe is not None and (self._probe is None or self._probe.done()):
            self._probe = asyncio.get_running_loop().create_task(self._watch(probe))
        return True

    def back(self) -> None:
        if self.up:
            return
        took = time.monotonic() - (self.down_since or time.monotonic())
        log.warning("database available again after %.1f s; %d requests were refused with 503",
                    took, self.refused_now)
        self.up = True
        self.down_since = None
        self.refused_now = 0

    async def _watch(self, probe: Callable[[], Awaitable[Any]]) -> None:
        while not self.up:
            try:
                await probe()
            except Exception as exc:
                if not is_unavailable(exc):
                    log.warning("database probe: %s", type(exc).__name__)
                await asyncio.sleep(PROBE_EVERY)
                continue
            self.back()

    def metrics(self) -> list[str]:
        return [
            "# HELP ocpi_database_up Whether the database answered the last request or probe.",
            "# TYPE ocpi_database_up gauge",
            f"ocpi_database_up {1 if self.up else 0}",
            "# HELP ocpi_database_refused_requests_total Requests answered 503 because the "
            "database was unavailable.",
            "# TYPE ocpi_database_refused_requests_total counter",
            f"ocpi_database_refused_requests_total {self.refused_total}",
            "# HELP ocpi_database_outages_total Times the database became unavailable.",
            "# TYPE ocpi_database_outages_total counter",
            f"ocpi_database_outages_total {self.outages}",
        ]


HEALTH = Health()  # one per process: every Database of it shares the server's fate

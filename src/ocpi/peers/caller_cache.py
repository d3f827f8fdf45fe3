"""Who a token is, remembered between requests while the registry stays as it was.

Why: on PostgreSQL every request's first step was a round trip to read its token,
about a quarter of a page GET's work (docs/benchmarks.md). The answer changes only
when a partner's row or a token changes, so a process keeps it, and forgets all it
knows the moment either table changes:
- in this process, when a transaction that wrote ``peers`` or ``tokens`` commits
  (``Database.on_commit_of``), before the writer is answered;
- in every process, by PostgreSQL: a trigger (migration 0013) sends a notification on
  ``ocpi_registry`` with each such commit, and ``listen`` holds a connection that
  hears it.
The cache is used only while that connection is shown to hear (a notification it
sends itself every ``PING_EVERY`` seconds comes back: not so through a pooler in
transaction mode), and an entry lives at most ``MAX_AGE`` seconds as a backstop. A
read that overlapped a change is not kept (the generation moved). Tokens in grace or
rotation, and unknown tokens, are never kept: a flood of made-up tokens costs what it
did, and cannot fill memory.
"""

import asyncio
import contextlib
import logging
import secrets
import time
from typing import Any

from ..core.authentication.authenticator import Caller

CHANNEL = "ocpi_registry"
WATCHED = frozenset({"peers", "tokens"})
MAX_AGE = 30.0  # seconds an entry is trusted without a word from the database
MAX_ENTRIES = 10_000
PING_EVERY = 10.0  # seconds between checks that the listening connection still answers

log = logging.getLogger("ocpi.auth")


class CallerCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[Caller, float]] = {}
        self.generation = 0
        self.live = False  # the listening connection is up: only then is anything kept

    def get(self, key: str) -> Caller | None:
        if not self.live:
            return None
        hit = self._entries.get(key)
        if hit is None:
            return None
        if time.monotonic() - hit[1] > MAX_AGE:
            self._entries.pop(key, None)
            return None
        return hit[0]

    def put(self, key: str, caller: Caller, generation: int) -> None:
        """Keep what was read, unless the registry changed since the read began."""
        if not self.live or generation != self.generation:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (caller, time.monotonic())

    def changed(self, *_: Any) -> None:
        self.generation += 1
        self._entries.clear()

    async def listen(self, dsn: str, retry: float = 1.0) -> None:
        """Hold a connection LISTENing on ``CHANNEL`` for as long as the task runs; the
        cache is live only while it holds. Lost, it forgets everything and connects
        again."""
        import asyncpg

        probe = f"ocpi_probe_{secrets.token_hex(6)}"  # this process's own channel
        heard = asyncio.Event()
        said = False  # that it is off, once (a pooler that never lets it on)
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(dsn)
                await conn.add_listener(CHANNEL, self.changed)
                await conn.add_listener(probe, lambda *_: heard.set())
                while True:
                    # a notification to itself must come back: through a pooler in
                    # transaction mode (PgBouncer) LISTEN hears nothing, and nothing
                    # may then be kept
                    heard.clear()
                    await conn.execute(f"NOTIFY {probe}")
                    await asyncio.wait_for(heard.wait(), PING_EVERY)
                    if not self.live:
                        self.changed()  # whatever happened while nobody listened
                        self.live = True
                    await asyncio.sleep(PING_EVERY)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # down, refused, or its own notification not heard
                if self.live or not said:
                    said = True
                    log.warning("token cache off: the registry's notifications are not "
                                "heard (%s); every request reads its token until they are",
                                type(exc).__name__)
            finally:
                self.live = False
                self.changed()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=1)
            await asyncio.sleep(retry)

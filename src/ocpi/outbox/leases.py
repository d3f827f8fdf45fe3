"""One worker per partner queue at a time, across processes and machines.

A lease names its holder (``host:pid:pid-namespace:nonce``) and expires
unless renewed. A holder that died on this host, in this pid namespace, is
recognised at once (its pid is gone), so a node restarted after ``kill -9``
resumes without waiting for the expiry; any other holder (another machine,
another container with the same host name) is waited out.
"""

import os
import socket
import time
import uuid
from datetime import timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..store.database import Database
from ..store.schema import leases
from .queue import now

HOST = socket.gethostname()


def _pid_namespace() -> int:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


PID_NS = _pid_namespace()


def new_holder() -> str:
    return f"{HOST}:{os.getpid()}:{PID_NS}:{uuid.uuid4().hex[:8]}"


def _dead_here(holder: str) -> bool:
    parts = holder.split(":")
    if len(parts) != 4 or parts[0] != HOST or parts[2] != str(PID_NS) \
            or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Leases:
    def __init__(self, db: Database, holder: str, ttl: float = 60.0) -> None:
        self.db = db
        self.holder = holder
        self.ttl = timedelta(seconds=ttl)
        # leases this worker holds and when (monotonic) they expire in the database:
        # a busy partner costs no lease write per drain
        self._held: dict[int, float] = {}
        # partners another worker holds, and when (monotonic) its lease runs out
        self.blocked: dict[int, float] = {}

    def _remaining(self, peer_id: int) -> float:
        return self._held.get(peer_id, 0.0) - time.monotonic()

    async def claim(self, peer_id: int) -> bool:
        if self._remaining(peer_id) > self.ttl.total_seconds() / 2:
            return True
        claimed = await self._claim(peer_id)
        if claimed:
            self._held[peer_id] = time.monotonic() + self.ttl.total_seconds()
        else:
            self._held.pop(peer_id, None)
        return claimed

    async def ensure(self, peer_id: int, needed: float) -> bool:
        """Hold the lease for at least ``needed`` more seconds (one send, retries and
        all), renewing it first if need be; False when another worker has it."""
        if self._remaining(peer_id) > needed:
            return True
        return await self.renew(peer_id, max(self.ttl.total_seconds(), 2 * needed))

    async def _claim(self, peer_id: int) -> bool:
        self.blocked.pop(peer_id, None)
        try:
            async with self.db.begin() as tx:
                # PostgreSQL: a lease another worker is claiming right now is skipped,
                # not waited for (SQLite has one writer anyway and ignores this)
                row = (await tx.execute(select(leases).where(leases.c.peer_id == peer_id)
                                        .with_for_update(skip_locked=True))).first()
                expires = now() + self.ttl
                if row is None:  # none yet, or being claimed: the INSERT settles it
                    await tx.execute(insert(leases).values(peer_id=peer_id, holder=self.holder,
                                                           expires_at=expires))
                    return True
                if not (row.holder == self.holder or row.expires_at <= now()
                        or _dead_here(row.holder)):
                    self.blocked[peer_id] = time.monotonic() + min(
                        (row.expires_at - now()).total_seconds(), self.ttl.total_seconds())
                    return False
                result = await tx.execute(
                    update(leases).where(leases.c.peer_id == peer_id,
                                         leases.c.holder == row.holder)
                    .values(holder=self.holder, expires_at=expires))
                return bool(result.rowcount)
        except IntegrityError:
            return False  # another worker inserted it first

    async def renew(self, peer_id: int, seconds: float | None = None) -> bool:
        length = timedelta(seconds=seconds) if seconds else self.ttl
        started = time.monotonic()
        async with self.db.begin() as tx:
            result = await tx.execute(
                update(leases).where(leases.c.peer_id == peer_id,
                                     leases.c.holder == self.holder,
                                     leases.c.expires_at > now())
                .values(expires_at=now() + length))
        if result.rowcount:
            self._held[peer_id] = started + length.total_seconds()
            return True
        self._held.pop(peer_id, None)
        return False

    async def release_all(self) -> None:
        for peer_id in list(self._held):
            await self.release(peer_id)

    async def release(self, peer_id: int) -> None:
        self._held.pop(peer_id, None)
        async with self.db.begin() as tx:
            await tx.execute(delete(leases).where(leases.c.peer_id == peer_id,
                                                  leases.c.holder == self.holder))

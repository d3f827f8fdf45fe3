"""One worker per partner queue at a time, across processes and machines.

A lease names its holder (``host:pid:nonce``) and expires unless renewed. A
holder that died on this host is recognised at once (its pid is gone), so
a node restarted after ``kill -9`` resumes without waiting for the expiry.
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


def new_holder() -> str:
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead_here(holder: str) -> bool:
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != HOST or not pid_text.isdigit():
        return False
    pid = int(pid_text)
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
        # leases this worker holds, and until when (monotonic) it need not renew them:
        # a busy partner costs no lease write per drain
        self._held: dict[int, float] = {}

    async def claim(self, peer_id: int) -> bool:
        if self._held.get(peer_id, 0.0) > time.monotonic():
            return True
        claimed = await self._claim(peer_id)
        if claimed:
            self._held[peer_id] = time.monotonic() + self.ttl.total_seconds() / 2
        else:
            self._held.pop(peer_id, None)
        return claimed

    async def _claim(self, peer_id: int) -> bool:
        try:
            async with self.db.begin() as tx:
                row = (await tx.execute(select(leases).where(leases.c.peer_id == peer_id))
                       ).first()
                expires = now() + self.ttl
                if row is None:
                    await tx.execute(insert(leases).values(peer_id=peer_id, holder=self.holder,
                                                           expires_at=expires))
                    return True
                if not (row.holder == self.holder or row.expires_at <= now()
                        or _dead_here(row.holder)):
                    return False
                result = await tx.execute(
                    update(leases).where(leases.c.peer_id == peer_id,
                                         leases.c.holder == row.holder)
                    .values(holder=self.holder, expires_at=expires))
                return bool(result.rowcount)
        except IntegrityError:
            return False  # another worker inserted it first

    async def renew(self, peer_id: int) -> bool:
        async with self.db.begin() as tx:
            result = await tx.execute(
                update(leases).where(leases.c.peer_id == peer_id,
                                     leases.c.holder == self.holder)
                .values(expires_at=now() + self.ttl))
        if result.rowcount:
            self._held[peer_id] = time.monotonic() + self.ttl.total_seconds() / 2
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

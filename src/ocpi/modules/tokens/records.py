"""The record of real-time authorizations, answered (eMSP) or asked (CPO).

A session takes its authorization's reference within 30 minutes; the record
is kept longer for the operator (``OCPI_AUTHORIZATION_RETENTION_DAYS``,
default 90, at least 1), then pruned in the background when a record is
written, at most once an hour per process and in batches, so the table never
grows without bound and no answer waits for it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select

from ...core.datetime import utcnow
from ...core.enums import RoleEnum
from ...store.database import Database, Tx
from ...store.keys import id_key
from .declaration import authorizations


def now() -> datetime:
    return utcnow().replace(tzinfo=None)


def new_reference() -> str:
    """An ``authorization_reference``: unique, and within CiString(36)."""
    return uuid.uuid4().hex


@dataclass
class Decision:
    allowed: str  # ALLOWED, BLOCKED, EXPIRED, NO_CREDIT, NOT_ALLOWED
    decided_by: str  # emsp | local | command (a START_SESSION the eMSP sent)
    reference: str | None = None
    known: bool = True  # False: the eMSP does not know the token
    reason: str = ""
    info: dict[str, Any] | None = None
    token: dict[str, Any] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("token")
        return out


PRUNE_EVERY = 3600.0  # seconds between prunes, per process
PRUNE_BATCH = 5_000  # rows per delete: a backlog never holds the write lock long
MIN_RETENTION = timedelta(days=1)  # a session takes its reference within 30 minutes
_next_prune = 0.0
_pruning: asyncio.Task[int] | None = None

log = logging.getLogger("ocpi.tokens")


def retention() -> timedelta:
    """``OCPI_AUTHORIZATION_RETENTION_DAYS``, never under a day; 90 days when unset
    or unreadable."""
    raw = os.environ.get("OCPI_AUTHORIZATION_RETENTION_DAYS", "90")
    try:
        days = timedelta(days=float(raw))
    except (ValueError, OverflowError):
        log.warning("OCPI_AUTHORIZATION_RETENTION_DAYS=%r is not a number: 90 days", raw)
        days = timedelta(days=90)
    return max(days, MIN_RETENTION)


async def prune(db: Database, older_than: timedelta) -> int:
    """Remove the records older than ``older_than``, in batches; how many went."""
    a = authorizations
    gone = 0
    while True:
        async with db.begin() as tx:
            batch = select(a.c.seq).where(a.c.created_at < now() - older_than).limit(
                PRUNE_BATCH).scalar_subquery()
            done = int((await tx.execute(delete(a).where(a.c.seq.in_(batch)))).rowcount or 0)
        gone += done
        if done < PRUNE_BATCH:
            return gone


async def _prune_quietly(db: Database) -> int:
    try:
        return await prune(db, retention())
    except Exception as exc:  # housekeeping: an authorization never fails for it
        log.warning("pruning old authorization records failed: %s", exc)
        return 0


def _prune_when_due(db: Database) -> None:
    """Start a prune in the background at most once an hour per process: the
    answer to a real-time authorization never waits for it."""
    global _next_prune, _pruning
    if time.monotonic() < _next_prune:
        return
    _next_prune = time.monotonic() + PRUNE_EVERY
    _pruning = asyncio.get_running_loop().create_task(_prune_quietly(db))


async def record(db: Database, role: RoleEnum, decision: Decision, **about: Any) -> None:
    """Record one decision (``about``: as ``record_in`` takes it)."""
    async with db.begin() as tx:
        await record_in(tx, role, decision, **about)
    _prune_when_due(db)


async def record_in(tx: Tx, role: RoleEnum, decision: Decision, *, uid: str,
                    token_type: str, token_owner: tuple[str, str] | None = None,
                    peer_id: int | None = None, location_id: str | None = None,
                    evse_uid: str | None = None) -> None:
    """``record`` inside a transaction the caller holds (an accepted START_SESSION is
    recorded with the command that carried it)."""
    await tx.execute(insert(authorizations).values(
        role=str(role), reference=decision.reference, peer_id=peer_id,
        token_country_code=token_owner[0].upper() if token_owner else None,
        token_party_id=token_owner[1].upper() if token_owner else None,
        uid=id_key(uid), type=token_type.upper(), location_id=location_id,
        evse_uid=evse_uid, allowed=decision.allowed, decided_by=decision.decided_by,
        created_at=now()))



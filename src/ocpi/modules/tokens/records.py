"""The record of real-time authorizations, answered (eMSP) or asked (CPO).

A session takes its authorization's reference within 30 minutes; the record
is kept longer for the operator (``OCPI_AUTHORIZATION_RETENTION_DAYS``,
default 90), then pruned by the recording path itself, at most once an hour
per process, so the table never grows without bound.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert

from ...core.datetime import utcnow
from ...core.enums import RoleEnum
from ...store.database import Database
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
    decided_by: str  # emsp | local
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
_next_prune = 0.0


def retention() -> timedelta:
    return timedelta(days=float(os.environ.get("OCPI_AUTHORIZATION_RETENTION_DAYS", "90")))


async def prune(db: Database, older_than: timedelta) -> int:
    """Remove the records older than ``older_than``; how many went."""
    async with db.begin() as tx:
        gone = await tx.execute(delete(authorizations).where(
            authorizations.c.created_at < now() - older_than))
    return int(gone.rowcount or 0)


async def record(db: Database, role: RoleEnum, decision: Decision, *, uid: str,
                 token_type: str, token_owner: tuple[str, str] | None = None,
                 peer_id: int | None = None, location_id: str | None = None,
                 evse_uid: str | None = None) -> None:
    async with db.begin() as tx:
        await tx.execute(insert(authorizations).values(
            role=str(role), reference=decision.reference, peer_id=peer_id,
            token_country_code=token_owner[0].upper() if token_owner else None,
            token_party_id=token_owner[1].upper() if token_owner else None,
            uid=id_key(uid), type=token_type.upper(), location_id=location_id,
            evse_uid=evse_uid, allowed=decision.allowed, decided_by=decision.decided_by,
            created_at=now()))
    global _next_prune
    if time.monotonic() >= _next_prune:
        _next_prune = time.monotonic() + PRUNE_EVERY
        await prune(db, retention())



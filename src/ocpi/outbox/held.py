"""Messages for a party a hub reports OFFLINE wait; a SUSPENDED party's are set aside.

A message to a hub addressed to one party (``OCPI-to-*``) is looked at against
the hub's report on that party (Hub Client Info) before it is sent:

- OFFLINE: the message leaves its partner's FIFO as ``held``, with the reason in
  ``last_error``. No request is made and no attempt is counted. The messages
  behind it (other parties, broadcasts) go on: a hub's queue is one FIFO lane
  per addressed party.
- SUSPENDED: the party will never connect again; the message is set aside
  (``dead``) with that reason, where ``ocpi outbox retry`` finds it.
- Anything else (CONNECTED, PLANNED, no report): sent as usual.

Every report written through the store (pushed, pulled, ``ocpi peers reach``)
makes that party's held messages due (and wakes an in-process worker); the
worker's drain then reads the report again and puts them back in the queue, at
their original place, when the party is no longer OFFLINE. ``next_attempt_at``
of a held message is only when its report is read again (``RECHECK``), a
safety net for a report written where no hook runs.

Holding and reviewing read the report under the lock that orders publishing
(PostgreSQL; SQLite has one writer), as the hook does, so a report that
arrives while a message is being held always finds it.
"""

import os
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, text, update

from ..core.enums import ModuleID, RoleEnum
from ..modules.hubclientinfo.declaration import hub_key
from ..store.database import Database, Tx
from ..store.keys import party_key
from ..store.objects import on_own_write
from ..store.schema import outbox, peers
from ..store.sql_store import get_in
from .publish import QUEUE_LOCK
from .queue import Message, now

HELD = "held"
OFFLINE, SUSPENDED = "OFFLINE", "SUSPENDED"
PREFIX = "held: "  # of a held message's last_error
Party = tuple[str, str]


def recheck_seconds() -> float:
    """How long a held message waits before its report is read again unasked."""
    return float(os.environ.get("OCPI_OUTBOX_HELD_RECHECK") or 300.0)


def reason(party: Party, status: str) -> str:
    """The words an operator reads: who the hub says is unreachable, and how."""
    text_ = f"the hub reports {party[0]}*{party[1]} {status}"
    return PREFIX + text_ if status == OFFLINE else text_


def applies(peer_is_hub: bool, msg: Message) -> bool:
    """Only a message to a hub addressed to one party depends on a report."""
    return peer_is_hub and msg.to_party is not None


async def _lock(tx: Tx) -> None:
    if tx.dialect == "postgresql":
        await tx.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": QUEUE_LOCK})


async def _status(tx: Tx, hub: Party, party: Party) -> str | None:
    info = await get_in(tx, str(ModuleID.hub_client_info), RoleEnum.hub, hub_key(*hub),
                        *party)
    return str(info["status"]) if info and info.get("status") else None


async def status_of(db: Database, hub: Party, party: Party) -> str | None:
    """The hub's report on ``party`` as stored now (a drain's first look)."""
    async with db.begin() as tx:
        return await _status(tx, hub, party)


async def park(db: Database, msg: Message, hub: Party) -> str | None:
    """Hold (OFFLINE) or set aside (SUSPENDED) ``msg`` as the report says now, read
    under the lock; returns that status (anything else: ``msg`` left as it is)."""
    assert msg.to_party is not None
    async with db.begin() as tx:
        await _lock(tx)
        status = await _status(tx, hub, msg.to_party)
        values: dict[str, Any] | None = None
        if status == OFFLINE:
            values = {"state": HELD, "next_attempt_at": _recheck_at()}
        elif status == SUSPENDED:
            values = {"state": "dead", "next_attempt_at": None}
        if values is not None:
            await tx.execute(update(outbox).where(
                outbox.c.seq == msg.seq, outbox.c.state == "pending").values(
                last_error=reason(msg.to_party, status or ""), **values))
    return status


def _recheck_at() -> datetime:
    return now() + timedelta(seconds=recheck_seconds())


def _party(peer_id: int, party: Party) -> Any:
    return and_(outbox.c.peer_id == peer_id, outbox.c.state == HELD,
                outbox.c.to_country_code == party[0], outbox.c.to_party_id == party[1])


async def review(db: Database, peer_id: int, hub: Party) -> set[Party]:
    """At the start of a hub's drain: each party with held messages due, by its report
    now. Still OFFLINE: read again later; SUSPENDED: set aside; else back in the
    queue at their place. Returns the parties whose messages are still held."""
    is_due = (outbox.c.next_attempt_at.is_(None)) | (outbox.c.next_attempt_at <= now())
    async with db.begin() as tx:
        rows = (await tx.execute(
            select(outbox.c.to_country_code, outbox.c.to_party_id,
                   func.max(case((is_due, 1), else_=0)).label("due"))
            .where(outbox.c.peer_id == peer_id, outbox.c.state == HELD)
            .group_by(outbox.c.to_country_code, outbox.c.to_party_id))).all()
    still: set[Party] = set()
    for cc, pid, due_now in rows:
        if not due_now or await _review_party(db, peer_id, hub, (cc, pid)):
            still.add((cc, pid))
    return still


async def wake(db: Database, peer_id: int, party: Party) -> None:
    """Make a party's held messages due: the next drain reviews them first."""
    async with db.begin() as tx:
        await tx.execute(update(outbox).where(_party(peer_id, party)).values(
            next_attempt_at=None))


async def _review_party(db: Database, peer_id: int, hub: Party, party: Party) -> bool:
    """The party's held messages as its report says now, read under the lock; are
    they still held (OFFLINE)?"""
    async with db.begin() as tx:
        await _lock(tx)
        status = await _status(tx, hub, party)
        if status == OFFLINE:  # read again later
            await tx.execute(update(outbox).where(_party(peer_id, party)).values(
                next_attempt_at=_recheck_at(), last_error=reason(party, OFFLINE)))
            return True
        if status == SUSPENDED:
            await tx.execute(update(outbox).where(_party(peer_id, party)).values(
                state="dead", next_attempt_at=None, last_error=reason(party, SUSPENDED)))
        else:  # back in the queue, at their place
            await tx.execute(update(outbox).where(_party(peer_id, party)).values(
                state="pending", next_attempt_at=None, last_error=None))
        return False


async def due(db: Database) -> dict[int, datetime | None]:
    """Per hub with held messages, when the first of them is to be looked at again
    (``None``: now, a report about its party arrived)."""
    unset = func.sum(case((outbox.c.next_attempt_at.is_(None), 1), else_=0))
    stmt = (select(outbox.c.peer_id, unset.label("now"),
                   func.min(outbox.c.next_attempt_at).label("at"))
            .where(outbox.c.state == HELD).group_by(outbox.c.peer_id))
    async with db.begin() as tx:
        rows = (await tx.execute(stmt)).all()
    return {r.peer_id: None if r.now else r.at for r in rows}


async def _hub_ids(tx: Tx, objects: list[dict[str, Any]]) -> list[int]:
    """The partners that made these reports (``_reported_by``: ``CC*PID``)."""
    hubs = {str(o.get("_reported_by", "")).partition("*") for o in objects}
    cond = [and_(peers.c.country_code == cc, peers.c.party_id == pid)
            for cc, sep, pid in hubs if sep]
    if not cond:
        return []
    return [r[0] for r in (await tx.execute(select(peers.c.id).where(or_(*cond)))).all()]


async def on_report(tx: Tx, module: str, objects: list[dict[str, Any]],
                    deleted: bool = False) -> int:
    """A hub's report was written (or removed): that party's held messages are due
    now. Returns how many, so the store wakes an in-process worker."""
    if module != str(ModuleID.hub_client_info) or not objects:
        return 0
    hub_ids = await _hub_ids(tx, objects)
    if not hub_ids:
        return 0
    await _lock(tx)
    reported = {(party_key(str(o["country_code"])), party_key(str(o["party_id"])))
                for o in objects if o.get("country_code") and o.get("party_id")}
    held = (await tx.execute(select(outbox.c.to_country_code, outbox.c.to_party_id)
                             .where(outbox.c.peer_id.in_(hub_ids), outbox.c.state == HELD)
                             .distinct())).all()
    woken = 0
    for party in {(cc, pid) for cc, pid in held} & reported:
        result = await tx.execute(update(outbox).where(
            outbox.c.peer_id.in_(hub_ids), outbox.c.state == HELD,
            outbox.c.to_country_code == party[0], outbox.c.to_party_id == party[1],
        ).values(next_attempt_at=None))
        woken += int(result.rowcount or 0)
    return woken


# the store calls it with every report written (reports are the hub's own rows)
on_own_write(on_report)

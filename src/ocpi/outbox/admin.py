"""What operators see and do: queue status, dead letters, retry and drop."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update

from ..store.database import Database
from ..store.schema import outbox, peers
from .held import HELD
from .queue import Message, now

HUB_REASON = "the hub reports %"  # a SUSPENDED party's messages, set aside (held.reason)


@dataclass
class PartnerStatus:
    name: str
    pending: int
    dead: int
    oldest: datetime | None  # creation of the oldest pending message
    last_error: str | None  # of the head, when it is being retried
    next_attempt_at: datetime | None
    attempts: int
    held: int = 0  # waiting for a party the hub reports OFFLINE
    # why messages wait or were set aside by a hub's report, per party
    hub_reports: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self, at: datetime | None = None) -> dict[str, Any]:
        at = at or now()
        return {
            "partner": self.name, "pending": self.pending, "dead": self.dead,
            "oldest_age_seconds": round((at - self.oldest).total_seconds(), 3)
            if self.oldest else None,
            "last_error": self.last_error, "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at.isoformat() + "Z"
            if self.next_attempt_at else None,
            "held": self.held, "hub_reports": self.hub_reports,
        }


async def status(db: Database) -> list[PartnerStatus]:
    """Per partner with anything queued (or dead): counts, oldest, head's last error."""
    counts = (select(outbox.c.peer_id, outbox.c.state, func.count().label("n"),
                     func.min(outbox.c.created_at).label("oldest"),
                     func.min(outbox.c.seq).label("first"))
              .where(outbox.c.state.in_(("pending", "dead", HELD)))
              .group_by(outbox.c.peer_id, outbox.c.state))
    async with db.begin() as tx:
        rows = (await tx.execute(counts)).all()
        names = dict((await tx.execute(select(peers.c.id, peers.c.name))).all())
        heads = {r.first for r in rows if r.state == "pending"}
        head_rows = (await tx.execute(select(outbox).where(outbox.c.seq.in_(heads)))).all() \
            if heads else []
        reported = (await tx.execute(_BY_HUB_REPORT)).all()
    by_peer: dict[int, PartnerStatus] = {}
    for r in rows:
        s = by_peer.setdefault(r.peer_id, PartnerStatus(names.get(r.peer_id, str(r.peer_id)),
                                                        0, 0, None, None, None, 0))
        if r.state == "pending":
            s.pending, s.oldest = r.n, r.oldest
        elif r.state == HELD:
            s.held = r.n
        else:
            s.dead = r.n
    for h in head_rows:
        s = by_peer[h.peer_id]
        s.last_error, s.next_attempt_at, s.attempts = h.last_error, h.next_attempt_at, \
            h.attempts
    for r in reported:
        if r.peer_id in by_peer:
            by_peer[r.peer_id].hub_reports.append(_reported(r))
    return sorted(by_peer.values(), key=lambda s: s.name)


# messages a hub's report holds or set aside, per partner, party and reason
_BY_HUB_REPORT = (
    select(outbox.c.peer_id, outbox.c.state, outbox.c.to_country_code, outbox.c.to_party_id,
           outbox.c.last_error, func.count().label("n"))
    .where(or_(outbox.c.state == HELD,
               and_(outbox.c.state == "dead", outbox.c.last_error.like(HUB_REASON))))
    .group_by(outbox.c.peer_id, outbox.c.state, outbox.c.to_country_code,
              outbox.c.to_party_id, outbox.c.last_error)
    .order_by(outbox.c.peer_id, outbox.c.to_country_code, outbox.c.to_party_id))


def _reported(r: Any) -> dict[str, Any]:
    """One party's messages a hub's report keeps from being sent, and why."""
    words = (r.last_error or "").split()
    return {"party": f"{r.to_country_code}*{r.to_party_id}",
            "status": words[-1] if words else None,
            "state": r.state, "messages": r.n, "reason": r.last_error}


async def messages(db: Database, *, state: str, partner: str | None = None,
                   limit: int = 100) -> list[tuple[str, Message]]:
    stmt = (select(outbox, peers.c.name).join(peers, peers.c.id == outbox.c.peer_id)
            .where(outbox.c.state == state).order_by(outbox.c.seq).limit(limit))
    if partner:
        stmt = stmt.where(peers.c.name == partner)
    async with db.begin() as tx:
        return [(r.name, Message.from_row(r)) for r in (await tx.execute(stmt)).all()]


async def retry(db: Database, seq: int | None = None, *, all_dead: bool = False) -> int:
    """Put dead messages back in their partner's queue, at their original place.

    A message older than what the partner has since accepted is dropped by
    the worker rather than sent: nothing older overwrites something newer.
    """
    cond = [outbox.c.state == "dead"]
    if not all_dead:
        cond.append(outbox.c.seq == seq)
    async with db.begin() as tx:
        result = await tx.execute(update(outbox).where(and_(*cond)).values(
            state="pending", attempts=0, next_attempt_at=None))
    return int(result.rowcount or 0)


async def drop(db: Database, seq: int) -> int:
    async with db.begin() as tx:
        result = await tx.execute(delete(outbox).where(outbox.c.seq == seq))
    return int(result.rowcount or 0)


async def drop_dead(db: Database) -> int:
    """Delete every dead message: the operator gave up on them."""
    async with db.begin() as tx:
        result = await tx.execute(delete(outbox).where(outbox.c.state == "dead"))
    return int(result.rowcount or 0)

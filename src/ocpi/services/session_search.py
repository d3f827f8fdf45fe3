"""Sessions as an operator looks for them: the running ones, and finished ones by
day, Location or token; ours (as CPO) and those partners sent us (as eMSP).

Reads the sessions table's key columns; the token's uid and contract id are not
columns, so a token search looks through at most ``SCAN`` of the newest sessions
the other filters leave: bounded work whatever is asked.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ..core import jsonutil
from ..modules.sessions.declaration import SESSIONS
from ..store.database import Database
from ..store.keys import id_key, party_key

RUNNING = ("ACTIVE", "PENDING", "RESERVATION")
FINISHED = ("COMPLETED", "INVALID")
SCAN = 5000  # sessions a token search reads at most


@dataclass
class Found:
    role: str  # CPO: ours; EMSP: a partner's, sent to us
    data: dict[str, Any]

    @property
    def token(self) -> dict[str, Any]:
        return self.data.get("cdr_token") or {}


def _rows(rows: Any) -> list[Found]:
    return [Found(r.role, jsonutil.loads(r.data)) for r in rows]


async def running(db: Database, limit: int = 200) -> list[Found]:
    """Sessions not finished, the latest started first."""
    t = SESSIONS.table
    query = (select(t.c.role, t.c.data).where(t.c.status.in_(RUNNING))
             .order_by(t.c.start_date_time.desc(), t.c.seq.desc()).limit(limit))
    async with db.begin() as tx:
        return _rows((await tx.execute(query)).all())


async def finished(db: Database, *, day: date | None = None, location: str | None = None,
                   token: str | None = None, limit: int = 100) -> list[Found]:
    """Finished sessions, the latest written first: started on ``day`` (UTC), at
    ``location`` (its id), of ``token`` (uid or contract id, exact)."""
    t = SESSIONS.table
    query = select(t.c.role, t.c.data).where(t.c.status.in_(FINISHED))
    if day is not None:
        start = datetime(day.year, day.month, day.day)
        query = query.where(t.c.start_date_time >= start,
                            t.c.start_date_time < start + timedelta(days=1))
    if location:
        query = query.where(t.c.location_id == id_key(location))
    query = query.order_by(t.c.seq.desc()).limit(SCAN if token else limit)
    async with db.begin() as tx:
        found = _rows((await tx.execute(query)).all())
    if token:
        wanted = token.casefold()
        found = [f for f in found if wanted in (str(f.token.get("uid", "")).casefold(),
                                                str(f.token.get("contract_id", "")).casefold())]
    return found[:limit]


async def one(db: Database, role: str, country_code: str, party_id: str, id: str
              ) -> Found | None:
    t = SESSIONS.table
    query = select(t.c.role, t.c.data).where(
        t.c.role == role, t.c.country_code == party_key(country_code),
        t.c.party_id == party_key(party_id), t.c.id == id_key(id))
    async with db.begin() as tx:
        rows = _rows((await tx.execute(query)).all())
    return rows[0] if rows else None

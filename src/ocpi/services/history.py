"""What happened over time, read from the rows the node keeps anyway.

Nothing records per-hour counts: the charts are derived from the tables the
outbox and the store already write, so they cost nothing on the delivery path.
What each figure therefore means:

- **delivered** in an hour: the objects whose latest delivery to the partner
  happened then (``outbox_delivered.delivered_at``: one row per object, so an
  object delivered again later counts in the later hour only), plus the calls
  and callbacks the partner answered (CDR POSTs, command results), by the hour
  they were queued (their answer time is not kept);
- **failed** in an hour: the messages queued then that the partner refused (set
  aside, ``dead``) or that are still being retried after a failed attempt;
- **sessions and kWh** per day: the sessions that started that day (UTC), with
  the energy each has now (a running one still grows).

The commands' log is here too: sent and received, newest first, a page at a time.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, and_, cast, func, or_, select, true

from ..core.datetime import utcnow
from ..core.enums import ModuleID
from ..modules.remote import Command, records
from ..store.database import Database
from ..store.objects import stored
from ..store.schema import delivered, outbox, peers

MAX_HOURS = 24 * 7
MAX_DAYS = 366


def _now() -> datetime:
    return utcnow().replace(tzinfo=None)


def _bucket(column: Any, dialect: str, unit: str) -> Any:
    """``column`` cut to the hour or day, in the database (one row per bucket back)."""
    if dialect == "postgresql":
        return func.date_trunc(unit, column)
    return func.strftime("%Y-%m-%d %H:00:00" if unit == "hour" else "%Y-%m-%d 00:00:00",
                         column)


def _stamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.fromisoformat(str(value))


@dataclass
class PartnerHours:
    """One partner's deliveries, hour by hour (``hours[i]`` starts bucket ``i``)."""

    name: str
    hours: list[datetime]
    delivered: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def total_delivered(self) -> int:
        return sum(self.delivered)

    @property
    def total_failed(self) -> int:
        return sum(self.failed)


async def deliveries_per_hour(db: Database, hours: int = 24, at: datetime | None = None
                              ) -> list[PartnerHours]:
    """Per partner (registered, or with anything in the window), the last ``hours``."""
    hours = max(1, min(hours, MAX_HOURS))
    end = (at or _now()).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=hours)
    slots = [start + timedelta(hours=i) for i in range(hours)]
    d = db.dialect
    delivered_at = _bucket(delivered.c.delivered_at, d, "hour")
    queued_at = _bucket(outbox.c.created_at, d, "hour")
    failed = or_(outbox.c.state == "dead",
                 and_(outbox.c.state == "pending", outbox.c.attempts > 0))
    async with db.begin() as tx:
        names = {r.id: (r.name, r.state) for r in
                 (await tx.execute(select(peers.c.id, peers.c.name, peers.c.state))).all()}
        got = (await tx.execute(
            select(delivered.c.peer_id, delivered_at, func.count())
            .where(delivered.c.delivered_at >= start, delivered.c.delivered_at < end)
            .group_by(delivered.c.peer_id, delivered_at))).all()
        answered = (await tx.execute(
            select(outbox.c.peer_id, queued_at, func.count())
            .where(outbox.c.state == "answered", outbox.c.created_at >= start,
                   outbox.c.created_at < end)
            .group_by(outbox.c.peer_id, queued_at))).all()
        lost = (await tx.execute(
            select(outbox.c.peer_id, queued_at, func.count())
            .where(failed, outbox.c.created_at >= start, outbox.c.created_at < end)
            .group_by(outbox.c.peer_id, queued_at))).all()
    index = {slot: i for i, slot in enumerate(slots)}
    out: dict[int, PartnerHours] = {
        pid: PartnerHours(name, slots, [0] * hours, [0] * hours)
        for pid, (name, state) in names.items() if state == "registered"}

    def add(rows: list[Any], which: str) -> None:
        for peer_id, bucket, n in rows:
            if peer_id not in names:
                continue
            i = index.get(_stamp(bucket))
            if i is None:
                continue
            entry = out.setdefault(peer_id, PartnerHours(names[peer_id][0], slots,
                                                         [0] * hours, [0] * hours))
            getattr(entry, which)[i] += int(n)

    add(got, "delivered")
    add(answered, "delivered")
    add(lost, "failed")
    return sorted(out.values(), key=lambda p: p.name)


@dataclass
class Day:
    day: datetime
    sessions: int
    kwh: Decimal


async def sessions_per_day(db: Database, role: str, days: int = 30,
                           at: datetime | None = None) -> list[Day]:
    """Sessions started each day (UTC) of the last ``days``, and their kWh."""
    days = max(1, min(days, MAX_DAYS))
    end = (at or _now()).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    start = end - timedelta(days=days)
    t = stored(ModuleID.sessions.value).table
    if db.dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import JSON as PG_JSON

        kwh = cast(cast(t.c.data, PG_JSON)["kwh"].astext, Numeric)
    else:
        kwh = cast(func.json_extract(t.c.data, "$.kwh"), Numeric)
    day = _bucket(t.c.start_date_time, db.dialect, "day")
    async with db.begin() as tx:
        rows = (await tx.execute(
            select(day, func.count(), func.sum(kwh))
            .where(t.c.role == role, t.c.start_date_time >= start, t.c.start_date_time < end)
            .group_by(day))).all()
    found = {_stamp(b): (int(n), Decimal(str(k or 0))) for b, n, k in rows}
    out = []
    for i in range(days):
        slot = start + timedelta(days=i)
        n, k = found.get(slot, (0, Decimal(0)))
        out.append(Day(slot, n, k.quantize(Decimal("0.001"))))
    return out


async def commands_page(db: Database, *, side: str | None = None, state: str | None = None,
                        offset: int = 0, limit: int = 25) -> tuple[list[dict[str, Any]], int]:
    """Commands sent (EMSP) and received (CPO), newest first: a page and the total."""
    cond = [records.c.module == ModuleID.commands.value]
    if side is not None:
        cond.append(records.c.role == side)
    if state is not None:
        cond.append(records.c.state == state)
    where = and_(true(), *cond)
    async with db.begin() as tx:
        total = (await tx.execute(select(func.count()).select_from(records).where(where))
                 ).scalar_one()
        rows = (await tx.execute(select(records).where(where).order_by(records.c.id.desc())
                                 .offset(offset).limit(limit))).all()
        names = dict((await tx.execute(select(peers.c.id, peers.c.name))).all())
    out = []
    for r in rows:
        c = Command.from_row(r)
        out.append({**c.as_dict(), "partner": names.get(c.peer_id),
                    "created": c.created_at, "finished": c.finished_at})
    return out, int(total)


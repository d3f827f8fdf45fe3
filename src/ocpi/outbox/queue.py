"""The outbox table as a queue: what the worker reads and how it settles a message.

A message is deleted only after the partner accepted it, in the same
transaction that records what the partner now has; a crash anywhere before
that leaves it at the head of the queue, to be sent again (at-least-once).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..core import jsonutil
from ..core.datetime import utcnow
from ..store.database import Database
from ..store.prepared import Prepared
from ..store.schema import delivered, outbox


def now() -> datetime:
    return utcnow().replace(tzinfo=None)


CALL_KEY = "call/"  # the object_key prefix of a one-off call that carries no object


@dataclass
class Message:
    seq: int
    peer_id: int
    module: str
    object_key: str
    last_updated: datetime
    data: str
    to_party: tuple[str, str] | None
    state: str
    attempts: int
    next_attempt_at: datetime | None
    correlation_id: str
    last_error: str | None
    created_at: datetime
    kind: str = "state"  # state | call | callback
    method: str | None = None
    url: str | None = None

    @classmethod
    def from_row(cls, r: Any) -> "Message":
        to = (r.to_country_code, r.to_party_id) if r.to_country_code else None
        return cls(r.seq, r.peer_id, r.module, r.object_key, r.last_updated, r.data, to,
                   r.state, r.attempts, r.next_attempt_at, r.correlation_id, r.last_error,
                   r.created_at, r.kind, r.method, r.url)

    def object(self) -> dict[str, Any]:
        return jsonutil.loads(self.data)

    @property
    def of_own_object(self) -> bool:
        """A call carrying one of our own objects (a CDR posted once, under the object's
        key): rendered in the partner's version and sent from its owner. Any other call
        (``calls.enqueue``) has a key of its own and goes as queued."""
        return self.kind == "call" and not self.object_key.startswith(CALL_KEY)


@dataclass
class Had:
    """What a partner has of one object: the last version it accepted."""

    last_updated: datetime
    data: dict[str, Any]


def _object(peer_id: int, module: str, key: str, table: Any = outbox) -> Any:
    return and_(table.c.peer_id == peer_id, table.c.module == module,
                table.c.object_key == key)


# the statements of every delivered message, prepared (see store.prepared)
_HAD = Prepared(select(delivered.c.last_updated, delivered.c.data).where(
    delivered.c.peer_id == bindparam("peer_id"), delivered.c.module == bindparam("module"),
    delivered.c.object_key == bindparam("key")))
_SETTLE = Prepared(delete(outbox).where(
    outbox.c.peer_id == bindparam("peer_id"), outbox.c.module == bindparam("module"),
    outbox.c.object_key == bindparam("key"), outbox.c.state == "pending",
    outbox.c.seq <= bindparam("seq")))


def _upsert_delivered(dialect: str) -> Any:
    values = {"peer_id": bindparam("peer_id"), "module": bindparam("module"),
              "object_key": bindparam("key"),
              "last_updated": bindparam("last_updated", type_=delivered.c.last_updated.type),
              "data": bindparam("data"),
              "delivered_at": bindparam("delivered_at", type_=delivered.c.delivered_at.type)}
    insert_ = sqlite_insert if dialect == "sqlite" else pg_insert
    stmt = insert_(delivered).values(**values)
    return stmt.on_conflict_do_update(
        index_elements=["peer_id", "module", "object_key"],
        set_={"last_updated": stmt.excluded.last_updated, "data": stmt.excluded.data,
              "delivered_at": stmt.excluded.delivered_at},
        where=delivered.c.last_updated <= stmt.excluded.last_updated)


_DELIVERED = Prepared(build=_upsert_delivered)


def _timestamp(value: Any) -> datetime:
    """A prepared read returns SQLite's timestamp text as it is stored."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


class Queue:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def heads(self) -> list[tuple[int, datetime | None]]:
        """Each partner's oldest pending message's next attempt (``None``: due now)."""
        first = (select(outbox.c.peer_id, func.min(outbox.c.seq).label("seq"))
                 .where(outbox.c.state == "pending").group_by(outbox.c.peer_id).subquery())
        stmt = select(outbox.c.peer_id, outbox.c.next_attempt_at).join(
            first, outbox.c.seq == first.c.seq)
        async with self.db.begin() as tx:
            return [(r.peer_id, r.next_attempt_at) for r in (await tx.execute(stmt)).all()]

    async def pending(self, peer_id: int, limit: int, after: int = 0) -> list[Message]:
        stmt = (select(outbox).where(outbox.c.peer_id == peer_id, outbox.c.state == "pending",
                                     outbox.c.seq > after)
                .order_by(outbox.c.seq).limit(limit))
        async with self.db.begin() as tx:
            return [Message.from_row(r) for r in (await tx.execute(stmt)).all()]

    async def newest(self, peer_id: int, batch: list[Message]
                     ) -> dict[tuple[str, str], Message]:
        """The newest pending message of each object in a batch (``latest-state``
        delivery sends that one for the object's first message), in one query for the
        batch, not one per message. A message queued after this read goes in a later
        batch: the partner still ends with the newest state."""
        objects = {(m.module, m.object_key) for m in batch if m.kind == "state"}
        if not objects:
            return {}
        last = (select(func.max(outbox.c.seq))
                .where(outbox.c.peer_id == peer_id, outbox.c.state == "pending",
                       outbox.c.module.in_({module for module, _ in objects}),
                       outbox.c.object_key.in_({key for _, key in objects}))
                .group_by(outbox.c.module, outbox.c.object_key))
        async with self.db.begin() as tx:
            rows = (await tx.execute(select(outbox).where(outbox.c.seq.in_(last)))).all()
        newest = (Message.from_row(row) for row in rows)
        return {(m.module, m.object_key): m for m in newest
                if (m.module, m.object_key) in objects}

    async def had(self, peer_id: int, module: str, key: str) -> Had | None:
        async with self.db.begin() as tx:
            rows = await tx.fetch(_HAD, {"peer_id": peer_id, "module": module, "key": key})
        return Had(_timestamp(rows[0][0]), jsonutil.loads(rows[0][1])) if rows else None

    async def settle(self, sent: Message, *, accepted: str | None) -> None:
        """The partner has ``sent`` (or never needs it): drop it and, for its object,
        every older pending message it makes redundant. ``accepted`` is the object
        text the partner now has (``None``: unchanged); what it had is replaced
        only by something as new or newer, never going back."""
        params = {"peer_id": sent.peer_id, "module": sent.module, "key": sent.object_key,
                  "seq": sent.seq, "last_updated": sent.last_updated, "data": accepted,
                  "delivered_at": now()}
        # lost in a crash of the machine, the message is sent again: no fsync awaited,
        # and on PostgreSQL one statement, one round trip
        await self.db.run_lazy([_SETTLE] if accepted is None else [_SETTLE, _DELIVERED],
                               params)

    async def had_many(self, peer_id: int, objects: set[tuple[str, str]]
                       ) -> dict[tuple[str, str], Had | None]:
        """``had`` for many objects at once (a drain's batch): None for those it has not."""
        found: dict[tuple[str, str], Had | None] = dict.fromkeys(objects)
        by_module: dict[str, list[str]] = {}
        for module, key in objects:
            by_module.setdefault(module, []).append(key)
        async with self.db.begin() as tx:
            for module, keys in by_module.items():
                rows = (await tx.execute(select(
                    delivered.c.object_key, delivered.c.last_updated, delivered.c.data)
                    .where(delivered.c.peer_id == peer_id, delivered.c.module == module,
                           delivered.c.object_key.in_(keys)))).all()
                for key, updated, data in rows:
                    found[(module, key)] = Had(_timestamp(updated), jsonutil.loads(data))
        return found

    async def answered(self, msg: Message, data: Any, location: str | None) -> None:
        """A call the partner accepted: kept with its answer, out of the queue."""
        async with self.db.begin() as tx:
            await tx.execute(update(outbox).where(outbox.c.seq == msg.seq).values(
                state="answered", answer=jsonutil.dumps(data).decode(),
                answer_location=location, last_error=None, next_attempt_at=None))

    async def forget(self, peer_id: int, module: str, key: str) -> None:
        """The partner lost the object: the next message for it is a PUT."""
        async with self.db.begin() as tx:
            await tx.execute(delete(delivered).where(_object(peer_id, module, key, delivered)))

    async def retry_later(self, msg: Message, error: str, delay: float) -> None:
        async with self.db.begin() as tx:
            await tx.execute(update(outbox).where(outbox.c.seq == msg.seq).values(
                attempts=outbox.c.attempts + 1, last_error=error[:2000],
                next_attempt_at=now() + timedelta(seconds=delay)))

    async def dead(self, msg: Message, error: str, *, with_older: bool) -> None:
        """Set a refused message aside with the partner's answer; the queue goes on.

        ``with_older``: older pending messages of the object, which it carried
        (``latest-state``), go with it.
        """
        async with self.db.begin() as tx:
            if with_older:
                await tx.execute(delete(outbox).where(
                    _object(msg.peer_id, msg.module, msg.object_key),
                    outbox.c.state == "pending", outbox.c.seq < msg.seq))
            await tx.execute(update(outbox).where(outbox.c.seq == msg.seq).values(
                state="dead", attempts=outbox.c.attempts + 1, last_error=error[:2000],
                next_attempt_at=None))

    async def hold(self, peer_id: int, error: str, delay: float) -> None:
        """Hold a partner's whole queue (it cannot be called now, e.g. unregistered)."""
        heads = await self.pending(peer_id, 1)
        if heads:
            await self.retry_later(heads[0], error, delay)

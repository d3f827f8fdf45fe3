"""Remote control requests, answered at once and finished later by a result
POSTed to a ``response_url``: Commands and Charging Profiles share this record
(table ``command_records``; ``module`` says whose a row is), its states and
its guarded changes, all in the caller's transaction.

A row's ``state`` is ``asking`` (received: the operator's hook is deciding;
sent: the request is in flight), ``pending`` (accepted: a result is awaited
until ``timeout_at``) or ``done``. The sweeper finds expired rows through
(``state``, ``timeout_at``); the sender finds the request a result belongs to
through the unguessable ``uid`` of the ``response_url`` it gave.

Every change of state is a guarded UPDATE (``WHERE state IN ...``): of two
results for one command (the operator's and the sweeper's TIMEOUT, two
sweepers of two processes, a partner's retried POST) exactly one wins, on
SQLite and PostgreSQL alike, and whoever wins queues what follows in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    update,
)

from ..core import jsonutil
from ..core.datetime import utcnow
from ..core.errors import InvalidParameters
from ..peers.urls import UnsafeUrl, check_syntax
from ..store.database import Database, Tx
from ..store.schema import _Seq, metadata, peers


class Refused(ValueError):
    """A result the request cannot take (unknown, not accepted, finished already)."""


CPO, EMSP = "CPO", "EMSP"  # the side we were on: the CPO received it, the eMSP sent it
ASKING, PENDING, DONE = "asking", "pending", "done"

records = Table(
    "command_records",
    metadata,
    Column("id", _Seq, primary_key=True, autoincrement=True),  # our request id
    Column("module", String(24), nullable=False, server_default="commands"),
    Column("role", String(8), nullable=False),
    Column("peer_id", Integer),  # the partner that sent it (CPO), we sent it to (eMSP)
    Column("command", String(24), nullable=False),  # START_SESSION..., SET/GET/CLEAR
    Column("version", String(8), nullable=False),  # the version it travelled in
    Column("uid", String(64)),  # eMSP: the unguessable id in our response_url
    Column("response_url", Text, nullable=False),
    Column("request", Text, nullable=False),  # the request object (JSON) as sent
    Column("response", Text),  # the immediate answer (JSON)
    Column("state", String(8), nullable=False),
    Column("result", String(24)),  # the result's result (2.1.1 commands: a CommandResponse)
    Column("message", Text),  # a command result's DisplayText list, a profile (JSON)
    Column("authorization_reference", String(36)),  # START_SESSION/RESERVE_NOW
    Column("session_id", String(36)),  # the session a charging profile request is about
    # received through a hub: the party behind it (OCPI-from), its result's OCPI-to
    Column("party_country_code", String(2)),
    Column("party_party_id", String(3)),
    Column("created_at", DateTime(), nullable=False),
    Column("timeout_at", DateTime()),  # CPO: when a missing result becomes TIMEOUT
    Column("finished_at", DateTime()),
    Index("ix_command_records_due", "state", "timeout_at"),
    Index("ix_command_records_uid", "uid", unique=True),
    Index("ix_command_records_session", "module", "session_id"),
)


def now() -> datetime:
    return utcnow().replace(tzinfo=None)


@dataclass
class Command:
    id: int
    module: str
    role: str
    peer_id: int | None
    command: str
    version: str
    uid: str | None
    response_url: str
    request: dict[str, Any]
    response: dict[str, Any] | None
    state: str
    result: str | None
    message: list[dict[str, Any]] | None
    authorization_reference: str | None
    created_at: datetime
    timeout_at: datetime | None
    finished_at: datetime | None
    session_id: str | None = None
    party: tuple[str, str] | None = None  # a hub's: the party behind the request

    @classmethod
    def from_row(cls, r: Any) -> Command:
        return cls(int(r.id), r.module, r.role, r.peer_id, r.command, r.version, r.uid,
                   r.response_url,
                   jsonutil.loads(r.request), jsonutil.loads(r.response) if r.response else None,
                   r.state, r.result, jsonutil.loads(r.message) if r.message else None,
                   r.authorization_reference, r.created_at, r.timeout_at, r.finished_at,
                   r.session_id, (r.party_country_code, r.party_party_id)
                   if r.party_country_code and r.party_party_id else None)

    def as_dict(self) -> dict[str, Any]:
        def stamp(t: datetime | None) -> str | None:
            return t.isoformat() + "Z" if t else None
        return {"id": self.id, "module": self.module, "side": self.role, "peer_id": self.peer_id,
                "command": self.command, "version": self.version, "state": self.state,
                "request": self.request, "response": self.response, "result": self.result,
                "message": self.message, "response_url": self.response_url,
                "authorization_reference": self.authorization_reference,
                "session_id": self.session_id,
                "created_at": stamp(self.created_at), "timeout_at": stamp(self.timeout_at),
                "finished_at": stamp(self.finished_at)}


def dumps(value: Any) -> str | None:
    return jsonutil.dumps(value).decode() if value is not None else None


async def insert_one(tx: Tx, **values: Any) -> int:
    values = {**values, "request": dumps(values["request"]),
              "response": dumps(values.get("response"))}
    result = await tx.execute(insert(records).values(**values))
    return int(result.inserted_primary_key[0])


async def get(tx: Tx, command_id: int) -> Command | None:
    row = (await tx.execute(select(records).where(records.c.id == command_id))).first()
    return Command.from_row(row) if row else None


async def by_uid(tx: Tx, uid: str) -> Command | None:
    row = (await tx.execute(select(records).where(records.c.uid == uid))).first()
    return Command.from_row(row) if row else None


async def move(tx: Tx, command_id: int, states: Iterable[str], **values: Any) -> bool:
    """Change a command still in one of ``states``; False when it had moved on."""
    done = await tx.execute(update(records).where(
        records.c.id == command_id, records.c.state.in_(list(states))).values(**values))
    return bool(done.rowcount)


async def finish(tx: Tx, command_id: int, states: Iterable[str], result: str,
                 message: list[dict[str, Any]] | None, at: datetime | None = None) -> bool:
    """Record the one result of a command (pending -> done); False when it had one."""
    return await move(tx, command_id, states, state=DONE, result=result,
                      message=dumps(message), finished_at=at or now())


async def listing(db: Database, module: str, limit: int = 100) -> list[dict[str, Any]]:
    """``module``'s requests, newest first, both sides, each with its partner's name."""
    async with db.begin() as tx:
        rows = (await tx.execute(select(records).where(records.c.module == module)
                                 .order_by(records.c.id.desc()).limit(limit))).all()
        names = dict((await tx.execute(select(peers.c.id, peers.c.name))).all())
    return [{**(c := Command.from_row(r)).as_dict(), "partner": names.get(c.peer_id)}
            for r in rows]


async def read(db: Database, request_id: int, what: str) -> Command:
    """One request; ValueError naming ``what`` it should have been when there is none."""
    async with db.begin() as tx:
        found = await get(tx, request_id)
    if found is None:
        raise ValueError(f"no {what} {request_id}")
    return found


def response_url(value: Any) -> str:
    """A request's ``response_url`` as we will call it back: there, a URL (string(255)),
    and one our client may call (2001 naming it otherwise)."""
    if not value:
        raise InvalidParameters("response_url: required")
    url = str(value)
    if len(url) > 255:
        raise InvalidParameters("response_url: longer than 255 characters")
    try:
        check_syntax(url)
    except UnsafeUrl as exc:
        raise InvalidParameters(f"response_url: {exc}") from None
    return url


def routed_from(ctx: Any) -> dict[str, Any]:
    """The columns naming the party behind a request a hub forwarded (its OCPI-from
    headers), where the result goes back to; none for a direct partner."""
    party = ctx.routing[0] if ctx.caller.is_hub else None
    return {"party_country_code": party[0], "party_party_id": party[1]} if party else {}


async def record_refused(db: Database | None, values: dict[str, Any],
                         response: dict[str, Any]) -> None:
    """A request our own data answered at once (unknown session...): recorded done."""
    if db is not None:
        async with db.begin() as tx:
            await insert_one(tx, **values, response=response, state=DONE, created_at=now(),
                             finished_at=now())


async def record_asked(db: Database | None, values: dict[str, Any],
                       ask: Callable[[int | None], Awaitable[dict[str, Any]]], *,
                       ask_limit: timedelta,
                       on_accepted: Callable[[Tx], Awaitable[None]] | None = None
                       ) -> dict[str, Any]:
    """A request the operator's hook decides: recorded ``asking`` first (closed by the
    sweeper after ``ask_limit`` if we die while the hook runs), then ``pending`` with
    the ``timeout`` it was given when ACCEPTED (``on_accepted`` runs in that
    transaction), else done. ``ask(id)`` returns the immediate answer, with
    ``result`` and ``timeout``."""
    request_id = None
    if db is not None:
        async with db.begin() as tx:
            request_id = await insert_one(tx, **values, state=ASKING, created_at=now(),
                                          timeout_at=now() + ask_limit)
    response = await ask(request_id)
    if db is not None and request_id is not None:
        accepted = response["result"] == "ACCEPTED"
        async with db.begin() as tx:
            moved = await move(
                tx, request_id, (ASKING,), state=PENDING if accepted else DONE,
                response=dumps(response), finished_at=None if accepted else now(),
                timeout_at=now() + timedelta(seconds=response["timeout"]) if accepted
                else None)
            if moved and accepted and on_accepted is not None:
                await on_accepted(tx)
    return response


async def awaiting(db: Database, uid: str, *, module: str, command: str, version: str,
                   peer_id: int | None) -> Command | None:
    """The request we sent whose ``response_url`` carries ``uid``, if this result may be
    its: the same module, request and version, from the partner we sent it to."""
    if peer_id is None:
        return None
    async with db.begin() as tx:
        found = await by_uid(tx, uid)
    if found is None or found.module != module or found.role != EMSP \
            or found.command != command or found.version != version \
            or found.peer_id != peer_id:
        return None
    return found


async def recent(db: Database, module: str, session_id: str, seconds: float,
                 peer_id: int | None, party: dict[str, Any]) -> int:
    """How many requests of ``module`` about ``session_id`` one caller (a partner, and
    behind a hub one party) sent lately: another partner's never count against it."""
    since = now() - timedelta(seconds=seconds)
    r = records
    async with db.begin() as tx:
        return int((await tx.execute(select(func.count()).where(
            r.c.module == module, r.c.session_id == session_id, r.c.role == CPO,
            r.c.peer_id == peer_id,
            r.c.party_country_code == party.get("party_country_code"),
            r.c.party_party_id == party.get("party_party_id"),
            r.c.created_at >= since))).scalar_one())


async def set_on(db: Database, module: str, session_id: str, peer_id: int) -> bool:
    """Did we (the sender) set something on ``session_id`` at ``peer_id`` successfully?"""
    r = records
    async with db.begin() as tx:
        return (await tx.execute(select(r.c.id).where(
            r.c.module == module, r.c.session_id == session_id, r.c.role == EMSP,
            r.c.peer_id == peer_id, r.c.command == "SET",
            (r.c.result == "ACCEPTED") | (r.c.state == PENDING))
            .limit(1))).first() is not None

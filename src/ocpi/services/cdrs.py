"""The operator's view of CDRs: ours with their delivery, the partners' with our
check of them, the held sessions; and ``reconcile``, which reads each CDR we
delivered back from the partner's ``Location`` and sends again what it lost.

Delivery is checked, not assumed: an eMSP that answered 2xx and then lost the
CDR (a restore, a bug) is found here, and the CDR is queued again behind the
partner's other messages."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, func, select

from ..core import jsonutil
from ..core.enums import RoleEnum
from ..modules.cdrs.declaration import CDRS, holds
from ..outbox import calls
from ..peers.client import OcpiClient, PartnerError
from ..peers.peer import Peer
from ..store.database import Database
from ..store.keys import id_key, ts_key
from ..store.schema import outbox

_COMPARED = ("start_date_time", "end_date_time", "currency", "total_energy", "total_time",
             "total_parking_time", "total_cost")


def _summary(data: dict[str, Any], role: str) -> dict[str, Any]:
    cost = data.get("total_cost") or {}
    check = data.get("_check") or {}
    return {"id": data.get("id"), "side": "ours" if role == str(RoleEnum.cpo) else "received",
            "owner": f"{data.get('country_code')}/{data.get('party_id')}",
            "token": (data.get("cdr_token") or {}).get("uid"),
            "start": data.get("start_date_time"), "end": data.get("end_date_time"),
            "kwh": data.get("total_energy"), "total": cost.get("before_taxes"),
            "currency": data.get("currency"), "check": check.get("state"),
            "reason": check.get("reason")}


async def listing(db: Database, *, disputed: bool = False, limit: int = 100
                  ) -> list[dict[str, Any]]:
    """The newest CDRs first (``disputed``: only received ones we disagree with)."""
    t = CDRS.table
    query = select(t.c.role, t.c.data).order_by(t.c.seq.desc()).limit(limit)
    if disputed:
        query = query.where(t.c.role == str(RoleEnum.emsp), t.c.check_state == "disputed")
    async with db.begin() as tx:
        rows = (await tx.execute(query)).all()
    return [_summary(jsonutil.loads(r[1]), r[0]) for r in rows]


async def held(db: Database, *, offset: int = 0, limit: int | None = None
               ) -> list[dict[str, Any]]:
    """The held sessions, oldest first (``limit``: a page of them)."""
    async with db.begin() as tx:
        rows = (await tx.execute(select(holds).order_by(holds.c.held_at, holds.c.session_id)
                                 .offset(offset).limit(limit))).all()
    return [{"session_id": r.session_id, "owner": f"{r.country_code}/{r.party_id}",
             "reason": r.reason, "held_at": r.held_at.isoformat(), "attempts": r.attempts}
            for r in rows]


async def held_count(db: Database) -> int:
    async with db.begin() as tx:
        return int((await tx.execute(select(func.count()).select_from(holds))).scalar_one())


async def show(db: Database, cdr_id: str) -> list[dict[str, Any]]:
    """Every CDR with this id (ours and received), each with its deliveries."""
    t = CDRS.table
    async with db.begin() as tx:
        rows = (await tx.execute(select(t.c.role, t.c.data, t.c.country_code, t.c.party_id,
                                        t.c.id).where(t.c.id == id_key(cdr_id)))).all()
        found = []
        for role, text, cc, pid, key in rows:
            data = jsonutil.loads(text)
            sent = (await tx.execute(select(
                outbox.c.seq, outbox.c.peer_id, outbox.c.state, outbox.c.attempts,
                outbox.c.answer_location, outbox.c.last_error, outbox.c.created_at)
                .where(outbox.c.module == "cdrs",
                       outbox.c.object_key == f"{cc}/{pid}/{key}")
                .order_by(outbox.c.seq))).all() if role == str(RoleEnum.cpo) else []
            found.append({"side": "ours" if role == str(RoleEnum.cpo) else "received",
                          "cdr": data, "deliveries": [
                              {"message": s.seq, "peer_id": s.peer_id, "state": s.state,
                               "attempts": s.attempts, "location": s.answer_location,
                               "last_error": s.last_error,
                               "queued_at": s.created_at.isoformat()} for s in sent]})
    return found


def _same(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return (_same(ours.get("before_taxes"), theirs.get("before_taxes"))
                and _taxes(ours) == _taxes(theirs))
    if ours is None or theirs is None:
        return ours is None and theirs is None
    try:
        return Decimal(str(ours)) == Decimal(str(theirs))
    except ArithmeticError:
        pass
    try:
        return ts_key(str(ours)) == ts_key(str(theirs))
    except ValueError:
        return str(ours) == str(theirs)


def _taxes(price: dict[str, Any]) -> Decimal:
    return sum((Decimal(str(t.get("amount", 0))) for t in price.get("taxes") or ()),
               Decimal(0))


def differences(ours: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """The fields whose values differ between our CDR and the partner's copy."""
    return [f for f in _COMPARED if not _same(ours.get(f), theirs.get(f))]


async def _latest_calls(db: Database, peer_id: int, since: datetime | None) -> list[Any]:
    """Each CDR's newest message to the partner (a re-sent one replaces the first)."""
    newest = select(func.max(outbox.c.seq)).where(
        outbox.c.peer_id == peer_id, outbox.c.module == "cdrs", outbox.c.kind == "call")
    if since is not None:
        newest = newest.where(outbox.c.created_at >= ts_key(since))
    newest = newest.group_by(outbox.c.object_key)
    async with db.begin() as tx:
        return list((await tx.execute(select(outbox).where(
            outbox.c.seq.in_(newest.scalar_subquery())).order_by(outbox.c.seq))).all())


async def _resend(db: Database, msg: Any) -> int:
    """The CDR queued again for the partner, as it is stored now."""
    cc, pid, key = msg.object_key.split("/", 2)
    t = CDRS.table
    async with db.begin() as tx:
        row = (await tx.execute(select(t.c.data).where(and_(
            t.c.role == str(RoleEnum.cpo), t.c.country_code == cc, t.c.party_id == pid,
            t.c.id == key)))).first()
        to = (msg.to_country_code, msg.to_party_id) if msg.to_country_code else None
        return await calls.enqueue_in(tx, msg.peer_id, "cdrs", row[0] if row else msg.data,
                                      to_party=to, object_key=msg.object_key,
                                      last_updated=msg.last_updated)


async def reconcile(db: Database, peer: Peer, *, since: datetime | None = None,
                    from_party: tuple[str, str] | None = None) -> dict[str, list[Any]]:
    """GET each CDR the partner accepted at the Location it gave; queue again those
    it no longer has, and list those it holds differently."""
    report: dict[str, list[Any]] = {"agreed": [], "missing": [], "different": [],
                                    "pending": [], "refused": [], "unreadable": []}
    messages = await _latest_calls(db, peer.id, since)
    home = urlsplit(peer.endpoint("cdrs", "RECEIVER") or "").netloc
    async with OcpiClient.for_peer(peer, from_party) as client:
        for msg in messages:
            ident = msg.object_key.split("/", 2)[2]
            if msg.state in ("pending", "held"):  # held: the hub reports its party OFFLINE
                report["pending"].append(ident)
                continue
            if msg.state == "dead":
                report["refused"].append({"id": ident, "reason": msg.last_error})
                continue
            if not msg.answer_location:
                report["unreadable"].append({"id": ident, "reason": "no Location header"})
                continue
            if urlsplit(msg.answer_location).netloc != home:  # our token goes nowhere else
                report["unreadable"].append({"id": ident, "reason": "its Location "
                                             f"{msg.answer_location!r} is on another host "
                                             "than the partner's CDRs endpoint"})
                continue
            try:
                answer = await client.call("GET", msg.answer_location, module="cdrs",
                                           to_party=(msg.to_country_code, msg.to_party_id)
                                           if msg.to_country_code else None)
            except PartnerError as exc:
                # only "no such object" is missing: a refused token, a hub's routing error
                # or a partner without GET must never make us post its CDRs twice
                if exc.http_status != 404:
                    report["unreadable"].append({"id": ident, "reason": str(exc)})
                    continue
                report["missing"].append({"id": ident, "resent_as": await _resend(db, msg)})
                continue
            theirs = answer.data
            if isinstance(theirs, list) and len(theirs) == 1:
                theirs = theirs[0]
            if not isinstance(theirs, dict):
                report["unreadable"].append({"id": ident, "reason": "no CDR in the answer"})
                continue
            ours = jsonutil.loads(msg.data)
            owner = ours.get("country_code"), ours.get("party_id")
            theirs = CDRS.to_canonical(theirs, client.version, *owner)
            # compared as the partner's version can carry it (2.1.1: no taxes)
            ours = CDRS.to_canonical(CDRS.to_wire(ours, client.version), client.version,
                                     *owner)
            diff = differences(ours, theirs)
            if diff:
                report["different"].append({"id": ident, "fields": diff})
            else:
                report["agreed"].append(ident)
    return report

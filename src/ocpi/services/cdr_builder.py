"""The CDR of each of our own Sessions that completes, built by the node itself.

Registered as a prepared own-write hook: in the transaction that writes a
COMPLETED session (from the management API, ``ocpi import``, the Smappee
connector, a partner-facing flow, or a session first written already
COMPLETED), the CDR is priced by the engine before the outbox queues the
session's messages, then stored with its POST queued behind the session's own
final update in the same partner FIFO. Once per
session: the CDR's id is the session's, and a CDR never changes.

A session that cannot be priced (no tariff, a currency mismatch, a tariff that
cannot price it, no Location) is held in ``cdr_holds`` with the reason, for the
operator (``ocpi cdrs list --held``, then ``ocpi cdrs retry``), never sent with
a guessed cost."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, update

from ..core import jsonutil
from ..core.datetime import now_text, utcnow
from ..core.enums import ModuleID, RoleEnum
from ..core.objects import find, later, without_internal
from ..modules.cdrs import costing
from ..modules.cdrs.declaration import CDRS, holds
from ..modules.cdrs.mapper import cdr_location
from ..outbox import publish as _publish  # noqa: F401  (the outbox's hook, for create_in)
from ..store.database import Database, Tx
from ..store.keys import id_key, party_key
from ..store.objects import Finish, on_own_write_prepared
from ..store.sql_store import create_in, get_in

log = logging.getLogger("ocpi.cdrs")


async def _own(tx: Tx, module: ModuleID, cc: str, pid: str, id: str) -> dict[str, Any] | None:
    return await get_in(tx, module.value, RoleEnum.cpo, id, cc, pid)


async def cdr_of(tx: Tx, session: dict[str, Any]) -> dict[str, Any]:
    """The priced CDR of an ended session of ours; ``costing.Unpriceable`` says why not."""
    cc, pid = session["country_code"], session["party_id"]
    location = await _own(tx, ModuleID.locations, cc, pid, str(session.get("location_id")))
    if location is None:
        raise costing.Unpriceable(f"its Location {session.get('location_id')!r} is not stored")
    i = find(location.get("evses"), "uid", str(session.get("evse_uid")))
    if i is None:
        raise costing.Unpriceable(f"Location {location['id']!r} has no EVSE "
                                  f"{session.get('evse_uid')!r}")
    evse = location["evses"][i]
    j = find(evse.get("connectors"), "id", str(session.get("connector_id")))
    if j is None:
        raise costing.Unpriceable(f"EVSE {evse['uid']!r} has no connector "
                                  f"{session.get('connector_id')!r}")
    connector = evse["connectors"][j]
    if not evse.get("evse_id"):  # a CDR requires the eMI3 id: none is made up
        raise costing.Unpriceable(f"EVSE {evse['uid']!r} has no evse_id, which a CDR's "
                                  "cdr_location requires")
    ids = costing.tariff_ids(session, connector)
    if not ids:
        raise costing.Unpriceable(f"no tariff: connector {connector['id']!r} of EVSE "
                                  f"{evse['uid']!r} lists none")
    tariffs = [t for t in [await _own(tx, ModuleID.tariffs, location["country_code"],
                                      location["party_id"], t) for t in ids] if t]
    if not tariffs:
        raise costing.Unpriceable(f"no tariff: {', '.join(ids)} not stored")
    tariff = costing.choose_tariff(tariffs, session)
    if tariff is None:
        raise costing.Unpriceable(f"no tariff in force at {session['start_date_time']} "
                                  f"among {', '.join(ids)}")
    if not session.get("end_date_time"):
        raise costing.Unpriceable(f"session {session.get('id')!r} has no end_date_time")
    spans = costing.periods(session)
    cost = costing.cost(session, tariff, location.get("time_zone"), spans=spans)
    tariff = without_internal(tariff)
    cdr: dict[str, Any] = {
        "country_code": cc, "party_id": pid, "id": session["id"],
        "start_date_time": session["start_date_time"],
        "end_date_time": session["end_date_time"], "session_id": session["id"],
        "cdr_token": session["cdr_token"], "auth_method": session["auth_method"],
        **({"authorization_reference": session["authorization_reference"]}
           if session.get("authorization_reference") else {}),
        "cdr_location": cdr_location(location, evse, connector),
        **({"meter_id": session["meter_id"]} if session.get("meter_id") else {}),
        "currency": tariff["currency"], "tariffs": [tariff],
        "charging_periods": [{**p, "tariff_id": p.get("tariff_id") or tariff["id"]}
                             for p in spans],
        **cost.cdr_fields(),
        # a CDR's last_updated is its creation: never before the session's last word
        "last_updated": later(now_text(), session["last_updated"]),
    }
    try:
        CDRS.model("2.3.0").model_validate(cdr, context={"warnings": []})
    except ValueError as exc:
        raise costing.Unpriceable(f"the CDR would be invalid: {exc}") from None
    return cdr


async def _hold(tx: Tx, session: dict[str, Any], reason: str) -> None:
    key = {"country_code": party_key(session["country_code"]),
           "party_id": party_key(session["party_id"]), "session_id": id_key(session["id"])}
    where = [holds.c[k] == v for k, v in key.items()]
    changed = (await tx.execute(update(holds).where(*where).values(
        reason=reason, attempts=holds.c.attempts + 1))).rowcount
    if not changed:
        await tx.execute(holds.insert().values(**key, reason=reason, attempts=1,
                                               held_at=utcnow().replace(tzinfo=None)))
    log.warning("CDR of session %s/%s/%s held: %s", key["country_code"], key["party_id"],
                session["id"], reason)


async def _prepare(tx: Tx, session: dict[str, Any]
                   ) -> tuple[dict[str, Any] | None, str | None]:
    """The CDR to write for ``session`` (None: none to write) or why it is held."""
    cc, pid, sid = session["country_code"], session["party_id"], str(session["id"])
    found = await _own(tx, ModuleID.cdrs, cc, pid, sid)
    if found is not None:
        if id_key(str(found.get("session_id"))) != id_key(sid):  # a correction's id
            return None, f"CDR id {sid!r} is taken by a CDR of session " \
                f"{found.get('session_id')!r}"
        return None, None  # once per session: a CDR never changes
    try:
        return await cdr_of(tx, session), None
    except costing.Unpriceable as exc:
        return None, str(exc)


async def _finish(tx: Tx, session: dict[str, Any], cdr: dict[str, Any] | None,
                  held: str | None) -> int:
    if held is not None:
        await _hold(tx, session, held)
        return 0
    await _release(tx, session["country_code"], session["party_id"], str(session["id"]))
    if cdr is None:
        return 0
    return await create_in(tx, ModuleID.cdrs, RoleEnum.cpo, cdr) or 0


async def build(tx: Tx, session: dict[str, Any]) -> int:
    """Build, store and queue the CDR of ``session`` unless it has one; hold it when
    it cannot be priced. Returns the messages queued."""
    return await _finish(tx, session, *await _prepare(tx, session))


async def _release(tx: Tx, cc: str, pid: str, sid: str) -> None:
    await tx.execute(delete(holds).where(
        holds.c.country_code == party_key(cc), holds.c.party_id == party_key(pid),
        holds.c.session_id == id_key(sid)))


def _negated(price: Any) -> Any:
    """A Price with every amount negated: what a credit CDR's ``total_cost`` says."""
    if not isinstance(price, dict):
        return price
    def minus(value: Any) -> Decimal:
        amount = Decimal(str(value))
        return -amount if amount else amount  # never -0

    out = {**price, "before_taxes": minus(price.get("before_taxes", 0))}
    if price.get("taxes"):
        out["taxes"] = [{**t, "amount": minus(t.get("amount", 0))} for t in price["taxes"]]
    return out


async def correct(db: Database, cdr_id: str) -> dict[str, Any]:
    """Correct one of our CDRs as the specification says a CDR is corrected: a credit
    CDR (``credit``, ``credit_reference_id``, the total negated; id + ``-C``) and a new
    CDR built from the session and tariffs as they are now, both queued in one
    transaction, the credit first. ``costing.Unpriceable`` (nothing written) when the
    session cannot be priced now; ValueError when there is nothing to correct."""

    async with db.begin() as tx:
        rows = (await tx.execute(select(CDRS.table.c.data).where(
            CDRS.table.c.role == str(RoleEnum.cpo), CDRS.table.c.id == id_key(cdr_id)))).all()
        if not rows:
            raise ValueError(f"no CDR {cdr_id!r} of ours")
        original = jsonutil.loads(rows[0][0])
        cc, pid = original["country_code"], original["party_id"]
        if original.get("credit"):
            raise ValueError(f"CDR {cdr_id!r} is a credit CDR: correct the CDR it credits")
        credit_id = f"{original['id']}-C"
        if await _own(tx, ModuleID.cdrs, cc, pid, credit_id) is not None:
            raise ValueError(f"CDR {cdr_id!r} is credited already ({credit_id})")
        session = await _own(tx, ModuleID.sessions, cc, pid, str(original.get("session_id")))
        if session is None:
            raise ValueError(f"the session of CDR {cdr_id!r} is not stored")
        fresh = await cdr_of(tx, session)
        base = str(session["id"])[:32]
        n = 1
        while await _own(tx, ModuleID.cdrs, cc, pid, f"{base}-R{n}") is not None:
            n += 1
        stamp = later(now_text(), original["last_updated"])
        credit = {**without_internal(original), "id": credit_id, "credit": True,
                  "credit_reference_id": original["id"],
                  "total_cost": _negated(original.get("total_cost")), "last_updated": stamp}
        fresh = {**fresh, "id": f"{base}-R{n}", "last_updated": stamp}
        queued = (await create_in(tx, ModuleID.cdrs, RoleEnum.cpo, credit) or 0) + \
            (await create_in(tx, ModuleID.cdrs, RoleEnum.cpo, fresh) or 0)
    return {"credit": credit, "new": fresh, "queued": queued}


async def on_session_write(tx: Tx, module: str, objects: list[dict[str, Any]],
                           deleted: bool = False) -> Finish | None:
    """Our sessions written COMPLETED: their CDRs are read and priced now, before the
    outbox queues the sessions' messages (on PostgreSQL, under the lock that orders
    every publishing transaction), and written after them, so each CDR's POST comes
    behind its session's final update."""
    if module != ModuleID.sessions.value or deleted:
        return None
    done = [s for s in objects if s.get("status") == "COMPLETED"]
    if not done:
        return None
    prepared = [(s, *await _prepare(tx, s)) for s in done]

    async def finish() -> int:
        return sum([await _finish(tx, *p) for p in prepared])

    return finish


async def retry(db: Database, session_id: str | None = None) -> list[dict[str, Any]]:
    """Build the CDRs of held sessions again (one, or all): what each run did."""

    async with db.begin() as tx:
        query = select(holds.c.country_code, holds.c.party_id, holds.c.session_id)
        if session_id is not None:
            query = query.where(holds.c.session_id == id_key(session_id))
        held = (await tx.execute(query)).all()
    results = []
    for cc, pid, sid in held:
        async with db.begin() as tx:
            session = await _own(tx, ModuleID.sessions, cc, pid, sid)
            if session is None:
                await tx.execute(delete(holds).where(
                    holds.c.country_code == cc, holds.c.party_id == pid,
                    holds.c.session_id == sid))
                results.append({"session_id": sid, "result": "session gone: hold dropped"})
                continue
            await build(tx, session)
            still = (await tx.execute(select(holds.c.reason).where(
                holds.c.country_code == cc, holds.c.party_id == pid,
                holds.c.session_id == sid))).first()
        results.append({"session_id": session["id"],
                        "result": f"held: {still[0]}" if still else "built"})
    return results


on_own_write_prepared(on_session_write)

"""Charging Profiles across the node (OCPI 2.2.1/2.3.0 section 14), both sides.

- The CPO: ``report_result`` records the Charge Point's one result of a
  partner's request and queues it to the ``response_url`` as an outbox
  callback, as a command's result is (``services.commands``; the sweeper
  closes requests whose timeout passed: the SCSP then expects nothing).
  ``active_profile`` is what a session's profile is now (the last accepted SET,
  CLEAR or change); ``changed`` records a change the CPO learnt of and PUTs the
  ActiveChargingProfile to each partner that set a profile on the session (the
  only ones the specification lets it tell).
- The SCSP (our eMSP side): ``send`` a SET, GET or CLEAR with a ``response_url``
  of ours carrying an unguessable id; the CPO's answer is stored, its result
  arrives at ``modules/chargingprofiles/module.post_result``; ``latest`` is the
  newest active profile the CPO told us for a session.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError
from sqlalchemy import select

from ..core.datetime import now_text
from ..core.enums import ModuleID, RoleEnum
from ..core.interface import module_path
from ..core.transport import validation_message
from ..modules import remote as rec
from ..modules.chargingprofiles import schemas as s
from ..modules.remote import CPO, DONE, EMSP, PENDING, Command, Refused, records
from ..outbox import calls
from ..peers.peer import Peer
from ..store.database import Database, Tx
from ..store.schema import peers
from .commands import SENDER_WAIT, ask_partner

MODULE = ModuleID.charging_profile.value


def _checked(model: Any, data: dict[str, Any]) -> dict[str, Any]:
    try:
        model.model_validate(data, context={"warnings": []})
    except ValidationError as exc:
        raise ValueError(validation_message(exc)) from None
    return data


def as_active(profile: dict[str, Any] | None) -> dict[str, Any] | None:
    """An ActiveChargingProfile; a bare ChargingProfile is taken as starting now."""
    if profile is None:
        return None
    if "charging_profile" not in profile:
        profile = {"start_date_time": now_text(), "charging_profile": profile}
    return _checked(s.ActiveChargingProfile, profile)


# --- the CPO ----------------------------------------------------------------------------

async def report_result(db: Database, request_id: int, result: str,
                        profile: dict[str, Any] | None = None) -> Command:
    """Record the one result of a partner's charging profile request and queue it to
    them. ``profile``: the ActiveChargingProfile (or its ChargingProfile) a GET found."""
    result = result.upper()
    if result not in s.RESULTS:
        raise ValueError(f"{result!r} is not a ChargingProfileResultType "
                         f"({', '.join(s.RESULTS)})")
    active = as_active(profile)
    async with db.begin() as tx:
        found = await rec.get(tx, request_id)
        if found is None or found.role != CPO or found.module != MODULE:
            raise Refused(f"no charging profile request {request_id} from a partner")
        if found.state == rec.ASKING:
            raise Refused(f"request {request_id} is not answered yet: report its result "
                          "after the handler returned")
        if active is not None and found.command != s.GET:
            raise ValueError("only a GET's result carries a profile")
        if active is None and found.command == s.GET and result == "ACCEPTED":
            raise ValueError("an ACCEPTED GET's result carries the active profile")
        if found.state == DONE or not await rec.finish(tx, request_id, (PENDING,), result,
                                                       active):
            raise Refused(f"request {request_id} has its result already "
                          f"({found.result or (found.response or {}).get('result')})")
        body: dict[str, Any] = {"result": result}
        if active is not None:
            body["profile"] = active
        _checked(s.RESULT_MODEL[found.command], body)
        if found.peer_id is not None:
            await calls.enqueue_in(tx, found.peer_id, MODULE, body, url=found.response_url,
                                   to_party=found.party)
        if result == "ACCEPTED" and found.command in (s.SET, s.CLEAR) and found.session_id:
            now = await _active_in(tx, found.session_id)
            await _tell(tx, found.session_id, now, but=(found.peer_id, found.party))
    return await get(db, request_id)


async def _active_in(tx: Tx, session_id: str) -> dict[str, Any] | None:
    r = records
    row = (await tx.execute(select(r).where(
        r.c.module == MODULE, r.c.session_id == session_id, r.c.role == CPO,
        r.c.command.in_([s.SET, s.CLEAR, s.UPDATE]), r.c.result == "ACCEPTED")
        .order_by(r.c.finished_at.desc(), r.c.id.desc()).limit(1))).first()
    if row is None:
        return None
    found = Command.from_row(row)
    if found.command == s.CLEAR:
        return None
    if found.command == s.UPDATE:
        return found.request or None
    stamp = (found.finished_at or found.created_at).isoformat(timespec="seconds") + "Z"
    return {"start_date_time": stamp, "charging_profile": found.request["charging_profile"]}


async def active_profile(db: Database, session_id: str) -> dict[str, Any] | None:
    """The ActiveChargingProfile of one of our sessions, or None: the last one a partner
    set and the Charge Point accepted, unless cleared or changed since."""
    async with db.begin() as tx:
        return await _active_in(tx, session_id)


async def _tell(tx: Tx, session_id: str, active: dict[str, Any] | None, *,
                but: tuple[int | None, tuple[str, str] | None] | None = None) -> list[int]:
    """Queue the session's ActiveChargingProfile to each partner that set one on it. None
    left is said as a profile without periods: no limit but the EVSE's own (the spec
    asks for the EVSE's maximum there; a profile with no period says the same)."""
    r = records
    setters = (await tx.execute(select(r.c.peer_id, r.c.party_country_code,
                                       r.c.party_party_id).where(
        r.c.module == MODULE, r.c.session_id == session_id, r.c.role == CPO,
        r.c.command == s.SET, r.c.result == "ACCEPTED").distinct())).all()
    body = active or {"start_date_time": now_text(),
                      "charging_profile": {"charging_rate_unit": "W"}}
    queued = []
    for peer_id, cc, pid in setters:  # a hub's: to each party behind it that set one
        party = (cc, pid) if cc and pid else None
        if peer_id is None or (peer_id, party) == but:  # the requester has its result
            continue
        row = (await tx.execute(select(peers).where(peers.c.id == peer_id))).first()
        url = Peer.from_row(row).endpoint(MODULE, "SENDER") if row is not None else None
        if url is None:
            continue
        queued.append(await calls.enqueue_in(tx, peer_id, MODULE, body, method="PUT",
                                             url=f"{url.rstrip('/')}/{quote(session_id, safe='')}",
                                             to_party=party))
    return queued


async def changed(db: Database, session_id: str, profile: dict[str, Any] | None
                  ) -> list[int]:
    """The session's profile changed for a reason of the CPO's (a local limit, a
    profile that ended): record it and PUT it to each partner that set one; the
    outbox messages' ids. ``profile`` None: no profile is active any more."""
    active = as_active(profile)
    async with db.begin() as tx:
        await rec.insert_one(tx, module=MODULE, role=CPO, peer_id=None, command=s.UPDATE,
                             version="", response_url="", request=active or {},
                             session_id=session_id, state=DONE, result="ACCEPTED",
                             created_at=rec.now(), finished_at=rec.now())
        return await _tell(tx, session_id, active)


# --- the SCSP (our eMSP side) -------------------------------------------------------------

async def send(db: Database, peer: Peer, kind: str, session_id: str, *, base_url: str,
               profile: dict[str, Any] | None = None, duration: int | None = None,
               from_party: tuple[str, str] | None = None) -> Command:
    """Send a SET (``profile``: a ChargingProfile), GET (``duration`` seconds) or CLEAR
    about ``session_id`` to the CPO ``peer``; the stored request with its answer."""
    kind = kind.upper()
    if kind not in s.METHOD:
        raise ValueError(f"{kind!r}: SET, GET or CLEAR")
    version = peer.version or "2.2.1"
    if version not in s.VERSIONS:
        raise ValueError(f"OCPI {version} has no charging profiles ({peer.name})")
    if peer.state != "registered" or not peer.token_out:
        raise ValueError(f"{peer.name} is not registered")
    endpoint = peer.endpoint(MODULE, "RECEIVER")
    if endpoint is None:
        raise ValueError(f"{peer.name} has no chargingprofiles receiver endpoint")
    uid = secrets.token_urlsafe(24)
    ours = module_path(ModuleID.charging_profile, version, RoleEnum.emsp)
    response_url = f"{base_url.rstrip('/')}{ours}/{s.RESULT_PATH[kind]}/{uid}"
    body: dict[str, Any] | None = None
    params: dict[str, Any] = {"response_url": response_url}
    request: dict[str, Any] = {}
    if kind == s.SET:
        if profile is None:
            raise ValueError("SET needs a charging profile")
        body = _checked(s.SetChargingProfile, {"charging_profile": profile,
                                               "response_url": response_url})
        params, request = {}, {"charging_profile": profile}
    elif kind == s.GET:
        if not duration or duration <= 0:
            raise ValueError("GET needs a duration in seconds")
        params["duration"] = request["duration"] = int(duration)
    async with db.begin() as tx:  # stored first: a fast result finds it
        request_id = await rec.insert_one(
            tx, module=MODULE, role=EMSP, peer_id=peer.id, command=kind, version=version,
            uid=uid, response_url=response_url, request=request, session_id=session_id,
            state=rec.ASKING, created_at=rec.now(), timeout_at=rec.now() + SENDER_WAIT)
    await ask_partner(db, peer, request_id, s.METHOD[kind],
                      f"{endpoint.rstrip('/')}/{quote(session_id, safe='')}", body=body,
                      params=params or None,
                      module=MODULE, from_party=from_party, what="ChargingProfileResponse")
    return await get(db, request_id)


async def latest(db: Database, session_id: str) -> dict[str, Any] | None:
    """The newest ActiveChargingProfile a CPO told us for ``session_id`` (a GET's result
    or an unsolicited update), with when and from whom; None if none came."""
    r = records
    async with db.begin() as tx:
        rows = (await tx.execute(select(r).where(
            r.c.module == MODULE, r.c.session_id == session_id, r.c.role == EMSP,
            r.c.command.in_([s.GET, s.UPDATE]), r.c.result == "ACCEPTED")
            .order_by(r.c.finished_at.desc(), r.c.id.desc()).limit(1))).all()
    if not rows:
        return None
    found = Command.from_row(rows[0])
    profile = found.request if found.command == s.UPDATE else found.message
    if not profile:
        return None
    return {"session_id": session_id, "profile": profile, "peer_id": found.peer_id,
            "received_at": found.finished_at.isoformat() + "Z" if found.finished_at else None,
            "from": "update" if found.command == s.UPDATE else "get"}


# --- both ---------------------------------------------------------------------------------

async def get(db: Database, request_id: int) -> Command:
    return await rec.read(db, request_id, "charging profile request")


async def listing(db: Database, limit: int = 100) -> list[dict[str, Any]]:
    """Each charging profile request, newest first, both sides, with the partner's name."""
    return await rec.listing(db, MODULE, limit)

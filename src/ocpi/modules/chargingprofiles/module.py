"""Charging Profiles (OCPI 2.2.1/2.3.0 section 14): the CPO receiver at
``{chargingprofiles}/{session_id}`` (GET the active profile, PUT a
SetChargingProfile, DELETE to clear) and the SCSP's sender interface: the
results at the ``response_url`` we gave, ``POST {chargingprofiles}/{kind}/{uid}``,
and the CPO's unsolicited ``PUT {chargingprofiles}/{session_id}``.

The CPO answers at once with a ChargingProfileResponse. Its own data answers
first: a session we do not hold is UNKNOWN_SESSION; one of another party's
customers, or one that ended, is REJECTED; more than ``MAX_PER_MINUTE``
requests on one session from one caller in a minute is TOO_OFTEN. Then the operator's hook
decides: ``get_application(charging_profile_handler=fn)``, or with the seed
API the user's ``Crud.do(ModuleID.charging_profile, RoleEnum.cpo, action,
data=...)`` with ``Action.send_update_charging_profile`` / ``send_get_
chargingprofile`` / ``send_delete_chargingprofile``. ``fn(data)`` gets
``{"request": "SET"|"GET"|"CLEAR", "session_id", "session", "charging_profile"?,
"duration"?, "id", "version"}`` and returns ``{"result", "timeout"?}``; neither:
NOT_SUPPORTED. The result follows through ``services.charging_profiles.
report_result``, as a command's does (modules/remote.py keeps both).
"""

import logging
from datetime import timedelta
from typing import Any

from starlette.responses import Response

from ...core import objects as obj
from ...core.enums import Action, InterfaceRole, ModuleID, RoleEnum
from ...core.envelope import envelope
from ...core.errors import Forbidden, InvalidParameters, NotFound
from ...core.interface import Endpoint, ModuleDefinition
from ...core.status import Status
from ...core.transport import OcpiRequest
from .. import remote as rec
from ..generic import ask_operator
from . import schemas as s

MODULE = ModuleID.charging_profile
DEFAULT_TIMEOUT = 60
MAX_TIMEOUT = 3_600
MAX_DURATION = 86_400  # a GET's duration: a day of schedule is already more than useful
MAX_PER_MINUTE = 10  # requests on one session from one caller (behind a hub: one party)
TOO_OFTEN = "TOO_OFTEN"
ASK_LIMIT = timedelta(minutes=10)
_SENDERS = frozenset({"EMSP", "SCSP"})
_ACTIONS = {s.SET: Action.send_update_charging_profile, s.GET: Action.send_get_chargingprofile,
            s.CLEAR: Action.send_delete_chargingprofile}

log = logging.getLogger("ocpi.chargingprofiles")


def _answer(result: str, timeout: int = 0, why: str = "") -> Response:
    return envelope({"result": result, "timeout": timeout},
                    status_message=f"{result}{'; ' + why if why else ''}")


async def _session(ctx: OcpiRequest, session_id: str) -> dict[str, Any] | None:
    node = ctx.node
    return await node.crud.get(ModuleID.sessions, RoleEnum.cpo, session_id, **node.crud_kwargs(
        ctx, node.country_code, node.party_id))


async def _refusal(ctx: OcpiRequest, session: dict[str, Any] | None, session_id: str
                   ) -> tuple[str, str] | None:
    """What our own data answers before the operator is asked (result, reason)."""
    if session is None:
        return "UNKNOWN_SESSION", f"unknown session {session_id!r}"
    token = session.get("cdr_token") or {}
    cc, pid = token.get("country_code"), token.get("party_id")
    if cc and pid and not await obj.speaks_for(ctx, str(cc), str(pid)):
        return "REJECTED", f"session {session_id!r} is not one of your customers'"
    if session.get("status") not in ("ACTIVE", "PENDING", "RESERVATION"):
        return "REJECTED", f"session {session_id!r} is {session.get('status')}"
    if ctx.node.db is not None and await rec.recent(
            ctx.node.db, MODULE.value, session_id, 60, ctx.caller.peer_id,
            rec.routed_from(ctx)) >= MAX_PER_MINUTE:
        return TOO_OFTEN, f"more than {MAX_PER_MINUTE} requests a minute on this session"
    return None


def _decided(raw: Any) -> dict[str, Any]:
    """The hook's answer as a ChargingProfileResponse; ValueError when it is none."""
    if raw is None:
        return {"result": "NOT_SUPPORTED", "timeout": 0}
    if isinstance(raw, str):
        raw = {"result": raw}
    if not isinstance(raw, dict) or raw.get("result") not in s.RESPONSES:
        raise ValueError(f"the charging profile handler answered {raw!r}")
    timeout = 0
    if raw["result"] == "ACCEPTED":
        timeout = min(max(int(raw.get("timeout") or DEFAULT_TIMEOUT), 1), MAX_TIMEOUT)
    return {"result": raw["result"], "timeout": timeout}


async def _request(ctx: OcpiRequest, kind: str, response_url: str,
                   fields: dict[str, Any]) -> Response:
    """One request on a session: refused by our data, else recorded and decided."""
    caller = ctx.caller
    session_id = ctx.params["session_id"]
    if len(session_id) > 36:
        raise InvalidParameters("session_id: longer than 36 characters")
    session = await _session(ctx, session_id)
    refused = await _refusal(ctx, session, session_id)
    db = ctx.node.db
    values = {"module": MODULE.value, "role": rec.CPO, "peer_id": caller.peer_id,
              "command": kind, "version": ctx.version, "response_url": response_url,
              "request": fields, "session_id": session_id, **rec.routed_from(ctx)}
    if refused is not None:
        if refused[0] != TOO_OFTEN:  # kept nowhere: it would count against the next
            await rec.record_refused(db, values, {"result": refused[0], "timeout": 0})
        return _answer(refused[0], why=refused[1])

    async def ask(request_id: int | None) -> dict[str, Any]:
        data = {"request": kind, "session_id": session_id, "session": session,
                "id": request_id, "version": ctx.version, **fields}
        try:
            return _decided(await ask_operator(ctx, ctx.node.charging_profile_handler, MODULE,
                                               RoleEnum.cpo, _ACTIONS[kind], data))
        except Exception:
            log.exception("the charging profile handler failed on %s %s", kind, request_id)
            return {"result": "REJECTED", "timeout": 0}

    response = await rec.record_asked(db, values, ask, ask_limit=ASK_LIMIT)
    return _answer(response["result"], response["timeout"])


def _sender(ctx: OcpiRequest) -> None:
    if ctx.caller.is_operator or not ctx.caller.acts_as(_SENDERS):
        raise Forbidden("charging profiles are sent by eMSP and SCSP partners")


async def get_profile(ctx: OcpiRequest) -> Response:
    """``GET {chargingprofiles}/{session_id}?duration=&response_url=``."""
    _sender(ctx)
    query = ctx.request.query_params
    try:
        duration = int(query.get("duration", ""))
    except ValueError:
        raise InvalidParameters("duration: required, a number of seconds") from None
    if duration <= 0:
        raise InvalidParameters("duration: a positive number of seconds")
    duration = min(duration, MAX_DURATION)  # no schedule a day ahead is worth more
    return await _request(ctx, s.GET, rec.response_url(query.get("response_url")),
                          {"duration": duration})


async def put_profile(ctx: OcpiRequest) -> Response:
    """``PUT {chargingprofiles}/{session_id}`` with a SetChargingProfile."""
    _sender(ctx)
    body = obj.require_object(await ctx.json(), "SetChargingProfile")
    await obj.validate(ctx, s.SetChargingProfile, body)
    url = rec.response_url(body["response_url"])
    return await _request(ctx, s.SET, url, {"charging_profile": body["charging_profile"]})


async def delete_profile(ctx: OcpiRequest) -> Response:
    """``DELETE {chargingprofiles}/{session_id}?response_url=``."""
    _sender(ctx)
    return await _request(ctx, s.CLEAR, rec.response_url(
        ctx.request.query_params.get("response_url")), {})


async def post_result(ctx: OcpiRequest) -> Response:
    """``POST {our response_url}``: the CPO's one result of a request we sent."""
    db = ctx.node.db
    kind = s.REQUEST_OF_PATH.get(ctx.params["kind"], "")
    found = None if db is None or not kind else await rec.awaiting(
        db, ctx.params["uid"], module=MODULE, command=kind, version=ctx.version,
        peer_id=ctx.caller.peer_id)
    if db is None or found is None:
        raise NotFound("no charging profile request awaits a result at this URL",
                       status_code=Status.CLIENT_ERROR)
    model = s.RESULT_MODEL[kind]
    body = obj.require_object(await ctx.json(), model.__name__)
    await obj.validate(ctx, model, body)
    async with db.begin() as tx:
        if not await rec.finish(tx, found.id, (rec.ASKING, rec.PENDING), str(body["result"]),
                                body.get("profile")):
            raise InvalidParameters(f"request {found.id} has its result already")
    return envelope(status_message=f"result {body['result']} recorded")


async def put_update(ctx: OcpiRequest) -> Response:
    """``PUT {chargingprofiles}/{session_id}``: the CPO's unsolicited ActiveChargingProfile,
    taken for a session we set a profile on at that CPO (the only ones it may send)."""
    db = ctx.node.db
    caller = ctx.caller
    if caller.is_operator or not caller.acts_as(frozenset({"CPO"})):
        raise Forbidden("active charging profiles are sent by CPO partners")
    session_id = ctx.params["session_id"]
    if db is None or caller.peer_id is None or \
            not await rec.set_on(db, MODULE.value, session_id, caller.peer_id):
        raise NotFound(f"we set no charging profile on session {session_id!r} at your platform",
                       status_code=Status.CLIENT_ERROR)
    body = obj.require_object(await ctx.json(), "ActiveChargingProfile")
    await obj.validate(ctx, s.ActiveChargingProfile, body)
    async with db.begin() as tx:
        await rec.insert_one(tx, module=MODULE.value, role=rec.EMSP, peer_id=caller.peer_id,
                             command=s.UPDATE, version=ctx.version, response_url="",
                             request=body, session_id=session_id, state=rec.DONE,
                             result="ACCEPTED", created_at=rec.now(), finished_at=rec.now())
    return envelope(status_message="active charging profile recorded")


def definition() -> ModuleDefinition:
    return ModuleDefinition(id=MODULE, versions=s.VERSIONS, interfaces={
        RoleEnum.cpo: (InterfaceRole.RECEIVER, (
            Endpoint("GET", "/{session_id}", get_profile),
            Endpoint("PUT", "/{session_id}", put_profile),
            Endpoint("DELETE", "/{session_id}", delete_profile))),
        RoleEnum.emsp: (InterfaceRole.SENDER, (
            Endpoint("POST", "/{kind}/{uid}", post_result),
            Endpoint("PUT", "/{session_id}", put_update))),
    })

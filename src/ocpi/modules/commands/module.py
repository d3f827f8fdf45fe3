"""Commands (OCPI 2.2.1/2.3.0 section 13, 2.1.1 "Commands module"): the CPO
receiver ``POST {commands}/{command}`` and the eMSP's endpoint for the
asynchronous result, ``POST {commands}/{command}/{uid}`` (the ``response_url``
we gave; the specification leaves its shape to the eMSP).

The CPO answers at once with a CommandResponse: what it can tell from its own
data (an unknown Location, EVSE or Connector: REJECTED with the reason; a
STOP_SESSION of a session we do not hold: UNKNOWN_SESSION; a command type the
version lacks: NOT_SUPPORTED), else what the operator's hook says. The hook
is ``get_application(command_handler=fn)``, or with the seed API the user's
``Crud.do(ModuleID.commands, RoleEnum.cpo, Action.send_command, data=...)``
(NotImplementedError: NOT_SUPPORTED). ``fn(data)`` gets ``{"command", "request",
"id", "version", "authorization_reference", "from_party"}`` (the caller's party:
a 2.1.1 token names none) and returns ``{"result",
"timeout"?, "message"?}``, through ``generic.ask_operator`` as Tokens' authorizer
does. With neither, NOT_SUPPORTED (the simulated charger will be a command_handler).

An accepted command waits for ``services.commands.report_result`` (or the
sweeper's TIMEOUT once ``timeout`` passed); an accepted START_SESSION is
recorded as the eMSP's authorization, so the session that follows carries its
``authorization_reference`` (``services.authorization.reference_for_session``).
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
from ...store.database import Tx
from .. import remote as rec
from ..generic import ask_operator
from ..remote import ASKING, CPO, PENDING
from ..tokens.declaration import DEFAULT_TYPE
from ..tokens.records import Decision, new_reference, record_in
from ..versions.enums import is_v2_1
from .schemas import RESPONSE, RESULT, display, request_model, responses, text_of

MODULE = ModuleID.commands
DEFAULT_TIMEOUT = 60  # seconds, when the hook accepts without saying
MAX_TIMEOUT = 86_400
ASK_LIMIT = timedelta(minutes=10)  # a hook that never answered: the row is closed then
_SENDERS = frozenset({"EMSP"})  # (a hub acts for eMSPs: Caller.acts_as lets it)

log = logging.getLogger("ocpi.commands")


async def _ours(ctx: OcpiRequest, module: ModuleID, id: str) -> dict[str, Any] | None:
    node = ctx.node
    return await node.crud.get(module, RoleEnum.cpo, id, **node.crud_kwargs(
        ctx, node.country_code, node.party_id))



async def _not_callers(ctx: OcpiRequest, token: Any) -> bool:
    """A token (or a session's) of another party than the caller speaks for (a hub:
    the parties it reaches); a 2.1.1 token names no owner."""
    if not isinstance(token, dict):
        return False
    cc, pid = token.get("country_code"), token.get("party_id")
    return bool(cc and pid) and not await obj.speaks_for(ctx, str(cc), str(pid))


async def _refusal(ctx: OcpiRequest, command: str, body: dict[str, Any]
                   ) -> tuple[str, str] | None:
    """What our own data answers before any Charge Point is asked (result, reason)."""
    if command == "STOP_SESSION":
        session = await _ours(ctx, ModuleID.sessions, str(body["session_id"]))
        if session is None:
            return "UNKNOWN_SESSION", f"unknown session {body['session_id']!r}"
        if await _not_callers(ctx, session.get("cdr_token")):
            return "REJECTED", f"session {body['session_id']!r} is not one of your customers'"
        return None
    if await _not_callers(ctx, body.get("token")):
        return "REJECTED", "the token belongs to another party"
    if "location_id" not in body:
        return None
    location = await _ours(ctx, ModuleID.locations, str(body["location_id"]))
    if location is None:
        return "REJECTED", f"unknown Location {body['location_id']!r}"
    if body.get("evse_uid") is None:
        return None
    evse = obj.find_item(location.get("evses"), "uid", str(body["evse_uid"]))
    if evse is None or evse.get("status") == "REMOVED":
        return "REJECTED", (f"unknown EVSE {body['evse_uid']!r} at Location "
                            f"{body['location_id']!r}")
    if body.get("connector_id") is not None and \
            obj.find_item(evse.get("connectors"), "id", str(body["connector_id"])) is None:
        return "REJECTED", (f"unknown Connector {body['connector_id']!r} of EVSE "
                            f"{body['evse_uid']!r}")
    return None


def _response(raw: Any, version: str) -> dict[str, Any]:
    """The hook's answer as a CommandResponse (2.2 shape), checked valid in ``version``
    before anything is recorded; ValueError when it is none. No hook at all (nothing
    here reaches a Charge Point): NOT_SUPPORTED."""
    if raw is None:
        return {"result": "NOT_SUPPORTED", "timeout": 0,
                "message": display("no charge point connection: this node has no command "
                                   "handler")}
    if isinstance(raw, str):
        raw = {"result": raw}
    if not isinstance(raw, dict) or raw.get("result") not in responses(version):
        raise ValueError(f"the command handler answered {raw!r}")
    timeout = 0
    if raw["result"] == "ACCEPTED":
        timeout = min(max(int(raw.get("timeout") or DEFAULT_TIMEOUT), 1), MAX_TIMEOUT)
    out: dict[str, Any] = {"result": raw["result"], "timeout": timeout}
    message = display(raw.get("message"))
    if message:
        out["message"] = message
    RESPONSE[version].model_validate(_wire(out, version), context={"warnings": []})
    return out


def _wire(response: dict[str, Any], version: str) -> dict[str, Any]:
    """A CommandResponse as ``version`` carries it: 2.1.1 has ``result`` only."""
    return {"result": response["result"]} if is_v2_1(version) else response


def _answer(ctx: OcpiRequest, response: dict[str, Any]) -> Response:
    why = text_of(response.get("message"))
    note = "" if response["result"] == "ACCEPTED" or not why else f"; {why}"
    return envelope(_wire(response, ctx.version),
                    status_message=f"{response['result']}{note}")


async def _authorized(tx: Tx, ctx: OcpiRequest, body: dict[str, Any], reference: str) -> None:
    """An accepted START_SESSION is the eMSP's authorization of its token: recorded as
    one, the session that follows takes its reference (``reference_for_session``)."""
    token = body.get("token") or {}
    owner = (token.get("country_code"), token.get("party_id"))
    if not all(owner):
        owner = (ctx.caller.country_code, ctx.caller.party_id)
    await record_in(tx, RoleEnum.cpo, Decision("ALLOWED", "command", reference=reference),
                    uid=str(token.get("uid", "")), token_type=str(token.get("type")
                                                                  or DEFAULT_TYPE),
                    token_owner=(str(owner[0]), str(owner[1])) if all(owner) else None,
                    peer_id=ctx.caller.peer_id, location_id=body.get("location_id"),
                    evse_uid=body.get("evse_uid"))


async def post_command(ctx: OcpiRequest) -> Response:
    """``POST {commands}/{command}``: a partner's command, answered at once."""
    caller = ctx.caller
    if caller.is_operator or not caller.acts_as(_SENDERS):
        raise Forbidden("commands are sent by eMSP partners")
    command = ctx.params["command"]
    model = request_model(command, ctx.version)
    if model is None:
        return _answer(ctx, {"result": "NOT_SUPPORTED", "timeout": 0, "message": display(
            f"{command!r} is not a command of OCPI {ctx.version}")})
    body = obj.require_object(await ctx.json(), model.__name__)
    await obj.validate(ctx, model, body)
    rec.response_url(body["response_url"])
    reference = None
    if command in ("START_SESSION", "RESERVE_NOW"):
        reference = str(body.get("authorization_reference") or new_reference())
    refused = await _refusal(ctx, command, body)
    db = ctx.node.db
    values = {"module": MODULE.value, "role": CPO, "peer_id": caller.peer_id,
              "command": command, "version": ctx.version,
              "response_url": str(body["response_url"]), "request": body,
              "authorization_reference": reference, **rec.routed_from(ctx)}
    if refused is not None:
        response = {"result": refused[0], "timeout": 0, "message": display(refused[1])}
        await rec.record_refused(db, values, response)
        return _answer(ctx, response)

    async def ask(command_id: int | None) -> dict[str, Any]:
        data = {"command": command, "request": body, "id": command_id,
                "version": ctx.version, "authorization_reference": reference,
                "from_party": ctx.routing[0] if caller.is_hub and ctx.routing[0]
                else (caller.country_code, caller.party_id)}
        try:
            return _response(await ask_operator(ctx, ctx.node.command_handler, MODULE,
                                                RoleEnum.cpo, Action.send_command, data),
                             ctx.version)
        except Exception:  # the operator's code: logged, the eMSP told, the row closed
            log.exception("the command handler failed on %s %s", command, command_id)
            return {"result": "REJECTED", "timeout": 0,
                    "message": display("the command could not be passed on")}

    async def authorized(tx: Tx) -> None:
        if command == "START_SESSION" and reference:
            await _authorized(tx, ctx, body, reference)

    response = await rec.record_asked(db, values, ask, ask_limit=ASK_LIMIT,
                                      on_accepted=authorized)
    return _answer(ctx, response)


async def post_result(ctx: OcpiRequest) -> Response:
    """``POST {our response_url}``: the CPO's one result of a command we sent. Only
    the partner we sent it to may post it, once; anything else is stored nowhere."""
    db = ctx.node.db
    found = None if db is None else await rec.awaiting(
        db, ctx.params["uid"], module=MODULE, command=ctx.params["command"],
        version=ctx.version, peer_id=ctx.caller.peer_id)
    if db is None or found is None:
        raise NotFound("no command awaits a result at this URL", status_code=Status.CLIENT_ERROR)
    model = RESULT[ctx.version]
    body = obj.require_object(await ctx.json(), model.__name__)
    await obj.validate(ctx, model, body)
    message = display(body.get("message"))
    async with db.begin() as tx:
        if not await rec.finish(tx, found.id, (ASKING, PENDING), str(body["result"]), message):
            raise InvalidParameters(f"command {found.id} has its result already")
    return envelope(status_message=f"result {body['result']} recorded")


def definition() -> ModuleDefinition:
    return ModuleDefinition(id=MODULE, interfaces={
        RoleEnum.cpo: (InterfaceRole.RECEIVER, (Endpoint("POST", "/{command}", post_command),)),
        RoleEnum.emsp: (InterfaceRole.SENDER, (
            Endpoint("POST", "/{command}/{uid}", post_result),)),
    })

"""Sessions: CPO sender (list, charging preferences on 2.2+), eMSP receiver
(GET/PUT/PATCH), and the operator's management writes on the CPO paths."""

from typing import Any

from starlette.responses import Response

from ...core import objects as obj
from ...core.enums import InterfaceRole, ModuleID, RoleEnum
from ...core.envelope import envelope
from ...core.errors import NotFound
from ...core.interface import Endpoint, ModuleDefinition
from ...core.status import Status
from ...core.transport import OcpiRequest
from ..versions.enums import is_v2_1
from . import mapper
from .schemas import SCHEMAS, ChargingPreferences

MODULE = ModuleID.sessions
_V22 = frozenset({"2.2.1", "2.3.0"})


def _unknown(ctx: OcpiRequest, session_id: str) -> NotFound:
    code = Status.CLIENT_ERROR if is_v2_1(ctx.version) else Status.UNKNOWN_LOCATION
    return NotFound(f"unknown session {session_id!r}", status_code=code)


async def _location_211(ctx: OcpiRequest, session: dict[str, Any]) -> dict[str, Any] | None:
    """The 2.1.1 ``location`` of a session that came in a newer version."""
    if not mapper.needs_location(session):
        return None
    loc = await ctx.node.crud.get(ModuleID.locations, ctx.role, session["location_id"],
                                  **ctx.node.crud_kwargs(ctx, session.get("country_code"),
                                                         session.get("party_id")))
    return mapper.embedded_location(session, loc)


async def _wire(ctx: OcpiRequest, session: dict[str, Any]) -> dict[str, Any]:
    location = await _location_211(ctx, session) if is_v2_1(ctx.version) else None
    return mapper.to_wire(session, ctx.version, location=location)


async def _load(ctx: OcpiRequest, cc: str | None, pid: str | None, session_id: str
                ) -> dict[str, Any] | None:
    return await ctx.node.crud.get(MODULE, ctx.role, session_id,
                                   **ctx.node.crud_kwargs(ctx, cc, pid))


async def list_sessions(ctx: OcpiRequest) -> Response:
    async def render(session: dict[str, Any]) -> dict[str, Any]:
        return await _wire(ctx, session)

    return await ctx.node.list_page(ctx, MODULE, render, visible_to_caller=True)


async def get(ctx: OcpiRequest) -> Response:
    p = ctx.params
    if not ctx.caller.is_operator:
        obj.check_namespace(ctx, p["country_code"], p["party_id"])
    session = await _load(ctx, p["country_code"], p["party_id"], p["session_id"])
    if session is None:
        raise _unknown(ctx, p["session_id"])
    return envelope(ctx.node.for_caller(ctx, MODULE, await _wire(ctx, session)))


async def put(ctx: OcpiRequest) -> Response:
    p = ctx.params
    cc, pid, session_id = p["country_code"], p["party_id"], p["session_id"]
    obj.check_namespace(ctx, cc, pid)
    body = obj.require_object(await ctx.json(), "Session")
    await obj.validate(ctx, SCHEMAS.get(ctx.version, SCHEMAS["2.3.0"]), body)
    obj.check_same("id", session_id, body)
    if not is_v2_1(ctx.version):
        obj.check_same("country_code", cc, body)
        obj.check_same("party_id", pid, body)
    new = mapper.to_canonical(body, ctx.version, cc.upper(), pid.upper())
    stored = await _load(ctx, cc, pid, session_id)
    if obj.is_stale(new, stored):
        return obj.stored_response(ctx, False, applied=False)
    applied = await _save(ctx, cc, pid, new, stored is not None)
    return obj.stored_response(ctx, stored is None, applied)


async def _save(ctx: OcpiRequest, cc: str, pid: str, session: dict[str, Any],
                existed: bool) -> bool:
    kwargs = ctx.node.crud_kwargs(ctx, cc, pid)
    if existed:
        result = await ctx.node.crud.update(MODULE, ctx.role, session, session["id"], **kwargs)
        return result is not None or not ctx.node.builtin_store
    created = await ctx.node.crud.create(MODULE, ctx.role, session, **kwargs)
    # None: the built-in store found a newer one a concurrent request created
    return created is not None or not ctx.node.builtin_store


async def patch(ctx: OcpiRequest) -> Response:
    p = ctx.params
    cc, pid, session_id = p["country_code"], p["party_id"], p["session_id"]
    obj.check_namespace(ctx, cc, pid)
    body = obj.require_object(await ctx.json(), "PATCH fragment")
    obj.ensure_last_updated(ctx, body)
    obj.check_same("id", session_id, body)
    stored = await _load(ctx, cc, pid, session_id)
    if stored is None:
        raise _unknown(ctx, session_id)
    if obj.is_stale(body, stored):
        return obj.stored_response(ctx, False, applied=False)
    wire = mapper.to_wire(stored, ctx.version, strict=False)
    appended = () if is_v2_1(ctx.version) else ("charging_periods",)
    merged = obj.merge(wire, body, appended=appended)
    await obj.validate_patch(ctx, SCHEMAS.get(ctx.version, SCHEMAS["2.3.0"]), merged, body.keys())
    new = mapper.to_canonical(merged, ctx.version, cc.upper(), pid.upper())
    applied = await _save(ctx, cc, pid, new, True)
    return obj.stored_response(ctx, False, applied)


async def charging_preferences(ctx: OcpiRequest) -> Response:
    """Set the driver's preferences; only EVSEs that say CHARGING_PREFERENCES_CAPABLE."""
    session_id = ctx.params["session_id"]
    body = obj.require_object(await ctx.json(), "ChargingPreferences")
    await obj.validate(ctx, ChargingPreferences, body)
    session = await _load(ctx, None, None, session_id)
    token = (session or {}).get("cdr_token") or {}
    if session is None or not (ctx.caller.is_operator or ctx.caller.owns(
            token.get("country_code", ""), token.get("party_id", ""))):
        raise _unknown(ctx, session_id)
    location = await ctx.node.crud.get(ModuleID.locations, ctx.role, session["location_id"],
                                       **ctx.node.crud_kwargs(ctx, None, None))
    i = obj.find((location or {}).get("evses"), "uid", session.get("evse_uid") or "")
    caps = location["evses"][i].get("capabilities") or [] if location and i is not None else []
    if "CHARGING_PREFERENCES_CAPABLE" not in caps:
        raise NotFound("EVSE is not CHARGING_PREFERENCES_CAPABLE",
                       status_code=Status.INVALID_PARAMETERS)
    if ctx.node.builtin_store:
        updated = {**session, "_charging_preferences": body}
        await ctx.node.crud.update(MODULE, ctx.role, updated, session_id,
                                   **ctx.node.crud_kwargs(ctx, session["country_code"],
                                                          session["party_id"]))
    else:  # the seed library hands preferences to the user's update()
        await ctx.node.crud.update(MODULE, ctx.role, body, session_id,
                                   **ctx.node.crud_kwargs(ctx, None, None))
    return envelope("ACCEPTED")


_OWNED = "/{country_code}/{party_id}/{session_id}"


def definition() -> ModuleDefinition:
    return ModuleDefinition(
        id=MODULE,
        interfaces={
            RoleEnum.cpo: (InterfaceRole.SENDER, (
                Endpoint("GET", "", list_sessions),
                Endpoint("PUT", "/{session_id}/charging_preferences", charging_preferences,
                         versions=_V22),
                Endpoint("GET", _OWNED, get, operator_only=True),
                Endpoint("PUT", _OWNED, put, operator_only=True),
                Endpoint("PATCH", _OWNED, patch, operator_only=True),
            )),
            RoleEnum.emsp: (InterfaceRole.RECEIVER, (
                Endpoint("GET", _OWNED, get),
                Endpoint("PUT", _OWNED, put),
                Endpoint("PATCH", _OWNED, patch),
            )),
        },
    )

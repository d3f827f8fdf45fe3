"""Sessions: CPO sender (list, charging preferences on 2.2+), eMSP receiver
(GET/PUT/PATCH), and the operator's management writes on the CPO paths.

The shared handlers come from the kernel (``modules/generic.py``); only the
charging preferences are this module's own."""

from typing import Any

from starlette.responses import Response

from ...core import objects as obj
from ...core.enums import ModuleID
from ...core.envelope import envelope
from ...core.errors import NotFound
from ...core.interface import Endpoint, ModuleDefinition
from ...core.status import Status
from ...core.transport import OcpiRequest
from ..generic import Handlers
from .declaration import SESSIONS
from .schemas import ChargingPreferences

MODULE = ModuleID.sessions
OBJECTS = SESSIONS
_V22 = frozenset({"2.2.1", "2.3.0"})


HANDLERS = Handlers(SESSIONS)


def _unknown(ctx: OcpiRequest, session_id: str) -> NotFound:
    return HANDLERS.unknown(ctx, session_id)


async def _load(ctx: OcpiRequest, cc: str | None, pid: str | None, session_id: str
                ) -> dict[str, Any] | None:
    return await ctx.node.crud.get(MODULE, ctx.role, session_id,
                                   **ctx.node.crud_kwargs(ctx, cc, pid))


async def charging_preferences(ctx: OcpiRequest) -> Response:
    """Set the driver's preferences; only EVSEs that say CHARGING_PREFERENCES_CAPABLE."""
    session_id = ctx.params["session_id"]
    body = obj.require_object(await ctx.json(), "ChargingPreferences")
    await obj.validate(ctx, ChargingPreferences, body)
    session = await _load(ctx, None, None, session_id)
    token = (session or {}).get("cdr_token") or {}
    if session is None or not (ctx.caller.is_operator or await obj.speaks_for(
            ctx, token.get("country_code", ""), token.get("party_id", ""))):
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
    charging = Endpoint("PUT", "/{session_id}/charging_preferences", charging_preferences,
                        versions=_V22)
    return ModuleDefinition(id=MODULE, interfaces=HANDLERS.interfaces(_OWNED,
                                                                      sender=(charging,)))

"""Hub Client Info, receiver interface (2.2.1, 2.3.0): GET and PUT of the
ClientInfo a hub reports, under ``/{country_code}/{party_id}``, and PATCH
(not in 2.2.1's receiver table, but in the module's push model: a hub may
send a status change alone).

Only a hub reports (the operator reads reports with ``ocpi peers reach``);
what it reports is kept per hub and decides which parties' objects it may
write (``reach``). Pulling a hub's list is
``ocpi peers pull HUB hubclientinfo``; the operator states the parties of
a hub that cannot report them (2.1.1) with ``ocpi peers reach``.
"""

from typing import Any

from starlette.responses import Response

from ...core import objects as obj
from ...core.enums import InterfaceRole, ModuleID, RoleEnum
from ...core.envelope import envelope
from ...core.errors import Forbidden
from ...core.interface import Endpoint, ModuleDefinition
from ...core.transport import OcpiRequest
from ..generic import Handlers
from .declaration import CLIENT_INFO, hub_key

MODULE = ModuleID.hub_client_info
OBJECTS = CLIENT_INFO
HANDLERS = Handlers(CLIENT_INFO)
VERSIONS = frozenset({"2.2.1", "2.3.0"})


def _hub(ctx: OcpiRequest) -> tuple[str, str]:
    """The reporting hub: only a hub says whom it reaches."""
    caller = ctx.caller
    if not caller.is_hub or caller.country_code is None or caller.party_id is None:
        raise Forbidden("only a hub reports the parties it reaches (ClientInfo)")
    return caller.country_code.upper(), caller.party_id.upper()


async def _stored(ctx: OcpiRequest, hub: tuple[str, str]) -> dict[str, Any] | None:
    p = ctx.params
    found, _ = await HANDLERS.load(ctx, p["country_code"], p["party_id"],
                                   [(hub_key(*hub), {})])
    return found


async def get(ctx: OcpiRequest) -> Response:
    found = await _stored(ctx, _hub(ctx))
    if found is None:
        p = ctx.params
        raise HANDLERS.unknown(ctx, f"{p['country_code']}/{p['party_id']}")
    return envelope(CLIENT_INFO.to_wire(found, ctx.version))


async def _save(ctx: OcpiRequest, hub: tuple[str, str], new: dict[str, Any],
                stored: dict[str, Any] | None) -> Response:
    p = ctx.params
    if obj.is_stale(new, stored):
        return obj.stored_response(ctx, False, applied=False)
    applied = await HANDLERS.save(ctx, p["country_code"], p["party_id"], new,
                                  stored is not None)
    ctx.node.reach.forget(hub)
    return obj.stored_response(ctx, stored is None, applied)


async def put(ctx: OcpiRequest) -> Response:
    hub = _hub(ctx)
    p = ctx.params
    body = obj.require_object(await ctx.json(), CLIENT_INFO.name)
    await obj.validate(ctx, CLIENT_INFO.model(ctx.version), body)
    obj.check_same("country_code", p["country_code"], body)
    obj.check_same("party_id", p["party_id"], body)
    new = CLIENT_INFO.to_canonical(body, ctx.version, *hub)
    return await _save(ctx, hub, new, await _stored(ctx, hub))


async def patch(ctx: OcpiRequest) -> Response:
    hub = _hub(ctx)
    p = ctx.params
    body = obj.require_object(await ctx.json(), "PATCH fragment")
    obj.ensure_last_updated(ctx, body)
    obj.check_same("country_code", p["country_code"], body)
    obj.check_same("party_id", p["party_id"], body)
    stored = await _stored(ctx, hub)
    if stored is None:
        raise HANDLERS.unknown(ctx, f"{p['country_code']}/{p['party_id']}")
    if obj.is_stale(body, stored):
        return obj.stored_response(ctx, False, applied=False)
    merged = obj.merge(CLIENT_INFO.to_wire(stored, ctx.version, strict=False), body)
    await obj.validate_patch(ctx, CLIENT_INFO.model(ctx.version), merged, body.keys())
    return await _save(ctx, hub, CLIENT_INFO.to_canonical(merged, ctx.version, *hub), stored)


_PARTY = "/{country_code}/{party_id}"


def definition() -> ModuleDefinition:
    endpoints = (Endpoint("GET", _PARTY, get), Endpoint("PUT", _PARTY, put),
                 Endpoint("PATCH", _PARTY, patch))
    return ModuleDefinition(
        id=MODULE,
        interfaces={RoleEnum.cpo: (InterfaceRole.RECEIVER, endpoints),
                    RoleEnum.emsp: (InterfaceRole.RECEIVER, endpoints)},
        versions=VERSIONS,
    )

"""Locations: CPO sender (list, Location/EVSE/Connector by id), eMSP receiver
(GET/PUT/PATCH of Location, EVSE, Connector), and the operator's management
writes on the CPO paths. One definition for 2.1.1, 2.2.1 and 2.3.0."""

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from ...core import objects as obj
from ...core.enums import InterfaceRole, ModuleID, RoleEnum
from ...core.envelope import envelope
from ...core.errors import InvalidParameters, NotFound
from ...core.interface import Endpoint, ModuleDefinition
from ...core.status import Status
from ...core.transport import OcpiRequest
from ...core.types import ci
from ..convert import not_carried
from ..generic import Handlers
from ..versions.enums import is_v2_1
from . import mapper
from .declaration import LOCATIONS, model

MODULE = ModuleID.locations
OBJECTS = LOCATIONS
_KEYED = dict(LOCATIONS.keyed_lists)
HANDLERS = Handlers(LOCATIONS)
# the PATCH keys that can change which tariffs our connectors name (a status update
# has none, so the hot path looks nothing up)
_NAMING_TARIFFS = frozenset({"evses", "connectors", "tariff_ids"})


def _schema(ctx: OcpiRequest, kind: str) -> Any:
    return model(ctx.version, kind)


def _not_found(what: str) -> NotFound:
    return NotFound(f"unknown {what}", status_code=Status.UNKNOWN_LOCATION)


def _check_servable(ctx: OcpiRequest, unservable: Callable[[dict[str, Any]], str | None],
                    body: dict[str, Any]) -> None:
    """Our own objects must be servable in 2.2+ when the node serves 2.2+ (2001)."""
    if ctx.role == RoleEnum.cpo and any(not is_v2_1(v) for v in ctx.node.versions):
        problem = unservable(body)
        if problem is not None:
            raise InvalidParameters(problem)


async def _load(ctx: OcpiRequest, cc: str | None, pid: str | None, location_id: str
                ) -> dict[str, Any] | None:
    return await ctx.node.crud.get(MODULE, ctx.role, location_id,
                                   **ctx.node.crud_kwargs(ctx, cc, pid))


def _newest_nested(location: dict[str, Any]) -> dict[str, Any]:
    """The Location with each EVSE's ``last_updated`` raised to its newest Connector's
    and its own to its newest EVSE's, as the specification defines them ("this
    Location or one of its EVSEs or Connectors"), so a ``date_from`` query between
    the two finds it."""
    evses = location.get("evses")
    if not isinstance(evses, list):
        return location
    raised = []
    for evse in evses:
        if isinstance(evse, dict) and isinstance(evse.get("connectors"), list):
            newest = evse.get("last_updated")
            for conn in evse["connectors"]:
                if isinstance(conn, dict):
                    newest = obj.later(conn.get("last_updated"), newest)
            if newest != evse.get("last_updated"):
                evse = {**evse, "last_updated": newest}
        raised.append(evse)
    newest = location.get("last_updated")
    for evse in raised:
        if isinstance(evse, dict):
            newest = obj.later(evse.get("last_updated"), newest)
    return {**location, "evses": raised, "last_updated": newest}


def _keep_removed(ctx: OcpiRequest, new: dict[str, Any], stored: dict[str, Any]
                  ) -> dict[str, Any]:
    """Our own Location: an EVSE the new PUT leaves out stays, with status REMOVED
    and the PUT's ``last_updated``. The specification never lets a CPO delete an
    EVSE; partners learn of its end through the status."""
    sent = list(new.get("evses") or [])
    evses = list(sent)
    uids = {ci(str(e.get("uid", ""))) for e in sent if isinstance(e, dict)}  # linear
    for old in stored.get("evses") or ():
        if not isinstance(old, dict) or ci(str(old.get("uid", ""))) in uids:
            continue
        if old.get("status") != "REMOVED":
            old = {**old, "status": "REMOVED", "last_updated": new["last_updated"]}
            ctx.warnings.append(f"evses: {old.get('uid')} left out: kept with status REMOVED "
                                "(EVSEs are never deleted)")
        evses.append(old)
    return {**new, "evses": evses} if evses else new


async def _save(ctx: OcpiRequest, cc: str, pid: str, location: dict[str, Any],
                existed: bool) -> bool:
    """Store a whole canonical Location; False when a newer one won meanwhile."""
    location = _newest_nested(location)
    kwargs = ctx.node.crud_kwargs(ctx, cc, pid)
    if existed:
        result = await ctx.node.crud.update(MODULE, ctx.role, location, location["id"], **kwargs)
        return result is not None or not ctx.node.builtin_store
    created = await ctx.node.crud.create(MODULE, ctx.role, location, **kwargs)
    # None: the built-in store found a newer one a concurrent request created
    return created is not None or not ctx.node.builtin_store


def _sub(location: dict[str, Any], evse_uid: str | None, connector_id: str | None
         ) -> tuple[str, dict[str, Any] | None]:
    if evse_uid is None:
        return "location", location
    i = obj.find(location.get("evses"), "uid", evse_uid)
    if i is None:
        return "evse", None
    evse = location["evses"][i]
    if connector_id is None:
        return "evse", evse
    j = obj.find(evse.get("connectors"), "id", connector_id)
    return "connector", None if j is None else evse["connectors"][j]


def _put_item(items: list[dict[str, Any]], index: int | None, item: dict[str, Any]) -> bool:
    """Replace ``items[index]`` or append; True when the item is new."""
    if index is None:
        items.append(item)
        return True
    items[index] = item
    return False


def _wire(ctx: OcpiRequest, kind: str, item: dict[str, Any]) -> dict[str, Any]:
    return mapper.to_wire(item, ctx.version, kind)


# --- reading ---------------------------------------------------------------------

async def list_locations(ctx: OcpiRequest) -> Response:
    async def render(location: dict[str, Any]) -> dict[str, Any]:
        return _wire(ctx, "location", location)

    return await ctx.node.list_page(ctx, MODULE, render)


async def _get(ctx: OcpiRequest, cc: str | None, pid: str | None, location_id: str,
               evse_uid: str | None = None, connector_id: str | None = None) -> Response:
    location = await _load(ctx, cc, pid, location_id)
    if location is None:
        raise _not_found(f"location {location_id!r}")
    kind, item = _sub(location, evse_uid, connector_id)
    if item is None:
        raise _not_found(kind)
    return envelope(ctx.node.for_caller(ctx, MODULE, _wire(ctx, kind, item), kind))


async def sender_get(ctx: OcpiRequest) -> Response:
    p = ctx.params
    return await _get(ctx, None, None, p["location_id"], p.get("evse_uid"),
                      p.get("connector_id"))


async def sender_get_three(ctx: OcpiRequest) -> Response:
    """``/{a}/{b}/{c}``: a Connector for partners; for the operator first the
    management reading ``/{country_code}/{party_id}/{location_id}``."""
    a, b, c = ctx.params["a"], ctx.params["b"], ctx.params["c"]
    if ctx.caller.is_operator and len(a) == 2 and len(b) == 3:
        location = await _load(ctx, a, b, c)
        if location is not None:
            return envelope(ctx.node.for_caller(ctx, MODULE, _wire(ctx, "location", location)))
    return await _get(ctx, None, None, a, b, c)


async def receiver_get(ctx: OcpiRequest) -> Response:
    p = ctx.params
    if not ctx.caller.is_operator:
        await obj.check_namespace(ctx, p["country_code"], p["party_id"])
    return await _get(ctx, p["country_code"], p["party_id"], p["location_id"],
                      p.get("evse_uid"), p.get("connector_id"))


# --- writing ---------------------------------------------------------------------

async def put(ctx: OcpiRequest) -> Response:
    p = ctx.params
    cc, pid, location_id = p["country_code"], p["party_id"], p["location_id"]
    evse_uid, connector_id = p.get("evse_uid"), p.get("connector_id")
    await obj.check_namespace(ctx, cc, pid)
    body = obj.require_object(await ctx.json(), "Location, EVSE or Connector")
    if evse_uid is None:
        own = ctx.role == RoleEnum.cpo
        derived = None
        if own:  # before validation: 2.2+ schemas require the field
            body, derived = LOCATIONS.complete_own(body)
            if derived is None:  # none given nor derivable: say why, not "Field required"
                _check_servable(ctx, mapper.time_zone_problem, body)
        await obj.validate(ctx, _schema(ctx, "location"), body)
        obj.check_same("id", location_id, body)
        if not is_v2_1(ctx.version):
            obj.check_same("country_code", cc, body)
            obj.check_same("party_id", pid, body)
        _check_servable(ctx, mapper.unservable, body)
        new = mapper.to_canonical(body, ctx.version, "location", cc.upper(), pid.upper())
        stored = await _load(ctx, cc, pid, location_id)
        if obj.is_stale(new, stored):  # the Location's own stamp, as sent, decides
            return obj.stored_response(ctx, False, applied=False)
        if derived is not None:
            ctx.warnings.insert(0, derived)
        if own:  # say what partners on older versions will not receive, and which
            ctx.warnings.extend(await not_carried(LOCATIONS, new, ctx.node.versions))
            ctx.warnings.extend(await HANDLERS.unheld(ctx, new, stored))  # tariffs we lack
        if own and stored is not None:
            new = _keep_removed(ctx, new, stored)
        applied = await _save(ctx, cc, pid, obj.keep_internal(new, stored), stored is not None)
        return obj.stored_response(ctx, stored is None, applied)

    kind = "evse" if connector_id is None else "connector"
    await obj.validate(ctx, _schema(ctx, kind), body)
    obj.check_same("uid" if kind == "evse" else "id", evse_uid if kind == "evse"
                   else connector_id, body)
    if kind == "evse":
        _check_servable(ctx, mapper.evse_unservable, body)
    location = await _load(ctx, cc, pid, location_id)
    if location is None:
        raise _not_found(f"location {location_id!r}")
    item = mapper.to_canonical(body, ctx.version, kind)
    before, location = location, dict(location)
    evses = list(location.get("evses") or [])
    i = obj.find(evses, "uid", evse_uid)
    if kind == "evse":
        if i is not None and obj.is_stale(item, evses[i]):
            return obj.stored_response(ctx, False, applied=False)
        created = _put_item(evses, i, item)
    else:
        if i is None:
            raise _not_found(f"EVSE {evse_uid!r}")
        evse = dict(evses[i])
        conns = list(evse.get("connectors") or [])
        j = obj.find(conns, "id", connector_id)
        if j is not None and obj.is_stale(item, conns[j]):
            return obj.stored_response(ctx, False, applied=False)
        created = _put_item(conns, j, item)
        evse["connectors"] = conns
        evses[i] = evse
    location["evses"] = evses  # its stamps are raised to the item's in _save
    if ctx.role == RoleEnum.cpo:
        ctx.warnings.extend(await HANDLERS.unheld(ctx, location, before))
    applied = await _save(ctx, cc, pid, location, True)
    return obj.stored_response(ctx, created, applied)


async def patch(ctx: OcpiRequest) -> Response:
    p = ctx.params
    cc, pid, location_id = p["country_code"], p["party_id"], p["location_id"]
    evse_uid, connector_id = p.get("evse_uid"), p.get("connector_id")
    await obj.check_namespace(ctx, cc, pid)
    body = obj.require_object(await ctx.json(), "PATCH fragment")
    obj.ensure_last_updated(ctx, body)
    location = await _load(ctx, cc, pid, location_id)
    if location is None:
        raise _not_found(f"location {location_id!r}")
    kind, current = _sub(location, evse_uid, connector_id)
    if current is None:
        raise _not_found(kind)
    id_field = {"location": "id", "evse": "uid", "connector": "id"}[kind]
    obj.check_same(id_field, {"location": location_id, "evse": evse_uid,
                              "connector": connector_id}[kind] or "", body)
    if obj.is_stale(body, current):
        return obj.stored_response(ctx, False, applied=False)
    wire = mapper.to_wire(current, ctx.version, kind, strict=False)
    merged = obj.merge(wire, body, _KEYED)
    if kind == "location" and ctx.role == RoleEnum.cpo:  # one of ours stored without
        merged, derived = LOCATIONS.complete_own(merged)  # a zone (before it was derived)
        if derived is not None:
            ctx.warnings.append(derived)
    await obj.validate_patch(ctx, _schema(ctx, kind), merged, body.keys())
    if kind == "location":
        new = mapper.to_canonical(merged, ctx.version, "location", cc.upper(), pid.upper())
    else:
        item = mapper.to_canonical(merged, ctx.version, kind)
        new = dict(location)
        evses = list(new["evses"])
        i = obj.find(evses, "uid", evse_uid or "")
        assert i is not None
        if kind == "evse":
            evses[i] = item
        else:
            evse = dict(evses[i])
            conns = list(evse["connectors"])
            j = obj.find(conns, "id", connector_id or "")
            assert j is not None
            conns[j] = item
            evse["connectors"] = conns
            evses[i] = evse
        new["evses"] = evses  # its stamps are raised to the item's in _save
    if ctx.role == RoleEnum.cpo and _NAMING_TARIFFS & body.keys():  # not a status update
        ctx.warnings.extend(await HANDLERS.unheld(ctx, new, location))
    applied = await _save(ctx, cc, pid, new, True)
    return obj.stored_response(ctx, False, applied)


_OWNED = "/{country_code}/{party_id}/{location_id}"
_EVSE = _OWNED + "/{evse_uid}"
_CONNECTOR = _EVSE + "/{connector_id}"


def definition() -> ModuleDefinition:
    return ModuleDefinition(
        id=MODULE,
        interfaces={
            RoleEnum.cpo: (InterfaceRole.SENDER, (
                Endpoint("GET", "", list_locations),
                Endpoint("GET", "/{location_id}", sender_get),
                Endpoint("GET", "/{location_id}/{evse_uid}", sender_get),
                Endpoint("GET", "/{a}/{b}/{c}", sender_get_three),
                # management writes: the operator's own objects
                *(Endpoint(m, path, h, operator_only=True)
                  for path in (_OWNED, _EVSE, _CONNECTOR)
                  for m, h in (("PUT", put), ("PATCH", patch))),
                Endpoint("GET", _EVSE, receiver_get, operator_only=True),
                Endpoint("GET", _CONNECTOR, receiver_get, operator_only=True),
            )),
            RoleEnum.emsp: (InterfaceRole.RECEIVER, tuple(
                Endpoint(m, path, h)
                for path in (_OWNED, _EVSE, _CONNECTOR)
                for m, h in (("GET", receiver_get), ("PUT", put), ("PATCH", patch))
            )),
        },
    )

"""CDRs: CPO sender (the paginated list, ``date_from``/``date_to``; each eMSP sees
the CDRs of its own tokens; the operator reads any by key) and eMSP receiver
(POST answered with the ``Location`` of the stored CDR, GET at that URL).

A CDR is final: the same one POSTed again (a retry whose answer was lost) is
answered as the first was; a different one under the same id is refused, since
a correction is a credit CDR plus a new one. Each received CDR is priced again
against the tariff we hold (``check.py``); a difference beyond the operator's
tolerance is stored as disputed, never silently accepted or refused."""

from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from ...core import objects as obj
from ...core.enums import ModuleID
from ...core.envelope import envelope
from ...core.errors import InvalidParameters
from ...core.interface import Endpoint, ModuleDefinition, module_path
from ...core.transport import OcpiRequest
from ...store.sql_store import create_in
from ..generic import Handlers
from ..versions.enums import is_v2_1
from .check import check_received
from .declaration import CDRS

MODULE = ModuleID.cdrs
OBJECTS = CDRS
HANDLERS = Handlers(CDRS)

_OWNED = "/{country_code}/{party_id}/{cdr_id}"


def _location(ctx: OcpiRequest, cc: str, pid: str, cdr_id: str) -> str:
    base = (ctx.node.public_url or f"{ctx.request.url.scheme}://{ctx.request.url.netloc}")
    return (f"{base.rstrip('/')}{module_path(MODULE, ctx.version, ctx.role)}"
            f"/{quote(cc, safe='')}/{quote(pid, safe='')}/{quote(cdr_id, safe='')}")


def _owner(ctx: OcpiRequest, body: dict[str, Any]) -> tuple[str, str]:
    """Whose CDR it is: the body says on 2.2+; a 2.1.1 CDR carries no owner, so it is
    the calling party's (2.1.1 has no routing headers to name another)."""
    if not is_v2_1(ctx.version):
        return str(body["country_code"]), str(body["party_id"])
    caller = ctx.caller
    if caller.country_code is None or caller.party_id is None:
        raise InvalidParameters("a 2.1.1 CDR names no owner and the caller has no party")
    return caller.country_code, caller.party_id


async def _insert(ctx: OcpiRequest, cc: str, pid: str, cdr: dict[str, Any]) -> bool:
    """Store a new CDR, never over one stored meanwhile (the shared save would let a
    newer ``last_updated`` replace it); False when its id is taken."""
    if not ctx.node.builtin_store:  # a library user's Crud decides
        return await HANDLERS.save(ctx, cc, pid, cdr, False)
    async with ctx.node.db.begin() as tx:
        return await create_in(tx, MODULE.value, CDRS.row_role(ctx.role), cdr) is not None


async def post(ctx: OcpiRequest) -> Response:
    """``POST {cdrs}``: store a partner's final CDR; answer where it can be read."""
    body = obj.require_object(await ctx.json(), CDRS.name)
    await obj.validate(ctx, CDRS.model(ctx.version), body)
    cc, pid = _owner(ctx, body)
    await obj.check_namespace(ctx, cc, pid)
    new = CDRS.to_canonical(body, ctx.version, cc.upper(), pid.upper())
    cdr_id, _ = CDRS.call_key(new)
    where = {"Location": _location(ctx, new["country_code"], new["party_id"], cdr_id)}
    stored, _ = await HANDLERS.load(ctx, cc, pid, [CDRS.call_key(new)])
    if stored is not None:
        if obj.without_internal(stored) == new:
            return envelope(status_message="Success; this CDR was stored already",
                            headers=where)
        raise InvalidParameters(f"id: CDR {cdr_id!r} exists already and a CDR cannot "
                                "change: send a credit CDR (credit, credit_reference_id) "
                                "and a new one")
    new = await check_received(ctx, new)
    if not await _insert(ctx, cc, pid, new):  # a concurrent POST of the same id came first
        stored, _ = await HANDLERS.load(ctx, cc, pid, [CDRS.call_key(new)])
        if stored is not None and obj.without_internal(stored) == obj.without_internal(new):
            return envelope(status_message="Success; this CDR was stored already",
                            headers=where)
        raise InvalidParameters(f"id: CDR {cdr_id!r} exists already and a CDR cannot change")
    state = new["_check"]["state"]
    note = "" if state == "agreed" else f"; {state}: {new['_check']['reason']}"
    return envelope(status_message=f"Success{note}", http_status=201, headers=where)


def definition() -> ModuleDefinition:
    return ModuleDefinition(id=MODULE, interfaces=HANDLERS.interfaces(
        _OWNED, receiver_methods=("GET",),
        receiver=(Endpoint("POST", "", post),)))

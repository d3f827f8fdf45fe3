"""Tokens: eMSP sender (list, real-time authorization), CPO receiver
(GET/PUT/PATCH), and the operator's management writes on the eMSP paths.

The shared handlers are the kernel's; the authorization answer is this
module's own. The decision is the stored token's (``valid``), then the
operator's rules: ``get_application(authorizer=...)`` with the built-in store,
or the seed API's ``Crud.do(ModuleID.tokens, RoleEnum.emsp,
Action.authorize_token, data={"token": ..., "location": ...})``. Either may
return None (keep the decision) or a dict with ``allowed`` and ``info``.
"""

import logging
from typing import Any

from pydantic import ValidationError
from starlette.responses import Response

from ...core import objects as obj
from ...core.enums import Action, ModuleID, RoleEnum
from ...core.envelope import envelope
from ...core.errors import InvalidParameters, NotFound, OurDataInvalid
from ...core.interface import Endpoint, ModuleDefinition
from ...core.transport import OcpiRequest, validation_message
from ..generic import Handlers, ask_operator
from ..versions.enums import is_v2_1
from .declaration import DEFAULT_TYPE, TOKENS
from .records import Decision, new_reference, record
from .schemas import ALLOWED, AUTHORIZATION_INFO, LOCATION_REFERENCES, TOKEN_TYPES

log = logging.getLogger("ocpi.tokens")

MODULE = ModuleID.tokens
OBJECTS = TOKENS
HANDLERS = Handlers(TOKENS)


async def _operator_rules(ctx: OcpiRequest, token: dict[str, Any],
                          location: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the operator's own rules say (None: the stored token decides)."""
    result = await ask_operator(ctx, ctx.node.authorizer, MODULE, RoleEnum.emsp,
                                Action.authorize_token, {"token": token, "location": location})
    return result if isinstance(result, dict) else None


async def authorize(ctx: OcpiRequest) -> Response:
    """``POST {uid}/authorize[?type=]``: AuthorizationInfo for one of our tokens."""
    HANDLERS.check_reader(ctx)
    uid = ctx.params["token_uid"]
    token_type = ctx.request.query_params.get("type") or DEFAULT_TYPE
    if token_type not in TOKEN_TYPES:
        raise InvalidParameters(f"type: {token_type!r} is not a token type")
    location = None
    if await ctx.body():
        location = obj.require_object(await ctx.json(), "LocationReferences")
        await obj.validate(ctx, LOCATION_REFERENCES[ctx.version], location, "location.")
    token, _ = await HANDLERS.load(ctx, None, None, [(uid, {"token_type": token_type})])
    if token is None:
        raise NotFound(f"unknown token {uid!r}", status_code=TOKENS.unknown_status(ctx.version))
    allowed = "ALLOWED" if token.get("valid") else "BLOCKED"
    info = None
    ruled = await _operator_rules(ctx, token, location)
    if ruled is not None:
        if ruled.get("allowed") not in ALLOWED:
            raise ValueError(f"the authorizer answered allowed={ruled.get('allowed')!r}")
        allowed, info = ruled["allowed"], ruled.get("info")
    decision = Decision(allowed, "emsp", reference=new_reference())
    if ctx.node.db is not None:
        await record(
            ctx.node.db, RoleEnum.emsp, decision, uid=uid, token_type=token_type,
            token_owner=(token["country_code"], token["party_id"]),
            peer_id=ctx.caller.peer_id, location_id=(location or {}).get("location_id"),
            evse_uid=((location or {}).get("evse_uids") or [None])[0])
    answer: dict[str, Any] = {"allowed": allowed}
    if is_v2_1(ctx.version):
        answer["authorization_id"] = decision.reference  # Gireve's extension
    else:
        answer["token"] = TOKENS.to_wire(token, ctx.version)
        answer["authorization_reference"] = decision.reference
    if location is not None:
        answer["location"] = location
    if info is not None:
        answer["info"] = info
    try:
        AUTHORIZATION_INFO[ctx.version].model_validate(answer, context={"warnings": []})
    except ValidationError as exc:  # the token we hold is bad: never the CPO's fault
        log.error("authorization of token %r: our stored token is invalid: %s", uid,
                  validation_message(exc))
        raise OurDataInvalid("our stored token is invalid; the operator's log says "
                             "which field") from None
    return envelope(answer)


_OWNED = "/{country_code}/{party_id}/{token_uid}"


def definition() -> ModuleDefinition:
    authorizing = Endpoint("POST", "/{token_uid}/authorize", authorize)
    return ModuleDefinition(id=MODULE, interfaces=HANDLERS.interfaces(_OWNED,
                                                                      sender=(authorizing,)))

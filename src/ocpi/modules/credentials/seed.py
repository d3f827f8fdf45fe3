"""Credentials on a library user's own ``Crud`` and ``Authenticator`` (the seed API).

With the built-in registry the handshake is ours (``module.py``). A user who
brings their own storage registers partners the way the seed library does,
so the ``Crud`` they already wrote answers the same calls:

- GET (token C): ``crud.get(credentials, role, token, auth_token=, version=)``
  returns our credentials object for that partner;
- POST (token A): we fetch the partner's versions and details with the token
  it gives us, then ``crud.create(credentials, role, {"credentials": <theirs>,
  "endpoints": <their version details>}, auth_token=, version=)`` stores them,
  issues token C and returns our credentials (with token C);
- PUT (token C): the same with ``crud.update(..., id=token)``;
- DELETE (token C): ``crud.get`` (nothing: 405), then ``crud.delete(credentials,
  role, token, auth_token=, version=)``.

The user's ``Authenticator`` lists tokens A and C (``get_valid_token_a/c``).
Errors are OCPI envelopes here (the seed library answered some with FastAPI's
``{"detail": ...}``).
"""

from typing import Any

from starlette.responses import Response

from ...core.enums import ModuleID, RoleEnum
from ...core.envelope import envelope
from ...core.errors import MethodNotAllowed, OcpiError
from ...core.interface import ModuleDefinition
from ...core.transport import OcpiRequest
from ...peers.client import OcpiClient
from ...peers.handshake import HandshakeError, discover
from ..versions.enums import VersionNumber
from .module import definition_with, read_credentials

MODULE = ModuleID.credentials_and_registration


def _role(ctx: OcpiRequest) -> RoleEnum:
    return ctx.role or ctx.node.roles[0]


def _kwargs(ctx: OcpiRequest) -> dict[str, Any]:
    return {"auth_token": ctx.token, "version": VersionNumber(ctx.version)}


def _token_c(ctx: OcpiRequest) -> None:
    if ctx.caller.token_kind != "C":
        raise MethodNotAllowed("not registered: POST registers with token A")


async def _theirs(ctx: OcpiRequest) -> dict[str, Any]:
    """The partner's credentials and version details, fetched with its token."""
    body = await read_credentials(ctx)
    client = OcpiClient(partner=str(body["url"]), token=str(body["token"]), version=ctx.version)
    async with client:
        try:
            found = await discover(client, body["url"], [ctx.version],
                                   [m.value for m in ctx.node.modules if m != MODULE],
                                   version=ctx.version)
        except HandshakeError as exc:
            raise OcpiError(exc.message, status_code=exc.status_code, http_status=200) from None
    return {"credentials": body,
            "endpoints": {"version": found.version, "endpoints": found.endpoints}}


async def get(ctx: OcpiRequest) -> Response:
    _token_c(ctx)
    ours = await ctx.node.crud.get(MODULE, _role(ctx), ctx.token, **_kwargs(ctx))
    if not ours:
        raise MethodNotAllowed("this token belongs to no registration")
    return envelope(ours)


async def post(ctx: OcpiRequest) -> Response:
    if ctx.caller.token_kind != "A":
        raise MethodNotAllowed("already registered: PUT updates, DELETE unregisters")
    data = await _theirs(ctx)
    return envelope(await ctx.node.crud.create(MODULE, _role(ctx), data, **_kwargs(ctx)))


async def put(ctx: OcpiRequest) -> Response:
    _token_c(ctx)
    data = await _theirs(ctx)
    return envelope(await ctx.node.crud.update(MODULE, _role(ctx), data, ctx.token,
                                               **_kwargs(ctx)))


async def delete(ctx: OcpiRequest) -> Response:
    _token_c(ctx)
    if not await ctx.node.crud.get(MODULE, _role(ctx), ctx.token, **_kwargs(ctx)):
        raise MethodNotAllowed("this token belongs to no registration")
    await ctx.node.crud.delete(MODULE, _role(ctx), ctx.token, **_kwargs(ctx))
    return envelope()


def definition() -> ModuleDefinition:
    return definition_with(get, post, put, delete)

"""Credentials: the receiving side of the handshake (a partner registers with us).

GET shows our credentials; POST (token A) registers: we fetch the partner's
versions and details with the token it gives us, then answer with a fresh
token C and token A stops working; PUT re-fetches and rotates; DELETE
unregisters. State errors are HTTP 405, as the specification says.
"""

from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import Response

from ...core import objects as obj
from ...core.enums import InterfaceRole, ModuleID, RoleEnum
from ...core.envelope import envelope
from ...core.errors import Forbidden, InvalidParameters, MethodNotAllowed, OcpiError
from ...core.interface import Endpoint, ModuleDefinition
from ...core.status import Status
from ...core.transport import Handler, OcpiRequest
from ...peers import credentials
from ...peers.client import OcpiClient
from ...peers.credentials import Party
from ...peers.handshake import Discovery, HandshakeError, Us, discover, registration
from ...peers.nulls import credentials_with_nulls
from ...peers.registry import Peer, Registry
from ...peers.urls import UnresolvableHost, UnsafeUrl, check_partner_url
from ..versions.module import base_url

MODULE = ModuleID.credentials_and_registration


def own_parties(ctx: OcpiRequest) -> list[Party]:
    node = ctx.node
    if not node.country_code or not node.party_id:
        raise OcpiError("this node has no country_code/party_id configured",
                        status_code=Status.SERVER_ERROR, http_status=500)
    details = {"name": node.business_name or f"OCPI node {node.country_code}/{node.party_id}"}
    return [Party(r.value, node.country_code.upper(), node.party_id.upper(), details)
            for r in node.roles]


def _ours(ctx: OcpiRequest, token: str) -> dict[str, Any]:
    """Our credentials, every optional field present for a partner that wants it so."""
    body = credentials.ours(ctx.version, token, f"{base_url(ctx.node, ctx.request)}/ocpi/versions",
                            own_parties(ctx))
    return credentials_with_nulls(ctx.version, body) if ctx.caller.explicit_nulls else body


def _then_registered(ctx: OcpiRequest, peer: Peer, answer: Response) -> Response:
    """Our answer, then (once it is sent, so the partner holds our token) what follows
    a registration: a hub's list of the parties it reaches is pulled."""
    us = Us(f"{base_url(ctx.node, ctx.request)}/ocpi/versions", own_parties(ctx))
    answer.background = BackgroundTask(ctx.node.registered, peer.id, us)
    return answer


def _registry(ctx: OcpiRequest) -> Registry:
    assert ctx.node.registry is not None
    return ctx.node.registry


async def _peer(ctx: OcpiRequest) -> Peer:
    peer = await _registry(ctx).get_by_id(ctx.caller.peer_id or -1)
    if peer is None:
        raise MethodNotAllowed("this token belongs to no partner registration")
    return peer


def _admitted(ctx: OcpiRequest, peer: Peer, parties: list[Party]) -> list[Party]:
    """The parties of a registration we accept: those the invitation named.

    A partner may not widen its own rights: a party outside the invitation,
    or the HUB role (which may write anywhere) without a hub invitation, is
    refused. A hub invitation admits every party the hub lists (2.3.0 hubs
    list the parties they reach).
    """
    main = (peer.country_code, peer.party_id)
    if peer.role == "HUB":
        return sorted(parties, key=lambda p: (p.country_code, p.party_id) != main)
    where = "country_code/party_id" if ctx.version == "2.1.1" else "roles"
    invited = {(p.country_code, p.party_id) for p in peer.all_parties()}
    for p in parties:
        if p.role == "HUB":
            raise InvalidParameters(f"{where}: role HUB was not part of the invitation")
        if (p.country_code, p.party_id) not in invited:
            raise InvalidParameters(
                f"{where}: {p.country_code}/{p.party_id} was not part of the invitation "
                f"(invited: {', '.join(f'{c}/{i}' for c, i in sorted(invited))})")
    if not any((p.country_code, p.party_id) == main for p in parties):
        raise InvalidParameters(f"{where}: this token was issued to {main[0]}/{main[1]}, "
                                "which the credentials do not name")
    return sorted(parties, key=lambda p: (p.country_code, p.party_id) != main)


async def read_credentials(ctx: OcpiRequest) -> dict[str, Any]:
    """The partner's Credentials, valid for the version, with a URL we may call
    (2001 for one we refuse, 3001 for a host that does not resolve)."""
    body = obj.require_object(await ctx.json(), "Credentials")
    await obj.validate(ctx, credentials.SCHEMAS.get(ctx.version, credentials.Credentials230), body)
    try:
        await check_partner_url(body["url"])
    except UnresolvableHost as exc:
        raise OcpiError(f"url: {exc}", status_code=Status.UNABLE_TO_USE_CLIENT_API,
                        http_status=200) from None
    except UnsafeUrl as exc:
        raise InvalidParameters(f"url: {exc}") from None
    return body


async def _their_credentials(ctx: OcpiRequest, peer: Peer
                             ) -> tuple[dict[str, Any], list[Party]]:
    body = await read_credentials(ctx)
    return body, _admitted(ctx, peer, credentials.parties(body, ctx.version, peer.role))


async def _discover(ctx: OcpiRequest, peer: Peer, creds: dict[str, Any]) -> Discovery:
    """Fetch the partner's versions and details with the token it just gave us."""
    node = ctx.node
    own = (node.country_code or "", node.party_id or "")
    async with OcpiClient.for_peer(peer, own, token=creds["token"],
                                   version=ctx.version) as client:
        try:
            return await discover(client, creds["url"], [ctx.version],
                                  [m.value for m in node.modules if m != MODULE],
                                  version=ctx.version)
        except HandshakeError as exc:
            await _registry(ctx).mark_reached(peer.id, error=exc.message)
            raise OcpiError(exc.message, status_code=exc.status_code, http_status=200) from None


def _partner_only(ctx: OcpiRequest) -> None:
    if ctx.caller.is_operator or ctx.caller.peer_id is None:
        raise Forbidden("credentials belong to partners; the operator has none")


def _current_token_only(ctx: OcpiRequest) -> None:
    """PUT/DELETE need the current token: a replaced one in its grace period may
    still read, but must not take over or end the registration."""
    kind = ctx.caller.token_kind
    if kind == "A":
        raise MethodNotAllowed("not registered yet: POST registers")
    if kind != "C":
        raise MethodNotAllowed("this token was replaced: use the current one")


async def get(ctx: OcpiRequest) -> Response:
    _partner_only(ctx)
    return envelope(_ours(ctx, ctx.token))


async def post(ctx: OcpiRequest) -> Response:
    _partner_only(ctx)
    if ctx.caller.token_kind != "A":
        raise MethodNotAllowed("already registered: PUT updates, DELETE unregisters")
    own_parties(ctx)  # a node that cannot answer must fail before anything changes
    peer = await _peer(ctx)
    creds, parties = await _their_credentials(ctx, peer)
    found = await _discover(ctx, peer, creds)
    token = await _registry(ctx).complete_invited(peer.id,
                                                  **registration(found, creds, parties))
    if token is None:
        raise MethodNotAllowed("this registration was completed meanwhile")
    return _then_registered(ctx, peer, envelope(_ours(ctx, token)))


async def put(ctx: OcpiRequest) -> Response:
    _partner_only(ctx)
    _current_token_only(ctx)
    own_parties(ctx)
    peer = await _peer(ctx)
    creds, parties = await _their_credentials(ctx, peer)
    found = await _discover(ctx, peer, creds)
    token = await _registry(ctx).rotate(peer.id, ctx.token,
                                        **registration(found, creds, parties))
    if token is None:
        raise MethodNotAllowed("this registration was ended or updated meanwhile")
    return _then_registered(ctx, peer, envelope(_ours(ctx, token)))


async def delete(ctx: OcpiRequest) -> Response:
    _partner_only(ctx)
    _current_token_only(ctx)
    peer = await _peer(ctx)
    await _registry(ctx).unregister(peer.id)
    return envelope()


def definition() -> ModuleDefinition:
    return definition_with(get, post, put, delete)


def definition_with(get: Handler, post: Handler, put: Handler, delete: Handler
                    ) -> ModuleDefinition:
    """The credentials module's one shape, whoever keeps the registrations."""
    endpoints = tuple(Endpoint(method, "", handler, allow_token_a=True)
                      for method, handler in (("GET", get), ("POST", post), ("PUT", put),
                                              ("DELETE", delete)))
    # the role has no meaning for credentials: 2.2+ lists our own as SENDER
    return ModuleDefinition(MODULE, {RoleEnum.cpo: (InterfaceRole.SENDER, endpoints),
                                     RoleEnum.emsp: (InterfaceRole.SENDER, endpoints)},
                            shared=True)

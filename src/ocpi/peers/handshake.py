"""The credentials handshake from both ends.

``discover`` is what both sides do with the other's versions URL: fetch the
versions, settle on one, fetch its details. ``register``/``update``/
``unregister`` are the initiating side (``ocpi peers register`` etc.); the
receiving side lives in ``modules/credentials``.

A failed handshake leaves nothing behind: the placeholder peer that holds
token B while our POST is in flight is removed again.
"""

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError

from .. import logs
from ..core.status import Status
from ..core.transport import validation_message
from ..modules.versions.enums import SUPPORTED_VERSIONS, is_v2_1
from . import credentials
from .client import OcpiClient, PartnerError
from .credentials import Party
from .nulls import credentials_with_nulls
from .profile import Profile
from .registry import Peer, Registry, RegistryError, new_token
from .urls import UnsafeUrl, check_syntax

log = logging.getLogger("ocpi.handshake")
_Fn = TypeVar("_Fn", bound=Callable[..., Awaitable[Any]])


def _logged(what: str) -> Callable[[_Fn], _Fn]:
    """A handshake's start, end or failure in the log, with the partner and the one
    correlation id every call of it carries (``logs.flow``); never a token."""
    def wrap(fn: _Fn) -> _Fn:
        @functools.wraps(fn)
        async def run(registry: Any, us: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
            label = target.name if isinstance(target, Peer) else \
                kwargs.get("name") or logs.safe_url(str(target))
            with logs.flow() as correlation_id:
                fields: dict[str, Any] = {"partner": label, "correlation_id": correlation_id}
                if isinstance(target, Peer):
                    fields["peer_id"] = target.id
                log.info("handshake: %s %s", what, label, extra=logs.kv(**fields))
                try:
                    result = await fn(registry, us, target, *args, **kwargs)
                except Exception as exc:
                    log.warning("handshake: %s %s failed: %s", what, label, exc,
                                extra=logs.kv(**fields))
                    raise
                if isinstance(result, Peer):
                    fields.update(partner=result.name, peer_id=result.id, state=result.state,
                                  version=result.version,
                                  party=f"{result.country_code}/{result.party_id}")
                log.info("handshake: %s %s done", what, fields["partner"],
                         extra=logs.kv(**fields))
                return result
        return run  # type: ignore[return-value]
    return wrap


class HandshakeError(Exception):
    """A handshake that cannot go on; ``status_code`` is the OCPI code for it."""

    def __init__(self, message: str, status_code: int = Status.UNABLE_TO_USE_CLIENT_API,
                 http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.http_status = http_status


@dataclass(frozen=True)
class Us:
    """What we tell a partner about ourselves."""

    versions_url: str
    parties: list[Party]
    versions: Sequence[str] = tuple(v.value for v in SUPPORTED_VERSIONS)
    modules: Sequence[str] = ("locations", "sessions")
    hub_party_id: str | None = None

    @property
    def main_party(self) -> tuple[str, str]:
        return self.parties[0].country_code, self.parties[0].party_id


@dataclass
class Discovery:
    version: str
    endpoints: list[dict[str, Any]]


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in v.split("."))


async def discover(client: OcpiClient, versions_url: str, acceptable: Sequence[str],
                   modules: Sequence[str], version: str | None = None) -> Discovery:
    """The partner's version (``version`` or the highest we share) and its endpoints.

    Unknown versions and module ids (custom modules, newer versions) are ignored.
    Raises ``HandshakeError`` with 3001 (unreachable or garbage), 3002 (no
    common version) or 3003 (none of the modules we need).
    """
    try:
        answer = await client.call("GET", versions_url)
    except PartnerError as exc:
        raise HandshakeError(f"cannot use the partner's versions endpoint: {exc}",
                             http_status=exc.http_status) from None
    offered = _version_list(answer.data, versions_url)
    urls = {str(v["version"]): str(v["url"]) for v in offered}
    if version is not None:
        if version not in urls:
            raise HandshakeError(f"the partner does not offer OCPI {version} (it offers "
                                 f"{', '.join(urls) or 'none'})", Status.UNSUPPORTED_VERSION)
        chosen = version
    else:
        mutual = sorted((v for v in urls if v in acceptable), key=_version_key)
        if not mutual:
            raise HandshakeError(f"no OCPI version in common (partner: "
                                 f"{', '.join(urls) or 'none'}; us: {', '.join(acceptable)})",
                                 Status.UNSUPPORTED_VERSION)
        chosen = mutual[-1]
    client.version = chosen
    try:
        details = await client.call("GET", urls[chosen])
    except PartnerError as exc:
        raise HandshakeError(f"cannot use the partner's version details: {exc}") from None
    endpoints = _endpoint_list(details.object(), urls[chosen])
    if not {e["identifier"] for e in endpoints} & set(modules):
        raise HandshakeError(f"the partner's {chosen} endpoints offer none of "
                             f"{', '.join(modules)}", Status.NO_MATCHING_ENDPOINTS)
    return Discovery(chosen, endpoints)


def _version_list(data: Any, url: str) -> list[dict[str, Any]]:
    if not isinstance(data, list) or not all(
            isinstance(v, dict) and "version" in v and "url" in v for v in data):
        raise HandshakeError(f"{url}: versions answer is not a list of {{version, url}}")
    return data


def _endpoint_list(data: Any, url: str) -> list[dict[str, Any]]:
    raw = data.get("endpoints") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise HandshakeError(f"{url}: version details have no endpoints list")
    endpoints = []
    for ep in raw:
        if not isinstance(ep, dict) or not isinstance(ep.get("identifier"), str) \
                or not isinstance(ep.get("url"), str):
            raise HandshakeError(f"{url}: an endpoint lacks identifier or url: {ep!r}"[:200])
        try:
            check_syntax(ep["url"])
        except UnsafeUrl as exc:
            raise HandshakeError(f"{url}: endpoint {ep['identifier']}: {exc}") from None
        entry = {"identifier": ep["identifier"], "url": ep["url"]}
        if isinstance(ep.get("role"), str):
            entry["role"] = ep["role"]
        endpoints.append(entry)
    return endpoints


def infer_role_211(endpoints: list[dict[str, Any]]) -> str | None:
    """2.1.1 names no roles; a partner's URLs usually say which side they are."""
    urls = " ".join(e["url"].lower() for e in endpoints if e["identifier"] != "credentials")
    cpo, emsp = "/cpo/" in urls, "/emsp/" in urls
    if cpo != emsp:
        return "CPO" if cpo else "EMSP"
    return None


def _their_credentials(data: Any, version: str, role_211: str | None, where: str
                       ) -> tuple[dict[str, Any], list[Party]]:
    try:
        creds = credentials.validate(data, version)
    except ValidationError as exc:
        raise HandshakeError(f"{where}: the partner's credentials are invalid: "
                             f"{validation_message(exc)}") from None
    return creds, credentials.parties(creds, version, role_211)


def our_credentials(version: str, token: str, us: Us, profile: Profile) -> dict[str, Any]:
    """Our Credentials object for the partner, as its profile wants it sent."""
    body = credentials.ours(version, token, us.versions_url, us.parties, us.hub_party_id)
    return credentials_with_nulls(version, body) if profile.explicit_nulls else body


def registration(found: Discovery, creds: dict[str, Any], parties: list[Party]
                 ) -> dict[str, Any]:
    """What a completed handshake records about the partner, whichever side began it."""
    return {"version": found.version, "versions_url": creds["url"],
            "endpoints": found.endpoints, "parties": parties, "token_out": creds["token"],
            "hub_party_id": creds.get("hub_party_id")}


@_logged("registering with")
async def register(registry: Registry, us: Us, versions_url: str, token_a: str, *,
                   version: str | None = None, name: str | None = None,
                   role: str | None = None, profile: Profile | None = None) -> Peer:
    """Register with a partner that gave us ``token_a``; returns the stored partner.

    Before our POST, a failure leaves nothing behind. After the partner
    accepted it, the partner holds our token and has spent its token A, so
    what it answered is kept (with the problem as ``last_error``) rather than
    thrown away: the operator can look at it and unregister.
    """
    profile = profile or Profile()
    label = name or versions_url
    if name and (known := await registry.get(name)) and known.state == "registered":
        raise RegistryError(f"a registered partner is already called {name}")
    async with OcpiClient(partner=label, token=token_a, version=version or "2.2.1",
                          profile=profile, from_party=us.main_party) as client:
        found = await _discover_with_token_a(client, versions_url, us, version)
        cred_url = _credentials_url(found, label)
        their_role = (role or infer_role_211(found.endpoints)) if is_v2_1(found.version) \
            else role
        if is_v2_1(found.version) and not their_role:
            raise HandshakeError("OCPI 2.1.1 does not say the partner's role and its URLs do "
                                 "not show it: pass --role CPO|EMSP|HUB")
        token_b = new_token()
        peer_id = await registry.start_registration(token_b, their_role or "OTHER")
        body = our_credentials(found.version, token_b, us, client.profile)
        try:
            answer = await client.call("POST", cred_url, body=body)
        except BaseException as exc:
            await registry.abort_registration(peer_id)
            if not isinstance(exc, PartnerError):
                raise
            hint = ""
            if exc.status_code == Status.UNABLE_TO_USE_CLIENT_API:
                hint = (f" (it could not call us back at {us.versions_url}: is `ocpi "
                        "serve` running there, and is that URL reachable for it?)")
            raise HandshakeError(f"registration refused: {exc}{hint}", exc.status_code
                                 or Status.UNABLE_TO_USE_CLIENT_API) from None
    try:
        creds, parties = _their_credentials(answer.object() or answer.data, found.version,
                                            their_role, cred_url)
        if any(p.role == "HUB" for p in parties) and (role or "").upper() != "HUB":
            raise HandshakeError("the partner says it is a HUB, which may write objects of "
                                 "every party it reports reaching: pass --role HUB to "
                                 "accept that")
        return await registry.finish_registration(
            peer_id, name, profile=client.profile, **registration(found, creds, parties))
    except (HandshakeError, RegistryError) as exc:
        await _keep_for_the_operator(registry, peer_id, answer.data, found, str(exc))
        raise HandshakeError(f"the partner registered us, but: {exc}. It is kept as state "
                             "'registering' (see `ocpi peers list`; `ocpi peers unregister "
                             "NAME --force` ends it)") from None


async def _keep_for_the_operator(registry: Registry, peer_id: int, data: Any,
                                 found: Discovery, problem: str) -> None:
    token = data.get("token") if isinstance(data, dict) else None
    await registry.update_peer(peer_id, version=found.version, endpoints=found.endpoints,
                               token_out=token if isinstance(token, str) else None,
                               last_error=problem)


async def _discover_with_token_a(client: OcpiClient, versions_url: str, us: Us,
                                 version: str | None) -> Discovery:
    """Discover, trying the plain token when a base64 one is refused: many 2.2
    platforms still want it plain; the profile then remembers it."""
    try:
        return await discover(client, versions_url, us.versions, us.modules, version)
    except HandshakeError as exc:
        if exc.http_status != 401 or client.profile.plain_token:
            raise
    client.profile = client.profile.updated(plain_token=True)
    return await discover(client, versions_url, us.versions, us.modules, version)


def _credentials_url(found: Discovery, label: str) -> str:
    for ep in found.endpoints:
        if ep["identifier"] == "credentials":
            return str(ep["url"])
    raise HandshakeError(f"{label}: its {found.version} endpoints have no credentials module",
                         Status.NO_MATCHING_ENDPOINTS)


def _require_registered(peer: Peer) -> None:
    if peer.state != "registered" or not peer.token_out or not peer.versions_url:
        raise RegistryError(f"partner {peer.name} is {peer.state}, not registered by handshake")


@_logged("updating credentials with")
async def update(registry: Registry, us: Us, peer: Peer, *, version: str | None = None
                 ) -> Peer:
    """PUT our credentials: re-discover, hand the partner a new token, take its new one."""
    _require_registered(peer)
    assert peer.versions_url is not None
    async with OcpiClient.for_peer(peer, us.main_party) as client:
        found = await discover(client, peer.versions_url, us.versions, us.modules,
                               version or None)
        cred_url = _credentials_url(found, peer.name)
        token_b = new_token()
        await registry.add_token(peer.id, token_b)
        body = our_credentials(found.version, token_b, us, peer.profile)
        try:
            answer = await client.call("PUT", cred_url, body=body)
        except PartnerError as exc:
            if exc.http_status is not None:
                await registry.drop_token(token_b)  # it answered: it did not switch
            # else (timeout, lost connection) it may have switched: B stays valid
            raise HandshakeError(f"update refused: {exc}") from None
    creds, parties = _their_credentials(answer.object() or answer.data, found.version,
                                        peer.role, cred_url)
    await registry.complete_update(peer.id, keep=token_b,
                                   **registration(found, creds, parties))
    fresh = await registry.get_by_id(peer.id)
    assert fresh is not None
    return fresh


@_logged("unregistering from")
async def unregister(registry: Registry, us: Us, peer: Peer, *, force: bool = False) -> None:
    """DELETE our credentials at the partner, then forget its tokens.

    With ``force`` the partner is cut off here even when it cannot be reached.
    """
    try:
        _require_registered(peer)
        cred_url = peer.endpoint("credentials")
        if cred_url is None:
            raise RegistryError(f"partner {peer.name} has no credentials endpoint on record")
        async with OcpiClient.for_peer(peer, us.main_party) as client:
            await client.call("DELETE", cred_url)
    except (PartnerError, RegistryError):
        if not force:
            raise
    await registry.unregister(peer.id)

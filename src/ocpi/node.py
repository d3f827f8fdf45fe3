"""The running node's shared context: storage, authentication, settings."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.responses import Response

from .core import jsonutil
from .core.authentication.authenticator import Caller
from .core.enums import ModuleID, RoleEnum
from .core.envelope import envelope
from .core.limits import Limits
from .core.objects import speaks_for
from .core.pagination import filters_from, page_headers
from .modules.hubclientinfo.reach import ReachCache
from .modules.nulls import with_nulls
from .modules.versions.enums import VersionNumber
from .modules.wire import is_plain
from .peers.registry import Registry
from .store.database import Database
from .store.sql_store import SqlStore

log = logging.getLogger("ocpi.node")


@dataclass
class Node:
    crud: Any
    authenticator: Any
    versions: list[str]
    roles: list[RoleEnum]
    modules: list[ModuleID]
    public_url: str | None = None
    max_page_size: int = 100
    db: Database | None = None
    registry: Registry | None = None
    country_code: str | None = None
    party_id: str | None = None
    business_name: str | None = None
    limits: Limits = field(default_factory=Limits)
    # the operator's rules for real-time authorization (modules/tokens/module.py)
    authorizer: Callable[[dict[str, Any]], Any] | None = None
    # the operator's answer to a partner's command (modules/commands/module.py)
    command_handler: Callable[[dict[str, Any]], Any] | None = None
    # the operator's answer to a partner's charging profile request (modules/chargingprofiles)
    charging_profile_handler: Callable[[dict[str, Any]], Any] | None = None
    # module -> what completes the node's own objects before they are stored
    own_write_filters: dict[str, list[Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]]] \
        = field(default_factory=dict)
    reach: ReachCache = field(default_factory=ReachCache)  # the parties each hub reaches
    # (us, peer) -> what runs once a partner registered with us and has our answer
    after_registration: list[Callable[[Any, Any], Awaitable[Any]]] = field(default_factory=list)
    # partners whose hooks are running -> whether a registration meanwhile asks again
    _following: dict[int, bool] = field(default_factory=dict)

    @property
    def builtin_store(self) -> bool:
        return isinstance(self.crud, SqlStore)

    async def identify(self, token: str) -> Caller | None:
        identify = getattr(self.authenticator, "identify", None)
        if identify is not None:
            return await identify(token)
        if token in await self.authenticator.get_valid_token_c():
            return Caller("C")
        if token in await self.authenticator.get_valid_token_a():
            return Caller("A")
        return None

    async def registered(self, peer_id: int, us: Any) -> None:
        """After a partner registered (or updated) with us, our answer sent: a hub's
        parties are pulled, one run at a time per partner; a registration during a
        run asks for one more, with the partner as it is then. A failure is
        logged; the registration stands."""
        if self.registry is None or not self.after_registration:
            return
        if peer_id in self._following:
            self._following[peer_id] = True  # run again once this run ends
            return
        self._following[peer_id] = False
        try:
            again = True
            while again:
                peer = await self.registry.get_by_id(peer_id)
                if peer is None:
                    return
                for hook in self.after_registration:
                    try:
                        await hook(us, peer)
                    except Exception as exc:  # a background step: logged, never raised
                        log.warning("after %s registered: %s", peer.name, exc)
                self.reach.forget((peer.country_code, peer.party_id))
                again, self._following[peer_id] = self._following[peer_id], False
        finally:
            del self._following[peer_id]

    async def hub_reaches(self, ctx: Any, country_code: str, party_id: str) -> bool:
        """May the calling hub act for ``country_code``/``party_id``: has it reported
        reaching it (or may it act for any, by the operator's leave)? Never for our
        own parties, nor for one registered with us directly: those act with their
        own tokens."""
        caller = ctx.caller
        if caller.country_code is None or caller.party_id is None:
            return False
        if (country_code.upper(), party_id.upper()) == (
                (self.country_code or "").upper(), (self.party_id or "").upper()):
            return False
        held = self.registry.holds_directly if self.registry is not None else None
        kwargs = self.crud_kwargs(ctx, country_code, party_id)
        del kwargs["country_code"], kwargs["party_id"]
        return await self.reach.reaches(self.crud, (caller.country_code, caller.party_id),
                                        country_code, party_id, held=held,
                                        any_party=caller.any_party, **kwargs)

    def crud_kwargs(self, ctx: Any, country_code: str | None, party_id: str | None
                    ) -> dict[str, Any]:
        """The keyword extras the seed library passes to every ``Crud`` call."""
        return {"version": VersionNumber(ctx.version), "auth_token": ctx.token,
                "country_code": country_code, "party_id": party_id}

    def for_caller(self, ctx: Any, module: ModuleID, data: Any, kind: str = "location") -> Any:
        """Wire ``data`` (an object or a list) as the caller wants it: every optional
        field present, null when unset, for a partner whose profile says so."""
        if not ctx.caller.explicit_nulls:
            return data
        return with_nulls(module, ctx.version, data, kind)

    async def list_page(
        self, ctx: Any, module: ModuleID,
        render: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
        *, visible_to_caller: bool = False,
    ) -> Response:
        """A paginated list GET; sessions are limited to the caller's own tokens."""
        filters = filters_from(ctx.request, self.max_page_size)
        visible_to = None
        caller = ctx.caller
        if visible_to_caller and not caller.is_operator and caller.country_code:
            visible_to = (caller.country_code, caller.party_id)
            if caller.is_hub:  # on behalf of the party in OCPI-from, if the hub reaches it
                asking = ctx.routing[0]
                if asking is not None and await speaks_for(ctx, *asking):
                    visible_to = asking
                elif caller.any_party:
                    visible_to = None
        after = None
        if isinstance(self.crud, SqlStore):
            page = await self.crud.list_raw(module, ctx.role, filters, visible_to=visible_to)
            # zero-copy: a stored text that is this version's wire form goes out as is,
            # except to a partner that wants explicit nulls (stored text has none)
            version = "" if caller.explicit_nulls else ctx.version
            data: list[Any] = [
                orjson.Fragment(text) if is_plain(plain, version)
                else await render(jsonutil.loads(text)) for text, plain in page.rows]
            total, is_last, after = page.total, page.is_last, page.last_seq
        else:  # a library user's own Crud, the seed's way
            items, total, is_last = await self.crud.list(
                module, ctx.role, filters, **self.crud_kwargs(ctx, None, None),
                visible_to=visible_to)
            data = [await render(i) for i in items]
        data = self.for_caller(ctx, module, data)
        headers = page_headers(ctx.request, self.public_url, filters, total, len(data),
                               is_last, after)
        return envelope(data, headers=headers)

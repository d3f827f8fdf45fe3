"""Handlers every stored object type shares, driven by its declaration.

The sender's paginated list and the receiver's GET, PUT, PATCH and DELETE by key,
with the rules that hold for every module: the caller writes only in its own
namespace, an older ``last_updated`` never replaces a newer one, a PUT's ids
must match its URL, a PATCH is merged into the stored object in the caller's
version and validated for the fields it touched. A module folder adds only
what is its own (Locations' nested EVSEs, Sessions' charging preferences).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import Response

from ..core import objects as obj
from ..core.enums import Action, InterfaceRole, ModuleID, RoleEnum
from ..core.envelope import envelope
from ..core.errors import Forbidden, InvalidParameters, NotFound
from ..core.interface import Endpoint
from ..core.transport import OcpiRequest
from ..core.types import ci
from ..store.objects import stored
from .convert import not_carried
from .kernel import CallKey, ObjectType
from .versions.enums import is_v2_1

MAX_REFERENCES = 50  # distinct names of one object looked up per write


async def ask_operator(ctx: OcpiRequest, hook: Callable[[dict[str, Any]], Any] | None,
                       module: ModuleID, role: RoleEnum, action: Action,
                       data: dict[str, Any]) -> Any:
    """What the operator's own code says: the hook given to ``get_application`` (sync or
    async), else, with the seed API, the user's ``Crud.do(module, role, action, data=)``
    (its NotImplementedError: nothing to say); None when neither says anything."""
    if hook is not None:
        result = hook(data)
        return await result if hasattr(result, "__await__") else result
    if ctx.node.builtin_store:
        return None
    try:
        return await ctx.node.crud.do(module, role, action, data=data,
                                      **ctx.node.crud_kwargs(ctx, None, None))
    except NotImplementedError:
        return None


async def unheld(crud: Any, decl: ObjectType, objects: list[dict[str, Any]],
                 before: dict[str, Any] | None = None, **kwargs: Any) -> list[str]:
    """The note for the operator naming what ``objects`` (ours, of ``decl``) newly refer
    to and we do not hold (a connector's tariff), or none. At most ``MAX_REFERENCES``
    distinct names are looked up, through ``crud`` (a management write's, an import's)."""
    had = set(decl.references(before)) if before else set()
    refs = [r for r in dict.fromkeys(r for o in objects for r in decl.references(o))
            if r not in had][:MAX_REFERENCES]
    missing = [f"{module.value} {id!r}" for module, id in refs
               if await crud.get(module, stored(module.value).own_role, id, **kwargs) is None]
    if not missing:
        return []
    return [f"names {', '.join(missing)}, which we do not hold (yet): partners cannot use "
            "it until it is added"]


class Handlers:
    """The shared interface handlers of one object type."""

    def __init__(self, decl: ObjectType) -> None:
        self.decl = decl

    # --- reading ------------------------------------------------------------------

    def unknown(self, ctx: OcpiRequest, what: str) -> NotFound:
        return NotFound(f"unknown {self.decl.name.lower()} {what!r}",
                        status_code=self.decl.unknown_status(ctx.version))

    async def load(self, ctx: OcpiRequest, cc: str | None, pid: str | None,
                   keys: list[CallKey]) -> tuple[dict[str, Any] | None, CallKey]:
        """The stored object under the first of ``keys`` that has one."""
        for id, extra in keys:
            found = await ctx.node.crud.get(self.decl.module, self.decl.row_role(ctx.role), id,
                                            **ctx.node.crud_kwargs(ctx, cc, pid), **extra)
            if found is not None:
                return found, (id, extra)
        return None, keys[0]

    def _url_keys(self, ctx: OcpiRequest) -> list[CallKey]:
        return self.decl.url_keys(ctx.params, ctx.request.query_params, ctx.version)

    async def wire(self, ctx: OcpiRequest, data: dict[str, Any],
                   memo: dict[tuple[Any, ...], Any] | None = None) -> dict[str, Any]:
        """The object in the caller's version, with what 2.1.1 embeds loaded; ``memo``
        keeps what a page loaded, so its sessions at one Location read it once."""
        context = None
        if self.decl.needs_context(data, ctx.version) and self.decl.load_context:
            async def get(module: Any, id: str, cc: str | None, pid: str | None) -> Any:
                key = (module, id, cc, pid)
                if memo is not None and key in memo:
                    return memo[key]
                found = await ctx.node.crud.get(module, ctx.role, id,
                                                **ctx.node.crud_kwargs(ctx, cc, pid))
                if memo is not None:
                    memo[key] = found
                return found
            context = await self.decl.load_context(get, data)
        return self.decl.to_wire(data, ctx.version, context=context)

    def check_reader(self, ctx: OcpiRequest) -> None:
        """Our own objects go only to the roles that use them (our tokens to CPOs)."""
        readers = self.decl.readers
        if readers is not None and not ctx.caller.acts_as(readers):
            raise Forbidden(f"our {self.decl.name.lower()}s are for "
                            f"{' and '.join(sorted(readers))} partners")

    async def list(self, ctx: OcpiRequest) -> Response:
        self.check_reader(ctx)

        memo: dict[tuple[Any, ...], Any] = {}  # one page's Locations (2.1.1 embeds them)

        async def render(item: dict[str, Any]) -> dict[str, Any]:
            return await self.wire(ctx, item, memo)

        return await ctx.node.list_page(ctx, self.decl.module, render,
                                        visible_to_caller=self.decl.visible_to_token_owner)

    async def get(self, ctx: OcpiRequest) -> Response:
        p = ctx.params
        if not ctx.caller.is_operator:
            await obj.check_namespace(ctx, p["country_code"], p["party_id"])
        keys = self._url_keys(ctx)
        found, _ = await self.load(ctx, p["country_code"], p["party_id"], keys)
        if found is None:
            raise self.unknown(ctx, keys[0][0])
        return envelope(ctx.node.for_caller(ctx, self.decl.module, await self.wire(ctx, found)))

    # --- writing ------------------------------------------------------------------

    def _check_url(self, ctx: OcpiRequest, keys: list[CallKey], new: dict[str, Any]) -> None:
        """The object's key must be one the URL names (its id, and e.g. its type)."""
        own_id, own_extra = self.decl.call_key(new)
        for id, extra in keys:
            if ci(id) == ci(own_id) and all(
                    ci(str(own_extra.get(k))) == ci(str(v)) for k, v in extra.items()):
                return
        field = self.decl.id_field
        said = "".join(f", {k} {v!r}" for k, v in own_extra.items())
        url = "".join(f", {k} {v!r}" for k, v in keys[0][1].items())
        raise InvalidParameters(f"{field}: {own_id!r}{said} does not match the URL "
                                f"({keys[0][0]!r}{url})")

    async def put(self, ctx: OcpiRequest) -> Response:
        p = ctx.params
        cc, pid = p["country_code"], p["party_id"]
        await obj.check_namespace(ctx, cc, pid)
        body = obj.require_object(await ctx.json(), self.decl.name)
        await obj.validate(ctx, self.decl.model(ctx.version), body)
        if not is_v2_1(ctx.version):
            obj.check_same("country_code", cc, body)
            obj.check_same("party_id", pid, body)
        new = self.decl.to_canonical(body, ctx.version, cc.upper(), pid.upper())
        keys = self._url_keys(ctx)
        self._check_url(ctx, keys, new)
        new = await self.before_save(ctx, new)
        stored, _ = await self.load(ctx, cc, pid, [self.decl.call_key(new)])
        if obj.is_stale(new, stored):
            return obj.stored_response(ctx, False, applied=False)
        if ctx.role == self.decl.own_role:  # our own: say what older partners will miss
            ctx.warnings.extend(await not_carried(self.decl, new, ctx.node.versions))
            ctx.warnings.extend(await self.unheld(ctx, new, stored))
        applied = await self.save(ctx, cc, pid, obj.keep_internal(new, stored),
                                  stored is not None)
        return obj.stored_response(ctx, stored is None, applied)

    async def before_save(self, ctx: OcpiRequest, new: dict[str, Any]) -> dict[str, Any]:
        """The node's own object completed by the flows registered for its module
        (a Session takes the reference of the authorization before it)."""
        if ctx.role != self.decl.own_role:
            return new
        for complete in ctx.node.own_write_filters.get(self.decl.module.value, ()):
            new = await complete(new)
        return new

    async def save(self, ctx: OcpiRequest, cc: str, pid: str, data: dict[str, Any],
                   existed: bool) -> bool:
        """Store a whole canonical object; False when a newer one won meanwhile."""
        kwargs = ctx.node.crud_kwargs(ctx, cc, pid)
        id, extra = self.decl.call_key(data)
        role = self.decl.row_role(ctx.role)
        if existed:
            result = await ctx.node.crud.update(self.decl.module, role, data, id, **kwargs,
                                                **extra)
            return result is not None or not ctx.node.builtin_store
        created = await ctx.node.crud.create(self.decl.module, role, data, **kwargs)
        # None: the built-in store found a newer one a concurrent request created
        return created is not None or not ctx.node.builtin_store

    async def patch(self, ctx: OcpiRequest) -> Response:
        p = ctx.params
        cc, pid = p["country_code"], p["party_id"]
        await obj.check_namespace(ctx, cc, pid)
        body = obj.require_object(await ctx.json(), "PATCH fragment")
        obj.ensure_last_updated(ctx, body)
        keys = self._url_keys(ctx)
        obj.check_same(self.decl.id_field, keys[0][0], body)
        stored, _ = await self.load(ctx, cc, pid, keys)
        if stored is None:
            raise self.unknown(ctx, keys[0][0])
        if obj.is_stale(body, stored):
            return obj.stored_response(ctx, False, applied=False)
        wire = self.decl.to_wire(stored, ctx.version, strict=False)
        merged = obj.merge(wire, body, dict(self.decl.keyed_lists),
                           appended=self.decl.appended(ctx.version))
        await obj.validate_patch(ctx, self.decl.model(ctx.version), merged, body.keys())
        new = self.decl.to_canonical(merged, ctx.version, cc.upper(), pid.upper())
        if self.decl.call_key(new) != self.decl.call_key(stored):
            raise InvalidParameters(f"{self.decl.id_field}: a PATCH cannot change the key")
        applied = await self.save(ctx, cc, pid, new, True)
        return obj.stored_response(ctx, False, applied)

    async def delete(self, ctx: OcpiRequest) -> Response:
        """Remove one object (Tariffs, Charging Profiles: where the specification lets
        objects go). Our own removals reach partners as the declaration's push says."""
        p = ctx.params
        cc, pid = p["country_code"], p["party_id"]
        await obj.check_namespace(ctx, cc, pid)
        found, (id, extra) = await self.load(ctx, cc, pid, self._url_keys(ctx))
        if found is None:
            raise self.unknown(ctx, id)
        await ctx.node.crud.delete(self.decl.module, self.decl.row_role(ctx.role), id,
                                   **ctx.node.crud_kwargs(ctx, cc, pid), **extra)
        return envelope()

    async def unheld(self, ctx: OcpiRequest, data: dict[str, Any],
                     before: dict[str, Any] | None = None) -> list[str]:
        """What one of our own objects newly names that we do not hold (a connector's
        tariff): said to the operator, who may add it later; partners' objects are not
        checked, nor names ``before`` had (an EVSE status update looks nothing up)."""
        return await unheld(ctx.node.crud, self.decl, [data], before,
                            **ctx.node.crud_kwargs(ctx, data.get("country_code"),
                                                   data.get("party_id")))

    # --- the interfaces ---------------------------------------------------------------

    def by_key(self, path: str, *, methods: tuple[str, ...] = ("GET", "PUT", "PATCH"),
               operator_only: bool = False, versions: frozenset[str] | None = None
               ) -> tuple[Endpoint, ...]:
        """The receiver's endpoints under ``path`` (``/{country_code}/{party_id}/{id}``);
        DELETE only where a module asks for it."""
        handlers: Mapping[str, Any] = {"GET": self.get, "PUT": self.put, "PATCH": self.patch,
                                       "DELETE": self.delete}
        patch_versions = self.decl.patch_versions if not operator_only else None
        return tuple(Endpoint(m, path, handlers[m], operator_only=operator_only,
                              versions=patch_versions if m == "PATCH" and patch_versions
                              is not None else versions) for m in methods)

    def listing(self) -> Endpoint:
        return Endpoint("GET", "", self.list)

    def interfaces(self, path: str, *, sender: tuple[Endpoint, ...] = (),
                   receiver_methods: tuple[str, ...] = ("GET", "PUT", "PATCH"),
                   receiver: tuple[Endpoint, ...] = (),
                   own_methods: tuple[str, ...] | None = None,
                   ) -> dict[RoleEnum, tuple[InterfaceRole, tuple[Endpoint, ...]]]:
        """The usual two sides of a module: our sender (the paginated list, the
        module's own ``sender`` endpoints, the operator's management writes under
        ``path``: DELETE too where our removals reach partners) and the partners'
        receiver (by key under ``path``, PATCH only in the versions that have it,
        plus the module's own ``receiver`` endpoints)."""
        if own_methods is None and self.decl.generated:
            own_methods = ("GET",)
        if own_methods is None:
            own_methods = ("GET", "PUT", "PATCH", *(
                ("DELETE",) if "DELETE" in self.decl.push_methods else ()))
        return {
            self.decl.own_role: (InterfaceRole.SENDER, (
                self.listing(), *sender,
                *self.by_key(path, methods=own_methods, operator_only=True))),
            self.decl.partner_role: (InterfaceRole.RECEIVER, (
                *receiver, *self.by_key(path, methods=receiver_methods))),
        }

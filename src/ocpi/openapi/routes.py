"""The routes an app serves, and the module declaration each OCPI route came from.

The document is written from ``app.router.routes`` (what is served), each route
looked up in the declarations it was generated from (``app._routes_for``): a route
no declaration explains is shown as such, never left out, and nothing is documented
that is not served.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from starlette.routing import BaseRoute, Mount, Route

from ..core.enums import RoleEnum
from ..core.interface import Endpoint, ModuleDefinition, module_path

# browser pages, not an API: the console (its own engineer's) and /docs
PAGE_PREFIXES = ("/console", "/docs")


@dataclass(frozen=True)
class Served:
    path: str  # the full path template, without a trailing slash
    method: str


def served(routes: Iterable[BaseRoute], prefix: str = "") -> list[Served]:
    """Every (path, method) of ``routes`` once: a path's trailing-slash twin and the
    HEAD Starlette adds to a GET are the same operation; pages are left out."""
    seen: dict[Served, None] = {}
    for one in _walk(routes, prefix):
        seen.setdefault(one, None)
    return list(seen)


def _walk(routes: Iterable[BaseRoute], prefix: str) -> Iterator[Served]:
    for route in routes:
        if not getattr(route, "include_in_schema", True):
            continue
        if isinstance(route, Mount):
            if not _is_page(prefix + route.path):
                yield from _walk(route.routes, prefix + route.path)
        elif isinstance(route, Route) and route.methods:
            path = prefix + route.path
            if path != "/":
                path = path.rstrip("/")
            if _is_page(path):
                continue
            for method in sorted(route.methods - {"HEAD"}):
                yield Served(path, method)


def _is_page(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PAGE_PREFIXES)


@dataclass(frozen=True)
class Declared:
    """Where an OCPI route comes from: a module's endpoint, in a version, for a role."""

    definition: ModuleDefinition
    role: RoleEnum | None  # None: a module served once per version (credentials)
    version: str
    endpoint: Endpoint

    @property
    def our_role(self) -> RoleEnum:
        """The side of ours the endpoint belongs to (credentials: the first listed)."""
        return self.role or next(iter(self.definition.interfaces))


def declared(definitions: Iterable[ModuleDefinition], versions: Iterable[str],
             roles: Iterable[RoleEnum]) -> dict[Served, Declared]:
    """Every endpoint the declarations give in ``versions`` and ``roles``, by the
    route it becomes (the URL layout is ``module_path``'s, as for the routes)."""
    out: dict[Served, Declared] = {}
    versions, roles = list(versions), list(roles)
    for definition in definitions:
        for version in versions:
            if version not in definition.versions:
                continue
            if definition.shared:
                sides: list[tuple[RoleEnum | None, tuple[Endpoint, ...]]] = [
                    (None, next(iter(definition.interfaces.values()))[1])]
            else:
                sides = [(role, definition.interfaces[role][1]) for role in roles
                         if role in definition.interfaces]
            for role, endpoints in sides:
                prefix = module_path(definition.id, version, role)
                for ep in endpoints:
                    if ep.versions is not None and version not in ep.versions:
                        continue
                    out.setdefault(Served(prefix + ep.path, ep.method),
                                   Declared(definition, role, version, ep))
    return out

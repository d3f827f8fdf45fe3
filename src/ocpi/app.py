"""``get_application``: the seed library's entry point, on our transport.

Routes are generated from each module's single declaration for every version
and role asked for. With no ``crud``/``authenticator`` the built-in SQL store
and partner registry are used.
"""

import contextlib
import functools
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, Router

from . import chargingparks, console, metrics, openapi
from .core import db_health
from .core.dispatch import OcpiApp, RouteTable
from .core.enums import ModuleID, RoleEnum
from .core.envelope import envelope
from .core.interface import ModuleDefinition, module_path
from .core.lifespan import serve_alongside
from .core.limits import Limits
from .core.status import Status
from .core.transport import RequestIdMiddleware, database_unavailable, make_endpoint
from .modules.credentials import seed as seed_credentials
from .modules.registry import MODULES
from .modules.versions.enums import SUPPORTED_VERSIONS, VersionNumber
from .modules.versions.module import make_versions_endpoint
from .node import Node
from .outbox import job as outbox_job
from .peers.caller_cache import WATCHED, CallerCache
from .peers.registry import BuiltinAuthenticator, Registry
from .services import authorization, pull
from .services import cdr_builder as _cdr_builder  # noqa: F401  (builds CDRs of our sessions)
from .services import commands as command_sweeper
from .store.database import Database
from .store.sql_store import SqlStore

log = logging.getLogger("ocpi")

def _routes_for(node: Node, definition: ModuleDefinition) -> list[BaseRoute]:
    """A module's routes, those below its prefix under one ``Mount``: a request
    is matched against a few dozen prefixes instead of two hundred routes."""
    routes: list[BaseRoute] = []
    for version in node.versions:
        if version not in definition.versions:
            continue
        if definition.shared:
            mounts = [(None, next(iter(definition.interfaces.values()))[1])]
        else:
            mounts = [(role, definition.interfaces[role][1])
                      for role in node.roles if role in definition.interfaces]
        for role, endpoints in mounts:
            prefix = module_path(definition.id, version, role)
            below: list[BaseRoute] = []
            for ep in endpoints:
                if ep.versions is not None and version not in ep.versions:
                    continue
                endpoint = make_endpoint(node, ep.handler, version=version, role=role,
                                         module=definition.id, operator_only=ep.operator_only,
                                         allow_token_a=ep.allow_token_a)
                # with and without trailing slash, never a redirect
                where = below if ep.path else routes
                path = ep.path if ep.path else prefix
                where.append(Route(path, endpoint, methods=[ep.method]))
                where.append(Route(path + "/", endpoint, methods=[ep.method]))
            if below:
                routes.append(Mount(prefix, app=Router(below, redirect_slashes=False)))
    return routes


async def _http_error(request: Request, exc: Exception) -> Response:
    if db_health.is_unavailable(exc):
        return database_unavailable(exc, getattr(request.app.state, "node", None))
    status = getattr(exc, "status_code", 500)
    message = {404: "no such endpoint", 405: "method not allowed"}.get(status, "error")
    return envelope(status_code=Status.CLIENT_ERROR if status < 500 else Status.SERVER_ERROR,
                    status_message=message, http_status=status)


def get_application(
    version_numbers: list[VersionNumber] | None = None,
    roles: list[RoleEnum] | None = None,
    crud: Any = None,
    modules: list[ModuleID] | None = None,
    authenticator: Any = None,
    adapter: Any = None,
    http_push: bool = False,
    websocket_push: bool = False,
    *,
    database_url: str | None = None,
    public_url: str | None = None,
    operator_token: str | None = None,
    country_code: str | None = None,
    party_id: str | None = None,
    max_page_size: int = 100,
    business_name: str | None = None,
    token_grace_seconds: float | None = None,
    deliver: bool | None = None,
    max_body_bytes: int | None = None,
    limits: Limits | None = None,
    authorizer: Any = None,
    command_handler: Any = None,
    charging_profile_handler: Any = None,
    simulate_chargers: bool = False,
) -> FastAPI:
    """Build the OCPI application.

    The first arguments are the seed library's. ``crud``/``authenticator``
    default to the built-in store and registry on ``database_url`` (else
    ``OCPI_DATABASE_URL``, else ``./ocpi.db``). ``adapter`` and the push flags
    are accepted for compatibility and ignored. The credentials module (the
    handshake) is served when the built-in authenticator is used: the tokens
    it issues live in the registry that authenticator reads.

    With the built-in store, the node's own objects go to partners through
    the outbox, and the app runs its delivery worker while it is served
    (``deliver=False`` or ``OCPI_OUTBOX_WORKER=0``: another process delivers,
    e.g. ``ocpi outbox work``).

    ``authorizer(data)`` (sync or async) adds the operator's rules to the
    eMSP's real-time authorization: ``data`` holds the stored ``token`` and the
    requested ``location``; it returns None or {"allowed": ..., "info": ...}.

    ``command_handler(data)`` (sync or async) answers a partner's command to our
    CPO: ``data`` holds ``command``, ``request`` and our command ``id``; it returns
    {"result": "ACCEPTED"|"REJECTED"|..., "timeout"?, "message"?}, and the result
    follows through ``ocpi.services.commands.report_result`` (modules/commands).

    ``charging_profile_handler(data)`` answers a partner's charging profile request
    (GET/PUT/DELETE on a session) the same way (modules/chargingprofiles), the
    result following through ``ocpi.services.charging_profiles.report_result``.

    ``simulate_chargers``: a built-in charger answers both instead, for our own
    Locations (``ocpi.simulator``): sessions started by command grow while it runs.

    ``max_body_bytes`` (else ``OCPI_MAX_BODY_BYTES``, else 4 MiB) and the other
    ``limits`` bound what one request may cost (docs/security.md).
    """
    versions = [VersionNumber(v).value for v in (version_numbers or SUPPORTED_VERSIONS)]
    for v in versions:
        if v not in SUPPORTED_VERSIONS:
            raise ValueError(f"OCPI version {v} is not supported (use 2.1.1, 2.2.1 or 2.3.0)")
    roles = [RoleEnum(r) for r in (roles or [RoleEnum.cpo, RoleEnum.emsp])]
    modules = [ModuleID(m) for m in (modules or list(MODULES))]
    for m in modules:
        if m not in MODULES:
            log.warning("module %s is not available yet; it is left out", m.value)

    db = registry = None
    if crud is None or authenticator is None:
        db = Database(database_url)
        registry = Registry(db, token_grace_seconds, callers=_caller_cache(db))
    if crud is None:
        crud = SqlStore(db)  # type: ignore[arg-type]
    if authenticator is None:
        token = operator_token or os.environ.get("OCPI_OPERATOR_TOKEN")
        authenticator = BuiltinAuthenticator(registry, token)  # type: ignore[arg-type]

    node = Node(crud=crud, authenticator=authenticator, versions=versions, roles=roles,
                modules=modules, public_url=public_url or os.environ.get("OCPI_PUBLIC_URL"),
                max_page_size=max_page_size, db=db, registry=registry,
                country_code=country_code or os.environ.get("OCPI_COUNTRY_CODE"),
                party_id=party_id or os.environ.get("OCPI_PARTY_ID"),
                business_name=business_name or os.environ.get("OCPI_BUSINESS_NAME"),
                limits=limits or Limits.from_env(max_body_bytes=max_body_bytes),
                authorizer=authorizer, command_handler=command_handler,
                charging_profile_handler=charging_profile_handler)
    if db is not None:  # a session started after a real-time authorization carries it
        node.own_write_filters.setdefault(ModuleID.sessions.value, []).append(
            functools.partial(authorization.reference_for_session, db))
    if registry is not None and node.builtin_store:  # a hub's parties, once it registered
        node.after_registration.append(functools.partial(pull.reached_parties, registry, crud))
    definitions = [MODULES[m].definition for m in modules if m in MODULES]
    if not isinstance(authenticator, BuiltinAuthenticator):
        definitions = _credentials_for_user(definitions, node.builtin_store)

    app = OcpiApp(title="OCPI node", docs_url=None, redoc_url=None, openapi_url=None)
    app.router.redirect_slashes = False
    versions_ep, details_ep = make_versions_endpoint(node, definitions)
    for path, ep in (("/ocpi/versions", versions_ep), ("/ocpi/{version}/details", details_ep)):
        app.router.routes.append(Route(path, ep, methods=["GET"]))
        app.router.routes.append(Route(path + "/", ep, methods=["GET"]))
    for definition in definitions:
        app.router.routes.extend(_routes_for(node, definition))
    parks = chargingparks.make_endpoint(node)
    for path in ("/api/v1/chargingparks/{location_id}/sessions",
                 "/api/v1/chargingparks/{location_id}/sessions/"):
        app.router.routes.append(Route(path, parks, methods=["GET"]))
    app.router.routes.append(Route("/metrics", metrics.make_endpoint(node), methods=["GET"]))
    openapi.attach(app, node, definitions)  # /, /openapi.json and /docs (docs/openapi.md)
    if node.builtin_store and isinstance(authenticator, BuiltinAuthenticator):  # /console
        app.router.routes.extend(console.routes(
            node, operator_token or os.environ.get("OCPI_OPERATOR_TOKEN")))
    table = RouteTable()  # the same routes, found without FastAPI's layers (core.dispatch)
    table.add_routes(list(app.router.routes))
    app.route_table(table, node.limits)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _http_error)
    app.add_middleware(RequestIdMiddleware)
    app.state.node = node
    if deliver is None:
        deliver = os.environ.get("OCPI_OUTBOX_WORKER", "1") != "0"
    if deliver and node.builtin_store:
        outbox_job.attach(app)
    if db is not None and (ModuleID.commands in modules or
                           ModuleID.charging_profile in modules):
        command_sweeper.attach(app)  # requests whose result never came: TIMEOUT
    if simulate_chargers:
        from .connectors import simulator

        simulator.attach(app)  # its hooks replace the two above
    if db is not None:
        _check_schema_on_start(app, db)
    if registry is not None and registry.callers is not None:
        serve_alongside(app, "ocpi-token-cache",
                        functools.partial(registry.callers.listen, registry.db.driver_dsn()))
    return app


def _caller_cache(db: Database) -> CallerCache | None:
    """PostgreSQL: who each token is, kept while the registry is unchanged (its
    notifications say when not); ``OCPI_TOKEN_CACHE=0`` reads the token every time.
    SQLite reads it in microseconds, in the process."""
    if db.dialect != "postgresql" or os.environ.get("OCPI_TOKEN_CACHE", "1") == "0":
        return None
    cache = CallerCache()
    db.on_commit_of(WATCHED, cache.changed)
    return cache


def _credentials_for_user(definitions: list[ModuleDefinition], builtin_store: bool
                          ) -> list[ModuleDefinition]:
    """With the user's own Authenticator the handshake goes through their Crud, as the
    seed library's does; their tokens are not ours to issue on the built-in store."""
    out = []
    for d in definitions:
        if d.id != ModuleID.credentials_and_registration:
            out.append(d)
        elif builtin_store:
            log.warning("credentials module left out: the user's authenticator needs the "
                        "user's crud to store registrations")
        else:
            out.append(seed_credentials.definition())
    return out


def _check_schema_on_start(app: FastAPI, db: Database) -> None:
    """A PostgreSQL schema behind this release stops the app at start (with the
    message naming ``ocpi db upgrade``), not at a partner's first request."""
    previous = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        await db.ensure_schema()
        async with previous(a) as state:
            yield state

    app.router.lifespan_context = lifespan

"""The node's description of itself: ``/openapi.json`` (OpenAPI 3.1), ``/docs`` (Swagger
UI, from the package) and the root page ``/``.

The document is written from the routes the app serves and the module declarations
they were generated from (``document.build``), once per app, so the description and
the node cannot drift apart. FastAPI's own generator is off (``app.py``): it knows
nothing of OCPI's envelopes, versions or roles.

``/openapi.json`` and ``/docs`` need no token: which endpoints a node serves can be
learnt without one anyway (an unknown path answers 404, a served one 401), and the
schemas are the specification's. ``OCPI_OPENAPI=0`` turns both off (docs/openapi.md).
"""

import os
from typing import Any

from starlette.routing import BaseRoute, Route

from ..core.interface import ModuleDefinition
from ..node import Node
from . import document, pages

__all__ = ["attach", "enabled"]

CONSOLE = "/console"


def enabled() -> bool:
    """``OCPI_OPENAPI=0`` (or off/false/no) leaves ``/openapi.json`` and ``/docs`` out."""
    return os.environ.get("OCPI_OPENAPI", "1").strip().lower() not in ("0", "off", "false", "no")


def attach(app: Any, node: Node, definitions: list[ModuleDefinition],
           serve_docs: bool | None = None) -> None:
    """Add ``/`` and, unless turned off, ``/openapi.json`` and ``/docs`` to ``app``'s
    routes (before its route table is built from them)."""
    if serve_docs is None:
        serve_docs = enabled()
    routes: list[BaseRoute] = app.router.routes
    title = node.business_name or "OCPI node"

    def build() -> dict[str, Any]:
        from .. import __version__

        return document.build(routes, definitions, document.NodeFacts(
            title=title, version=__version__, versions=list(node.versions),
            roles=list(node.roles), public_url=node.public_url))

    def links() -> dict[str, str]:
        out = {"versions": "/ocpi/versions"}
        if _serves(routes, CONSOLE):
            out["console"] = CONSOLE
        if serve_docs:
            out["docs"] = "/docs"
            out["openapi"] = "/openapi.json"
        return out

    routes.append(Route("/", pages.root_endpoint(node, links), methods=["GET"]))
    if not serve_docs:
        return
    routes.append(Route("/openapi.json", pages.document_endpoint(build), methods=["GET"]))
    docs = pages.docs_endpoint(title)
    for path in ("/docs", "/docs/"):
        routes.append(Route(path, docs, methods=["GET"], include_in_schema=False))
    for name in pages.ASSETS:
        routes.append(Route(f"/docs/{name}", pages.asset_endpoint(name), methods=["GET"],
                            include_in_schema=False))


def _serves(routes: list[BaseRoute], prefix: str) -> bool:
    """Whether any route is at ``prefix`` or below it (the console, when installed)."""
    for route in routes:
        path = getattr(route, "path", "")
        if path == prefix or path.startswith(prefix + "/"):
            return True
    return False

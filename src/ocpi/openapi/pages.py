"""``/``, ``/openapi.json``, ``/docs`` and Swagger UI's files, served by the node.

Swagger UI is vendored in ``static/swagger-ui`` (its licence beside it), so the
documentation works with no internet access; the pages allow only the node's own
scripts and styles (Content-Security-Policy). Its start-up script is a file, not
inline, for the same reason.
"""

import asyncio
import base64
import gzip
import hashlib
import html
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..core import jsonutil
from ..core.envelope import envelope
from ..modules.versions.module import base_url
from ..node import Node

Endpoint = Callable[[Request], Awaitable[Response]]

ASSETS = {  # path below /docs -> (file in static/, media type)
    "swagger-ui.css": ("swagger-ui/swagger-ui.css", "text/css; charset=utf-8"),
    "swagger-ui-bundle.js": ("swagger-ui/swagger-ui-bundle.js",
                             "text/javascript; charset=utf-8"),
    "swagger-init.js": ("swagger-init.js", "text/javascript; charset=utf-8"),
    "LICENSE": ("swagger-ui/LICENSE", "text/plain; charset=utf-8"),
}

# Swagger UI draws its icons from data: URIs in its stylesheet; nothing else leaves 'self'
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'")
_SAFE = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

_ROOT_STYLE = ("body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;"
               "padding:0 1rem;line-height:1.5}code{background:#eee;padding:0 .2em}")
_ROOT_CSP = ("default-src 'none'; style-src 'sha256-"
             + base64.b64encode(hashlib.sha256(_ROOT_STYLE.encode()).digest()).decode()
             + "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

_DOCS_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API documentation</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-init.js"></script>
</body>
</html>
"""


def _static(name: str) -> bytes:
    return (resources.files(__package__) / "static" / name).read_bytes()


def asset_endpoint(name: str) -> Endpoint:
    """One of Swagger UI's files, read once; gzipped for a client that takes it."""
    path, media_type = ASSETS[name]
    cached: dict[str, bytes] = {}

    async def asset(request: Request) -> Response:
        if not cached:
            raw = await asyncio.to_thread(_static, path)
            cached["gzip"] = await asyncio.to_thread(gzip.compress, raw, 6)
            cached["identity"] = raw
        headers = {"Cache-Control": "public, max-age=3600", "Vary": "Accept-Encoding",
                   **_SAFE}
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return Response(cached["gzip"], media_type=media_type, headers=headers)
        return Response(cached["identity"], media_type=media_type, headers=headers)

    return asset


def docs_endpoint(title: str) -> Endpoint:
    page = _DOCS_HTML.format(title=html.escape(title))

    async def docs(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": DOCS_CSP, **_SAFE})

    return docs


def document_endpoint(build: Callable[[], dict[str, Any]]) -> Endpoint:
    """``/openapi.json``: built on the first request (off the event loop), then the same
    bytes for every later one."""
    cached: list[bytes] = []
    lock = asyncio.Lock()

    async def document(request: Request) -> Response:
        if not cached:
            async with lock:
                if not cached:
                    cached.append(await asyncio.to_thread(lambda: jsonutil.dumps(build())))
        return Response(cached[0], media_type="application/json", headers=_SAFE)

    return document


def root_endpoint(node: Node, links: Callable[[], dict[str, str]]) -> Endpoint:
    """``/``: HTML for a browser, an OCPI envelope for anything else. ``links`` are
    paths below the node's base URL."""
    name = node.business_name
    party = f"{node.country_code}/{node.party_id}".upper() \
        if node.country_code and node.party_id else None

    async def root(request: Request) -> Response:
        base = base_url(node, request)
        urls = {k: base + path for k, path in links().items()}
        if "text/html" in request.headers.get("accept", ""):
            return Response(_root_html(name, party, urls), media_type="text/html; charset=utf-8",
                            headers={"Content-Security-Policy": _ROOT_CSP, "Vary": "Accept",
                                     **_SAFE})
        return envelope({"name": name, "party": party, "links": urls},
                        headers={"Vary": "Accept"})

    return root


_LABELS = {
    "versions": ("OCPI versions", "the versions endpoint, for partners (token needed)"),
    "console": ("Operator console", "for the node's operator"),
    "docs": ("API documentation", "every endpoint, in a browser"),
    "openapi": ("OpenAPI description", "for tools"),
}


def _root_html(name: str | None, party: str | None, urls: dict[str, str]) -> str:
    title = html.escape(name or "OCPI node")
    items = "\n".join(
        f'<li><a href="{html.escape(url)}">{_LABELS[key][0]}</a>: {_LABELS[key][1]}'
        f" (<code>{html.escape(url)}</code>)</li>"
        for key, url in urls.items())
    who = f"<p>Party {html.escape(party)}.</p>\n" if party else ""
    return (f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n<style>{_ROOT_STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{title}</h1>\n<p>An OCPI node.</p>\n{who}<ul>\n{items}\n</ul>\n"
            f"</body>\n</html>\n")

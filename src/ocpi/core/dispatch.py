"""The node's own routes, dispatched before FastAPI's middleware stack.

Every OCPI endpoint is already a complete ``Request -> Response`` function that
answers every error with an envelope (``transport.make_endpoint``). Passing
each request through FastAPI's error, telemetry, body-limit, exception and
exit-stack layers and then matching it against the router's list costs about
as much as a Session PUT's own work. ``OcpiApp`` looks the path up in a table
keyed by its static prefix and calls the endpoint directly, with the request
ids echoed as everywhere else. Anything it does not know, a wrong method
included, goes to FastAPI as before (routes a library user adds, 404, 405).
"""

from collections.abc import Awaitable, Callable
from re import Pattern
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route, compile_path
from starlette.types import Receive, Scope, Send

from .envelope import envelope
from .limits import Limits, check_url
from .status import Status
from .transport import RequestIdMiddleware, internal_error

Endpoint = Callable[[Request], Awaitable[Response]]


def _static_prefix(path: str) -> str:
    head = path.split("{", 1)[0]
    return head.rstrip("/") if "{" in path else path


class RouteTable:
    def __init__(self) -> None:
        self._by_prefix: dict[str, list[tuple[Pattern[str], frozenset[str], Endpoint]]] = {}

    def add_routes(self, routes: list[BaseRoute], prefix: str = "") -> None:
        for route in routes:
            if isinstance(route, Mount):
                self.add_routes(list(route.routes), prefix + route.path)
            elif isinstance(route, Route) and route.methods:
                path = prefix + route.path
                regex, _, _ = compile_path(path)
                self._by_prefix.setdefault(_static_prefix(path), []).append(
                    (regex, frozenset(route.methods), route.endpoint))

    def match(self, path: str, method: str) -> tuple[Endpoint, dict[str, str]] | None:
        candidate = path
        while candidate:
            for regex, methods, endpoint in self._by_prefix.get(candidate, ()):
                found = regex.match(path)
                if found is not None:
                    if method not in methods:
                        continue  # another route of the path may take it, else 405
                    return endpoint, found.groupdict()
            candidate = candidate.rpartition("/")[0]
        return None


class OcpiApp(FastAPI):
    """A FastAPI app (the seed API's type) whose OCPI routes take the short way."""

    def route_table(self, table: RouteTable, limits: Limits | None = None) -> None:
        self._table = table
        self._limits = limits or Limits()
        self._fast = RequestIdMiddleware(self._call_endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        table: RouteTable | None = getattr(self, "_table", None)
        if table is not None and scope["type"] == "http":
            # before any matching, of ours or FastAPI's: an overlong path costs nothing
            refused = check_url(scope["path"], scope.get("raw_path"),
                                scope.get("query_string", b""), self._limits)
            if refused is not None:
                status, reason = refused
                response = envelope(status_code=Status.CLIENT_ERROR,
                                    status_message=f"request refused: {reason}",
                                    http_status=status, headers={"Connection": "close"})
                await RequestIdMiddleware(response)(scope, receive, send)
                return
            found = table.match(scope["path"], scope["method"])
            if found is not None:
                scope["app"] = self
                scope["endpoint"], scope["path_params"] = found
                await self._fast(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    async def _call_endpoint(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint: Any = scope["endpoint"]
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except Exception:  # an endpoint's own envelope failed: still one (and a 503 if
            response = internal_error(request)  # the database is what failed)
        await response(scope, receive, send)

"""Real HTTP servers on 127.0.0.1 for partner tests.

``ServerThread`` runs any ASGI app under uvicorn in a thread. ``PeerMock`` is
a small OCPI partner that records what it was sent and can be made down,
slow or garbled: the other side of the wire, not a stand-in for our code.
"""

import asyncio
import base64
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ALL_VERSIONS = ("2.1.1", "2.2.1", "2.3.0")


class ServerThread:
    """``with ServerThread(app) as url: ...``: the app on a free port, for real."""

    def __init__(self, app: Any, port: int = 0) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def wait_serving(base: str, proc: subprocess.Popen[bytes], why: Any = "") -> None:
    """Block until the ``ocpi serve`` at ``base`` answers; fail with ``why()`` (its log,
    say) when the process ended or 30 s went by."""
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base}/ocpi/versions", timeout=1)
            return
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ocpi serve did not start: {why() if why else ''}"
                                   ) from None
            time.sleep(0.05)


def served(peer: Any) -> Iterator[Any]:
    """Run a mock's ``app`` for real and yield the mock with its ``url`` set (fixtures)."""
    with ServerThread(peer.app) as url:
        peer.url = url
        yield peer


def ok(data: Any = None, status_code: int = 1000, http: int = 200,
       headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"status_code": status_code, "status_message": "ok" if
                            status_code < 2000 else "error",
                            "timestamp": "2026-01-01T00:00:00Z"}
    if data is not None:
        body["data"] = data
    return JSONResponse(body, status_code=http, headers=headers)


def decode(header: str | None) -> str | None:
    """The token in an Authorization header, whichever way it was encoded."""
    if not header or not header.startswith("Token "):
        return None
    raw = header[6:]
    try:
        text = base64.b64decode(raw, validate=True).decode()
        return text if text.isprintable() else raw
    except ValueError:
        return raw


class PeerMock:
    """A partner platform: versions, details, credentials and a paginated locations list."""

    def __init__(self, versions: tuple[str, ...] = ALL_VERSIONS,
                 modules: tuple[str, ...] = ("credentials", "locations", "sessions"),
                 party: tuple[str, str, str] = ("NL", "MCK", "CPO")) -> None:
        self.versions = list(versions)
        self.modules = list(modules)
        self.party = party
        self.requests: list[dict[str, Any]] = []
        self.tokens: set[str] | None = None  # tokens it accepts (None: any)
        self.plain_only = False  # refuses base64 tokens (a 2.2 platform of old habits)
        self.mode: dict[str, str] = {}  # path prefix -> "garbage" | "slow" | "down"
        self.items: list[dict[str, Any]] = []
        self.page_size = 7  # its own page size, whatever the client asks
        self.fail_offsets: dict[int, int] = {}  # offset -> failures left before it answers
        self.given_token = "mock-token-C"
        self.extra_versions: list[dict[str, str]] = []
        self.extra_endpoints: list[dict[str, str]] = []
        self.link_base: str | None = None  # make next-page Links point elsewhere
        self.app = Starlette(routes=[
            Route("/versions", self.versions_ep),
            Route("/{version}/details", self.details_ep),
            Route("/{version}/credentials", self.credentials_ep,
                  methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/{version}/locations", self.list_ep),
            Route("/{version}/sessions", self.list_ep),
            Route("/{version}/hubclientinfo", self.list_ep),
        ])

    # --- helpers -------------------------------------------------------------------

    def seen(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.requests if (method is None or r["method"] == method)
                and (path is None or r["path"].endswith(path))]

    async def _gate(self, request: Request) -> Response | None:
        body = await request.body()
        self.requests.append({"method": request.method, "path": request.url.path,
                              "query": dict(request.query_params),
                              "headers": dict(request.headers), "body": body})
        for prefix, mode in self.mode.items():
            if request.url.path.startswith(prefix) or prefix == "*":
                if mode == "down":
                    return Response("upstream unavailable", status_code=503)
                if mode == "garbage":
                    return Response("<html>hello</html>", media_type="text/html")
                if mode == "slow":
                    await asyncio.sleep(3)
        header = request.headers.get("authorization")
        token = decode(header)
        if self.plain_only and header and token != header[6:]:
            return ok(status_code=2000, http=401)
        if self.tokens is not None and token not in self.tokens:
            return ok(status_code=2000, http=401)
        return None

    # --- endpoints -----------------------------------------------------------------

    async def versions_ep(self, request: Request) -> Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        base = str(request.base_url).rstrip("/")
        return ok([{"version": v, "url": f"{base}/{v}/details"} for v in self.versions]
                  + self.extra_versions)

    async def details_ep(self, request: Request) -> Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        v = request.path_params["version"]
        base = str(request.base_url).rstrip("/")
        eps = []
        for m in self.modules:
            ep = {"identifier": m, "url": f"{base}/{v}/{m}"}
            if v != "2.1.1":
                ep["role"] = "SENDER"
            eps.append(ep)
        return ok({"version": v, "endpoints": eps + self.extra_endpoints})

    def credentials(self, version: str, base: str) -> dict[str, Any]:
        cc, pid, role = self.party
        details = {"name": "Mock Platform"}
        if version == "2.1.1":
            return {"token": self.given_token, "url": f"{base}/versions",
                    "business_details": details, "country_code": cc, "party_id": pid}
        return {"token": self.given_token, "url": f"{base}/versions",
                "roles": [{"role": role, "country_code": cc, "party_id": pid,
                           "business_details": details}]}

    async def credentials_ep(self, request: Request) -> Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        if request.method == "DELETE":
            return ok()
        base = str(request.base_url).rstrip("/")
        return ok(self.credentials(request.path_params["version"], base))

    async def list_ep(self, request: Request) -> Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        offset = int(request.query_params.get("offset", 0))
        if self.fail_offsets.get(offset, 0) > 0:
            self.fail_offsets[offset] -= 1
            return Response("try again", status_code=503)
        page = self.items[offset:offset + self.page_size]
        headers = {"X-Total-Count": str(len(self.items)), "X-Limit": str(self.page_size)}
        if offset + len(page) < len(self.items):
            url = request.url.replace_query_params(offset=offset + len(page))
            if self.link_base:
                url = f"{self.link_base}{url.path}?{url.query}"
            headers["Link"] = f'<{url}>; rel="next"'
        return ok(page, headers=headers)

"""The one transport layer: token, caller, envelope, errors, request ids.

Every module endpoint is a plain async function of an ``OcpiRequest``; this
module wraps it into a Starlette endpoint. No FastAPI dependency injection
and no ``BaseHTTPMiddleware`` on the hot path.
"""

import asyncio
import base64
import binascii
import logging
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import logs
from ..modules.versions.enums import is_v2_1
from . import db_health, jsonutil
from .authentication.authenticator import Caller
from .context import NodeContext
from .enums import FUNCTIONAL_MODULES
from .envelope import envelope
from .errors import Forbidden, InvalidParameters, OcpiError, Unauthorized
from .limits import (
    ClientGone,
    Limits,
    NotJson,
    OutOfRange,
    PayloadTooLarge,
    RequestTimeout,
    check_params,
    check_shape,
    lone_surrogate,
    may_hold_surrogate,
)
from .status import Status
from .types import PRINTABLE_ASCII

log = logging.getLogger("ocpi")


@dataclass(slots=True)
class OcpiRequest:
    """What a module handler gets: the call, already authenticated."""

    request: Request
    node: NodeContext
    version: str
    role: Any  # RoleEnum of the interface that was called
    module: Any  # ModuleID
    caller: Caller
    token: str
    params: dict[str, str]
    warnings: list[str] = field(default_factory=list)
    body_size: int = 0  # bytes of the body read: a big one is worked on off the loop

    @property
    def routing(self) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
        """The request's (OCPI-from, OCPI-to) parties, when a hub or partner sent them."""
        return routing_parties(self.request.headers)

    async def body(self) -> bytes:
        """The body, refused (413) as soon as it passes the limit and (408) when
        it comes too slowly: nothing beyond the limit is ever buffered."""
        read = getattr(self.request, "_body", None)
        if read is not None:  # read once: the stream is gone after that
            return bytes(read)
        limit = self.node.limits.max_body_bytes
        declared = self.request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise PayloadTooLarge(f"request body larger than {limit} bytes")
        receive = self.request.receive
        message = await receive()  # a small body is here already: no timer
        _check_connected(message)
        body = message.get("body", b"")
        if message.get("more_body"):
            chunks, size = [body], len(body)
            try:
                async with asyncio.timeout(self.node.limits.body_timeout):
                    while message.get("more_body"):
                        message = await receive()
                        _check_connected(message)
                        chunk = message.get("body", b"")
                        size += len(chunk)
                        if size > limit:
                            raise PayloadTooLarge(f"request body larger than {limit} bytes")
                        chunks.append(chunk)
            except TimeoutError:
                raise RequestTimeout("request body not received in time") from None
            body = b"".join(chunks)
        if len(body) > limit:
            raise PayloadTooLarge(f"request body larger than {limit} bytes")
        self.request._body = body  # Starlette's own readers see it too
        self.body_size = len(body)
        return body

    async def json(self) -> Any:
        """The body as JSON, within the node's limits (``core/limits.py``)."""
        body = await self.body()
        if not body:
            raise NotJson("request body is empty")
        limits = self.node.limits
        if len(body) > limits.parse_in_thread_bytes:  # a big one must not hold the loop
            return await asyncio.to_thread(parse_json, body, limits)
        return parse_json(body, limits)


def _check_connected(message: Message) -> None:
    """A client gone mid-body is no partial body to parse (and no traceback to log)."""
    if message["type"] == "http.disconnect":
        raise ClientGone("the client went away before its body was complete")


def parse_json(body: bytes, limits: Limits) -> Any:
    """Parse a request body: refusals before the parser allocates, checks after."""
    containers = body.count(b"{") + body.count(b"[")
    if containers > limits.max_json_containers:
        raise PayloadTooLarge(
            f"request body has more than {limits.max_json_containers} objects and arrays")
    if body.count(b",") >= limits.max_json_values:
        raise PayloadTooLarge(f"request body has more than {limits.max_json_values} values")
    try:
        value = jsonutil.loads_request(body)
    except OutOfRange as exc:
        raise InvalidParameters(f"body: {exc}") from None
    except RecursionError:
        raise InvalidParameters(
            f"body: nested deeper than {limits.max_json_depth} levels") from None
    except ValueError as exc:
        raise NotJson(f"request body is not valid JSON: {str(exc)[:200]}") from None
    check_shape(value, limits.max_json_depth, containers)
    if may_hold_surrogate(body):
        where = lone_surrogate(value)
        if where is not None:
            raise InvalidParameters(f"{where}: invalid Unicode (a lone UTF-16 surrogate)")
    return value


def token_candidates(header: str | None, version: str) -> list[str]:
    """The token as sent and, when it decodes, its base64 decoding.

    2.2+ says base64, 2.1.1 says plain, and partners send either on either;
    the version only decides which reading is tried first.
    """
    if not header or len(header) > 1024:
        return []
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    # a token is printable ASCII without spaces (transport and format chapter)
    if scheme.lower() != "token" or not value or not value.isascii() or " " in value \
            or not value.isprintable():
        return []
    decoded: str | None = None
    try:
        raw = base64.b64decode(value, validate=True)
        text = raw.decode("ascii")
        if text and text.isprintable() and " " not in text:
            decoded = text
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = None
    if decoded is None or decoded == value:
        return [value]
    return [value, decoded] if is_v2_1(version) else [decoded, value]


async def authenticate(node: NodeContext, request: Request, version: str,
                       allow_token_a: bool = False) -> tuple[Caller, str]:
    for token in token_candidates(request.headers.get("authorization"), version):
        caller = await node.identify(token)
        if caller is not None:
            request.scope["ocpi.caller"] = caller  # who it was, for the access log
            if caller.token_kind == "A" and not allow_token_a:
                raise Unauthorized("this token may only be used for registration")
            return caller, token
    raise Unauthorized("missing or unknown Authorization token")


async def authenticate_operator(node: NodeContext, request: Request, what: str) -> None:
    """The node's own non-OCPI endpoints (``what``): the operator token only."""
    caller, _ = await authenticate(node, request, "2.2.1")
    if not caller.is_operator:
        raise Forbidden(f"{what} is for the node operator")


def error_response(exc: OcpiError) -> Response:
    return envelope(status_code=exc.status_code, status_message=exc.message,
                    http_status=exc.http_status)


def internal_error(request: Request, node: NodeContext | None = None) -> Response:
    """A bug of ours: logged once with its traceback, answered with an envelope. A
    database that is down or full is not one: 503 with ``Retry-After`` (core/db_health)."""
    exc = sys.exception()
    if exc is not None and db_health.is_unavailable(exc):
        return database_unavailable(exc, node or _node_of(request))
    ids = logs.request_ids()
    log.exception("unhandled error in %s %s", request.method, logs.clean(request.url.path),
                  extra=logs.kv(request_id=ids[0], correlation_id=ids[1]) if ids else None)
    return envelope(status_code=Status.SERVER_ERROR, status_message="internal error",
                    http_status=500)


def database_unavailable(exc: BaseException, node: Any) -> Response:
    db = getattr(node, "db", None)
    db_health.HEALTH.refused(exc, getattr(db, "ping", None))
    return envelope(status_code=Status.SERVER_ERROR,
                    status_message="database unavailable; try again later", http_status=503,
                    headers={"Retry-After": str(db_health.RETRY_AFTER_SECONDS)})


def _node_of(request: Request) -> Any:
    app = request.scope.get("app")
    return getattr(getattr(app, "state", None), "node", None)


def validation_message(err: ValidationError, prefix: str = "") -> str:
    """Name the bad field(s) the way a partner's engineer would look for them."""
    parts = []
    for e in err.errors()[:5]:
        loc = ".".join(str(p) for p in e["loc"] if not str(p).startswith("function-"))
        where = f"{prefix}{loc}" if loc else (prefix.rstrip(".") or "body")
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "string_pattern_mismatch" and e.get("ctx", {}).get(
                "pattern") == PRINTABLE_ASCII:
            msg = "must be printable ASCII (a CiString)"
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)


Handler = Callable[[OcpiRequest], Awaitable[Response]]


def make_endpoint(node: NodeContext, handler: Handler, *, version: str, role: Any, module: Any,
                  operator_only: bool = False, allow_token_a: bool = False
                  ) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            caller, token = await authenticate(node, request, version, allow_token_a)
            if operator_only and not caller.is_operator:
                raise Forbidden("only the node operator may do this")
            check_params(request.path_params)
            ctx = OcpiRequest(request, node, version, role, module, caller, token,
                              request.path_params)
            return await handler(ctx)
        except OcpiError as exc:
            return error_response(exc)
        except ValidationError as exc:
            return error_response(InvalidParameters(validation_message(exc)))
        except Exception:
            return internal_error(request, node)

    return endpoint


_ROUTING = {b"ocpi-from-country-code": b"ocpi-to-country-code",
            b"ocpi-from-party-id": b"ocpi-to-party-id",
            b"ocpi-to-country-code": b"ocpi-from-country-code",
            b"ocpi-to-party-id": b"ocpi-from-party-id"}


def _party_part(value: bytes, name: bytes) -> bool:
    """A routing header's value as OCPI defines it: 2 (country) or 3 (party) letters
    and digits; anything else is not echoed."""
    size = 2 if name.endswith(b"country-code") else 3
    return len(value) == size and value.isalnum() and value.isascii()


def routing_parties(headers: Any) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    """(OCPI-from, OCPI-to) of a request, each (country_code, party_id) or None."""
    def pair(side: str) -> tuple[str, str] | None:
        cc = headers.get(f"ocpi-{side}-country-code")
        pid = headers.get(f"ocpi-{side}-party-id")
        if cc and pid and _party_part(cc.encode(), b"country-code") and \
                _party_part(pid.encode(), b"party-id"):
            return cc.upper(), pid.upper()
        return None
    return pair("from"), pair("to")


def _functional(path: str) -> bool:
    """A functional module's path (``/ocpi/{cpo|emsp}/{version}/{module}/...``): the
    only answers that carry routing headers."""
    parts = path.split("/", 5)  # "", "ocpi", role, version, module, rest
    return (len(parts) >= 5 and parts[1] == "ocpi" and parts[2] in ("cpo", "emsp")
            and parts[4] in FUNCTIONAL_MODULES)


class RequestIdMiddleware:
    """Echo ``X-Request-ID``/``X-Correlation-ID`` (made up when absent) on every response,
    and on functional modules the routing headers swapped (2.2.1: the answer goes from
    the request's OCPI-to party back to its OCPI-from party; configuration modules
    SHALL NOT use them)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = correlation_id = None
        routing: list[tuple[bytes, bytes]] = []
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value
            elif name == b"x-correlation-id":
                correlation_id = value
            elif name in _ROUTING and _party_part(value, name) and len(routing) < 4:
                routing.append((_ROUTING[name], value))
        if routing and not _functional(scope.get("path", "")):
            routing = []
        request_id = request_id or uuid.uuid4().hex.encode()
        correlation_id = correlation_id or request_id
        # what the outbox tags the messages this request queues with (logs.py)
        ids = logs.REQUEST.set((request_id, correlation_id))
        logged = logs.ACCESS.isEnabledFor(logging.INFO)
        started = time.perf_counter() if logged else 0.0
        status: int | None = None

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                nonlocal status
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", request_id))
                headers.append((b"x-correlation-id", correlation_id))
                headers.extend(routing)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_ids)
        except Exception:
            status = status or 500  # what the server answers for it
            raise
        finally:
            logs.REQUEST.reset(ids)
            if logged:  # one line per request, its text made off the event loop
                logs.access(scope, status, started, request_id, correlation_id)

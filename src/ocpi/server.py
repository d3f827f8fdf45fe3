"""The HTTP connection layer of ``ocpi serve``: what uvicorn leaves open.

uvicorn (httptools) gives a connection as long as it likes to send its request
line and headers, takes headers of any size and any number of connections.
On the internet that lets a few slow or chatty clients hold the node. This
protocol adds, per connection: a deadline for the request line and headers
(from the first byte of each request, and from connect for a silent one), a
cap on their size, and a cap on open connections; each refusal is an OCPI
envelope and a close. The body's own limits (size, time) are the
application's (``core/limits.py``), as the endpoint knows when it reads one.

Settings come from the environment so that every worker process of
``ocpi serve --workers N`` reads the same ones (docs/security.md).
"""

import asyncio
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from . import logs
from .core import jsonutil
from .core.datetime import now_text
from .core.status import Status

HEADER_TIMEOUT_ENV = "OCPI_HEADER_TIMEOUT"
MAX_CONNECTIONS_ENV = "OCPI_MAX_CONNECTIONS"
MAX_HEADER_BYTES_ENV = "OCPI_MAX_HEADER_BYTES"

DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_MAX_CONNECTIONS = 1000
DEFAULT_MAX_HEADER_BYTES = 32 * 1024

_REASONS = {400: b"Bad Request", 408: b"Request Timeout",
            431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}


def _setting(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def raw_envelope(http_status: int, message: str) -> bytes:
    """A whole HTTP/1.1 answer that closes the connection, written before any app runs."""
    body = jsonutil.dumps({"status_code": int(Status.CLIENT_ERROR if http_status < 500
                                              else Status.SERVER_ERROR),
                           "status_message": message, "timestamp": now_text()})
    return b"".join([
        b"HTTP/1.1 %d %s\r\n" % (http_status, _REASONS.get(http_status, b"Error")),
        b"content-type: application/json\r\n",
        b"content-length: %d\r\n" % len(body),
        b"connection: close\r\n\r\n", body])


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with deadlines and caps (see the module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = _setting(HEADER_TIMEOUT_ENV, DEFAULT_HEADER_TIMEOUT)
        self.max_connections = int(_setting(MAX_CONNECTIONS_ENV, DEFAULT_MAX_CONNECTIONS))
        self.max_header_bytes = int(_setting(MAX_HEADER_BYTES_ENV, DEFAULT_MAX_HEADER_BYTES))
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self._refuse(503, "too many open connections; try again later")
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._arm()  # a keep-alive connection's next request: its own deadline

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        if self.transport.is_closing():
            return
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, "invalid HTTP request")

    # --- deadlines and caps -------------------------------------------------------

    def _count(self, n: int) -> None:
        self._header_bytes += n
        if self._header_bytes > self.max_header_bytes and not self.transport.is_closing():
            self._refuse(431, f"request line and headers longer than {self.max_header_bytes} "
                              "bytes")

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being served: not a header that is late
        if not self.transport.is_closing():
            self._refuse(408, f"request headers not received within {self.header_timeout:g}s")

    def _refuse(self, http_status: int, message: str) -> None:
        self._disarm()
        if not self.transport.is_closing():
            client = getattr(self, "client", None)
            logs.ACCESS.info("refused before a request was read: %s %s", http_status, message,
                             extra=logs.kv(status=http_status,
                                           client=logs.clean(str(client[0]) if client else None,
                                                             64)))
            self.transport.write(raw_envelope(http_status, message))
            self.transport.close()

"""HTTP/1.1 to partners with less CPU: h11 over asyncio's streams, as an httpx transport.

Why: a drain to one partner is one request at a time, and in one process it was
CPU-bound in the HTTP client: httpx's own transport (httpcore, anyio) costs about
0.8 ms of CPU a request on the development machine, h11 on asyncio's streams about
0.16 ms (docs/benchmarks.md). The client stays httpx: requests, headers, timeouts,
decoding and errors are httpx's, so callers see no difference; only the bytes on
the wire are moved by this module.

What it keeps of httpx's own transport: TLS with httpx's CA bundle and environment
(``SSL_CERT_FILE``/``SSL_CERT_DIR``), keep-alive per host, ``Connection: close``,
timeouts and failures raised as httpx's exceptions, an answer read as a stream
(the caller's size cap stops the read; the connection is then closed). Proxies
from the environment are httpx's business: ``transport_for_partners`` leaves the
default transport in place when any is set.
"""

import asyncio
import ssl
import time
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import h11
import httpx

READ_SIZE = 65536
MAX_IDLE_PER_HOST = 8  # keep-alive connections kept for one host; more are closed
IDLE_EXPIRY = 5.0  # seconds a kept connection may idle before it is closed (httpx's)
MAX_HEAD = 100 * 1024  # an answer's status line and headers, at most (httpx's limit)


def transport_for_partners() -> httpx.AsyncBaseTransport | None:
    """The transport a partner client uses: this one, unless the environment names a
    proxy (httpx applies those only with its own transport)."""
    return None if urllib.request.getproxies() else LeanTransport()


class _Connection:
    __slots__ = ("h11", "idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        self.idle_since = 0.0

    def usable(self) -> bool:
        """Fit for the next request: idled briefly, and the partner has neither closed
        nor reset it nor sent anything meanwhile (a ``408`` before a close would else be
        read as the next request's answer). asyncio has no public "bytes waiting"."""
        return not (time.monotonic() - self.idle_since > IDLE_EXPIRY
                    or self.writer.is_closing() or self.reader.at_eof()
                    or self.reader.exception() is not None
                    or getattr(self.reader, "_buffer", None))

    def close(self) -> None:
        self.writer.close()


class LeanTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._ssl: ssl.SSLContext | None = None
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"{url.scheme!r} is not http(s)", request=request)
        # the host as the wire spells it (IDNA 2008, as httpx does): asyncio and ssl
        # would encode a Unicode name by IDNA 2003, which maps some names elsewhere
        key = (url.scheme, url.raw_host.decode("ascii"),
               url.port or (443 if url.scheme == "https" else 80))
        timeout = request.extensions.get("timeout", {})
        conn = self._take(key) or await self._connect(key, timeout.get("connect"), request)
        try:
            try:
                head = conn.h11.send(h11.Request(method=request.method, target=url.raw_path,
                                                 headers=request.headers.raw))
                body = await request.aread()
                data = head + (conn.h11.send(h11.Data(data=body)) if body else b"") + \
                    conn.h11.send(h11.EndOfMessage())
            except h11.LocalProtocolError as exc:
                raise httpx.LocalProtocolError(str(exc), request=request) from None
            await _write(conn, data, timeout.get("write"), request)
            response = await _next(conn, timeout.get("read"), request)
        except BaseException:
            conn.close()
            raise
        if not isinstance(response, h11.Response):  # h11 gives nothing else here
            conn.close()
            raise httpx.RemoteProtocolError("no response", request=request)
        return httpx.Response(
            response.status_code, headers=response.headers,
            stream=_Body(self, key, conn, timeout.get("read"), request),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": response.reason})

    def _take(self, key: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.usable():
                return conn
            conn.close()
        return None

    def _give_back(self, key: tuple[str, str, int], conn: _Connection) -> None:
        if not self._closed and conn.h11.our_state is h11.DONE and \
                conn.h11.their_state is h11.DONE:
            conn.h11.start_next_cycle()
            idle = self._idle.setdefault(key, [])
            if len(idle) < MAX_IDLE_PER_HOST:
                conn.idle_since = time.monotonic()
                idle.append(conn)
                return
        conn.close()

    async def _connect(self, key: tuple[str, str, int], timeout: float | None,
                       request: httpx.Request) -> _Connection:
        scheme, host, port = key
        tls: ssl.SSLContext | None = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()
            tls = self._ssl
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=host if tls else None,
                    limit=READ_SIZE * 2)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection to {host}:{port} within {timeout}s",
                                       request=request) from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__,
                                     request=request) from None
        return _Connection(reader, writer)

    async def aclose(self) -> None:
        self._closed = True  # a connection still answering is closed when it is done
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


async def _write(conn: _Connection, data: bytes, timeout: float | None,
                 request: httpx.Request) -> None:
    try:
        conn.writer.write(data)
        async with asyncio.timeout(timeout):
            await conn.writer.drain()
    except TimeoutError:
        raise httpx.WriteTimeout("the partner took no more of the request",
                                 request=request) from None
    except OSError as exc:
        raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from None


async def _next(conn: _Connection, timeout: float | None, request: httpx.Request) -> Any:
    """The next h11 event of the answer, reading from the partner as needed."""
    while True:
        try:
            event = conn.h11.next_event()
        except h11.RemoteProtocolError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from None
        if event is not h11.NEED_DATA:
            if isinstance(event, h11.InformationalResponse):
                continue  # 100 Continue and the like: the answer follows
            return event
        try:
            async with asyncio.timeout(timeout):
                chunk = await conn.reader.read(READ_SIZE)
        except TimeoutError:
            raise httpx.ReadTimeout("no answer within the timeout", request=request) from None
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from None
        if not chunk and conn.h11.their_state is h11.SEND_RESPONSE:
            raise httpx.RemoteProtocolError("the partner closed the connection without an "
                                            "answer", request=request)
        conn.h11.receive_data(chunk)


class _Body(httpx.AsyncByteStream):
    """An answer's body as the partner sends it; its connection goes back for the next
    request when it was read to the end, and is closed when the reader stopped early."""

    def __init__(self, transport: LeanTransport, key: tuple[str, str, int],
                 conn: _Connection, timeout: float | None, request: httpx.Request) -> None:
        self._transport = transport
        self._key = key
        self._conn: _Connection | None = conn
        self._timeout = timeout
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        while True:
            event = await _next(conn, self._timeout, self._request)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._conn = None
                self._transport._give_back(self._key, conn)
                return
            else:  # ConnectionClosed before the end, or a stray event
                raise httpx.RemoteProtocolError("the answer ended early",
                                                request=self._request)

    async def aclose(self) -> None:
        if self._conn is not None:  # not read to its end: the connection cannot be reused
            self._conn.close()
            self._conn = None

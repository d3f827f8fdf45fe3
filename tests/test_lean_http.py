"""The partner transport (peers/lean_http.py) against real sockets: a small HTTP/1.1
server written out here, so each test says exactly what the partner does on the wire
(keep-alive, closing while idle, chunks, silence, TLS)."""

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from ocpi.peers.lean_http import LeanTransport, transport_for_partners

Answer = Callable[[bytes, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]


def ok(body: bytes = b'{"status_code":1000}', extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body)


class Partner:
    """Counts connections and requests; ``answer`` writes each answer and says whether
    to keep the connection open."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length) if length else b""
                self.requests.append(head + body)
                if not await self.answer(head, reader, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def partner(answer: Answer, tls: ssl.SSLContext | None = None
                  ) -> AsyncIterator[tuple[Partner, str]]:
    p = Partner(answer)
    server = await asyncio.start_server(p.serve, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    try:
        yield p, f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.close()


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=LeanTransport(), timeout=2)


async def test_keep_alive_reuses_one_connection_and_sends_the_request_whole():
    async def answer(head: bytes, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> bool:
        writer.write(ok())
        return True

    async with partner(answer) as (p, url), client() as http:
        for n in range(3):
            r = await http.put(f"{url}/ocpi/x/{n}?a=1", content=b'{"n":1}',
                               headers={"Authorization": "Token t"})
            assert r.status_code == 200 and r.json() == {"status_code": 1000}
    assert p.connections == 1 and len(p.requests) == 3
    first = p.requests[0]
    assert first.startswith(b"PUT /ocpi/x/0?a=1 HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Token t\r\n" in first and first.endswith(b'{"n":1}')


async def test_a_connection_the_partner_closed_while_idle_is_not_reused():
    async def answer(head: bytes, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> bool:
        writer.write(ok())
        await writer.drain()
        return False  # closes after each answer, without saying so

    async with partner(answer) as (p, url), client() as http:
        for _ in range(3):
            assert (await http.get(url + "/v")).status_code == 200
            await asyncio.sleep(0.05)  # the close reaches us while the connection idles
    assert p.connections == 3


async def test_connection_close_and_chunked_answers():
    async def answer(head: bytes, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close"
                     b"\r\n\r\n5\r\n{\"a\":\r\n2\r\n1}\r\n0\r\n\r\n")
        return True  # the client must close it anyway: it was told so

    async with partner(answer) as (p, url), client() as http:
        assert (await http.get(url + "/one")).json() == {"a": 1}
        assert (await http.get(url + "/two")).json() == {"a": 1}
    assert p.connections == 2


async def test_silence_is_a_read_timeout_and_no_listener_a_connect_error():
    async def answer(head: bytes, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(5)
        return False

    async with partner(answer) as (_, url), \
            httpx.AsyncClient(transport=LeanTransport(), timeout=0.3) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(url + "/slow")
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(url + "/gone")  # the server above has stopped


async def test_an_answer_cut_short_is_a_protocol_error_and_a_stopped_read_closes():
    async def cut(head: bytes, reader: asyncio.StreamReader,
                  writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial")
        await writer.drain()
        return False

    async with partner(cut) as (_, url), client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(url + "/cut")

    big = b"x" * 200_000

    async def large(head: bytes, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> bool:
        writer.write(ok(big))
        return True

    async with partner(large) as (p, url), client() as http:
        async with http.stream("GET", url + "/big") as r:
            async for _ in r.aiter_raw():
                break  # the caller's cap: it reads no further
        assert (await http.get(url + "/again")).status_code == 200
        assert p.connections == 2  # the half-read connection was not reused


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "partner.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


async def test_tls_is_verified_against_the_trusted_certificates(tmp_path, monkeypatch):
    """httpx's trust: ``SSL_CERT_FILE`` names what to trust; an unknown certificate is
    refused."""
    cert_file, key_file = _self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)

    async def answer(head: bytes, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> bool:
        writer.write(ok())
        return True

    async with partner(answer, tls) as (p, url):
        async with client() as http:  # the default bundle does not know this certificate
            with pytest.raises(httpx.ConnectError):
                await http.get(url + "/v")
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
        async with client() as http:
            assert (await http.get(url + "/v")).json() == {"status_code": 1000}
            assert (await http.get(url + "/v")).status_code == 200
        assert url.startswith("https://") and len(p.requests) == 2


def test_a_proxy_in_the_environment_keeps_httpx_s_own_transport(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(transport_for_partners(), LeanTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert transport_for_partners() is None


async def test_a_connection_the_partner_spoke_on_while_idle_is_not_reused():
    """A partner that times an idle connection out with a 408 and closes it: that 408
    is never read as the next request's answer."""
    async def answer(head: bytes, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> bool:
        writer.write(ok())
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.write(b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                     b"Content-Length: 0\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.5)  # closes late: the 408 waits unread meanwhile
        return False

    async with partner(answer) as (p, url), client() as http:
        assert (await http.get(url + "/one")).status_code == 200
        await asyncio.sleep(0.1)
        assert (await http.get(url + "/two")).status_code == 200
    assert p.connections == 2


async def test_a_connection_idle_past_its_expiry_is_not_reused(monkeypatch):
    from ocpi.peers import lean_http

    async def answer(head: bytes, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> bool:
        writer.write(ok())
        return True

    monkeypatch.setattr(lean_http, "IDLE_EXPIRY", 0.05)
    async with partner(answer) as (p, url), client() as http:
        await http.get(url + "/one")
        await http.get(url + "/two")  # at once: the same connection
        await asyncio.sleep(0.1)
        await http.get(url + "/three")  # after its expiry: a new one
    assert p.connections == 2


async def test_an_international_name_is_called_as_the_wire_spells_it(monkeypatch):
    """IDNA 2008, as httpx spells it: asyncio's own encoding (IDNA 2003) would turn
    xn--fa-hia.de ("faß.de") into fass.de, another party's host."""
    called: list[str] = []

    async def refuse(host: str, port: int, **kwargs: object) -> None:
        called.append(host)
        raise OSError("no network in tests")

    monkeypatch.setattr(asyncio, "open_connection", refuse)
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("https://xn--fa-hia.de/ocpi/versions")
        with pytest.raises(httpx.ConnectError):
            await http.get("https://faß.de/ocpi/versions")
    assert called == ["xn--fa-hia.de", "xn--fa-hia.de"]

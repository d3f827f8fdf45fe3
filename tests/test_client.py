"""The OCPI HTTP client against a real local partner server."""

import base64
import re

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from ocpi.peers.client import OcpiClient, PartnerError, next_link
from ocpi.peers.profile import Profile
from ocpi.peers.urls import UnsafeUrl, check_partner_url

from .servers import PeerMock, ServerThread, served


@pytest.fixture
def mock():
    peer = PeerMock()
    yield from served(peer)


pytestmark = pytest.mark.usefixtures("local_partners")


def client(version="2.2.1", **kw):
    return OcpiClient(partner="mock-partner", token="tok-123", version=version, **kw)


@pytest.mark.parametrize("version,profile,expected", [
    ("2.1.1", Profile(), "Token tok-123"),
    ("2.2.1", Profile(), "Token " + base64.b64encode(b"tok-123").decode()),
    ("2.3.0", Profile(), "Token " + base64.b64encode(b"tok-123").decode()),
    ("2.2.1", Profile(plain_token=True), "Token tok-123"),
])
async def test_authorization_encoding_follows_version_and_profile(mock, version, profile,
                                                                  expected):
    async with client(version, profile=profile) as c:
        answer = await c.call("GET", f"{mock.url}/versions")
    assert answer.ok
    assert mock.requests[-1]["headers"]["authorization"] == expected


async def test_request_and_correlation_ids_on_every_request(mock):
    async with client() as c:
        await c.call("GET", f"{mock.url}/versions")
        await c.call("GET", f"{mock.url}/versions", correlation_id="corr-1")
        await c.call("GET", f"{mock.url}/versions", correlation_id="corr-1")
    first, second, third = (r["headers"] for r in mock.requests)
    assert first["x-request-id"] and first["x-correlation-id"]
    assert second["x-correlation-id"] == third["x-correlation-id"] == "corr-1"
    assert len({first["x-request-id"], second["x-request-id"], third["x-request-id"]}) == 3


async def test_routing_headers_on_functional_modules_only(mock):
    """2.2+: from us to the partner (for a hub: to the hub, as a GET-all via a hub wants)."""
    async with client(from_party=("NL", "OCP"), to_party=("DE", "HUB")) as c:
        await c.call("GET", f"{mock.url}/2.2.1/locations", module="locations")
        await c.call("GET", f"{mock.url}/2.2.1/details", module="versions")
        await c.call("GET", f"{mock.url}/2.2.1/credentials", module="credentials")
        await c.call("GET", f"{mock.url}/2.2.1/locations", module="locations",
                     to_party=("DE", "ABC"))
    functional, details, creds, addressed = (r["headers"] for r in mock.requests)
    assert (functional["ocpi-from-country-code"], functional["ocpi-from-party-id"]) == \
        ("NL", "OCP")
    assert (functional["ocpi-to-country-code"], functional["ocpi-to-party-id"]) == \
        ("DE", "HUB")
    assert not any(k.startswith("ocpi-") for k in (*details, *creds))
    assert (addressed["ocpi-to-country-code"], addressed["ocpi-to-party-id"]) == ("DE", "ABC")


async def test_routing_headers_follow_version_and_profile(mock):
    parties = {"from_party": ("NL", "OCP"), "to_party": ("DE", "ABC")}
    async with client("2.1.1", **parties) as c:
        await c.call("GET", f"{mock.url}/2.1.1/locations", module="locations")
    async with client("2.1.1", profile=Profile(routing_headers="on"), **parties) as c:
        await c.call("GET", f"{mock.url}/2.1.1/locations", module="locations")
    async with client(profile=Profile(routing_headers="off"), **parties) as c:
        await c.call("GET", f"{mock.url}/2.2.1/locations", module="locations")
    v211, forced, off = (r["headers"] for r in mock.requests)
    assert not any(k.startswith("ocpi-") for k in (*v211, *off))
    assert forced["ocpi-to-party-id"] == "ABC"


async def test_connection_close_quirk(mock):
    async with client(profile=Profile(connection_close=True)) as c:
        await c.call("GET", f"{mock.url}/versions")
    assert mock.requests[-1]["headers"]["connection"] == "close"


def _items(n):
    return [{"id": f"L{i}"} for i in range(n)]


async def test_pagination_follows_link_to_the_end_with_the_partners_page_size(mock):
    mock.items = _items(30)
    async with client() as c:
        pages = [(page, total) async for page, total in c.get_pages(f"{mock.url}/2.2.1/locations")]
    assert [len(p) for p, _ in pages] == [7, 7, 7, 7, 2]
    assert {t for _, t in pages} == {30}
    assert [i["id"] for p, _ in pages for i in p] == [f"L{i}" for i in range(30)]


async def test_page_limit_quirk_is_sent(mock):
    mock.items = _items(3)
    async with client(profile=Profile(page_limit=20)) as c:
        [_ async for _ in c.get_pages(f"{mock.url}/2.2.1/locations", params={"x": "1"})]
    assert mock.requests[0]["query"] == {"limit": "20", "x": "1"}


async def test_a_failing_page_is_retried(mock):
    mock.items = _items(20)
    mock.fail_offsets = {7: 2}
    async with client(retry_delay=0.01) as c:
        got = [i async for page, _ in c.get_pages(f"{mock.url}/2.2.1/locations")
               for i in page]
    assert len(got) == 20
    assert len(mock.seen("GET", "/locations")) == 3 + 2


async def test_a_page_that_keeps_failing_names_partner_and_endpoint(mock):
    mock.items = _items(20)
    mock.fail_offsets = {7: 10}
    got = []
    async with client(retry_delay=0.01, retries=2) as c:
        with pytest.raises(PartnerError) as err:
            async for page, _ in c.get_pages(f"{mock.url}/2.2.1/locations"):
                got.extend(page)
    assert len(got) == 7  # the first page arrived before the failure
    assert "mock-partner" in str(err.value) and "/2.2.1/locations" in str(err.value)
    assert "tok-123" not in str(err.value)
    assert len(mock.seen("GET", "/locations")) == 1 + 3


async def test_timeout_is_a_clear_error(mock):
    mock.mode = {"/versions": "slow"}
    async with client(profile=Profile(timeout=0.3)) as c:
        with pytest.raises(PartnerError, match=r"mock-partner: GET .*/versions: no answer "
                                               r"within 0.3s"):
            await c.call("GET", f"{mock.url}/versions")


async def test_garbage_is_a_clear_error(mock):
    mock.mode = {"/versions": "garbage"}
    async with client() as c:
        with pytest.raises(PartnerError, match="without an OCPI envelope"):
            await c.call("GET", f"{mock.url}/versions")


async def test_connection_refused_is_a_clear_error():
    async with client() as c:
        with pytest.raises(PartnerError, match=re.escape(
                "mock-partner: GET http://127.0.0.1:9/versions: cannot connect")):
            await c.call("GET", "http://127.0.0.1:9/versions")


async def test_refusal_carries_the_partners_status(mock):
    mock.tokens = {"another"}
    async with client() as c:
        answer = await c.request("GET", f"{mock.url}/versions")
        assert answer.http_status == 401 and not answer.ok
        with pytest.raises(PartnerError) as err:
            await c.call("GET", f"{mock.url}/versions")
    assert err.value.http_status == 401 and err.value.status_code == 2000


# --- partner URL checks ------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://ocpi.example.com/versions",  # not https
    "https://127.0.0.1/versions",
    "https://10.1.2.3/versions",
    "https://192.168.0.10/versions",
    "https://169.254.169.254/latest/meta-data",  # cloud metadata
    "https://[::1]/versions",
    "https://[::ffff:127.0.0.1]/versions",
    "https://[64:ff9b::7f00:1]/versions",  # NAT64 of 127.0.0.1
    "https://[2002:7f00:1::1]/versions",  # 6to4 of 127.0.0.1
    "https://[::7f00:1]/versions",  # IPv4-compatible 127.0.0.1
    "https://[fec0::1]/versions",  # site-local
    "https://localhost/versions",  # resolves to loopback
    "ftp://ocpi.example.com/versions",
    "not a url",
])
async def test_unsafe_partner_urls_are_refused(monkeypatch, url):
    monkeypatch.delenv("OCPI_ALLOW_INSECURE_PARTNERS", raising=False)
    with pytest.raises(UnsafeUrl):
        await check_partner_url(url)


async def test_public_https_addresses_are_allowed(monkeypatch):
    monkeypatch.delenv("OCPI_ALLOW_INSECURE_PARTNERS", raising=False)
    await check_partner_url("https://8.8.8.8/ocpi/versions")
    await check_partner_url("https://[2001:4860:4860::8888]/ocpi/versions")


async def test_a_name_is_checked_as_it_will_be_called(monkeypatch):
    """The safety check resolves the host the call will reach (IDNA 2008, as the
    transport connects), not the IDNA 2003 spelling that maps faß.de to fass.de."""
    from ocpi.peers import urls

    resolved: list[str] = []

    async def addresses(host: str) -> list[str]:
        resolved.append(host)
        return ["8.8.8.8"]

    monkeypatch.delenv("OCPI_ALLOW_INSECURE_PARTNERS", raising=False)
    monkeypatch.setattr(urls, "_addresses", addresses)
    await check_partner_url("https://faß.de/ocpi/versions")
    await check_partner_url("https://xn--fa-hia.de/ocpi/versions")
    assert resolved == ["xn--fa-hia.de", "xn--fa-hia.de"]


async def test_the_client_refuses_before_sending(mock, monkeypatch):
    monkeypatch.delenv("OCPI_ALLOW_INSECURE_PARTNERS", raising=False)
    async with client() as c:
        with pytest.raises(PartnerError, match="not https"):
            await c.call("GET", f"{mock.url}/versions")
    assert mock.requests == []


@pytest.mark.parametrize("link,expected", [
    ('<https://p.example/l?offset=5>; rel="next"', "https://p.example/l?offset=5"),
    ('<https://p.example/l?offset=5>; type="application/json"; rel="next"',
     "https://p.example/l?offset=5"),
    ('<https://p.example/l?offset=0>; rel="prev", <https://p.example/l?offset=9>; rel=next',
     "https://p.example/l?offset=9"),
    ("</l?offset=5>; rel=\"next\"", "https://p.example/l?offset=5"),  # relative
    ('<https://p.example/l?offset=0>; rel="prev"', None),
])
def test_link_header_parsing(link, expected):
    assert next_link(httpx.Headers({"Link": link}), "https://p.example/l?offset=0") == expected


async def test_a_link_to_another_host_is_not_followed(mock):
    """Our token goes only to the host the list began on: the rest comes by offset."""
    elsewhere = PeerMock()
    with ServerThread(elsewhere.app) as other:
        mock.items = _items(10)
        mock.link_base = other  # a real server that would answer, were it asked
        notes: list[str] = []
        async with client() as c:
            got = [i async for page, _ in c.get_pages(f"{mock.url}/2.2.1/locations",
                                                      notice=notes.append) for i in page]
    assert [i["id"] for i in got] == [f"L{i}" for i in range(10)]
    assert elsewhere.requests == []
    assert [r["query"].get("offset") for r in mock.requests] == [None, "7"]
    # 127.0.0.1 on another port: named as what it is
    assert len(notes) == 1 and "another port" in notes[0] and "paging by offset" in notes[0]


class BrokenLinks(PeerMock):
    """A partner whose next-page Link cannot be followed, in a chosen way.

    ``seed``: the seed tutorials' library, which writes enum names into the path
    and ``None`` into the query (the URL answers 404); ``unreadable``: no ``<>``;
    ``loop``: the page links to itself.
    """

    def __init__(self, link: str, party: tuple[str, str, str] = ("NL", "MCK", "CPO")) -> None:
        super().__init__(party=party)
        self.link = link
        self.send_total = True
        self.ignore_offset = False

    async def list_ep(self, request: Request) -> Response:
        if self.ignore_offset:
            request = Request({**request.scope, "query_string": b""}, request.receive)
        response = await super().list_ep(request)
        if not self.send_total:
            del response.headers["x-total-count"]
        if "link" in response.headers:
            offset = int(request.query_params.get("offset", 0)) + self.page_size
            base = str(request.base_url).rstrip("/")
            response.headers["link"] = {
                "seed": f"<{base}/ocpi/cpo/VersionNumber.v_2_2_1/ModuleID.locations/"
                        f'?date_from=None&date_to=None&offset={offset}&limit=7>; rel="next"',
                "unreadable": f"{base}/2.2.1/locations?offset={offset}; rel=next",
                "loop": f'<{request.url}>; rel="next"',
                # no "next" in it at all: once taken for the last page, silently
                "garbage": "garbage;;;",
                # the seed library's https on a plain-HTTP address, same host and port
                "https": f'<{base.replace("http://", "https://")}/2.2.1/locations'
                         f'?offset={offset}>; rel="next"',
            }[self.link]
        return response


@pytest.mark.parametrize("link", ["seed", "unreadable", "loop", "garbage", "https"])
async def test_an_unusable_link_falls_back_to_offset_paging(link):
    partner = BrokenLinks(link)
    partner.items = _items(30)
    notes: list[str] = []
    with ServerThread(partner.app) as url:
        async with client() as c:
            pages = [(page, total) async for page, total in c.get_pages(
                f"{url}/2.2.1/locations", notice=notes.append)]
    got = [i["id"] for page, _ in pages for i in page]
    assert got == [f"L{i}" for i in range(30)]  # each once, in order
    assert {t for _, t in pages} == {30}
    assert [r["query"].get("offset") for r in partner.requests] == [None, "7", "14", "21", "28"]
    assert len(notes) == 1 and notes[0].endswith("paging by offset")
    if link == "https":  # the real reason, not "another host"
        assert "asks for https where the list is served over http" in notes[0]


async def test_an_unusable_link_without_a_total_is_an_error():
    partner = BrokenLinks("seed")
    partner.items = _items(10)
    partner.send_total = False
    got = []
    with ServerThread(partner.app) as url:
        async with client() as c:
            with pytest.raises(PartnerError, match="no X-Total-Count"):
                async for page, _ in c.get_pages(f"{url}/2.2.1/locations"):
                    got.extend(page)
    assert len(got) == 7


async def test_offset_paging_stops_when_the_partner_ignores_offset():
    """Never in a loop: the same page again ends the list with an error."""
    partner = BrokenLinks("loop")
    partner.items = _items(10)
    partner.ignore_offset = True
    with ServerThread(partner.app) as url:
        async with client() as c:
            with pytest.raises(PartnerError, match="ignores offset"):
                [_ async for _ in c.get_pages(f"{url}/2.2.1/locations")]
    assert len(partner.requests) == 2


async def test_an_answer_over_the_limit_is_refused_without_being_held(monkeypatch):
    """A partner answering more than ``OCPI_MAX_ANSWER_BYTES``: a Content-Length over it
    is refused before its body is read, a streamed (chunked) body as soon as it passes
    the limit; neither is retried, and a normal answer still passes."""
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    envelope = b'{"status_code": 1000, "timestamp": "2026-01-01T00:00:00Z", "data": "'

    async def declared(request: Request) -> Response:
        return Response(envelope + b"x" * 200_000 + b'"}', media_type="application/json")

    async def streamed(request: Request) -> StreamingResponse:
        async def body():  # type: ignore[no-untyped-def]
            yield envelope
            for _ in range(10_000):  # 640 MB, were it all read (no Content-Length)
                yield b"x" * 65_536
        return StreamingResponse(body(), media_type="application/json")

    async def small(request: Request) -> Response:
        return Response(envelope + b'ok"}', media_type="application/json")

    monkeypatch.setenv("OCPI_MAX_ANSWER_BYTES", "100000")
    app = Starlette(routes=[Route("/declared", declared), Route("/streamed", streamed),
                            Route("/small", small)])
    with ServerThread(app) as url:
        async with client() as c:
            with pytest.raises(PartnerError, match="over the 100,000-byte limit") as first:
                await c.call("GET", f"{url}/declared")
            assert not first.value.retryable
            with pytest.raises(PartnerError, match="over the 100,000-byte limit"):
                await c.call("GET", f"{url}/streamed")
            assert (await c.call("GET", f"{url}/small")).data == "ok"


class _CookieSetter:
    """A partner that sets a cookie on every answer and notes the cookies it is sent."""

    def __init__(self) -> None:
        self.sent: list[str | None] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        self.sent.append(dict(scope["headers"]).get(b"cookie"))
        body = b'{"status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}'
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"set-cookie", b"lb=node-7; Path=/")]})
        await send({"type": "http.response.body", "body": body})


@pytest.mark.parametrize("proxied", [False, True], ids=["lean", "httpx-transport"])
async def test_a_partners_cookies_are_not_sent_back(monkeypatch, proxied):
    """OCPI calls carry a token; a cookie a partner sets is not kept for the next call,
    on the lean transport and on httpx's own (a proxy named, our host exempted)."""
    if proxied:
        monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    partner = _CookieSetter()
    with ServerThread(partner) as url:
        async with client() as c:
            assert (c._lean is None) == proxied
            for _ in range(3):
                assert (await c.call("PUT", f"{url}/2.2.1/sessions/NL/OCP/S1", body={})).ok
    assert partner.sent == [None, None, None]

"""The console's frame: login, the session cookie, CSRF, errors as HTML, assets, layers."""

import ast
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ocpi import get_application
from ocpi.console import security

from .conftest import OPERATOR
from .console_helpers import BASE, ConsoleNode, console_node, secret_key  # noqa: F401
from .servers import ServerThread

SRC = Path(__file__).resolve().parent.parent / "src" / "ocpi"


@pytest.fixture
async def console(database_url: str, secret_key: str) -> AsyncIterator[ConsoleNode]:  # noqa: F811
    async for c in console_node(database_url, public_url="http://testserver"):
        yield c


def _is_html_page(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<!doctype html>")
    assert "detail" not in response.text and "status_code" not in response.text
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp


async def test_without_a_session_every_page_goes_to_the_login(console: ConsoleNode):
    for path in ("/console", "/console/partners"):
        r = await console.client.get(path)
        assert r.status_code == 303
        assert r.headers["location"].endswith("/console/login") or path == "/console"
    r = await console.client.get("/console/login")
    assert r.status_code == 200
    _is_html_page(r)
    assert '<label for="token">' in r.text


async def test_a_live_region_without_a_session_sends_the_whole_page_to_the_login(
        console: ConsoleNode):
    r = await console.client.get("/console/partners", headers={"HX-Request": "true"})
    assert r.status_code == 204
    assert r.headers["hx-redirect"] == "/console/login"


async def test_the_operator_token_opens_the_console_with_a_strict_cookie(console: ConsoleNode):
    r = await console.login()
    assert r.status_code == 303 and r.headers["location"] == "/console/partners"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("ocpi_console=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/console"} <= flags
    assert "secure" not in flags  # plain http here; see the TLS test below
    assert OPERATOR not in cookie
    page = await console.client.get("/console/partners")
    assert page.status_code == 200
    _is_html_page(page)
    assert "<h1>Partners</h1>" in page.text
    assert 'aria-current="page"' in page.text


async def test_a_wrong_token_and_a_partners_token_are_refused(console: ConsoleNode):
    partner_token = (await console.node.registry.add_peer("DE", "ABC", "EMSP"))[1]
    for token in ("nope", partner_token, OPERATOR + "x", ""):
        r = await console.login(token)
        assert r.status_code == 401, token
        assert "set-cookie" not in r.headers
        _is_html_page(r)
        assert "not the operator token" in r.text
        assert (await console.client.get("/console/partners")).status_code == 303
    # and a partner's token is no way in through the API's header either
    r = await console.client.get("/console/partners",
                                 headers={"Authorization": f"Token {partner_token}"})
    assert r.status_code == 303


async def test_guessing_tokens_is_throttled(console: ConsoleNode):
    for _ in range(security.MAX_FAILED_LOGINS):
        assert (await console.login("a-guess")).status_code == 401
    r = await console.login(OPERATOR)  # even the right one, until the minute passed
    assert r.status_code == 429 and "Too many wrong tokens" in r.text
    assert "set-cookie" not in r.headers


async def test_over_tls_the_cookie_is_secure(database_url: str, secret_key: str):  # noqa: F811
    app = get_application(database_url=database_url, operator_token=OPERATOR, deliver=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="https://node.example") as client:
        r = await client.post("/console/login", data={"token": OPERATOR},
                              headers={"Origin": "https://node.example"})
        assert r.status_code == 303
        assert "secure" in r.headers["set-cookie"].lower()
        assert (await client.get("/console/partners")).status_code == 200
    await app.state.node.db.dispose()


def test_behind_a_trusted_tls_proxy_the_cookie_is_secure(tmp_path: Path,
                                                         secret_key: str):  # noqa: F811
    """Served for real by uvicorn, which takes the scheme from X-Forwarded-Proto only
    from the proxies it trusts (FORWARDED_ALLOW_IPS, by default this host)."""
    app = get_application(database_url=f"sqlite:///{tmp_path / 'n.db'}",
                          operator_token=OPERATOR, deliver=False)
    with ServerThread(app) as url:
        host = url.removeprefix("http://")
        proxied = {"X-Forwarded-Proto": "https", "Origin": f"https://{host}"}
        r = httpx.post(f"{url}/console/login", data={"token": OPERATOR}, headers=proxied)
        assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()
        # the browser's page was https, the form names http: another origin
        r = httpx.post(f"{url}/console/login", data={"token": OPERATOR},
                       headers={**proxied, "Origin": f"http://{host}"})
        assert r.status_code == 403
        r = httpx.post(f"{url}/console/login", data={"token": OPERATOR},
                       headers={"Origin": f"http://{host}"})
        assert r.status_code == 303 and "secure" not in r.headers["set-cookie"].lower()


async def test_a_forged_or_tampered_cookie_opens_nothing(console: ConsoleNode):
    await console.login()
    good = console.client.cookies.get("ocpi_console")
    assert good
    payload, stamp, mac = good.rsplit(".", 2)
    for forged in (f"{payload}.{stamp}.{'0' * len(mac)}", f"x{payload}.{stamp}.{mac}",
                   "a.b.c", "x" * 5000):
        console.client.cookies.set("ocpi_console", forged, path="/console")
        assert (await console.client.get("/console/partners")).status_code == 303


async def test_logout_ends_the_session_even_for_a_copied_cookie(console: ConsoleNode):
    await console.login()
    copied = console.client.cookies.get("ocpi_console")
    r = await console.act("/console/logout")
    assert r.status_code == 303 and r.headers["location"] == "/console/login"
    assert 'ocpi_console=""' in r.headers["set-cookie"] or "max-age=0" in \
        r.headers["set-cookie"].lower()
    console.client.cookies.set("ocpi_console", copied, path="/console")
    assert (await console.client.get("/console/partners")).status_code == 303


async def test_a_session_ends_when_the_operator_token_changes(database_url: str,
                                                              secret_key: str):  # noqa: F811
    async for first in console_node(database_url):
        await first.login()
        cookie = first.client.cookies.get("ocpi_console")
    app = get_application(database_url=database_url, operator_token="a-new-operator-token",
                          deliver=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url=BASE) as client:
        client.cookies.set("ocpi_console", cookie, path="/console")
        assert (await client.get("/console/partners")).status_code == 303
    await app.state.node.db.dispose()


async def test_an_action_needs_the_sessions_csrf_token_and_our_origin(console: ConsoleNode):
    await console.node.registry.add_peer("DE", "ABC", "EMSP", name="abc")
    await console.login()
    csrf = await console.csrf()
    form = {"name": "abc", "delivery": "every-message"}
    refused = [
        ({**form}, {}),  # no token
        ({**form, "csrf": "0" * 64}, {}),  # a wrong one
        ({**form, "csrf": csrf}, {"Origin": "https://evil.example"}),
        ({**form, "csrf": csrf}, {"Origin": "null"}),
        ({**form, "csrf": csrf}, {"Referer": "https://evil.example/page"}),
    ]
    for data, headers in refused:
        r = await console.client.post("/console/partners/delivery", data=data, headers=headers)
        assert r.status_code == 403, (data, headers)
        _is_html_page(r)
        assert (await console.node.registry.get("abc")).profile.delivery == "latest-state"
    r = await console.client.post("/console/partners/delivery", data={**form, "csrf": csrf},
                                  headers={"Origin": BASE})
    assert r.status_code == 303
    assert (await console.node.registry.get("abc")).profile.delivery == "every-message"
    # a token from another session is no good either
    await console.login()
    r = await console.client.post("/console/partners/delivery", data={**form, "csrf": csrf})
    assert r.status_code == 403


async def test_login_from_another_origin_is_refused(console: ConsoleNode):
    r = await console.client.post("/console/login", data={"token": OPERATOR},
                                  headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert "set-cookie" not in r.headers


async def test_errors_below_the_console_are_html_pages(console: ConsoleNode):
    r = await console.client.get("/console/nothing/here")
    assert r.status_code == 404
    _is_html_page(r)
    await console.login()
    for method, path in (("GET", "/console/nothing"), ("DELETE", "/console/partners"),
                         ("GET", "/console/static/..%2F..%2Fsecret.key"),
                         ("GET", "/console/static/nothing.js")):
        r = await console.client.request(method, path)
        assert r.status_code == 404, (method, path)
        _is_html_page(r)
        assert "Log out" in r.text  # the menu stays for a logged-in operator
    # bad input: too long, not a choice, not a form, too big
    csrf = await console.csrf()
    for data in ({"csrf": csrf, "name": "x" * 5000, "delivery": "latest-state"},
                 {"csrf": csrf, "name": "abc", "delivery": "sometimes"}):
        await console.node.registry.add_peer("DE", "ABC", "EMSP", name="abc") \
            if await console.node.registry.get("abc") is None else None
        r = await console.client.post("/console/partners/delivery", data=data)
        assert r.status_code == 400
        _is_html_page(r)
    r = await console.client.post("/console/partners/delivery", content=b'{"csrf": 1}',
                                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = await console.client.post("/console/partners/delivery",
                                  content=b"csrf=" + b"a" * 40_000,
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
    _is_html_page(r)
    r = await console.client.post("/console/partners/delivery",
                                  data={"csrf": csrf, "name": "nobody",
                                        "delivery": "latest-state"})
    assert r.status_code == 404
    _is_html_page(r)


async def test_the_assets_are_served_from_the_package(console: ConsoleNode):
    for name, kind in (("htmx.min.js", "javascript"), ("console.js", "javascript"),
                       ("console.css", "text/css"), ("htmx.LICENSE.txt", "text/plain")):
        r = await console.client.get(f"/console/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"], name
        assert r.headers["x-content-type-options"] == "nosniff"
    page = (await console.client.get("/console/login")).text
    assert "<script>" not in page and "style=" not in page and "http" not in \
        page.split("<body>")[0].replace('http-equiv', '')  # nothing from elsewhere


async def test_an_action_says_how_it_went_once(console: ConsoleNode):
    await console.node.registry.add_peer("DE", "ABC", "EMSP", name="abc")
    await console.login()
    r = await console.act("/console/partners/delivery", name="abc", delivery="every-message")
    assert r.status_code == 303 and r.headers["location"] == "/console/partners"
    page = await console.client.get("/console/partners")
    assert "abc: delivery mode is now every-message." in page.text
    again = await console.client.get("/console/partners")
    assert "delivery mode is now" not in again.text


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_only_the_app_builds_on_the_console():
    for path in SRC.rglob("*.py"):
        if "console" in path.parts or path.name == "app.py":
            continue
        names = _imports(path)
        assert not any("console" in n for n in names), path


def test_the_macros_a_page_builds_with(tmp_path: Path, secret_key: str):  # noqa: F811
    from starlette.requests import Request

    from ocpi.console.web import Console, Ctx

    app = get_application(database_url=f"sqlite:///{tmp_path / 'n.db'}",
                          operator_token=OPERATOR, deliver=False)
    console = Console(app.state.node, [], OPERATOR)
    request = Request({"type": "http", "method": "GET", "path": "/console/x", "headers": [],
                       "query_string": b""})
    c = Ctx(request, app.state.node, None, None, console)
    template = console.env.from_string(
        '{% import "macros.html" as m with context %}'
        '{{ m.table("Tokens", ["UID", "Owner"], rows) }}'
        '{{ m.table("None", ["A"], []) }}'
        '{{ m.action("/console/x/do", "Do it", {"uid": "<u>"}) }}'
        '{% call m.live("r", "/console/x/live", 4) %}inside{% endcall %}')
    out = template.render(c=c, csrf="tok", rows=[["<b>1</b>", "NL*ABC"]])
    assert '<th scope="col">UID</th>' in out and "&lt;b&gt;1&lt;/b&gt;" in out
    assert "<caption>Tokens</caption>" in out and "Nothing to show." in out
    assert 'name="csrf" value="tok"' in out and 'value="&lt;u&gt;"' in out
    assert 'hx-trigger="every 4s"' in out and 'aria-live="polite"' in out and "inside" in out

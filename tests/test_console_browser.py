"""The console in a real browser: Debian's Chromium, driven by Playwright, against a
real ``ocpi serve --demo`` (simulated chargers) and a partner platform served over HTTP.

An operator logs in, sees the partner failing once its endpoint is stopped,
retries a dead letter, watches a session started on the simulated charger grow
without reloading the page, and, once it is stopped, its CDR delivered.

The session is started and stopped by the partner's own commands over the API
(START_SESSION / STOP_SESSION to our CPO), as an eMSP would: the console has
no Commands page yet. When it has one (sending from our eMSP side), a second
node as eMSP could send them from the browser instead.

The browser is the system's (``/usr/bin/chromium``; ``make test`` installs it);
nothing is ever downloaded. Screenshots go to ``OCPI_CONSOLE_SCREENSHOTS`` when
set (``OCPI_CONSOLE_SCREENSHOTS=docs/console`` refreshes the documentation's),
else to the test's temporary directory.
"""

import asyncio
import base64
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ocpi.peers.credentials import Party
from ocpi.peers.registry import Registry
from ocpi.store.database import Database

from .browser import launch, screenshots
from .conftest import OPERATOR
from .servers import ServerThread, wait_serving
from .test_cli import OCPI, free_port

VIEWPORT = {"width": 1280, "height": 800}
WAIT_MS = 30_000


class Platform:
    """The partner (an eMSP, DE*MSP): accepts what we send, or refuses it (400/2001)."""

    def __init__(self) -> None:
        self.refuse = False
        self.received: list[tuple[str, str]] = []
        self.app = Starlette(routes=[Route("/{path:path}", self.endpoint,
                                           methods=["GET", "PUT", "PATCH", "POST"])])

    async def endpoint(self, request: Request) -> JSONResponse:
        await request.body()
        if self.refuse:
            return JSONResponse({"status_code": 2001, "status_message": "we refuse this",
                                 "timestamp": "2026-01-01T00:00:00Z"}, status_code=400)
        self.received.append((request.method, request.url.path))
        return JSONResponse({"status_code": 1000, "status_message": "ok",
                             "timestamp": "2026-01-01T00:00:00Z"})


async def _register(database_url: str, url: str) -> str:
    """The partner registered as a handshake leaves it; its token to call us with."""
    db = Database(database_url)
    try:
        registry = Registry(db)
        peer, token = await registry.add_peer("DE", "MSP", "EMSP", name="msp")
        await registry.update_peer(peer.id, state="registered", version="2.2.1",
                                   token_out="token-for-msp",
                                   parties=[Party("EMSP", "DE", "MSP", {})], endpoints=[
                                       {"identifier": m, "role": "RECEIVER",
                                        "url": f"{url}/ocpi/emsp/2.2.1/{m}"}
                                       for m in ("sessions", "cdrs")])
        return token
    finally:
        await db.dispose()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, str]]:
    """``ocpi serve --demo`` on SQLite: its URL, its log and the database URL."""
    database_url = f"sqlite:///{tmp_path / 'node.db'}"
    port = free_port()
    env = {**os.environ, "OCPI_OPERATOR_TOKEN": OPERATOR,
           "OCPI_ALLOW_INSECURE_PARTNERS": "1", "OCPI_SIMULATOR_SECONDS": "1",
           "OCPI_OUTBOX_POLL": "0.2", "OCPI_OUTBOX_RETRY_BASE": "0.2",
           "OCPI_OUTBOX_RETRY_MAX": "1"}
    log = tmp_path / "serve.log"
    with log.open("wb") as err:
        proc = subprocess.Popen([*OCPI, "serve", "--demo", "--database", database_url,
                                 "--port", str(port)],
                                stdout=subprocess.DEVNULL, stderr=err, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_serving(url, proc, log.read_text)
        yield url, log, database_url
    finally:
        proc.terminate()
        proc.wait(10)
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]


def _command(url: str, token: str, command: str, body: dict[str, Any]) -> dict[str, Any]:
    header = "Token " + base64.b64encode(token.encode()).decode()
    r = httpx.post(f"{url}/ocpi/cpo/2.2.1/commands/{command}", json=body,
                   headers={"Authorization": header}, timeout=10)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


def _kwh(page: Page) -> float:
    return float(page.locator("#running td.kwh").first.inner_text())


def test_the_console_in_a_real_browser(served: tuple[str, Path, str], tmp_path: Path):
    url, _log, database_url = served
    shots = screenshots(tmp_path)
    platform = Platform()
    partner_port = free_port()
    partner = ServerThread(platform.app, port=partner_port)
    partner_url = partner.__enter__()
    token = asyncio.run(_register(database_url, partner_url))
    problems: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = launch(pw)
            page = browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(WAIT_MS)
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            # log in; a partner's token does not open it
            page.goto(f"{url}/console")
            expect(page.get_by_role("heading", name="Log in")).to_be_visible()
            page.screenshot(path=shots / "login.png")
            page.get_by_label("Operator token").fill(token)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_text("That is not the operator token.")).to_be_visible()
            page.get_by_label("Operator token").fill(OPERATOR)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("heading", name="Partners", exact=True)).to_be_visible()
            expect(page.get_by_role("heading", name=re.compile(r"^msp"))).to_be_visible()

            # a session started by the partner's command on the simulated charger
            started = _command(url, token, "START_SESSION", {
                "response_url": f"{partner_url}/ocpi/emsp/2.2.1/commands/START_SESSION/1",
                "token": {"country_code": "DE", "party_id": "MSP", "uid": "TOK1",
                          "type": "RFID", "contract_id": "DE-MSP-C00001", "issuer": "MSP",
                          "valid": True, "whitelist": "ALLOWED",
                          "last_updated": "2026-01-01T00:00:00Z"},
                "location_id": "DEMO-1", "evse_uid": "DEMO-1-1", "connector_id": "1"})
            assert started["result"] == "ACCEPTED"
            page.get_by_role("link", name="Sessions").click()
            row = page.locator("#running tbody tr").first
            expect(row).to_contain_text("SIM-")
            expect(row).to_contain_text("DE*MSP")
            before = _kwh(page)
            # the live region refreshes the kWh without a reload
            page.evaluate("window.notReloaded = true")
            page.wait_for_function(
                "k => parseFloat(document.querySelector('#running td.kwh').textContent) > k",
                arg=before)
            assert page.evaluate("window.notReloaded") is True
            assert _kwh(page) > before
            session_id = page.locator("#running tbody th a").first.inner_text()
            page.screenshot(path=shots / "sessions.png")

            # the partner's endpoint stops: its deliveries fail, and the console says so
            partner.__exit__(None, None, None)
            page.get_by_role("link", name="Partners").click()
            for _ in range(60):
                if page.get_by_text("Delivery failing").count():
                    break
                time.sleep(0.5)
                page.reload()
            expect(page.get_by_text("Delivery failing")).to_be_visible()
            expect(page.locator("article.failing")).to_contain_text("msp")
            page.screenshot(path=shots / "partners.png")

            # back, but refusing: the messages become dead letters with its answer
            platform.refuse = True
            partner = ServerThread(platform.app, port=partner_port)
            partner.__enter__()
            page.get_by_role("link", name="Outbox").click()
            for _ in range(60):
                if page.get_by_role("button", name="Retry", exact=True).count():
                    break
                time.sleep(0.5)
                page.reload()
            expect(page.locator("table").last).to_contain_text("we refuse this")
            page.screenshot(path=shots / "outbox.png")
            platform.refuse = False
            seen = len(platform.received)
            page.get_by_role("button", name="Retry", exact=True).first.click()
            expect(page.get_by_role("status")).to_contain_text("is back in its partner's queue")
            for _ in range(60):
                if len(platform.received) > seen:
                    break
                time.sleep(0.25)
            assert any("/sessions/" in path for _, path in platform.received[seen:])

            # stopped: the session completes and its CDR reaches the partner
            stopped = _command(url, token, "STOP_SESSION", {
                "response_url": f"{partner_url}/ocpi/emsp/2.2.1/commands/STOP_SESSION/2",
                "session_id": session_id})
            assert stopped["result"] == "ACCEPTED"
            page.get_by_role("link", name="Sessions").click()
            expect(page.locator("#running")).to_contain_text("No session is running")
            page.reload()
            page.get_by_role("link", name=session_id).first.click()
            expect(page.get_by_role("heading", name=f"Session {session_id}")).to_be_visible()
            expect(page.get_by_role("heading", name=f"CDR {session_id}")).to_be_visible()
            for _ in range(60):
                if page.get_by_role("cell", name="delivered").count():
                    break
                time.sleep(0.5)
                page.reload()
            expect(page.get_by_role("cell", name="delivered")).to_be_visible()
            assert any(m == "POST" and "/cdrs" in p for m, p in platform.received)
            page.screenshot(path=shots / "session.png")

            # the phone's view still works
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.context.add_cookies(page.context.cookies())
            phone.goto(f"{url}/console/partners")
            expect(phone.get_by_role("heading", name="Partners", exact=True)).to_be_visible()
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, width  # no sideways scrolling of the whole page
            phone.screenshot(path=shots / "phone.png")

            # logging out closes it
            page.get_by_role("button", name="Log out").click()
            expect(page.get_by_role("heading", name="Log in")).to_be_visible()
            page.goto(f"{url}/console/outbox")
            expect(page.get_by_role("heading", name="Log in")).to_be_visible()
            browser.close()
    finally:
        partner.__exit__(None, None, None)
    # no script error, no Content-Security-Policy refusal, nothing missing (the wrong
    # token's login page is the one answer that is not a 2xx)
    assert [p for p in problems if "status of 401" not in p] == [], problems

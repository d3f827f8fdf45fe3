"""The Locations, Tokens, Tariffs, CDRs, Commands and Charts pages in a real browser
(Debian's Chromium driven by Playwright), on a node served over HTTP with real data:
an operator filters Locations by EVSE status and opens one, retries a held CDR,
sends START_SESSION to a CPO partner (another node, served too) and sees its
result arrive without reloading the page, and reads the charts; no script error
and no Content-Security-Policy refusal on any of them.

Screenshots go to ``OCPI_CONSOLE_SCREENSHOTS`` when set (``docs/console``
refreshes the documentation's), else to the test's temporary directory.
"""

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import expect, sync_playwright

from ocpi import get_application
from ocpi.outbox.worker import Backoff, OutboxWorker
from ocpi.peers.credentials import Party
from ocpi.peers.registry import Registry
from ocpi.services import commands
from ocpi.store.database import Database

from .browser import launch, screenshots
from .conftest import OPERATOR, auth, dumps, example, op
from .receiver import Receiver
from .servers import ServerThread
from .test_cli import free_port
from .test_commands import Hook
from .test_commands import location as command_location
from .test_console_pages import location

VIEWPORT = {"width": 1280, "height": 860}
WAIT_MS = 30_000
US, MSP, CPO = ("NL", "OCP"), ("DE", "MSP"), ("FR", "CPX")
STAMP = "2026-01-01T00:00:00Z"


def _put(url: str, path: str, obj: dict[str, Any], headers: dict[str, str] | None = None
         ) -> None:
    r = httpx.put(f"{url}{path}", content=dumps(obj), timeout=10,
                  headers={**(headers or op()), "Content-Type": "application/json"})
    assert r.status_code in (200, 201) and r.json()["status_code"] == 1000, r.text


TARIFF = {"country_code": "NL", "party_id": "OCP", "id": "T-ENERGY", "currency": "EUR",
          "last_updated": STAMP, "elements": [
              {"price_components": [{"type": "ENERGY", "price": 0.35, "vat": 21,
                                     "step_size": 1}],
               "restrictions": {"start_time": "07:00", "end_time": "22:00"}},
              {"price_components": [{"type": "ENERGY", "price": 0.25, "vat": 21,
                                     "step_size": 1}]}]}


def _session(sid: str, location_id: str, kwh: float, started: datetime) -> dict[str, Any]:
    end = started + timedelta(hours=1)
    text = "%Y-%m-%dT%H:%M:%SZ"
    return {"country_code": "NL", "party_id": "OCP", "id": sid,
            "start_date_time": started.strftime(text), "end_date_time": end.strftime(text),
            "kwh": kwh, "auth_method": "WHITELIST", "location_id": location_id,
            "evse_uid": f"{location_id}-E0", "connector_id": "1", "currency": "EUR",
            "cdr_token": {"country_code": "DE", "party_id": "MSP", "uid": "TOK9",
                          "type": "RFID", "contract_id": "DE-MSP-C00009"},
            "status": "COMPLETED", "last_updated": end.strftime(text)}


async def _register(our_db_url: str, cpo_db_url: str, us_url: str, cpo_url: str,
                    msp_url: str) -> str:
    """Our node registered with the CPO node and the DE*MSP platform, as handshakes leave
    them; the CPO's token to call us with."""
    ours, theirs = Database(our_db_url), Database(cpo_db_url)
    try:
        reg, cpo_reg = Registry(ours), Registry(theirs)
        at_cpo, our_token = await cpo_reg.add_peer(*US, "EMSP", name="ocp")
        cpo, cpo_token = await reg.add_peer(*CPO, "CPO", name="cpx")
        await cpo_reg.update_peer(at_cpo.id, version="2.2.1", token_out=cpo_token,
                                  parties=[Party("EMSP", *US, {})], endpoints=[
                                      {"identifier": "commands", "role": "SENDER",
                                       "url": f"{us_url}/ocpi/emsp/2.2.1/commands"}])
        await reg.update_peer(cpo.id, version="2.2.1", token_out=our_token,
                              parties=[Party("CPO", *CPO, {})], endpoints=[
                                  {"identifier": "commands", "role": "RECEIVER",
                                   "url": f"{cpo_url}/ocpi/cpo/2.2.1/commands"}])
        msp, _ = await reg.add_peer(*MSP, "EMSP", name="msp")
        await reg.update_peer(msp.id, version="2.2.1", token_out="token-for-msp",
                              parties=[Party("EMSP", *MSP, {})], endpoints=[
                                  {"identifier": m, "role": "RECEIVER",
                                   "url": f"{msp_url}/ocpi/emsp/2.2.1/{m}"}
                                  for m in ("locations", "sessions", "tariffs", "cdrs")])
        return cpo_token
    finally:
        await ours.dispose()
        await theirs.dispose()


async def _drain(database_url: str, party: tuple[str, str]) -> None:
    db = Database(database_url)
    try:
        worker = OutboxWorker(db, from_party=party, backoff=Backoff(base=0.01, cap=0.05))
        for _ in range(5):
            await worker.drain_once()
    finally:
        await db.dispose()


async def _report(database_url: str, command_id: int) -> None:
    """The CPO's Charge Point started: its result, delivered to our response_url."""
    db = Database(database_url)
    try:
        await commands.report_result(db, command_id, "ACCEPTED", "charging now")
    finally:
        await db.dispose()
    await _drain(database_url, CPO)


def _disputed_cdr(url: str, token: str) -> None:
    """A CDR from the CPO partner that costs more than its own tariff says."""
    h = auth(token)
    tariff = {**TARIFF, "country_code": "FR", "party_id": "CPX", "id": "T-CPX",
              "elements": [{"price_components": [{"type": "ENERGY", "price": 0.25,
                                                  "step_size": 1}]}]}
    _put(url, "/ocpi/emsp/2.2.1/tariffs/FR/CPX/T-CPX", tariff, headers=h)
    cdr = {**example("2.2.1", "cdr_example.json"), "country_code": "FR", "party_id": "CPX",
           "id": "CPX-C7", "tariffs": [tariff], "currency": "EUR",
           "start_date_time": "2026-12-01T10:00:00Z", "end_date_time": "2026-12-01T11:00:00Z",
           "charging_periods": [{"start_date_time": "2026-12-01T10:00:00Z", "dimensions": [
               {"type": "ENERGY", "volume": 20}], "tariff_id": "T-CPX"}],
           "total_energy": 20, "total_time": 1,
           "total_cost": {"excl_vat": 6.0, "incl_vat": 6.0}}
    r = httpx.post(f"{url}/ocpi/emsp/2.2.1/cdrs", content=dumps(cdr), timeout=10,
                   headers={**h, "Content-Type": "application/json"})
    assert "disputed" in r.json()["status_message"], r.text


@pytest.fixture
def nodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
          ) -> Iterator[tuple[str, str, str, Hook, Receiver]]:
    """Our node and a CPO node served over HTTP, and the DE*MSP platform receiving."""
    monkeypatch.setenv("OCPI_SECRET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("OCPI_ALLOW_INSECURE_PARTNERS", "1")
    ours_db, cpo_db = f"sqlite:///{tmp_path / 'ours.db'}", f"sqlite:///{tmp_path / 'cpo.db'}"
    port = free_port()
    us_url = f"http://127.0.0.1:{port}"
    app = get_application(database_url=ours_db, operator_token=OPERATOR, country_code=US[0],
                          party_id=US[1], public_url=us_url, deliver=False)
    cpo_app = get_application(database_url=cpo_db, operator_token=OPERATOR,
                              country_code=CPO[0], party_id=CPO[1], deliver=False)
    hook = Hook()
    cpo_app.state.node.command_handler = hook
    with ServerThread(app, port=port), ServerThread(cpo_app) as cpo_url, Receiver() as msp:
        httpx.get(f"{us_url}/ocpi/versions", timeout=10)
        httpx.get(f"{cpo_url}/ocpi/versions", timeout=10)
        cpo_token = asyncio.run(_register(ours_db, cpo_db, us_url, cpo_url, msp.url))
        _put(cpo_url, "/ocpi/cpo/2.2.1/locations/FR/CPX/LOC1", command_location(CPO))
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        _put(us_url, "/ocpi/cpo/2.2.1/tariffs/NL/OCP/T-ENERGY", TARIFF)
        for loc in (location(US, "LOC-CENTRAL", ["AVAILABLE", "CHARGING", "CHARGING",
                                                 "OUTOFORDER"], "Central station"),
                    location(US, "LOC-HARBOUR", ["AVAILABLE", "AVAILABLE"], "Harbour"),
                    location(US, "LOC-PARK", ["RESERVED"], "Park and ride")):
            for evse in loc["evses"]:
                evse["connectors"][0]["tariff_ids"] = ["T-ENERGY"]
            _put(us_url, f"/ocpi/cpo/2.2.1/locations/NL/OCP/{loc['id']}", loc)
        bare = location(US, "LOC-NEW", ["PLANNED"], "Not priced yet")
        bare["evses"][0]["connectors"][0]["tariff_ids"] = []
        _put(us_url, "/ocpi/cpo/2.2.1/locations/NL/OCP/LOC-NEW", bare)
        for uid, valid in (("TOK1", True), ("TOK2", True), ("LOST7", False)):
            _put(us_url, f"/ocpi/emsp/2.2.1/tokens/NL/OCP/{uid}", {
                "country_code": "NL", "party_id": "OCP", "uid": uid, "type": "RFID",
                "contract_id": f"NL-OCP-C{uid}", "issuer": "OCP Mobility", "valid": valid,
                "whitelist": "ALLOWED", "last_updated": STAMP})
        for i, (kwh, days_ago) in enumerate([(12.5, 0), (30.1, 0), (8.2, 1), (22, 2),
                                             (41.7, 4), (5.5, 5), (18, 6)]):
            started = now - timedelta(days=days_ago, hours=2)
            _put(us_url, f"/ocpi/cpo/2.2.1/sessions/NL/OCP/S-{i}",
                 _session(f"S-{i}", "LOC-CENTRAL", kwh, started))
        _put(us_url, "/ocpi/cpo/2.2.1/sessions/NL/OCP/S-HELD",
             _session("S-HELD", "LOC-NEW", 9.5, now - timedelta(hours=3)))
        _disputed_cdr(us_url, cpo_token)
        asyncio.run(_drain(ours_db, US))
        yield us_url, cpo_url, cpo_db, hook, msp


def test_the_remaining_pages_in_a_real_browser(nodes, tmp_path: Path):
    url, _cpo_url, cpo_db, hook, msp = nodes
    assert msp.objects  # the charts have deliveries to show
    shots = screenshots(tmp_path)
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(WAIT_MS)
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: d.accept())
        page.goto(f"{url}/console/login")
        page.get_by_label("Operator token").fill(OPERATOR)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Partners", exact=True)).to_be_visible()

        # Locations: the EVSEs per status; filtered; one with its EVSEs
        page.get_by_role("link", name="Locations").click()
        expect(page.locator("tbody tr")).to_have_count(4)
        expect(page.locator("tbody tr", has_text="LOC-CENTRAL")).to_contain_text("2 CHARGING")
        page.screenshot(path=shots / "locations.png", full_page=True)
        page.get_by_label("EVSE status").select_option("CHARGING")
        page.get_by_role("button", name="Show").click()
        expect(page.locator("tbody tr")).to_have_count(1)
        page.get_by_role("link", name="LOC-CENTRAL").click()
        expect(page.get_by_role("heading", name=re.compile("Location LOC-CENTRAL"))
               ).to_be_visible()
        expect(page.locator("tbody tr")).to_have_count(4)
        page.screenshot(path=shots / "location.png", full_page=True)

        page.get_by_role("link", name="Tokens").click()
        expect(page.locator("tbody tr")).to_have_count(3)
        page.screenshot(path=shots / "tokens.png", full_page=True)
        page.get_by_role("link", name="Tariffs").click()
        expect(page.locator("tbody tr", has_text="T-ENERGY")).to_contain_text("ENERGY 0.35")
        page.screenshot(path=shots / "tariffs.png", full_page=True)

        # CDRs: the held session and its reason; a retry says it is still held
        page.get_by_role("link", name="CDRs").click()
        held = page.locator("section", has=page.locator("#held-h"))
        expect(held.locator("tbody tr")).to_contain_text("no tariff")
        held.get_by_role("button", name="Retry", exact=True).click()
        expect(page.get_by_role("alert")).to_contain_text("Still held: S-HELD")
        expect(page.locator("tbody tr", has_text="CPX-C7")).to_contain_text("disputed")
        page.screenshot(path=shots / "cdrs.png", full_page=True)

        # Commands: START_SESSION to the CPO; its result arrives while the page is open
        page.get_by_role("link", name="Commands").click()
        form = page.locator("details", has_text="Start a session")
        form.get_by_label("Our token's UID").fill("TOK1")
        form.get_by_label("Location (required)").fill("LOC1")
        form.get_by_label("EVSE UID").fill("EVSE1")
        form.get_by_label("Connector").fill("1")
        form.get_by_role("button", name="Start session").click()
        expect(page.get_by_role("status")).to_contain_text("START_SESSION sent to cpx: ACCEPTED")
        expect(page.locator("#command-state")).to_contain_text("awaiting the result")
        page.evaluate("window.notReloaded = true")
        [asked] = hook.seen
        with ThreadPoolExecutor(1) as aside:  # Playwright's own loop runs in this thread
            aside.submit(asyncio.run, _report(cpo_db, asked["id"])).result()
        expect(page.locator("#command-state")).to_contain_text("charging now")
        assert page.evaluate("window.notReloaded") is True
        page.screenshot(path=shots / "command.png", full_page=True)
        page.get_by_role("link", name="All commands").click()
        expect(page.locator("tbody tr")).to_have_count(1)
        page.screenshot(path=shots / "commands.png", full_page=True)

        page.get_by_role("link", name="Charts").click()
        expect(page.locator("svg.chart")).to_have_count(4)  # msp, cpx, sessions, kWh
        expect(page.locator(".chart-block strong", has_text="msp:")).to_contain_text("delivered")
        page.screenshot(path=shots / "charts.png", full_page=True)

        # a phone: the pages fit its width (tables scroll inside themselves)
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.context.add_cookies(page.context.cookies())
        for path in ("locations", "commands", "cdrs", "charts"):
            phone.goto(f"{url}/console/{path}")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (path, width)
        browser.close()
    assert problems == [], problems

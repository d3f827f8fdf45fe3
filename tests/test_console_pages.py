"""The console's Locations, Tokens, Commands, Tariffs, CDRs and Charts pages on real
data in the node's store (SQLite and PostgreSQL), through the app's own routes.

A command is sent from the console to a real CPO node served over HTTP, whose
result comes back to our response_url; a held CDR is built again from the
console once its tariff exists."""

import html
import re
from collections.abc import AsyncIterator
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.services import commands
from ocpi.store.sql_store import SqlStore

from .conftest import auth, body, dumps, example, op
from .console_helpers import BASE, ConsoleNode, console_node, secret_key  # noqa: F401
from .outbox_helpers import receiving_partner, write
from .outbox_helpers import session as outbox_session
from .outbox_helpers import worker as outbox_worker
from .receiver import Receiver
from .test_cdrs import TARIFF as CDR_TARIFF
from .test_cdrs import location as cdr_location
from .test_cdrs import session as cdr_session
from .test_commands import drain, pair

STAMP = "2026-01-01T00:00:00Z"
US, PARTNER = ("NL", "OCP"), ("DE", "ABC")


def location(party: tuple[str, str], id_: str, statuses: list[str],
             name: str = "Station") -> dict[str, Any]:
    return {"country_code": party[0], "party_id": party[1], "id": id_, "publish": True,
            "name": name, "address": "Street 1", "city": "Town", "postal_code": "1234AB",
            "country": "NLD", "time_zone": "Europe/Amsterdam", "last_updated": STAMP,
            "coordinates": {"latitude": "52.370216", "longitude": "4.895168"},
            "evses": [{"uid": f"{id_}-E{i}", "evse_id": f"NL*OCP*E{id_}{i}", "status": s,
                       "last_updated": STAMP,
                       "connectors": [{"id": "1", "standard": "IEC_62196_T2",
                                       "format": "SOCKET", "power_type": "AC_3_PHASE",
                                       "max_voltage": 230, "max_amperage": 32,
                                       "tariff_ids": ["T1"], "last_updated": STAMP}]}
                      for i, s in enumerate(statuses)]}


async def put(c: ConsoleNode, module: ModuleID, role: RoleEnum, data: dict[str, Any]) -> None:
    await c.node.crud.create(module, role, deepcopy(data), country_code=data["country_code"],
                             party_id=data["party_id"])


async def text_of(c: ConsoleNode, path: str, expect: int = 200, **params: Any) -> str:
    r = await c.client.get(path, params=params) if params else await c.client.get(path)
    assert r.status_code == expect, r.text
    assert r.headers["content-type"].startswith("text/html")
    return html.unescape(r.text)


def rows(page: str) -> list[str]:
    """The table rows of a page's body (the header row left out)."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return re.findall(r"<tr>.*?</tr>", body, re.S)


@pytest.fixture
async def console(database_url: str, secret_key: str  # noqa: F811
                  ) -> AsyncIterator[ConsoleNode]:
    async for c in console_node(database_url, public_url="http://testserver"):
        await c.login()
        yield c


# --- Locations -----------------------------------------------------------------------

async def test_locations_list_their_evse_status_counts_and_filter_by_status(console):
    await put(console, ModuleID.locations, RoleEnum.cpo,
              location(US, "LOC1", ["AVAILABLE", "CHARGING", "CHARGING"], "Central"))
    await put(console, ModuleID.locations, RoleEnum.cpo,
              location(US, "LOC2", ["OUTOFORDER"], "Harbour"))
    await put(console, ModuleID.locations, RoleEnum.emsp,
              location(PARTNER, "THEIRS", ["AVAILABLE"], "Elsewhere"))
    page = await text_of(console, "/console/locations")
    found = rows(page)
    assert len(found) == 3
    loc1 = next(r for r in found if ">LOC1<" in r)
    assert "2 CHARGING" in loc1 and "1 AVAILABLE" in loc1 and "Central" in loc1
    assert "DE*ABC" in page and "partner's" in page

    charging = rows(await text_of(console, "/console/locations", status="CHARGING"))
    assert len(charging) == 1 and ">LOC1<" in charging[0]
    broken = rows(await text_of(console, "/console/locations", status="OUTOFORDER"))
    assert len(broken) == 1 and ">LOC2<" in broken[0]
    assert not rows(await text_of(console, "/console/locations", status="RESERVED"))
    theirs = rows(await text_of(console, "/console/locations", side="partners"))
    assert len(theirs) == 1 and "THEIRS" in theirs[0]
    ours = rows(await text_of(console, "/console/locations", side="ours", q="loc2"))
    assert len(ours) == 1 and ">LOC2<" in ours[0]
    by_owner = rows(await text_of(console, "/console/locations", owner="de*abc"))
    assert len(by_owner) == 1 and "THEIRS" in by_owner[0]


async def test_locations_are_paged_newest_first(console):
    for i in range(12):
        await put(console, ModuleID.locations, RoleEnum.cpo, location(US, f"P{i:02d}",
                                                                      ["AVAILABLE"]))
    first = await text_of(console, "/console/locations", limit="10")
    assert len(rows(first)) == 10 and ">P11<" in first and ">P01<" not in first
    assert "1\u201310 of 12" in first
    nxt = re.search(r'<a rel="next" href="([^"]+)"', first)
    assert nxt
    second = await text_of(console, html.unescape(nxt.group(1)))
    assert len(rows(second)) == 2 and ">P01<" in second and ">P00<" in second


async def test_one_location_with_its_evses_and_connectors(console):
    await put(console, ModuleID.locations, RoleEnum.cpo,
              location(US, "LOC1", ["AVAILABLE", "CHARGING"], "Central"))
    page = await text_of(console, "/console/locations/show", side="ours", owner="NL*OCP",
                         id="loc1")
    assert "Location LOC1" in page and "Central" in page and "Europe/Amsterdam" in page
    assert "LOC1-E0" in page and "LOC1-E1" in page and "NL*OCP*ELOC10" in page
    assert "IEC_62196_T2 SOCKET, AC_3_PHASE, 230 V 32 A" in page and "tariffs T1" in page
    missing = await text_of(console, "/console/locations/show", 404, side="partners",
                            owner="NL*OCP", id="LOC1")
    assert "was not found" in missing
    await text_of(console, "/console/locations/show", 400, id="LOC1")  # whose?


@pytest.mark.parametrize("params", [
    {"status": "BROKEN"}, {"side": "mine"}, {"offset": "-1"}, {"offset": "x" * 30},
    {"limit": "1000"}, {"owner": "NOTAPARTY"}, {"q": "x" * 500}, {"owner": "<script>"}])
async def test_bad_location_query_params_are_a_400_page(console, params):
    page = await text_of(console, "/console/locations", 400, **params)
    assert "could not be read" in page and "<script>" not in page.replace("&lt;", "")


# --- Tokens and Tariffs --------------------------------------------------------------

def token(party: tuple[str, str], uid: str, valid: bool = True) -> dict[str, Any]:
    return {"country_code": party[0], "party_id": party[1], "uid": uid, "type": "RFID",
            "contract_id": f"{party[0]}-{party[1]}-C{uid}", "issuer": "Issuer Inc",
            "valid": valid, "whitelist": "ALLOWED", "last_updated": STAMP}


async def test_tokens_ours_and_partners_filtered_by_uid_and_validity(console):
    await put(console, ModuleID.tokens, RoleEnum.emsp, token(US, "AA11"))
    await put(console, ModuleID.tokens, RoleEnum.emsp, token(US, "BB22", valid=False))
    await put(console, ModuleID.tokens, RoleEnum.cpo, token(PARTNER, "CC33"))
    page = await text_of(console, "/console/tokens")
    assert len(rows(page)) == 3 and "NL-OCP-CAA11" in page and "Issuer Inc" in page
    blocked = rows(await text_of(console, "/console/tokens", valid="no"))
    assert len(blocked) == 1 and "BB22" in blocked[0] and "not valid" in blocked[0]
    theirs = rows(await text_of(console, "/console/tokens", side="partners"))
    assert len(theirs) == 1 and "CC33" in theirs[0]
    found = rows(await text_of(console, "/console/tokens", q="aa1"))
    assert len(found) == 1 and "AA11" in found[0]
    await text_of(console, "/console/tokens", 400, valid="maybe")


TARIFF = {"country_code": "NL", "party_id": "OCP", "id": "T-ENERGY", "currency": "EUR",
          "tax_included": "NO", "last_updated": STAMP,
          "elements": [{"price_components": [{"type": "ENERGY", "price": "0.25",
                                              "step_size": 1, "vat": "10"}],
                        "restrictions": {"start_time": "07:00", "end_time": "22:00"}},
                       {"price_components": [{"type": "TIME", "price": "2.00",
                                              "step_size": 60}]}]}


async def test_tariffs_with_their_price_components(console):
    r = await console.client.put("/ocpi/cpo/2.2.1/tariffs/NL/OCP/T-ENERGY",
                                 content=dumps(TARIFF), headers=op())
    assert body(r)["status_code"] == 1000, r.text
    page = await text_of(console, "/console/tariffs")
    [row] = rows(page)
    assert "T-ENERGY" in row and "EUR" in row and "ENERGY 0.25" in row
    assert "TIME 2.00 (step 60)" in row and "start_time 07:00" in row
    assert not rows(await text_of(console, "/console/tariffs", side="partners"))
    assert not rows(await text_of(console, "/console/tariffs", q="nothing"))


# --- CDRs ----------------------------------------------------------------------------

async def manage(c: ConsoleNode, module: str, obj: dict[str, Any]) -> None:
    """The operator's management write, as in production (the CDR builder runs)."""
    r = await c.client.put(f"/ocpi/cpo/2.2.1/{module}/NL/OCP/{obj['id']}", content=dumps(obj),
                           headers=op())
    assert body(r)["status_code"] == 1000, r.text


async def test_a_held_cdr_shows_its_reason_and_is_built_by_a_retry(console):
    await manage(console, "locations", cdr_location([]))
    await manage(console, "sessions", cdr_session("S2", "COMPLETED", "10",
                                                  "2026-03-02T11:00:00Z",
                                                  end_date_time="2026-03-02T11:00:00Z"))
    page = await text_of(console, "/console/cdrs")
    held = rows(page.split('id="held-h"', 1)[1].split("</section>", 1)[0])
    assert len(held) == 1 and "s2" in held[0] and "no tariff" in held[0]

    # without the CSRF token nothing happens
    r = await console.client.post("/console/cdrs/retry", data={"session_id": "s2"},
                                  headers={"Origin": BASE})
    assert r.status_code == 403
    # retried before the data is fixed: still held, and said so
    r = await console.act("/console/cdrs/retry", page="/console/cdrs", session_id="s2")
    assert r.status_code == 303
    page = await text_of(console, "/console/cdrs")
    assert "Still held: S2 (no tariff" in page

    await manage(console, "tariffs", CDR_TARIFF)
    await manage(console, "locations", {**cdr_location(["T-ENERGY"]),
                                        "last_updated": "2026-01-02T00:00:00Z"})
    r = await console.act("/console/cdrs/retry", page="/console/cdrs", all="yes")
    assert r.status_code == 303
    page = await text_of(console, "/console/cdrs")
    assert "Built: S2" in page and "No session is held" in page
    [cdr] = rows(page.split('id="list-h"', 1)[1])
    assert ">S2<" in cdr and "2.5000 EUR" in cdr and "10.000" in cdr and "ours" in cdr
    one = await text_of(console, "/console/cdrs/show", id="s2")
    assert "CDR s2" in one and "NL*OCP*E1" in one and "T-ENERGY" in one
    assert "Not queued to any partner" in one
    await text_of(console, "/console/cdrs/show", 404, id="nothing")


async def test_a_disputed_cdr_is_listed_with_our_reason(console):
    cpo_token = await console.node.registry.add_peer("NL", "CPX", "CPO")
    h = auth(cpo_token[1])
    tariff = {**CDR_TARIFF, "party_id": "CPX"}
    r = await console.client.put("/ocpi/emsp/2.2.1/tariffs/NL/CPX/T-ENERGY",
                                 content=dumps(tariff), headers=h)
    assert body(r)["status_code"] == 1000, r.text
    cdr = {**example("2.2.1", "cdr_example.json"), "country_code": "NL", "party_id": "CPX",
           "id": "C2", "tariffs": [tariff], "currency": "EUR",
           "start_date_time": "2026-03-02T10:00:00Z", "end_date_time": "2026-03-02T11:00:00Z",
           "charging_periods": [{"start_date_time": "2026-03-02T10:00:00Z", "dimensions": [
               {"type": "ENERGY", "volume": 20}], "tariff_id": "T-ENERGY"}],
           "total_energy": 20, "total_time": 1,
           "total_cost": {"excl_vat": "6.00", "incl_vat": "6.60"}}
    r = await console.client.post("/ocpi/emsp/2.2.1/cdrs", content=dumps(cdr), headers=h)
    assert "disputed" in body(r)["status_message"], r.text
    page = await text_of(console, "/console/cdrs", check="disputed")
    [row] = rows(page.split('id="list-h"', 1)[1])
    assert ">C2<" in row and "disputed" in row and "our pricing 5.00" in row
    assert "received" in row
    assert not rows((await text_of(console, "/console/cdrs", check="agreed")
                     ).split('id="list-h"', 1)[1])
    await text_of(console, "/console/cdrs", 400, check="wrong")


# --- Commands ------------------------------------------------------------------------

@pytest.mark.usefixtures("local_partners")
async def test_a_command_sent_from_the_console_shows_its_result_when_it_arrives(
        node, tmp_path, secret_key, monkeypatch):  # noqa: F811
    """The node under test is the eMSP, served over HTTP; the CPO is another node."""
    async with pair(node, tmp_path, "2.2.1", fixture_is_cpo=False) as (cpo, emsp, hook):
        monkeypatch.setenv("OCPI_PUBLIC_URL", emsp.url)  # where the CPO sends the result
        console = ConsoleNode(node.app, node.client)
        await console.login()
        page = await text_of(console, "/console/commands")
        assert '<option value="cpo">cpo (OCPI 2.2.1)</option>' in page

        # without the CSRF token nothing is sent
        r = await console.client.post("/console/commands/send", headers={"Origin": BASE},
                                      data={"partner": "cpo", "command": "STOP_SESSION",
                                            "session_id": "S1"})
        assert r.status_code == 403 and not hook.seen

        r = await console.act("/console/commands/send", page="/console/commands",
                              partner="cpo", command="START_SESSION", token_uid="TOK1",
                              token_type="RFID", location_id="LOC1", evse_uid="EVSE1",
                              connector_id="1")
        assert r.status_code == 303, r.text
        where = r.headers["location"]
        assert re.fullmatch(r"/console/commands/\d+", where)
        [asked] = hook.seen
        assert asked["command"] == "START_SESSION" and asked["request"]["token"]["uid"] == "TOK1"
        assert asked["request"]["response_url"].startswith(f"{emsp.url}/ocpi/emsp/2.2.1/")

        page = await text_of(console, where)
        assert "START_SESSION sent to cpo: ACCEPTED." in page
        assert "awaiting the result" in page and f'hx-get="{where}/live"' in page
        live = await console.client.get(f"{where}/live", headers={"HX-Request": "true"})
        assert live.status_code == 200 and "<html" not in live.text
        assert "awaited" in live.text

        # the Charge Point started: the CPO reports it, its outbox posts it to us
        await commands.report_result(cpo.db, asked["id"], "ACCEPTED", "charging")
        await drain(cpo)
        live = await console.client.get(f"{where}/live", headers={"HX-Request": "true"})
        assert live.status_code == 286  # htmx stops polling: the result is in
        assert "ACCEPTED" in live.text and "charging" in live.text and "done" in live.text
        listed = rows(await text_of(console, "/console/commands", side="sent"))
        assert len(listed) == 1 and "START_SESSION" in listed[0] and "LOC1" in listed[0]
        assert listed[0].count("ACCEPTED") == 2

        # an answer that ends it at once, with the partner's reason
        r = await console.act("/console/commands/send", page="/console/commands",
                              partner="cpo", command="UNLOCK_CONNECTOR", location_id="LOC1",
                              evse_uid="EVSE1", connector_id="1")
        page = await text_of(console, r.headers["location"])
        assert "UNLOCK_CONNECTOR sent to cpo: REJECTED." in page
        assert "the cable is stuck" in page and "hx-get" not in page.split("<main", 1)[1]

        # what our own data lacks is said, nothing is sent
        r = await console.act("/console/commands/send", page="/console/commands",
                              partner="cpo", command="START_SESSION", token_uid="NOPE",
                              location_id="LOC1")
        assert r.headers["location"] == "/console/commands"
        page = await text_of(console, "/console/commands")
        assert "START_SESSION was not sent to cpo" in page and len(hook.seen) == 2
        r = await console.act("/console/commands/send", page="/console/commands",
                              partner="cpo", command="REBOOT")
        assert r.status_code == 400
        r = await console.act("/console/commands/send", page="/console/commands",
                              partner="cpo", command="RESERVE_NOW", token_uid="TOK1",
                              location_id="LOC1", expiry_date="tomorrow", reservation_id="R1")
        assert r.status_code == 400 and "expiry_date" in html.unescape(r.text)
        assert (await console.client.get("/console/commands/999999")).status_code == 404
        huge = await console.client.get(f"/console/commands/{'9' * 40}/live")
        assert huge.status_code == 404 and "<html" in huge.text
        await text_of(console, "/console/commands", 400, state="lost")
        await text_of(console, "/console/commands", 400, offset="99999999999")


# --- Charts --------------------------------------------------------------------------

@pytest.mark.usefixtures("local_partners")
async def test_charts_of_deliveries_per_partner_and_sessions_per_day(console):
    db = console.node.db
    now = datetime.now(UTC)
    with Receiver() as good, Receiver(refuse=lambda *_: True) as bad:
        await receiving_partner(db, good.url, "DE", "MSP")
        await receiving_partner(db, bad.url, "FR", "BAD")
        store = SqlStore(db)
        for n, (owner, kwh, days_ago) in enumerate([
                (("DE", "MSP"), 10.5, 0), (("DE", "MSP"), 2.25, 0), (("DE", "MSP"), 7, 1),
                (("FR", "BAD"), 1, 1), (("FR", "BAD"), 1, 40)]):
            s = outbox_session(n, kwh=kwh, owner=owner)
            s["start_date_time"] = (now - timedelta(days=days_ago)).strftime(
                "%Y-%m-%dT%H:%M:%SZ")
            await write(store, s)
        w = outbox_worker(db)
        for _ in range(3):
            await w.drain_once()
        assert len(good.objects) == 3
    page = await text_of(console, "/console/charts")
    assert page.count("<svg") == 4  # two partners, sessions, kWh
    assert "de-msp: 3 delivered, 0 failed in the last 24 hours; the busiest hour" in page
    assert "fr-bad: 0 delivered, 2 failed" in page
    assert "<title>Messages to de-msp, per hour (UTC)</title>" in page
    assert "in all: delivered 3 messages, failed 0 messages</desc>" in page
    hour = now.strftime("%Y-%m-%d %H:00")
    assert f"<tr><td>{hour}</td><td class=\"num\">3</td><td class=\"num\">0</td></tr>" in page
    # sessions of the last 30 days: four (the fifth began 40 days ago), 20.75 kWh
    assert "4 sessions, 20.750 kWh" in page
    today, yesterday = now.strftime("%Y-%m-%d"), (now - timedelta(days=1)).strftime("%Y-%m-%d")
    assert f'<tr><td>{today}</td><td class="num">2</td><td class="num">12.750</td></tr>' in page
    assert f'<tr><td>{yesterday}</td><td class="num">2</td><td class="num">8.000</td></tr>' \
        in page
    assert "5 sessions" in await text_of(console, "/console/charts", days="90")
    assert "0 sessions" in await text_of(console, "/console/charts", side="partners")
    await text_of(console, "/console/charts", 400, hours="1000")
    await text_of(console, "/console/charts", 400, days="-3")

"""The console's Locations, Tokens, Commands, Tariffs, CDRs and Charts pages on real
data in the node's store (SQLite and PostgreSQL), through the app's own routes.

A command is sent from the console to a real CPO node served over HTTP, whose
result comes back to our response_url; a held CDR is built again from the
console once its tariff exists."""

import html
import re
from collections.abc import AsyncIterator
from copy import deepcopy
from typing import Any

import pytest

from ocpi.core.enums import ModuleID, RoleEnum

from .console_helpers import BASE, ConsoleNode, console_node, secret_key  # noqa: F401

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


@pytest.mark.parametrize("params", [
    {"status": "BROKEN"}, {"side": "mine"}, {"offset": "-1"}, {"offset": "x" * 30},
    {"limit": "1000"}, {"owner": "NOTAPARTY"}, {"q": "x" * 500}, {"owner": "<script>"}])
async def test_bad_location_query_params_are_a_400_page(console, params):
    page = await text_of(console, "/console/locations", 400, **params)
    assert "could not be read" in page and "<script>" not in page.replace("&lt;", "")

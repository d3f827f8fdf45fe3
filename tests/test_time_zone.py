"""Our own Locations without ``time_zone`` get the zone of their coordinates (tzfpy,
offline), stored and said in the answer; refused (2001) only when none can be
derived. A partner's Location is never changed (``#NA`` on 2.2+)."""

import asyncio
import json
from pathlib import Path

import pytest

from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.core.timezones import time_zone_at
from ocpi.modules.locations import mapper
from ocpi.store.database import Database
from ocpi.store.sql_store import SqlStore

from .conftest import auth, body, dumps, example, op
from .test_cli import run

L432 = "mod_locations_L432_example.json"  # 2.1.1, no time_zone; in Ghent (BEL)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'node.db'}"


def _own_221(**changes: object) -> dict:
    loc = {**example("2.2.1", "location_example.json"), "country_code": "NL",
           "party_id": "OCP", **changes}
    del loc["time_zone"]
    return loc


@pytest.mark.parametrize(("latitude", "longitude", "zone"), [
    ("51.047599", "3.729944", "Europe/Brussels"),
    ("52.370216", "4.895168", "Europe/Amsterdam"),
    ("-33.868820", "151.209296", "Australia/Sydney"),
    ("3.72", "51.04", "Etc/GMT-3"),  # the 2.3.0 CDR example's swapped pair: open sea, kept
])
def test_the_zone_at_a_point(latitude, longitude, zone):
    assert time_zone_at(latitude, longitude) == zone


@pytest.mark.parametrize(("latitude", "longitude"), [
    ("95.000000", "3.729944"), ("51.0", "181.0"), ("abc", "3.7"), ("nan", "3.7"),
    ("inf", "3.7"), ("", ""),
])
def test_no_zone_where_there_is_no_point(latitude, longitude):
    assert time_zone_at(latitude, longitude) is None


def test_open_sea_is_said_to_be_checked():
    loc, note = mapper.derive_time_zone({"coordinates": {"latitude": "3.72",
                                                         "longitude": "51.04"}})
    assert loc["time_zone"] == "Etc/GMT-3" and note is not None and "open sea" in note


def test_a_given_zone_is_never_replaced():
    loc = {"time_zone": "Europe/Paris", "coordinates": {"latitude": "51.047599",
                                                        "longitude": "3.729944"}}
    assert mapper.derive_time_zone(loc) == (loc, None)


async def test_the_2_1_1_example_put_by_the_operator_gets_its_zone(node):
    loc = example("2.1.1", L432)
    assert "time_zone" not in loc
    url = f"/ocpi/cpo/2.1.1/locations/NL/OCP/{loc['id']}"
    r = await node.client.put(url, content=dumps(loc), headers=op("2.1.1"))
    assert r.status_code == 201 and body(r)["status_code"] == 1000, r.text
    assert "time_zone: derived from the coordinates as Europe/Brussels" \
        in body(r)["status_message"]
    partner = auth(await node.partner("DE", "MSP", "EMSP"))
    got = body(await node.client.get(f"/ocpi/cpo/2.2.1/locations/{loc['id']}",
                                     headers=partner))["data"]
    assert got["time_zone"] == "Europe/Brussels"  # not #NA
    page = body(await node.client.get("/ocpi/cpo/2.3.0/locations", headers=partner))["data"]
    assert [x["time_zone"] for x in page] == ["Europe/Brussels"]
    # stored: 2.1.1 (where the field is optional) reads it back too
    old = body(await node.client.get(url, headers=op("2.1.1")))["data"]
    assert old["time_zone"] == "Europe/Brussels"


async def test_our_own_2_2_1_location_without_a_zone_gets_one(node):
    url = "/ocpi/cpo/2.2.1/locations/NL/OCP/LOC1"
    r = await node.client.put(url, content=dumps(_own_221()), headers=op())
    assert r.status_code == 201, r.text  # the 2.2.1 schema's "required" is met
    assert "derived from the coordinates as Europe/Brussels" in body(r)["status_message"]
    got = body(await node.client.get(url, headers=op()))["data"]
    assert got["time_zone"] == "Europe/Brussels"


@pytest.mark.parametrize("version", ["2.1.1", "2.2.1"])
async def test_no_zone_at_the_coordinates_is_refused_naming_time_zone(node, version):
    if version == "2.1.1":
        loc = {**example("2.1.1", L432), "coordinates": {"latitude": "95.000000",
                                                        "longitude": "3.729944"}}
    else:
        loc = _own_221(coordinates={"latitude": "95.0475990", "longitude": "3.7299440"})
    url = f"/ocpi/cpo/{version}/locations/NL/OCP/{loc['id']}"
    r = await node.client.put(url, content=dumps(loc), headers=op(version))
    assert r.status_code == 200 and body(r)["status_code"] == 2001
    message = body(r)["status_message"]
    assert message.startswith("time_zone: required for our own Locations")
    assert "no zone is known at its coordinates" in message
    assert (await node.client.get(url, headers=op(version))).status_code == 404


async def test_a_partners_location_without_a_zone_is_kept_as_sent(node):
    token = await node.partner("NL", "TNM")
    loc = example("2.1.1", L432)
    url = f"/ocpi/emsp/2.1.1/locations/NL/TNM/{loc['id']}"
    r = await node.client.put(url, content=dumps(loc), headers=auth(token, "2.1.1"))
    assert r.status_code == 201 and "derived" not in body(r)["status_message"]
    stored = await node.node.crud.get(ModuleID.locations, RoleEnum.emsp, loc["id"],
                                      country_code="NL", party_id="TNM")
    assert "time_zone" not in stored
    got = body(await node.client.get(url.replace("2.1.1", "2.2.1"), headers=op()))["data"]
    assert got["time_zone"] == "#NA"


async def test_a_patch_of_one_of_ours_stored_without_a_zone_derives_it(node):
    """A row written before zones were derived (or through the store directly)."""
    loc = _own_221(last_updated="2024-01-01T00:00:00Z")
    await node.node.crud.create(ModuleID.locations, RoleEnum.cpo, loc)
    url = "/ocpi/cpo/2.2.1/locations/NL/OCP/LOC1"
    r = await node.client.patch(url, content=dumps({"name": "Renamed", "last_updated":
                                                    "2025-01-01T00:00:00Z"}), headers=op())
    assert body(r)["status_code"] == 1000, r.text
    assert "derived from the coordinates as Europe/Brussels" in body(r)["status_message"]
    got = body(await node.client.get(url, headers=op()))["data"]
    assert got["time_zone"] == "Europe/Brussels" and got["name"] == "Renamed"


def _stored(db_url: str, location_id: str) -> dict | None:
    async def read() -> dict | None:
        db = Database(db_url)
        try:
            return await SqlStore(db).get(ModuleID.locations, RoleEnum.cpo, location_id,
                                          country_code="NL", party_id="OCP")
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_import_derives_the_zone_and_says_so(sqlite_url, tmp_path):
    f = tmp_path / "locs.json"
    loc = example("2.1.1", L432)
    f.write_text(json.dumps([loc]))
    r = run("import", "locations", str(f), "--version", "2.1.1", "--country-code", "NL",
            "--party-id", "OCP", "--json", db=sqlite_url)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"created": 1, "updated": 0, "unchanged": 0}
    assert f"item 0 ({loc['id']!r}): time_zone: derived from the coordinates as " \
           "Europe/Brussels" in r.stderr
    assert _stored(sqlite_url, loc["id"])["time_zone"] == "Europe/Brussels"
    f.write_text(json.dumps([_own_221()]))  # 2.2.1, whose schema requires it
    r = run("import", "locations", str(f), db=sqlite_url)
    assert r.returncode == 0, r.stderr
    assert "derived from the coordinates as Europe/Brussels" in r.stderr
    assert _stored(sqlite_url, "LOC1")["time_zone"] == "Europe/Brussels"


def test_import_refuses_a_location_without_a_derivable_zone(sqlite_url, tmp_path):
    f = tmp_path / "locs.json"
    far = _own_221(id="FAR", coordinates={"latitude": "95.0475990", "longitude": "3.7299440"})
    f.write_text(json.dumps([_own_221(), far]))
    r = run("import", "locations", str(f), db=sqlite_url)
    assert r.returncode == 1
    assert "nothing imported: item 1 ('FAR'): time_zone: required for our own" in r.stderr

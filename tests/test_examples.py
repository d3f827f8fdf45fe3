"""Every Location and Session example of the specification is accepted in its
version and read back equal (ignoring nulls); the incomplete ones get a 2001
that names what is missing. Whatever version an example came in, the node
serves it as a valid object of every version."""

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from ocpi.modules.locations import mapper as location_mapper
from ocpi.modules.locations.schemas import SCHEMAS as LOCATION_SCHEMAS
from ocpi.modules.sessions import mapper as session_mapper
from ocpi.modules.sessions.schemas import SCHEMAS as SESSION_SCHEMAS

from .conftest import EXAMPLES, auth, body, drop_nulls, dumps, example, op

LOCATIONS = {
    "2.1.1": ["mod_locations_L432_example.json"],
    "2.2.1": ["location_example.json", "location_example_parking_garage_opening_hours.json",
              "location_example_uc2_destination_charger.json",
              "location_example_uc3_destination_charger_not_published.json",
              "location_example_uc4_limited_visibility.json",
              "location_example_uc5_home_charge_point.json"],
}
LOCATIONS["2.3.0"] = LOCATIONS["2.2.1"]
SESSIONS = {
    "2.1.1": ["mod_sessions_L245_simple_session_example_of_a_just_starting_session.json",
              "mod_sessions_L328_simple_session_example_of_a_short_finished_session.json"],
    "2.2.1": ["session_example_1_simple_start.json", "session_example_2_short_finished.json"],
}
SESSIONS["2.3.0"] = SESSIONS["2.2.1"]
# PATCH fragments and the level they address (location, EVSE or connector)
LOCATION_PATCHES = {
    "2.1.1": [("mod_locations_L290_example_a_simple_status_update.json", "evse"),
              ("mod_locations_L303_example_change_the_location_name.json", "location"),
              ("mod_locations_L316_example_set_tariff_update.json", "connector"),
              ("mod_locations_L355_example_delete_an_evse.json", "evse"),
              ("mod_locations_L1007_example.json", "location"),
              ("mod_locations_L708_simple.json", "location"),
              ("mod_locations_L716_tariff_name_based.json", "location"),
              ("mod_locations_L726_complete.json", "location")],
    "2.2.1": [("location_patch_example_location.json", "location"),
              ("location_patch_example_remove_evse.json", "evse"),
              ("location_patch_example_status.json", "evse"),
              ("location_patch_example_tariff.json", "connector"),
              ("location_energymix_example_complete.json", "location"),
              ("location_energymix_example_energy_provider.json", "location"),
              ("location_energymix_example_simple.json", "location"),
              ("location_regularhours_example.json", "location"),
              ("location_hours_247_open_exception_closing.json", "hours"),
              ("location_hours_opening_hours_with_exceptional_closing.json", "hours"),
              ("location_hours_opening_hours_with_exceptional_opening.json", "hours")],
}
LOCATION_PATCHES["2.3.0"] = LOCATION_PATCHES["2.2.1"]
SESSION_PATCHES = {
    "2.1.1": ["mod_sessions_L191_example_update_the_total_cost.json"],
    "2.2.1": ["session_patch_example_charging_period.json",
              "session_patch_example_total_cost.json"],
}
SESSION_PATCHES["2.3.0"] = SESSION_PATCHES["2.2.1"]


def _owner(version: str, obj: dict) -> tuple[str, str]:
    return ("NL", "TNM") if version == "2.1.1" else (obj["country_code"], obj["party_id"])


def _cases(table: dict) -> list:
    return [(v, n) for v, names in table.items() for n in names]


@pytest.mark.parametrize(("module", "version", "name"),
                         [("locations", v, n) for v, n in _cases(LOCATIONS)]
                         + [("sessions", v, n) for v, n in _cases(SESSIONS)])
async def test_example_round_trip(node, module, version, name):
    obj = example(version, name)
    cc, pid = _owner(version, obj)
    token = await node.partner(cc, pid)
    url = f"/ocpi/emsp/{version}/{module}/{cc}/{pid}/{obj['id']}"
    r = await node.client.put(url, content=dumps(obj), headers=auth(token, version))
    assert r.status_code == 201, r.text
    assert body(r)["status_code"] == 1000
    got = await node.client.get(url, headers=auth(token, version))
    assert got.status_code == 200
    assert drop_nulls(body(got)["data"]) == drop_nulls(obj)


def _base_location(version: str) -> dict:
    return example(version, "mod_locations_L432_example.json" if version == "2.1.1"
                   else "location_example.json")


async def _partner_location(node, version: str) -> tuple[dict, dict, str]:
    """The version's example Location, its owner's headers and its receiver URL."""
    loc = _base_location(version)
    cc, pid = _owner(version, loc)
    h = auth(await node.partner(cc, pid), version)
    return loc, h, f"/ocpi/emsp/{version}/locations/{cc}/{pid}/{loc['id']}"


@pytest.mark.parametrize(("version", "name", "level"),
                         [(v, n, lv) for v, items in LOCATION_PATCHES.items() for n, lv in items])
async def test_location_patch_example(node, version, name, level):
    loc, h, base = await _partner_location(node, version)
    assert (await node.client.put(base, content=dumps(loc), headers=h)).status_code == 201
    fragment = example(version, name)
    if level == "hours":
        fragment, level = {"opening_times": fragment}, "location"
    patch = copy.deepcopy(fragment)
    if version != "2.1.1":
        patch.setdefault("last_updated", "2025-01-01T00:00:00Z")
    evse = loc["evses"][0]
    url = {"location": base, "evse": f"{base}/{evse['uid']}",
           "connector": f"{base}/{evse['uid']}/{evse['connectors'][0]['id']}"}[level]
    r = await node.client.patch(url, content=dumps(patch), headers=h)
    assert r.status_code == 200, r.text
    assert body(r)["status_code"] == 1000, r.text
    got = body(await node.client.get(url, headers=h))["data"]
    for key, value in fragment.items():
        if key != "last_updated":
            assert drop_nulls(got[key]) == drop_nulls(value), key


@pytest.mark.parametrize(("version", "name"), _cases(SESSION_PATCHES))
async def test_session_patch_example(node, version, name):
    ses = example(version, SESSIONS[version][0])
    cc, pid = _owner(version, ses)
    token = await node.partner(cc, pid)
    h = auth(token, version)
    url = f"/ocpi/emsp/{version}/sessions/{cc}/{pid}/{ses['id']}"
    assert (await node.client.put(url, content=dumps(ses), headers=h)).status_code == 201
    patch = example(version, name)
    if "last_updated" in patch:  # the spec's fragments predate its session examples
        patch["last_updated"] = "2025-01-01T00:00:00Z"
    r = await node.client.patch(url, content=dumps(patch), headers=h)
    assert body(r)["status_code"] == 1000, r.text
    assert "not applied" not in body(r)["status_message"]
    got = body(await node.client.get(url, headers=h))["data"]
    assert got["total_cost"] == patch["total_cost"]
    if "charging_periods" in patch:  # 2.2+: appended to what was there
        before = ses.get("charging_periods") or []
        assert got["charging_periods"] == before + patch["charging_periods"]


@pytest.mark.parametrize(("version", "name", "missing"), [
    ("2.1.1", "mod_locations_L329_example_add_an_evse.json", "last_updated"),
    ("2.2.1", "location_put_example_add_evse.json", "power_type"),
    ("2.3.0", "location_put_example_add_evse.json", "power_type"),
])
async def test_incomplete_evse_example_is_refused_naming_the_field(node, version, name, missing):
    loc, h, base = await _partner_location(node, version)
    await node.client.put(base, content=dumps(loc), headers=h)
    evse = example(version, name)
    r = await node.client.put(f"{base}/{evse['uid']}", content=dumps(evse), headers=h)
    assert r.status_code == 200
    assert body(r)["status_code"] == 2001
    assert missing in body(r)["status_message"]
    got = body(await node.client.get(base, headers=h))["data"]
    assert drop_nulls(got) == drop_nulls(loc)  # nothing stored



# --- every example, served in every version ----------------------------------------

VERSIONS = ("2.1.1", "2.2.1", "2.3.0")
FULL_OBJECTS = [("locations", v, n) for v, n in _cases(LOCATIONS)] + \
    [("sessions", v, n) for v, n in _cases(SESSIONS)]
_TIMES = {"last_updated", "period_begin", "period_end", "start_date_time", "end_date_time",
          "start_datetime", "end_datetime"}


def test_the_tables_hold_every_full_location_and_session_example():
    for version in VERSIONS:
        names = {p.name for p in (EXAMPLES / version).iterdir()}
        if version == "2.1.1":
            full = {"mod_locations_L432_example.json"} | {
                n for n in names if n.startswith("mod_sessions_") and "session_example" in n}
        else:
            full = {n for n in names if n.startswith(("location_example", "session_example"))}
        assert full == set(LOCATIONS[version]) | set(SESSIONS[version]), version


def _datetimes(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [v for k, v in data.items() if k in _TIMES and isinstance(v, str)] + \
            [t for k, v in data.items() for t in _datetimes(v)]
    if isinstance(data, list):
        return [t for v in data for t in _datetimes(v)]
    return []


def assert_valid(module: str, version: str, data: Any, what: str) -> None:
    """A valid ``version`` object (hard rules), with every DateTime a string(25)."""
    schema = (LOCATION_SCHEMAS[version]["location"] if module == "locations"
              else SESSION_SCHEMAS[version])
    try:
        schema.model_validate(data, context={"warnings": []})
    except ValidationError as exc:
        pytest.fail(f"{what}: not a valid {version} {module[:-1]}: {exc}")
    too_long = [t for t in _datetimes(data) if len(t) > 25]
    assert not too_long, f"{what}: DateTimes longer than string(25): {too_long}"


def _stored_location(cc: str, pid: str) -> dict:
    """The spec's Location LOC1 (the sessions' examples charge there) as ``cc/pid``'s."""
    return {**example("2.2.1", "location_example.json"), "country_code": cc, "party_id": pid}


@pytest.mark.parametrize(("module", "version", "name"), FULL_OBJECTS)
def test_every_example_maps_to_a_valid_object_of_every_version(module, version, name):
    obj = example(version, name)
    cc, pid = _owner(version, obj)
    for target in VERSIONS:
        if module == "locations":
            canonical = location_mapper.to_canonical(obj, version, "location", cc, pid)
            wire = location_mapper.to_wire(canonical, target, "location")
        else:
            canonical = session_mapper.to_canonical(obj, version, cc, pid)
            location = None
            if target == "2.1.1" and session_mapper.needs_location(canonical):
                location = session_mapper.embedded_location(canonical, _stored_location(cc, pid))
            wire = session_mapper.to_wire(canonical, target, location=location)
        assert_valid(module, target, wire, f"{version} {name} as {target}")


@pytest.mark.parametrize(("module", "version", "name"), FULL_OBJECTS)
async def test_every_example_stored_by_the_node_is_served_valid_in_every_version(
        node, module, version, name):
    """Our own (the operator's PUT), read back by the operator and listed to a
    partner in every version; a Location without ``time_zone`` (2.1.1 leaves it
    out) gets the one of its coordinates as our own, and the answer says so."""
    obj = example(version, name)
    cc, pid = _owner(version, obj)
    partner = auth(await node.partner("DE", "MSP", "EMSP"))
    if module == "sessions":  # the Location it charged at, so 2.1.1 can embed it
        r = await node.client.put(f"/ocpi/cpo/2.2.1/locations/{cc}/{pid}/LOC1",
                                  content=dumps(_stored_location(cc, pid)), headers=op())
        assert body(r)["status_code"] == 1000, r.text
    url = f"/ocpi/cpo/{version}/{module}/{cc}/{pid}/{obj['id']}"
    r = await node.client.put(url, content=dumps(obj), headers=op(version))
    assert r.status_code == 201 and body(r)["status_code"] == 1000, r.text
    if module == "locations" and "time_zone" not in obj:
        assert "time_zone: derived from the coordinates" in body(r)["status_message"]

    for target in VERSIONS:
        got = await node.client.get(url.replace(f"/{version}/", f"/{target}/"),
                                    headers=op(target))
        assert got.status_code == 200, got.text
        assert_valid(module, target, body(got)["data"], f"{version} {name} read in {target}")
        # what partners see: a list page (stored text or rendered)
        who = partner if module == "locations" else op()
        page = await node.client.get(f"/ocpi/cpo/{target}/{module}", headers=who)
        items = [i for i in body(page)["data"] if i["id"] == obj["id"]]
        assert len(items) == 1, body(page)
        assert_valid(module, target, items[0], f"{version} {name} listed in {target}")


def test_a_2_1_1_session_at_a_location_without_its_evse_is_served_with_na_on_2_2():
    ses = example("2.1.1", SESSIONS["2.1.1"][0])
    del ses["location"]["evses"]  # 2.1.1's schema lets it out; 2.2+ requires the ids
    canonical = session_mapper.to_canonical(ses, "2.1.1", "NL", "TNM")
    for target in ("2.2.1", "2.3.0"):
        wire = session_mapper.to_wire(canonical, target)
        assert (wire["evse_uid"], wire["connector_id"]) == ("#NA", "#NA")
        assert_valid("sessions", target, wire, target)
    assert "evse_uid" not in canonical  # a default of the output, never stored


def test_a_reservation_session_is_pending_on_2_1_1():
    ses = {**example("2.2.1", SESSIONS["2.2.1"][0]), "status": "RESERVATION"}
    canonical = session_mapper.to_canonical(ses, "2.2.1")
    location = session_mapper.embedded_location(canonical, _stored_location("NL", "STK"))
    wire = session_mapper.to_wire(canonical, "2.1.1", location=location)
    assert wire["status"] == "PENDING"
    assert_valid("sessions", "2.1.1", wire, "2.1.1")
    assert session_mapper.to_wire(canonical, "2.3.0")["status"] == "RESERVATION"


def test_session_datetimes_go_out_with_at_most_three_fractional_digits():
    ses = example("2.2.1", SESSIONS["2.2.1"][1])
    ses["start_date_time"] = "2015-06-29T22:39:09.123456Z"
    ses["last_updated"] = "2015-06-29T23:50:17.9999999Z"
    ses["charging_periods"][0]["start_date_time"] = "2015-06-29T22:39:09.123456789+00:00"
    canonical = session_mapper.to_canonical(ses, "2.2.1")
    for target in VERSIONS:
        location = session_mapper.embedded_location(canonical, _stored_location("BE", "BEC"))
        wire = session_mapper.to_wire(canonical, target,
                                      location=location if target == "2.1.1" else None)
        assert_valid("sessions", target, wire, target)
        start = "start_datetime" if target == "2.1.1" else "start_date_time"
        assert wire[start] == "2015-06-29T22:39:09.123Z"
        assert wire["last_updated"] == "2015-06-29T23:50:17.999Z"  # cut, never rounded up
        assert wire["charging_periods"][0]["start_date_time"] == "2015-06-29T22:39:09.123Z"
    assert canonical["start_date_time"] == "2015-06-29T22:39:09.123456Z"  # stored as sent

"""Every Location and Session example of the specification is accepted in its
version and read back equal (ignoring nulls); the incomplete ones get a 2001
that names what is missing."""

import copy

import pytest

from .conftest import auth, body, drop_nulls, dumps, example

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
        patch.setdefault("last_updated", "2030-01-01T00:00:00Z")
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
        patch["last_updated"] = "2030-01-01T00:00:00Z"
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
    assert r.status_code == 400
    assert body(r)["status_code"] == 2001
    assert missing in body(r)["status_message"]
    got = body(await node.client.get(base, headers=h))["data"]
    assert drop_nulls(got) == drop_nulls(loc)  # nothing stored


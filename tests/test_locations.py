"""Locations: receiver writes, sender reads, pagination, ownership, versions."""

import copy

from ocpi.core import jsonutil

from .conftest import auth, body, dumps, example, op

BASE = "/ocpi/emsp/2.2.1/locations/BE/BEC/LOC1"


async def _put_example(node, version="2.2.1"):
    token = await node.partner("BE", "BEC")
    loc = example(version, "location_example.json")
    url = f"/ocpi/emsp/{version}/locations/BE/BEC/LOC1"
    r = await node.client.put(url, content=dumps(loc), headers=auth(token, version))
    assert r.status_code == 201
    return token, loc, url


async def test_put_twice_is_201_then_200(node):
    token, loc, url = await _put_example(node)
    loc["name"] = "Renamed"
    r = await node.client.put(url, content=dumps(loc), headers=auth(token))
    assert r.status_code == 200
    assert body(await node.client.get(url, headers=auth(token)))["data"]["name"] == "Renamed"


async def test_patch_without_last_updated_is_2001_on_22(node):
    token, _, url = await _put_example(node)
    r = await node.client.patch(url + "/3256", json={"status": "CHARGING"}, headers=auth(token))
    assert r.status_code == 200 and body(r)["status_code"] == 2001
    assert "last_updated" in body(r)["status_message"]


async def test_evse_patch_bumps_parent_and_keeps_other_fields(node):
    token, loc, url = await _put_example(node)
    r = await node.client.patch(url + "/3256", json={
        "status": "CHARGING", "last_updated": "2025-05-01T10:00:00Z"}, headers=auth(token))
    assert body(r)["status_code"] == 1000
    got = body(await node.client.get(url, headers=auth(token)))["data"]
    assert got["last_updated"] == "2025-05-01T10:00:00Z"
    evse = got["evses"][0]
    assert evse["status"] == "CHARGING"
    assert evse["evse_id"] == loc["evses"][0]["evse_id"]
    assert evse["connectors"] == loc["evses"][0]["connectors"]


async def test_connector_put_bumps_evse_and_location(node):
    token, loc, url = await _put_example(node)
    conn = copy.deepcopy(loc["evses"][0]["connectors"][0])
    conn["id"] = "9"
    conn["last_updated"] = "2026-01-01T00:00:00Z"
    r = await node.client.put(url + "/3256/9", content=dumps(conn), headers=auth(token))
    assert r.status_code == 201
    got = body(await node.client.get(url, headers=auth(token)))["data"]
    assert got["last_updated"] == "2026-01-01T00:00:00Z"
    assert got["evses"][0]["last_updated"] == "2026-01-01T00:00:00Z"
    assert [c["id"] for c in got["evses"][0]["connectors"]] == ["1", "2", "9"]


async def test_evse_put_adds_evse(node):
    token, loc, url = await _put_example(node)
    evse = copy.deepcopy(loc["evses"][0])
    evse["uid"] = "NEW1"
    r = await node.client.put(url + "/NEW1", content=dumps(evse), headers=auth(token))
    assert r.status_code == 201
    got = body(await node.client.get(url + "/NEW1", headers=auth(token)))["data"]
    assert got["uid"] == "NEW1"


async def test_older_write_never_overwrites(node):
    token, loc, url = await _put_example(node)
    old = copy.deepcopy(loc)
    old["name"] = "Old name"
    old["last_updated"] = "2000-01-01T00:00:00Z"
    r = await node.client.put(url, content=dumps(old), headers=auth(token))
    assert r.status_code == 200 and body(r)["status_code"] == 1000
    assert "not applied" in body(r)["status_message"]
    r = await node.client.patch(url, json={"name": "Old", "last_updated": "2000-01-01T00:00:00Z"},
                                headers=auth(token))
    assert body(r)["status_code"] == 1000
    got = body(await node.client.get(url, headers=auth(token)))["data"]
    assert got["name"] == loc["name"]


async def test_partner_cannot_write_other_namespace(node):
    token = await node.partner("NL", "TNM")
    loc = example("2.2.1", "location_example.json")  # BE/BEC
    r = await node.client.put(BASE, content=dumps(loc), headers=auth(token))
    assert r.status_code == 403
    r = await node.client.put("/ocpi/emsp/2.2.1/locations/NL/TNM/LOC1", content=dumps(loc),
                              headers=auth(token))
    assert r.status_code == 200 and "country_code" in body(r)["status_message"]
    assert (await node.client.get(BASE, headers=op())).status_code == 404
    assert (await node.client.get("/ocpi/emsp/2.2.1/locations/NL/TNM/LOC1",
                                  headers=op())).status_code == 404


async def test_body_id_must_match_url(node):
    token = await node.partner("BE", "BEC")
    loc = example("2.2.1", "location_example.json")
    r = await node.client.put("/ocpi/emsp/2.2.1/locations/BE/BEC/OTHER", content=dumps(loc),
                              headers=auth(token))
    assert r.status_code == 200 and body(r)["status_code"] == 2001


async def test_unknown_location_is_404_2003(node):
    token = await node.partner("BE", "BEC")
    r = await node.client.get(BASE, headers=auth(token))
    assert r.status_code == 404 and body(r)["status_code"] == 2003


async def test_ids_are_case_insensitive(node):
    token, _, _ = await _put_example(node)
    r = await node.client.get("/ocpi/emsp/2.2.1/locations/be/bec/loc1", headers=auth(token))
    assert r.status_code == 200 and body(r)["data"]["id"] == "LOC1"


async def test_unknown_fields_and_hub_enum_values_are_kept_with_warning(node):
    token = await node.partner("BE", "BEC")
    loc = example("2.2.1", "location_example.json")
    loc["x_hub_extension"] = {"rating": 5}
    loc["facilities"] = ["HOTEL", "HUB_SPECIAL"]
    r = await node.client.put(BASE, content=dumps(loc), headers=auth(token))
    assert r.status_code == 201
    assert "HUB_SPECIAL" in body(r)["status_message"]
    got = body(await node.client.get(BASE, headers=auth(token)))["data"]
    assert got["x_hub_extension"] == {"rating": 5}
    assert got["facilities"] == ["HOTEL", "HUB_SPECIAL"]


async def test_closed_enum_value_is_refused(node):
    token = await node.partner("BE", "BEC")
    loc = example("2.2.1", "location_example.json")
    loc["evses"][0]["status"] = "FREE"
    r = await node.client.put(BASE, content=dumps(loc), headers=auth(token))
    assert r.status_code == 200 and "evses.0.status" in body(r)["status_message"]


async def test_2_1_1_location_read_in_2_2_1_and_back(node):
    token = await node.partner("NL", "TNM")
    loc = example("2.1.1", "mod_locations_L432_example.json")
    url = f"/ocpi/emsp/2.1.1/locations/NL/TNM/{loc['id']}"
    assert (await node.client.put(url, content=dumps(loc), headers=auth(token, "2.1.1"))
            ).status_code == 201
    got = body(await node.client.get(url.replace("2.1.1", "2.2.1"), headers=auth(token)))["data"]
    assert got["country_code"] == "NL" and got["party_id"] == "TNM"
    conn = got["evses"][0]["connectors"][0]
    assert conn["max_voltage"] == loc["evses"][0]["connectors"][0]["voltage"]
    assert "voltage" not in conn and "type" not in got
    old = body(await node.client.get(url, headers=auth(token, "2.1.1")))["data"]
    assert "country_code" not in old and "publish" not in old


async def test_2_2_1_output_carries_no_2_3_0_fields(node):
    token = await node.partner("BE", "BEC")
    loc = example("2.3.0", "location_example.json")
    assert "parking_places" in loc
    url = "/ocpi/emsp/2.3.0/locations/BE/BEC/LOC1"
    assert (await node.client.put(url, content=dumps(loc), headers=auth(token))).status_code == 201
    got = body(await node.client.get(BASE, headers=auth(token)))["data"]
    assert "parking_places" not in got
    assert all("parking" not in e for e in got["evses"])
    # and a PATCH through 2.2.1 does not lose the 2.3.0 fields
    r = await node.client.patch(BASE, json={"name": "X", "last_updated": "2025-01-01T00:00:00Z"},
                                headers=auth(token))
    assert body(r)["status_code"] == 1000
    again = body(await node.client.get(url, headers=auth(token)))["data"]
    assert again["parking_places"] == loc["parking_places"] and again["name"] == "X"


async def test_decimals_are_exact(node):
    token = await node.partner("BE", "BEC")
    loc = example("2.2.1", "location_example.json")
    loc["x_price"] = jsonutil.loads("0.1000000000000000055511151231257827")
    raw = dumps(loc)
    assert (await node.client.put(BASE, content=raw, headers=auth(token))).status_code == 201
    r = await node.client.get(BASE, headers=auth(token))
    assert b'"x_price":0.1000000000000000055511151231257827' in r.content


async def _own_locations(node, n):
    from ocpi.demo import sample_locations

    base = sample_locations("NL", "OCP")[0]
    for i in range(n):
        loc = copy.deepcopy(base)
        loc["id"] = f"L{i:03d}"
        loc["last_updated"] = f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z"
        r = await node.client.put(f"/ocpi/cpo/2.2.1/locations/NL/OCP/{loc['id']}",
                                  content=dumps(loc), headers=op())
        assert r.status_code == 201, r.text


async def test_management_writes_are_operator_only(node):
    partner = await node.partner("NL", "TNM", "EMSP")
    loc = example("2.2.1", "location_example.json")
    r = await node.client.put("/ocpi/cpo/2.2.1/locations/BE/BEC/LOC1", content=dumps(loc),
                              headers=auth(partner))
    assert r.status_code == 403
    r = await node.client.put("/ocpi/cpo/2.2.1/locations/BE/BEC/LOC1", content=dumps(loc),
                              headers=op())
    assert r.status_code == 201
    # management PATCH without last_updated gets it stamped (seed tutorial curl)
    r = await node.client.patch("/ocpi/cpo/2.2.1/locations/BE/BEC/LOC1",
                                json={"name": "Updated Location Name"}, headers=op())
    assert body(r)["status_code"] == 1000
    r = await node.client.get("/ocpi/cpo/2.2.1/locations/BE/BEC/LOC1", headers=op())
    assert body(r)["data"]["name"] == "Updated Location Name"
    # a partner reads the CPO's own objects on the sender interface
    r = await node.client.get("/ocpi/cpo/2.2.1/locations/LOC1/3256/1", headers=auth(partner))
    assert body(r)["data"]["id"] == "1"
    r = await node.client.get("/ocpi/cpo/2.2.1/locations/LOC1/3256", headers=auth(partner))
    assert body(r)["data"]["uid"] == "3256"


async def test_operator_reads_emsp_side(node):
    await _put_example(node)
    r = await node.client.get(BASE, headers=op())
    assert r.status_code == 200 and body(r)["data"]["id"] == "LOC1"


async def test_pagination_headers_and_full_crawl(node):
    await _own_locations(node, 7)
    partner = await node.partner("NL", "TNM", "EMSP")
    url = "/ocpi/cpo/2.2.1/locations?limit=3&date_from=2026-01-01T00:00:00Z"
    seen = []
    while url:
        r = await node.client.get(url, headers=auth(partner))
        assert r.headers["x-total-count"] == "7"
        assert r.headers["x-limit"] == "3"
        seen += [loc["id"] for loc in body(r)["data"]]
        link = r.headers.get("link")
        if link:
            assert "date_from=2026-01-01T00%3A00%3A00Z" in link and 'rel="next"' in link
            url = link.split(">")[0].lstrip("<").replace("http://testserver", "")
        else:
            url = None
    assert seen == [f"L{i:03d}" for i in range(7)]


async def test_limit_is_capped_and_date_filters(node):
    await _own_locations(node, 5)
    r = await node.client.get("/ocpi/cpo/2.2.1/locations?limit=100000", headers=op())
    assert r.headers["x-limit"] == "50" and "link" not in r.headers
    r = await node.client.get("/ocpi/cpo/2.2.1/locations?date_from=2026-01-01T00:00:02Z"
                              "&date_to=2026-01-01T00:00:04", headers=op())
    assert [loc["id"] for loc in body(r)["data"]] == ["L002", "L003"]
    r = await node.client.get("/ocpi/cpo/2.2.1/locations?date_from=2999-01-01T00:00:00Z",
                              headers=op())
    assert body(r)["data"] == [] and r.headers["x-total-count"] == "0"
    r = await node.client.get("/ocpi/cpo/2.2.1/locations?offset=abc", headers=op())
    assert r.status_code == 200 and "offset" in body(r)["status_message"]


async def test_nulls_are_not_stored_and_a_null_patch_erases_nothing(node):
    token, loc, url = await _put_example(node)
    r = await node.client.patch(url, json={"name": None, "operator": {"name": "X", "website": None},
                                           "last_updated": "2025-01-01T00:00:00Z"},
                                headers=auth(token))
    assert body(r)["status_code"] == 1000
    got = body(await node.client.get(url, headers=auth(token)))["data"]
    assert got["name"] == loc["name"]
    assert got["operator"] == {"name": "X"}


# --- issue 12: what we serve validates in the version we serve it in ---------------

def _own(evses: int = 2, **changes) -> dict:
    """One of our own Locations, 2.2.1 shape, with ``evses`` EVSEs."""
    loc = copy.deepcopy(example("2.2.1", "location_example.json"))
    loc.update(country_code="NL", party_id="OCP", id="OWN1")
    first = loc["evses"][0]
    loc["evses"] = [{**copy.deepcopy(first), "uid": f"E{n}", "evse_id": f"NL*OCP*E{n}"}
                    for n in range(1, evses + 1)]
    loc.update(changes)
    return loc


OWN = "/ocpi/cpo/{v}/locations/NL/OCP/OWN1"


async def test_a_location_without_postal_code_is_served_on_2_1_1_with_an_empty_one(node):
    from .test_examples import assert_valid

    loc = _own()
    del loc["postal_code"]  # optional from 2.2 on, required in 2.1.1
    r = await node.client.put(OWN.format(v="2.2.1"), content=dumps(loc), headers=op())
    assert r.status_code == 201
    got = body(await node.client.get(OWN.format(v="2.1.1"), headers=op("2.1.1")))["data"]
    assert got["postal_code"] == ""
    assert_valid("locations", "2.1.1", got, "read")
    partner = await node.partner("DE", "MSP", "EMSP")
    page = body(await node.client.get("/ocpi/cpo/2.1.1/locations",
                                      headers=auth(partner, "2.1.1")))["data"]
    assert [x["postal_code"] for x in page] == [""]
    assert "postal_code" not in body(await node.client.get(OWN.format(v="2.2.1"),
                                                           headers=op()))["data"]


async def test_our_own_location_gets_a_time_zone_even_on_2_1_1(node):
    loc = example("2.1.1", "mod_locations_L432_example.json")  # has none: optional in 2.1.1
    url = f"/ocpi/cpo/2.1.1/locations/NL/OCP/{loc['id']}"
    r = await node.client.put(url, content=dumps(loc), headers=op("2.1.1"))
    assert r.status_code == 201 and body(r)["status_code"] == 1000  # derived (in Ghent)
    assert "time_zone: derived from the coordinates as Europe/Brussels" \
        in body(r)["status_message"]
    loc["last_updated"] = "2025-01-01T00:00:00Z"  # one given wins over the derived one
    r = await node.client.put(url, content=dumps({**loc, "time_zone": "Europe/Paris"}),
                              headers=op("2.1.1"))
    assert r.status_code == 200 and "derived" not in body(r)["status_message"]
    got = body(await node.client.get(url.replace("2.1.1", "2.3.0"), headers=op()))["data"]
    assert got["time_zone"] == "Europe/Paris"


async def test_our_own_ids_must_fit_every_version_a_partners_need_not(node):
    """2.1.1 allows Location ids and EVSE uids of 39 characters, 2.2+ only 36: ours
    must fit every version we serve; a partner's 2.1.1 object is kept as sent."""
    loc = {**example("2.1.1", "mod_locations_L432_example.json"), "time_zone": "Europe/Paris"}
    long_id = "L" * 38
    url = f"/ocpi/cpo/2.1.1/locations/NL/OCP/{long_id}"
    r = await node.client.put(url, content=dumps({**loc, "id": long_id}), headers=op("2.1.1"))
    assert r.status_code == 200 and body(r)["status_code"] == 2001
    assert body(r)["status_message"].startswith("id: at most 36")
    evse = {**loc["evses"][0], "uid": "E" * 38}
    own = f"/ocpi/cpo/2.1.1/locations/NL/OCP/{loc['id']}"
    r = await node.client.put(own, content=dumps({**loc, "evses": [evse]}), headers=op("2.1.1"))
    assert "evses.0.uid: at most 36" in body(r)["status_message"]
    assert (await node.client.put(own, content=dumps(loc), headers=op("2.1.1"))).status_code \
        == 201
    r = await node.client.put(f"{own}/{evse['uid']}", content=dumps(evse), headers=op("2.1.1"))
    assert body(r)["status_code"] == 2001 and body(r)["status_message"].startswith("uid: at")
    token = await node.partner("NL", "TNM")
    theirs = f"/ocpi/emsp/2.1.1/locations/NL/TNM/{long_id}"
    r = await node.client.put(theirs, content=dumps({**loc, "id": long_id, "evses": [evse]}),
                              headers=auth(token, "2.1.1"))
    assert r.status_code == 201, r.text  # string(39) in 2.1.1: spec-valid, accepted
    got = body(await node.client.get(theirs, headers=auth(token, "2.1.1")))["data"]
    assert got["evses"][0]["uid"] == "E" * 38


async def test_a_2_1_1_partners_location_without_time_zone_reads_na_on_2_2(node):
    from .test_examples import assert_valid

    token = await node.partner("NL", "TNM")
    loc = example("2.1.1", "mod_locations_L432_example.json")
    url = f"/ocpi/emsp/2.1.1/locations/NL/TNM/{loc['id']}"
    r = await node.client.put(url, content=dumps(loc), headers=auth(token, "2.1.1"))
    assert r.status_code == 201  # valid 2.1.1: accepted as ever
    for version in ("2.2.1", "2.3.0"):
        got = body(await node.client.get(url.replace("2.1.1", version), headers=op()))["data"]
        assert got["time_zone"] == "#NA"  # the spec's "no data available"; never guessed
        assert_valid("locations", version, got, version)
    old = body(await node.client.get(url, headers=auth(token, "2.1.1")))["data"]
    assert "time_zone" not in old  # and 2.1.1 reads back what it sent


async def test_location_datetimes_go_out_with_at_most_three_fractional_digits(node):
    from .test_examples import assert_valid

    token = await node.partner("BE", "BEC")
    loc = example("2.2.1", "location_example.json")
    loc["last_updated"] = "2025-01-01T00:00:00.123456Z"
    loc["evses"][0]["last_updated"] = "2024-01-01T00:00:00.5555555Z"
    loc["evses"][0]["status_schedule"] = [{"period_begin": "2029-02-01T00:00:00.987654321",
                                           "status": "INOPERATIVE"}]
    loc["evses"][0]["connectors"][0]["last_updated"] = "2024-01-01T00:00:00.000001Z"
    loc["opening_times"] = {"twentyfourseven": True, "exceptional_closings": [
        {"period_begin": "2029-12-25T00:00:00.1111+00:00",
         "period_end": "2029-12-26T00:00:00Z"}]}
    r = await node.client.put(BASE, content=dumps(loc), headers=auth(token))
    assert r.status_code == 201
    for version in ("2.1.1", "2.2.1", "2.3.0"):
        got = body(await node.client.get(BASE.replace("2.2.1", version),
                                         headers=auth(token, version)))["data"]
        assert_valid("locations", version, got, version)  # every DateTime a string(25)
        assert got["last_updated"] == "2025-01-01T00:00:00.123Z"
        evse = got["evses"][0]
        assert evse["last_updated"] == "2024-01-01T00:00:00.555Z"  # cut, not rounded
        assert evse["status_schedule"][0]["period_begin"] == "2029-02-01T00:00:00.987Z"
        assert evse["connectors"][0]["last_updated"] == "2024-01-01T00:00:00Z"
        assert got["opening_times"]["exceptional_closings"][0]["period_begin"] == \
            "2029-12-25T00:00:00.111Z"
    # stored as sent: a resend 0.4 ms older is still older, so nothing goes backwards
    older = {**loc, "name": "Older", "last_updated": "2025-01-01T00:00:00.123056Z"}
    r = await node.client.put(BASE, content=dumps(older), headers=auth(token))
    assert "not applied" in body(r)["status_message"]


async def test_location_last_updated_is_never_older_than_its_evses_or_connectors(node):
    loc = _own(last_updated="2026-01-01T00:00:00Z")
    loc["evses"][0]["last_updated"] = "2026-01-02T00:00:00Z"
    loc["evses"][1]["last_updated"] = "2026-01-01T00:00:00Z"
    loc["evses"][1]["connectors"][0]["last_updated"] = "2026-01-03T00:00:00Z"
    r = await node.client.put(OWN.format(v="2.2.1"), content=dumps(loc), headers=op())
    assert r.status_code == 201
    got = body(await node.client.get(OWN.format(v="2.2.1"), headers=op()))["data"]
    assert got["last_updated"] == "2026-01-03T00:00:00Z"
    assert [e["last_updated"] for e in got["evses"]] == \
        ["2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"]
    partner = await node.partner("DE", "MSP", "EMSP")
    r = await node.client.get("/ocpi/cpo/2.2.1/locations?date_from=2026-01-02T12:00:00Z",
                              headers=auth(partner))
    assert [x["id"] for x in body(r)["data"]] == ["OWN1"]  # changed after date_from
    # an EVSE PUT whose Connector is newer than the EVSE raises both
    evse = copy.deepcopy(loc["evses"][0])
    evse["last_updated"] = "2026-01-04T00:00:00Z"
    evse["connectors"][0]["last_updated"] = "2026-01-05T00:00:00Z"
    r = await node.client.put(OWN.format(v="2.2.1") + "/E1", content=dumps(evse), headers=op())
    assert body(r)["status_code"] == 1000
    got = body(await node.client.get(OWN.format(v="2.2.1"), headers=op()))["data"]
    assert got["last_updated"] == got["evses"][0]["last_updated"] == "2026-01-05T00:00:00Z"
    # a Connector PUT, then a Connector PATCH, raise its EVSE and the Location
    conn = {**evse["connectors"][0], "last_updated": "2026-01-06T00:00:00Z"}
    cid = conn["id"]
    r = await node.client.put(OWN.format(v="2.2.1") + f"/E1/{cid}", content=dumps(conn),
                              headers=op())
    assert body(r)["status_code"] == 1000
    got = body(await node.client.get(OWN.format(v="2.2.1"), headers=op()))["data"]
    assert got["last_updated"] == got["evses"][0]["last_updated"] == "2026-01-06T00:00:00Z"
    r = await node.client.patch(OWN.format(v="2.2.1") + f"/E1/{cid}", headers=op(),
                                json={"max_amperage": 20, "last_updated": "2026-01-07T00:00:00Z"})
    assert body(r)["status_code"] == 1000
    got = body(await node.client.get(OWN.format(v="2.2.1"), headers=op()))["data"]
    assert got["last_updated"] == got["evses"][0]["last_updated"] == "2026-01-07T00:00:00Z"


async def test_free_text_is_kept_with_a_warning_up_to_a_hard_ceiling(node):
    """Overlong free text is a hub's habit (kept, reported); a megabyte of it is not."""
    token = await node.partner("BE", "BEC")
    loc = example("2.2.1", "location_example.json")
    r = await node.client.put(BASE, content=dumps({**loc, "name": "n" * 300}),
                              headers=auth(token))
    assert r.status_code == 201 and "name: longer than 255" in body(r)["status_message"]
    r = await node.client.put(BASE, content=dumps({**loc, "name": "n" * 5000,
                                                   "last_updated": "2025-01-01T00:00:00Z"}),
                              headers=auth(token))
    assert body(r)["status_code"] == 2001
    assert body(r)["status_message"].startswith("name: longer than 4096")
    got = body(await node.client.get(BASE, headers=auth(token)))["data"]
    assert got["name"] == "n" * 300  # the refused PUT stored nothing


async def test_an_evse_left_out_of_our_own_put_is_kept_as_removed(node):
    from ocpi.outbox import admin
    from ocpi.outbox.render import render

    from .outbox_helpers import receiving_partner

    await receiving_partner(node.node.db, "http://127.0.0.1:9", "DE", "MSP")
    url = OWN.format(v="2.2.1")
    first = _own(evses=2, last_updated="2026-01-01T00:00:00Z")
    assert (await node.client.put(url, content=dumps(first), headers=op())).status_code == 201
    second = {**first, "evses": first["evses"][:1], "last_updated": "2026-02-01T00:00:00Z"}
    r = await node.client.put(url, content=dumps(second), headers=op())
    assert body(r)["status_code"] == 1000
    assert "E2" in body(r)["status_message"] and "REMOVED" in body(r)["status_message"]
    got = body(await node.client.get(url, headers=op()))["data"]
    assert [(e["uid"], e["status"]) for e in got["evses"]] == \
        [("E1", "AVAILABLE"), ("E2", "REMOVED")]
    removed = got["evses"][1]
    assert removed["last_updated"] == got["last_updated"] == "2026-02-01T00:00:00Z"
    assert removed["connectors"] == first["evses"][1]["connectors"]  # nothing else changed
    # partners are told: the EVSE's status, on the EVSE's URL
    queued = [m for _, m in await admin.messages(node.node.db, state="pending")]
    assert len(queued) == 2
    had, now = (jsonutil.loads(m.data) for m in queued)
    push = render("locations", "2.2.1", "https://msp.example/locations", now, had)
    assert push is not None and push.method == "PATCH"
    assert push.url.endswith("/NL/OCP/OWN1/E2")
    assert push.body == {"status": "REMOVED", "last_updated": "2026-02-01T00:00:00Z"}
    # left out again: stays REMOVED as it was, with its own last_updated
    third = {**second, "name": "Renamed", "last_updated": "2026-03-01T00:00:00Z"}
    assert body(await node.client.put(url, content=dumps(third), headers=op())
                )["status_code"] == 1000
    again = body(await node.client.get(url, headers=op()))["data"]
    assert again["evses"][1] == removed


async def test_a_partners_put_is_stored_as_sent(node):
    """Only our own Locations keep what a PUT leaves out: a partner's object is its own."""
    token = await node.partner("NL", "OCP")
    url = "/ocpi/emsp/2.2.1/locations/NL/OCP/OWN1"
    first = _own(evses=2, last_updated="2026-01-01T00:00:00Z")
    await node.client.put(url, content=dumps(first), headers=auth(token))
    second = {**first, "evses": first["evses"][:1], "last_updated": "2026-02-01T00:00:00Z"}
    assert body(await node.client.put(url, content=dumps(second), headers=auth(token))
                )["status_code"] == 1000
    got = body(await node.client.get(url, headers=auth(token)))["data"]
    assert [e["uid"] for e in got["evses"]] == ["E1"]


async def test_an_operator_put_of_a_location_keeps_the_nodes_own_keys(node):
    from ocpi.core.enums import ModuleID, RoleEnum

    loc = example("2.2.1", "location_example.json")
    loc.update(country_code="NL", party_id="OCP")
    url = f"/ocpi/cpo/2.2.1/locations/NL/OCP/{loc['id']}"
    assert (await node.client.put(url, content=dumps(loc), headers=op())).status_code == 201
    store = node.node.crud
    stored = await store.get(ModuleID.locations, RoleEnum.cpo, loc["id"], country_code="NL",
                             party_id="OCP")
    await store.update(ModuleID.locations, RoleEnum.cpo, {**stored, "_source": {"park": 1}},
                       loc["id"], country_code="NL", party_id="OCP")
    r = await node.client.put(url, content=dumps({**loc, "name": "Renamed",
                                                  "last_updated": "2026-01-01T00:00:00Z"}),
                              headers=op())
    assert r.status_code == 200, r.text
    now = await store.get(ModuleID.locations, RoleEnum.cpo, loc["id"], country_code="NL",
                          party_id="OCP")
    assert now["name"] == "Renamed" and now["_source"] == {"park": 1}


async def test_a_connector_stamped_far_ahead_of_our_clock_is_refused_naming_it(node):
    """The clock rule holds inside the object too: an EVSE or Connector stamped in
    the future would raise the Location's stamp with it (``_save``)."""
    token = await node.partner("BE", "BEC")
    loc = example("2.2.1", "location_example.json")
    loc["evses"][0]["connectors"][0]["last_updated"] = "2099-01-01T00:00:00Z"
    r = await node.client.put(BASE, content=dumps(loc), headers=auth(token))
    assert r.status_code == 200 and body(r)["status_code"] == 2001
    assert "evses.0.connectors.0.last_updated" in body(r)["status_message"]
    assert body(await node.client.get(BASE, headers=auth(token)))["status_code"] != 1000

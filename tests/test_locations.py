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
    assert r.status_code == 400 and body(r)["status_code"] == 2001
    assert "last_updated" in body(r)["status_message"]


async def test_evse_patch_bumps_parent_and_keeps_other_fields(node):
    token, loc, url = await _put_example(node)
    r = await node.client.patch(url + "/3256", json={
        "status": "CHARGING", "last_updated": "2030-05-01T10:00:00Z"}, headers=auth(token))
    assert body(r)["status_code"] == 1000
    got = body(await node.client.get(url, headers=auth(token)))["data"]
    assert got["last_updated"] == "2030-05-01T10:00:00Z"
    evse = got["evses"][0]
    assert evse["status"] == "CHARGING"
    assert evse["evse_id"] == loc["evses"][0]["evse_id"]
    assert evse["connectors"] == loc["evses"][0]["connectors"]


async def test_connector_put_bumps_evse_and_location(node):
    token, loc, url = await _put_example(node)
    conn = copy.deepcopy(loc["evses"][0]["connectors"][0])
    conn["id"] = "9"
    conn["last_updated"] = "2031-01-01T00:00:00Z"
    r = await node.client.put(url + "/3256/9", content=dumps(conn), headers=auth(token))
    assert r.status_code == 201
    got = body(await node.client.get(url, headers=auth(token)))["data"]
    assert got["last_updated"] == "2031-01-01T00:00:00Z"
    assert got["evses"][0]["last_updated"] == "2031-01-01T00:00:00Z"
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
    assert r.status_code == 400 and "country_code" in body(r)["status_message"]
    assert (await node.client.get(BASE, headers=op())).status_code == 404
    assert (await node.client.get("/ocpi/emsp/2.2.1/locations/NL/TNM/LOC1",
                                  headers=op())).status_code == 404


async def test_body_id_must_match_url(node):
    token = await node.partner("BE", "BEC")
    loc = example("2.2.1", "location_example.json")
    r = await node.client.put("/ocpi/emsp/2.2.1/locations/BE/BEC/OTHER", content=dumps(loc),
                              headers=auth(token))
    assert r.status_code == 400 and body(r)["status_code"] == 2001


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
    assert r.status_code == 400 and "evses.0.status" in body(r)["status_message"]


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
    r = await node.client.patch(BASE, json={"name": "X", "last_updated": "2030-01-01T00:00:00Z"},
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
    assert r.status_code == 400 and "offset" in body(r)["status_message"]


async def test_nulls_are_not_stored_and_a_null_patch_erases_nothing(node):
    token, loc, url = await _put_example(node)
    r = await node.client.patch(url, json={"name": None, "operator": {"name": "X", "website": None},
                                           "last_updated": "2030-01-01T00:00:00Z"},
                                headers=auth(token))
    assert body(r)["status_code"] == 1000
    got = body(await node.client.get(url, headers=auth(token)))["data"]
    assert got["name"] == loc["name"]
    assert got["operator"] == {"name": "X"}

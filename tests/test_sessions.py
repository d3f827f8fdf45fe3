"""Sessions: receiver writes, cross-version reads, Gireve's 2.1.1 session,
sender visibility per eMSP, charging preferences."""

import copy
from decimal import Decimal
from pathlib import Path

from ocpi.core import jsonutil

from .conftest import auth, body, dumps, example, op

DATA = Path(__file__).resolve().parent / "data"


def gireve_session() -> dict:
    """The Session PUT of Gireve's IOP guide (tests/data/README.md)."""
    return jsonutil.loads((DATA / "gireve_session_put.json").read_text())


async def test_gireve_2_1_1_session_with_authorization_id(node):
    ses = gireve_session()
    token = await node.partner("FR", "CPO")
    url = "/ocpi/emsp/2.1.1/sessions/FR/CPO/AAAAAAA"
    h = {"Authorization": f"Token {token}", "Connection": "close"}
    r = await node.client.put(url, content=dumps(ses), headers=h)
    assert r.status_code == 201, r.text
    got = body(await node.client.get(url, headers=h))["data"]
    assert got["authorization_id"] == "mmm-ppp"
    assert got == {k: v for k, v in ses.items()}
    # the same session read by a 2.2.1 client
    new = body(await node.client.get(url.replace("2.1.1", "2.2.1"), headers=auth(token)))["data"]
    assert new["authorization_reference"] == "mmm-ppp"
    assert new["start_date_time"] == ses["start_datetime"]
    assert (new["location_id"], new["evse_uid"], new["connector_id"]) == ("aaaa", "aaaaa", "1")
    assert new["cdr_token"]["contract_id"] == "FR*EMP*11111"
    assert new["cdr_token"]["country_code"] == "FR" and new["cdr_token"]["party_id"] == "EMP"
    assert "location" not in new and "auth_id" not in new and "authorization_id" not in new
    # Gireve's PATCH (sent as in their guide, without last_updated on 2.1.1)
    r = await node.client.patch(url, json={"kwh": 2, "id": "AAAAAAA"}, headers=h)
    assert body(r)["status_code"] == 1000
    assert body(await node.client.get(url, headers=h))["data"]["kwh"] == 2


async def test_2_2_1_session_read_in_2_1_1_embeds_the_location(node):
    token = await node.partner("BE", "BEC")
    loc = example("2.2.1", "location_example.json")
    await node.client.put("/ocpi/emsp/2.2.1/locations/BE/BEC/LOC1", content=dumps(loc),
                          headers=auth(token))
    ses = example("2.2.1", "session_example_2_short_finished.json")
    url = "/ocpi/emsp/2.2.1/sessions/BE/BEC/101"
    assert (await node.client.put(url, content=dumps(ses), headers=auth(token))).status_code == 201
    old = body(await node.client.get(url.replace("2.2.1", "2.1.1"),
                                     headers=auth(token, "2.1.1")))["data"]
    assert old["auth_id"] == ses["cdr_token"]["contract_id"]
    assert old["location"]["id"] == "LOC1"
    assert [e["uid"] for e in old["location"]["evses"]] == ["3256"]
    assert old["location"]["evses"][0]["connectors"][0]["voltage"] == 220
    assert old["total_cost"] == ses["total_cost"]["excl_vat"]
    assert "cdr_token" not in old and "start_date_time" not in old


async def test_price_crosses_versions_exactly(node):
    token = await node.partner("BE", "BEC")
    ses = example("2.2.1", "session_example_2_short_finished.json")
    url = "/ocpi/emsp/2.2.1/sessions/BE/BEC/101"
    await node.client.put(url, content=dumps(ses), headers=auth(token))
    new = body(await node.client.get(url.replace("2.2.1", "2.3.0"), headers=auth(token)))["data"]
    excl, incl = Decimal(str(ses["total_cost"]["excl_vat"])), Decimal(
        str(ses["total_cost"]["incl_vat"]))
    assert new["total_cost"]["before_taxes"] == excl
    assert new["total_cost"]["taxes"][0]["amount"] == incl - excl


async def test_put_replaces_and_patch_appends_charging_periods(node):
    token = await node.partner("BE", "BEC")
    ses = example("2.2.1", "session_example_2_short_finished.json")
    url = "/ocpi/emsp/2.2.1/sessions/BE/BEC/101"
    await node.client.put(url, content=dumps(ses), headers=auth(token))
    without = {k: v for k, v in ses.items() if k != "charging_periods"}
    without["last_updated"] = "2025-01-01T00:00:00Z"
    await node.client.put(url, content=dumps(without), headers=auth(token))
    got = body(await node.client.get(url, headers=auth(token)))["data"]
    assert "charging_periods" not in got
    period = ses["charging_periods"][0]
    for n in (1, 2):
        r = await node.client.patch(url, content=dumps({
            "charging_periods": [period], "last_updated": f"2025-01-0{n + 1}T00:00:00Z"}),
            headers=auth(token))
        assert body(r)["status_code"] == 1000
    got = body(await node.client.get(url, headers=auth(token)))["data"]
    assert got["charging_periods"] == [period, period]


async def test_session_patch_rules(node):
    ses = example("2.2.1", "session_example_1_simple_start.json")
    token = await node.partner(ses["country_code"], ses["party_id"])
    url = f"/ocpi/emsp/2.2.1/sessions/{ses['country_code']}/{ses['party_id']}/{ses['id']}"
    assert (await node.client.put(url, content=dumps(ses), headers=auth(token))).status_code == 201
    r = await node.client.patch(url, json={"kwh": 5}, headers=auth(token))
    assert r.status_code == 200 and "last_updated" in body(r)["status_message"]
    r = await node.client.patch(url, json={"status": "BOGUS", "last_updated":
                                           "2025-01-01T00:00:00Z"}, headers=auth(token))
    assert r.status_code == 200 and "status" in body(r)["status_message"]
    r = await node.client.patch(url + "/charging_periods", json={}, headers=auth(token))
    assert r.status_code == 404
    got = body(await node.client.get(url, headers=auth(token)))["data"]
    assert got["status"] == ses["status"]


async def test_reservation_status_only_on_2_2(node):
    token = await node.partner("NL", "TNM")
    ses = example("2.1.1", "mod_sessions_L245_simple_session_example_of_a_just_starting_session"
                  ".json")
    ses["status"] = "RESERVATION"
    r = await node.client.put(f"/ocpi/emsp/2.1.1/sessions/NL/TNM/{ses['id']}",
                              content=dumps(ses), headers=auth(token, "2.1.1"))
    assert r.status_code == 200 and body(r)["status_code"] == 2001
    ses22 = example("2.2.1", "session_example_1_simple_start.json")
    ses22.update(status="RESERVATION", evse_uid="#NA", connector_id="#NA", country_code="NL",
                 party_id="TNM")
    url = f"/ocpi/emsp/2.2.1/sessions/NL/TNM/{ses22['id']}"
    r = await node.client.put(url, content=dumps(ses22), headers=auth(token))
    assert r.status_code == 201


async def _own_session(node, sid: str, token_cc: str, token_pid: str) -> None:
    ses = example("2.2.1", "session_example_1_simple_start.json")
    ses.update(country_code="NL", party_id="OCP", id=sid)
    ses["cdr_token"] = {**ses["cdr_token"], "country_code": token_cc, "party_id": token_pid}
    r = await node.client.put(f"/ocpi/cpo/2.2.1/sessions/NL/OCP/{sid}", content=dumps(ses),
                              headers=op())
    assert r.status_code == 201, r.text


async def test_sender_list_shows_each_emsp_only_its_sessions(node):
    await _own_session(node, "S1", "DE", "AAA")
    await _own_session(node, "S2", "DE", "BBB")
    await _own_session(node, "S3", "DE", "AAA")
    first = await node.partner("DE", "AAA", "EMSP")
    second = await node.partner("DE", "BBB", "EMSP")
    url = "/ocpi/cpo/2.2.1/sessions?date_from=2020-01-01T00:00:00Z"
    r = await node.client.get(url, headers=auth(first))
    assert [s["id"] for s in body(r)["data"]] == ["S1", "S3"]
    assert r.headers["x-total-count"] == "2"
    r = await node.client.get(url, headers=auth(second))
    assert [s["id"] for s in body(r)["data"]] == ["S2"]
    r = await node.client.get(url, headers=op())
    assert len(body(r)["data"]) == 3
    # a partner cannot read a single session through the management path
    r = await node.client.get("/ocpi/cpo/2.2.1/sessions/NL/OCP/S1", headers=auth(first))
    assert r.status_code == 403


async def test_charging_preferences(node):
    loc = example("2.2.1", "location_example.json")
    loc.update(country_code="NL", party_id="OCP")
    await node.client.put("/ocpi/cpo/2.2.1/locations/NL/OCP/LOC1", content=dumps(loc),
                          headers=op())
    await _own_session(node, "S1", "DE", "AAA")
    emsp = await node.partner("DE", "AAA", "EMSP")
    url = "/ocpi/cpo/2.2.1/sessions/S1/charging_preferences"
    r = await node.client.put(url, json={"profile_type": "FAST"}, headers=auth(emsp))
    assert r.status_code == 404 and body(r)["status_code"] == 2001  # EVSE not capable
    capable = copy.deepcopy(loc)
    capable["evses"][0]["capabilities"] = ["CHARGING_PREFERENCES_CAPABLE"]
    capable["last_updated"] = "2025-01-01T00:00:00Z"
    await node.client.put("/ocpi/cpo/2.2.1/locations/NL/OCP/LOC1", content=dumps(capable),
                          headers=op())
    r = await node.client.put(url, json={"profile_type": "FAST"}, headers=auth(emsp))
    assert r.status_code == 200 and body(r)["data"] == "ACCEPTED"
    r = await node.client.put(url, json={"profile_type": "NOPE"}, headers=auth(emsp))
    assert r.status_code == 200
    other = await node.partner("DE", "BBB", "EMSP")
    r = await node.client.put(url, json={"profile_type": "FAST"}, headers=auth(other))
    assert r.status_code == 404
    r = await node.client.put("/ocpi/cpo/2.1.1/sessions/S1/charging_preferences",
                              json={"profile_type": "FAST"}, headers=auth(emsp, "2.1.1"))
    assert r.status_code in (404, 405)


async def test_an_operator_put_keeps_what_the_node_keeps_beside_the_object(node):
    """A connector's raw record (``_source``) and the driver's charging preferences are
    the node's own: a whole-object PUT from the operator cannot send them, and keeps them."""
    from ocpi.core.enums import ModuleID, RoleEnum

    await _own_session(node, "S1", "DE", "AAA")
    store = node.node.crud
    stored = await store.get(ModuleID.sessions, RoleEnum.cpo, "S1", country_code="NL",
                             party_id="OCP")
    await store.update(ModuleID.sessions, RoleEnum.cpo,
                       {**stored, "_source": {"smappee": {"id": 7}},
                        "_charging_preferences": {"profile_type": "FAST"}}, "S1",
                       country_code="NL", party_id="OCP")
    ses = example("2.2.1", "session_example_1_simple_start.json")
    ses.update(country_code="NL", party_id="OCP", id="S1", kwh=5, status="ACTIVE",
               last_updated="2026-01-01T00:00:00Z", _source={"forged": True})
    r = await node.client.put("/ocpi/cpo/2.2.1/sessions/NL/OCP/S1", content=dumps(ses),
                              headers=op())
    assert r.status_code == 200, r.text
    now = await store.get(ModuleID.sessions, RoleEnum.cpo, "S1", country_code="NL",
                          party_id="OCP")
    assert now["kwh"] == 5
    assert now["_source"] == {"smappee": {"id": 7}}  # kept, and the forged one dropped
    assert now["_charging_preferences"] == {"profile_type": "FAST"}


async def test_an_unknown_session_is_a_404_with_the_generic_client_error(node):
    """No version has an "unknown session" status: 2003 would say the Location is
    unknown, which is not what happened."""
    token = await node.partner("NL", "CPO", role="CPO")
    for version in ("2.1.1", "2.2.1", "2.3.0"):
        r = await node.client.get(f"/ocpi/emsp/{version}/sessions/NL/CPO/NOPE",
                                  headers=auth(token, version))
        assert (r.status_code, body(r)["status_code"]) == (404, 2000), version


async def test_a_clock_far_ahead_is_refused_and_an_object_it_poisoned_is_repaired(node):
    """A Session stamped 2099 (a partner's clock set wrong) would make every later,
    correct update look old for ever: it is refused, naming the field; one stored
    before this rule is repaired by ``ocpi db restamp``."""
    from ocpi.core.enums import ModuleID, RoleEnum

    token = await node.partner("NL", "CPO", role="CPO")
    session = example("2.2.1", "session_example_1_simple_start.json")
    session = {**session, "country_code": "NL", "party_id": "CPO"}
    url = f"/ocpi/emsp/2.2.1/sessions/NL/CPO/{session['id']}"
    future = {**session, "last_updated": "2099-01-01T00:00:00Z"}
    r = await node.client.put(url, content=dumps(future), headers=auth(token))
    assert r.status_code == 200 and body(r)["status_code"] == 2001
    assert "last_updated" in body(r)["status_message"]
    r = await node.client.patch(url, content=dumps({"kwh": 1, "last_updated":
                                                    "2099-01-01T00:00:00Z"}),
                                headers=auth(token))
    assert body(r)["status_code"] in (2001, 2000)
    # poisoned before the rule: written straight to the store
    store = node.node.crud
    await store.create(ModuleID.sessions, RoleEnum.emsp, future, country_code="NL",
                       party_id="CPO")
    now = {**session, "kwh": 7, "last_updated": "2026-12-01T00:00:00Z"}
    r = await node.client.put(url, content=dumps(now), headers=auth(token))
    assert "not applied" in body(r)["status_message"]  # what poisoning looks like
    fixed = await store.restamp(ModuleID.sessions, RoleEnum.emsp, "NL", "CPO",
                                session["id"], "2026-11-30T00:00:00Z")
    assert fixed["last_updated"] == "2026-11-30T00:00:00Z"
    r = await node.client.put(url, content=dumps(now), headers=auth(token))
    assert body(r)["status_code"] == 1000 and "not applied" not in body(r)["status_message"]
    got = body(await node.client.get(url, headers=auth(token)))["data"]
    assert got["kwh"] == 7


def test_ocpi_db_restamp_names_what_it_cannot_find(tmp_path):
    from .test_cli import run

    db = f"sqlite:///{tmp_path / 'n.db'}"
    r = run("db", "restamp", "sessions", "NL/CPO/NOPE", db=db)
    assert r.returncode == 1 and "no sessions NL/CPO/NOPE" in r.stderr
    r = run("db", "restamp", "nosuch", "NL/CPO/X", db=db)
    assert r.returncode == 1


async def test_a_2_1_1_session_page_reads_each_location_once(node):
    """2.1.1 embeds the Location in every Session: a page of 30 sessions at two
    Locations reads two Locations, not thirty (they were read one by one)."""
    from ocpi.core.enums import ModuleID, RoleEnum
    from ocpi.store.sql_store import SqlStore

    class Counting(SqlStore):
        locations = 0

        async def get(self, module, *args, **kwargs):  # type: ignore[no-untyped-def]
            if module == ModuleID.locations:
                Counting.locations += 1
            return await super().get(module, *args, **kwargs)

    ours = node.app.state.node
    store = Counting(ours.db)
    token = await node.partner("DE", "MSP", role="EMSP")
    for n in (1, 2):
        loc = {**example("2.2.1", "location_example.json"), "country_code": "NL",
               "party_id": "OCP", "id": f"LOC{n}"}
        await store.create(ModuleID.locations, RoleEnum.cpo, loc)
    ses = example("2.2.1", "session_example_2_short_finished.json")
    for n in range(30):
        await store.create(ModuleID.sessions, RoleEnum.cpo, {
            **ses, "country_code": "NL", "party_id": "OCP", "id": f"S{n}",
            "location_id": f"LOC{n % 2 + 1}",
            "cdr_token": {**ses["cdr_token"], "country_code": "DE", "party_id": "MSP"}})
    ours.crud = store
    Counting.locations = 0
    r = await node.client.get("/ocpi/cpo/2.1.1/sessions?limit=50",
                              headers=auth(token, "2.1.1"))
    page = body(r)["data"]
    assert len(page) == 30 and {s["location"]["id"] for s in page} == {"LOC1", "LOC2"}
    assert Counting.locations == 2

"""Hub Client Info: a hub reports the parties it reaches, and writes only for
those (and its own); two hubs' reports are their own; the operator declares
the parties of a 2.1.1 hub, or lets it write for any; pulls follow the same rule."""

import dataclasses

import pytest

from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.modules.hubclientinfo.reach import ReachCache, declare, reports
from ocpi.peers import handshake
from ocpi.peers.credentials import Party
from ocpi.peers.handshake import Us
from ocpi.peers.registry import Registry
from ocpi.services.pull import pull
from ocpi.store.database import Database
from ocpi.store.sql_store import SqlStore

from .conftest import auth, body, dumps
from .servers import PeerMock, served

INFO = "/ocpi/{role}/{v}/hubclientinfo/{cc}/{pid}"


def location(cc: str, pid: str, id: str = "L1", updated: str = "2026-01-01T00:00:00Z"
             ) -> dict:
    return {"country_code": cc, "party_id": pid, "id": id, "publish": True,
            "address": "a", "city": "c", "country": "DEU", "time_zone": "Europe/Berlin",
            "coordinates": {"latitude": "52.000000", "longitude": "13.000000"},
            "last_updated": updated}


def info(cc: str, pid: str, status: str = "CONNECTED", role: str = "CPO",
         updated: str = "2026-01-01T00:00:00Z") -> dict:
    return {"country_code": cc, "party_id": pid, "role": role, "status": status,
            "last_updated": updated}


async def put_location(node, token: str, cc: str, pid: str, version: str = "2.2.1",
                       updated: str = "2026-01-01T00:00:00Z"):
    url = f"/ocpi/emsp/{version}/locations/{cc}/{pid}/L1"
    loc = location(cc, pid, updated=updated)
    if version == "2.1.1":  # no owner, a type and a postal code
        loc = {k: v for k, v in loc.items() if k not in ("country_code", "party_id",
                                                         "publish", "time_zone")}
        loc.update(type="ON_STREET", postal_code="10115")
    return await node.client.put(url, content=dumps(loc), headers=auth(token, version))


@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
async def test_a_hub_writes_only_for_the_parties_it_reports_reaching(node, version):
    hub = await node.partner("NL", "HUB", "HUB")
    h = auth(hub, version)
    r = await put_location(node, hub, "DE", "ABC", version)
    assert r.status_code == 403 and body(r)["status_code"] == 2000
    assert "has not reported reaching" in body(r)["status_message"]

    url = INFO.format(role="emsp", v=version, cc="DE", pid="ABC")
    r = await node.client.put(url, content=dumps(info("DE", "ABC")), headers=h)
    assert (r.status_code, body(r)["status_code"]) == (201, 1000), body(r)
    got = body(await node.client.get(url, headers=h))
    assert got["status_code"] == 1000 and got["data"] == info("DE", "ABC")
    assert (await put_location(node, hub, "DE", "ABC", version)).status_code == 201

    # the hub withdraws the party: its next write is refused at once (no stale cache)
    for status, allowed, n in (("SUSPENDED", False, 2), ("OFFLINE", True, 3),
                               ("PLANNED", False, 4), ("CONNECTED", True, 5)):
        patch = {"status": status, "last_updated": f"2026-01-0{n}T00:00:00Z"}
        r = await node.client.patch(url, content=dumps(patch), headers=h)
        assert body(r)["status_code"] == 1000, body(r)
        r = await put_location(node, hub, "DE", "ABC", version, f"2026-02-0{n}T00:00:00Z")
        assert (r.status_code == 200) is allowed, (status, body(r))
    # its own party is always its own; another party still is not
    assert (await put_location(node, hub, "NL", "HUB", version)).status_code == 201
    assert (await put_location(node, hub, "DE", "XYZ", version)).status_code == 403


async def test_only_a_hub_reports_and_what_it_reports_is_checked(node):
    cpo = await node.partner("DE", "CPO", "CPO")
    url = INFO.format(role="emsp", v="2.2.1", cc="DE", pid="ABC")
    r = await node.client.put(url, content=dumps(info("DE", "ABC")), headers=auth(cpo))
    assert r.status_code == 403 and "only a hub" in body(r)["status_message"]

    hub = await node.partner("NL", "HUB", "HUB")
    h = auth(hub)
    for bad, field in ((info("DE", "ABC", status="GONE"), "status"),
                       (info("DE", "XYZ"), "party_id"),
                       ({**info("DE", "ABC"), "last_updated": None}, "last_updated")):
        r = await node.client.put(url, content=dumps(bad), headers=h)
        assert (r.status_code, body(r)["status_code"]) == (200, 2001), body(r)
        assert field in body(r)["status_message"]
    r = await node.client.put(url, content=b"{not json", headers=h)
    assert r.status_code == 400 and body(r)["status_code"] == 2001
    assert body(await node.client.get(url, headers=h))["status_code"] == 2000  # none stored

    # an older report never replaces a newer one; a PATCH of nothing stored is unknown
    await node.client.put(url, content=dumps(info("DE", "ABC", updated="2026-05-01T00:00:00Z")),
                          headers=h)
    r = await node.client.put(url, content=dumps(info("DE", "ABC", "SUSPENDED")), headers=h)
    assert "not applied" in body(r)["status_message"]
    assert body(await node.client.get(url, headers=h))["data"]["status"] == "CONNECTED"
    other = INFO.format(role="emsp", v="2.2.1", cc="FR", pid="NEW")
    r = await node.client.patch(other, content=dumps({"status": "OFFLINE",
                                                      "last_updated": "2026-05-01T00:00:00Z"}),
                                headers=h)
    assert r.status_code == 404

    # 2.1.1 has no Hub Client Info; 2.2.1 lists it as a receiver interface
    r = await node.client.put(INFO.format(role="emsp", v="2.1.1", cc="DE", pid="ABC"),
                              content=dumps(info("DE", "ABC")), headers=auth(hub, "2.1.1"))
    assert r.status_code == 404
    details = body(await node.client.get("/ocpi/2.2.1/details", headers=h))["data"]
    assert {"identifier": "hubclientinfo", "role": "RECEIVER",
            "url": "http://testserver/ocpi/emsp/2.2.1/hubclientinfo"} in details["endpoints"]


async def test_two_hubs_reports_are_their_own(node):
    one, two = await node.partner("NL", "ONE", "HUB"), await node.partner("NL", "TWO", "HUB")
    url = INFO.format(role="cpo", v="2.2.1", cc="DE", pid="MSP")
    r = await node.client.put(url, content=dumps(info("DE", "MSP", role="EMSP")),
                              headers=auth(one))
    assert body(r)["status_code"] == 1000
    assert (await node.client.get(url, headers=auth(two))).status_code == 404
    token = {"country_code": "DE", "party_id": "MSP", "uid": "T1", "type": "RFID",
             "contract_id": "DE-MSP-T1", "issuer": "MSP", "valid": True,
             "whitelist": "ALLOWED", "last_updated": "2026-01-01T00:00:00Z"}
    tokens = "/ocpi/cpo/2.2.1/tokens/DE/MSP/T1"
    r = await node.client.put(tokens, content=dumps(token), headers=auth(two))
    assert r.status_code == 403
    r = await node.client.put(tokens, content=dumps(token), headers=auth(one))
    assert r.status_code == 201, body(r)
    assert [i["party_id"] for i in await reports(node.node.db, ("NL", "ONE"))] == ["MSP"]
    assert await reports(node.node.db, ("NL", "TWO")) == []


async def test_a_2_1_1_hub_writes_for_declared_parties_or_any_when_let(node):
    hub = await node.partner("FR", "GIR", "HUB")
    assert (await put_location(node, hub, "DE", "ABC", "2.1.1")).status_code == 403
    declared = await declare(node.node.crud, ("FR", "GIR"), "de", "abc", "CPO")
    assert (declared["country_code"], declared["party_id"]) == ("DE", "ABC")
    assert body(await put_location(node, hub, "DE", "ABC", "2.1.1"))["status_code"] == 1000
    assert (await put_location(node, hub, "DE", "XYZ", "2.1.1")).status_code == 403
    with pytest.raises(ValueError, match="status"):
        await declare(node.node.crud, ("FR", "GIR"), "DE", "XYZ", "CPO", "GONE")

    await node.node.registry.set_profile("fr-gir-hub", any_party=True)
    assert body(await put_location(node, hub, "DE", "XYZ", "2.1.1"))["status_code"] == 1000
    # a party that is not a hub never writes for another, whatever its profile says
    cpo = await node.partner("DE", "CPO", "CPO")
    await node.node.registry.set_profile("de-cpo-cpo", any_party=True)
    assert (await put_location(node, cpo, "DE", "XYZ")).status_code == 403
    # even a hub let write for any party never writes for us or a direct partner
    assert (await put_location(node, hub, "NL", "OCP", "2.1.1")).status_code == 403
    assert (await put_location(node, hub, "DE", "CPO", "2.1.1")).status_code == 403


async def test_a_hub_sets_charging_preferences_only_for_reached_emsps(node):
    """A hub forwards an eMSP's charging preferences only when it reaches that eMSP."""
    from .conftest import example, op
    from .test_sessions import _own_session

    loc = example("2.2.1", "location_example.json")
    loc.update(country_code="NL", party_id="OCP")
    loc["evses"][0]["capabilities"] = ["CHARGING_PREFERENCES_CAPABLE"]
    await node.client.put("/ocpi/cpo/2.2.1/locations/NL/OCP/LOC1", content=dumps(loc),
                          headers=op())
    await _own_session(node, "S1", "DE", "MSP")
    hub = await node.partner("NL", "HUB", "HUB")
    url = "/ocpi/cpo/2.2.1/sessions/S1/charging_preferences"
    r = await node.client.put(url, json={"profile_type": "FAST"}, headers=auth(hub))
    assert r.status_code == 404  # not a session of any party it reaches
    await node.client.put(INFO.format(role="cpo", v="2.2.1", cc="DE", pid="MSP"),
                          content=dumps(info("DE", "MSP", role="EMSP")), headers=auth(hub))
    r = await node.client.put(url, json={"profile_type": "FAST"}, headers=auth(hub))
    assert r.status_code == 200 and body(r)["data"] == "ACCEPTED", body(r)


async def test_the_reach_cache_is_bounded_and_forgets_a_hub(db):
    store = SqlStore(db)
    cache = ReachCache(ttl=60, size=3)
    hub = ("NL", "HUB")
    for n in range(10):  # a hub writing for ever new parties costs lookups, not memory
        assert not await cache.reaches(store, hub, "DE", f"P{n}")
        assert len(cache._answers) <= 3
    await declare(store, hub, "DE", "P9", "CPO")
    assert await cache.reaches(store, hub, "DE", "P9")  # a no is asked again
    await declare(store, hub, "DE", "P9", "CPO", "SUSPENDED")
    assert await cache.reaches(store, hub, "DE", "P9")  # a yes is kept for the ttl
    cache.forget(hub)
    assert not await cache.reaches(store, hub, "DE", "P9")


US = Us(versions_url="http://127.0.0.1:1/ocpi/versions",
        parties=[Party("EMSP", "DE", "MSP", {"name": "us"})])


@pytest.fixture
def hub_platform(local_partners):
    yield from served(PeerMock(party=("NL", "HUB", "HUB"),
                               modules=("credentials", "locations", "hubclientinfo")))


async def test_pulls_from_a_hub_keep_only_parties_it_reports(database_url, hub_platform):
    db = Database(database_url)
    try:
        registry, store = Registry(db), SqlStore(db)
        peer = await handshake.register(registry, US, f"{hub_platform.url}/versions",
                                        "token-a", version="2.2.1", role="HUB")
        hub_platform.items = [info("NL", "CP1"), info("NL", "CP2", "SUSPENDED"),
                              info("NL", "CP3", "PLANNED")]
        result = await pull(registry, store, US, peer, "hubclientinfo")
        assert (result.received, result.created, result.rejected) == (3, 3, [])
        stored = await store.get(ModuleID.hub_client_info, RoleEnum.hub, "NL*HUB",
                                 country_code="NL", party_id="CP1")
        assert stored["status"] == "CONNECTED"

        hub_platform.items = [location("NL", pid) for pid in ("CP1", "CP2", "CP3", "HUB")]
        result = await pull(registry, store, US, peer, "locations")
        assert (result.received, result.created) == (4, 2)
        assert [r.split(": ", 1)[1] for r in result.rejected] == [
            f"belongs to NL/{pid}, a party it may not act for" for pid in ("CP2", "CP3")]

        not_a_hub = dataclasses.replace(peer, role="CPO",
                                        parties=[Party("CPO", "NL", "HUB", {})])
        with pytest.raises(ValueError, match="not a hub"):
            await pull(registry, store, US, not_a_hub, "hubclientinfo")
    finally:
        await db.dispose()


async def test_a_hub_lists_the_sessions_of_the_party_it_asks_for(node):
    """2.2.1 routing: a hub's GET carries OCPI-from, the party it asks on behalf of."""
    from .test_sessions import _own_session

    for sid, pid in (("S1", "MSP"), ("S2", "OTH")):
        await _own_session(node, sid, "DE", pid)
    hub = await node.partner("NL", "HUB", "HUB")
    await node.client.put(INFO.format(role="cpo", v="2.2.1", cc="DE", pid="MSP"),
                          content=dumps(info("DE", "MSP", role="EMSP")), headers=auth(hub))

    async def listed(headers: dict) -> list[str]:
        r = await node.client.get("/ocpi/cpo/2.2.1/sessions",
                                  headers={**auth(hub), **headers})
        return [s["id"] for s in body(r)["data"]]

    def sender(pid: str) -> dict:
        return {"OCPI-from-country-code": "DE", "OCPI-from-party-id": pid}

    assert await listed(sender("MSP")) == ["S1"]
    assert await listed(sender("OTH")) == []  # a party it has not reported reaching
    assert await listed({}) == []  # on its own behalf: it holds no tokens
    await node.node.registry.set_profile("nl-hub-hub", any_party=True)
    assert sorted(await listed({})) == ["S1", "S2"]


def test_a_served_node_limits_hubs_as_the_operator_says(tmp_path):
    """A real ``ocpi serve``: a 2.2.1 hub reports a party; a 2.1.1 hub's parties are
    declared by ``ocpi peers reach``, or it is let write for any (``peers set``)."""
    import json

    import httpx

    from .test_partners_e2e import ocpi, serving

    db = f"sqlite:///{tmp_path / 'cpo.db'}"

    def add(cc: str, pid: str) -> str:
        r = ocpi("peers", "add", "--country-code", cc, "--party-id", pid, "--role", "HUB",
                 "--json", db=db)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)["token"]

    gireve, modern = add("FR", "GIR"), add("NL", "HUB")
    with serving(db, "emsp", "DE", "MSP") as base, httpx.Client(base_url=base) as http:
        def put(token: str, cc: str, pid: str, version: str) -> int:
            loc = location(cc, pid)
            if version == "2.1.1":
                loc = {k: v for k, v in loc.items() if k not in (
                    "country_code", "party_id", "publish", "time_zone")}
                loc.update(type="ON_STREET", postal_code="10115")
            r = http.put(f"/ocpi/emsp/{version}/locations/{cc}/{pid}/L1",
                         content=dumps(loc), headers=auth(token, version))
            return "stored" if body(r)["status_code"] == 1000 else r.status_code

        assert put(modern, "DE", "ABC", "2.2.1") == 403
        r = http.put("/ocpi/emsp/2.2.1/hubclientinfo/DE/ABC",
                     content=dumps(info("DE", "ABC")), headers=auth(modern))
        assert r.status_code == 201, r.text
        assert put(modern, "DE", "ABC", "2.2.1") == "stored"

        assert put(gireve, "DE", "ABC", "2.1.1") == 403
        r = ocpi("peers", "reach", "fr-gir-hub", "DE/ABC", "--role", "CPO", db=db)
        assert r.returncode == 0 and "DE/ABC CPO   CONNECTED" in r.stdout, r.stdout + r.stderr
        assert put(gireve, "DE", "ABC", "2.1.1") == "stored"
        assert put(gireve, "DE", "XYZ", "2.1.1") == 403
        r = ocpi("peers", "set", "fr-gir-hub", "--any-party", "yes", db=db)
        assert r.returncode == 0, r.stderr
        assert put(gireve, "DE", "XYZ", "2.1.1") == "stored"

    listed = ocpi("peers", "reach", "nl-hub-hub", "--json", db=db)
    assert [i["party_id"] for i in json.loads(listed.stdout)] == ["ABC"]
    r = ocpi("peers", "add", "--country-code", "DE", "--party-id", "CPO", "--role", "CPO",
             db=db)
    r = ocpi("peers", "set", "de-cpo-cpo", "--any-party", "yes", db=db)
    assert r.returncode == 1 and "not a hub" in r.stderr
    r = ocpi("peers", "reach", "de-cpo-cpo", "DE/ABC", db=db)
    assert r.returncode == 1 and "not a hub" in r.stderr
    r = ocpi("peers", "reach", "fr-gir-hub", "DEABC", db=db)
    assert r.returncode == 1 and "CC/PID" in r.stderr
    r = ocpi("peers", "reach", "fr-gir-hub", "DE/XYZ", "--role", "NOPE", db=db)
    assert r.returncode == 2 and "--role" in r.stderr
    r = ocpi("peers", "reach", "fr-gir-hub", "DE/ABC", "--forget", "--json", db=db)
    assert r.returncode == 0 and json.loads(r.stdout) == [], r.stderr


def test_registering_with_a_hub_pulls_the_parties_it_reaches(tmp_path, hub_platform):
    import json

    from .test_partners_e2e import ocpi

    hub_platform.items = [info("NL", "CP1"), info("BE", "CP2", "OFFLINE")]
    db = f"sqlite:///{tmp_path / 'emsp.db'}"
    r = ocpi("peers", "register", "--versions-url", f"{hub_platform.url}/versions",
             "--version", "2.2.1", "--role", "HUB", "--public-url", "http://127.0.0.1:8000",
             db=db,
             env={"OCPI_COUNTRY_CODE": "DE", "OCPI_PARTY_ID": "MSP",
                  "OCPI_REGISTRATION_TOKEN": "token-a"})
    assert r.returncode == 0, r.stderr
    assert "it reports 2 parties" in r.stdout
    listed = json.loads(ocpi("peers", "reach", "nl-hub-hub", "--json", db=db).stdout)
    assert {(i["country_code"], i["party_id"], i["status"]) for i in listed} == {
        ("NL", "CP1", "CONNECTED"), ("BE", "CP2", "OFFLINE")}


async def test_a_hub_that_registers_with_us_has_its_parties_pulled(node, hub_platform):
    """Once our credentials answer is sent, the hub's list is pulled: it may then write
    for its parties without waiting for a push."""
    from .test_credentials import creds_body, post

    hub_platform.items = [info("BE", "CP2")]
    _, token_a = await node.node.registry.invite("NL", "HUB", "HUB")
    r = await post(node, "2.2.1", token_a, creds_body(hub_platform, "2.2.1"))
    assert body(r)["status_code"] == 1000, body(r)
    pulled = [q for q in hub_platform.requests if q["path"].endswith("/hubclientinfo")]
    assert len(pulled) == 1
    token_c = body(r)["data"]["token"]
    assert (await put_location(node, token_c, "BE", "CP2")).status_code == 201

    # a platform that is no hub is not asked
    hub_platform.requests.clear()
    _, token_a = await node.node.registry.invite("NL", "CPO", "CPO")
    data = creds_body(hub_platform, "2.2.1")
    data["roles"][0].update(role="CPO", party_id="CPO")
    assert body(await post(node, "2.2.1", token_a, data))["status_code"] == 1000
    assert not [q for q in hub_platform.requests if q["path"].endswith("/hubclientinfo")]



def _soon() -> str:
    """A stamp a little ahead of now: later than anything stored, within the clock
    tolerance (a stamp far ahead is refused)."""
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(seconds=120)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_a_report_holds_whichever_interface_it_came_in_on(node):
    """One report per hub and party: declared by the operator, withdrawn by the hub on
    its eMSP interface, read on its CPO interface."""
    hub = await node.partner("NL", "HUB", "HUB")
    await declare(node.node.crud, ("NL", "HUB"), "DE", "ABC", "CPO")
    assert (await put_location(node, hub, "DE", "ABC")).status_code == 201
    r = await node.client.put(INFO.format(role="emsp", v="2.2.1", cc="DE", pid="ABC"),
                              content=dumps(info("DE", "ABC", "SUSPENDED",
                                                 updated=_soon())),
                              headers=auth(hub))
    assert body(r)["status_code"] == 1000
    assert (await put_location(node, hub, "DE", "ABC")).status_code == 403
    r = await node.client.get(INFO.format(role="cpo", v="2.2.1", cc="DE", pid="ABC"),
                              headers=auth(hub))
    assert body(r)["data"]["status"] == "SUSPENDED"
    # the operator's statement replaces the hub's, even one dated later
    await declare(node.node.crud, ("NL", "HUB"), "DE", "ABC", "CPO")
    assert (await put_location(node, hub, "DE", "ABC")).status_code == 200
    assert [i["status"] for i in await reports(node.node.db, ("NL", "HUB"))] == ["CONNECTED"]


async def test_a_hub_never_acts_for_us_nor_for_a_party_registered_directly(node):
    hub = await node.partner("NL", "HUB", "HUB")
    direct = await node.partner("DE", "CPO", "CPO")
    for cc, pid in (("NL", "OCP"), ("DE", "CPO")):  # our own party; a direct partner's
        r = await node.client.put(INFO.format(role="emsp", v="2.2.1", cc=cc, pid=pid),
                                  content=dumps(info(cc, pid)), headers=auth(hub))
        assert body(r)["status_code"] == 1000  # kept as the hub said it...
        r = await put_location(node, hub, cc, pid)
        assert r.status_code == 403, (cc, pid, body(r))  # ...but never acted on
    assert (await put_location(node, direct, "DE", "CPO")).status_code == 201


async def test_no_party_named_is_no_party_reached(db):
    store = SqlStore(db)
    await declare(store, ("NL", "HUB"), "DE", "ABC", "CPO")
    cache = ReachCache()
    assert not await cache.reaches(store, ("NL", "HUB"), "", "")
    assert not await cache.reaches(store, ("NL", "HUB"), "DE", "")
    assert await cache.reaches(store, ("NL", "HUB"), "de", "abc")


async def test_internal_fields_cannot_be_set_by_a_caller(node):
    one, two = await node.partner("NL", "ONE", "HUB"), await node.partner("NL", "TWO", "HUB")
    forged = {**info("DE", "MSP", role="EMSP"), "_reported_by": "NL*ONE"}
    r = await node.client.put(INFO.format(role="cpo", v="2.2.1", cc="DE", pid="MSP"),
                              content=dumps(forged), headers=auth(two))
    assert body(r)["status_code"] == 1000
    assert await reports(node.node.db, ("NL", "ONE")) == []
    assert [i["party_id"] for i in await reports(node.node.db, ("NL", "TWO"))] == ["MSP"]
    loc = {**location("DE", "ONE"), "_charging_preferences": {"profile_type": "FAST"}}
    r = await node.client.put("/ocpi/emsp/2.2.1/locations/NL/ONE/L1",
                              content=dumps({**loc, "country_code": "NL"}), headers=auth(one))
    assert r.status_code == 201, body(r)
    stored = await node.node.crud.get(ModuleID.locations, RoleEnum.emsp, "L1",
                                      country_code="NL", party_id="ONE")
    assert "_charging_preferences" not in stored


async def test_refusals_are_logged_a_few_times_per_ttl(db, caplog):
    store = SqlStore(db)
    cache = ReachCache(ttl=60)
    for n in range(40):
        await cache.reaches(store, ("NL", "HUB"), "DE", f"P{n}")
    refusals = [r for r in caplog.records if r.name == "ocpi.hubclientinfo"]
    assert len(refusals) == 11 and "not logged" in refusals[-1].getMessage()


async def test_a_pull_after_registration_clears_what_was_known(node, hub_platform):
    """A withdrawal that arrives by the pull after a registration counts at once."""
    from .test_credentials import creds_body, post

    hub_platform.items = [info("BE", "CP2")]
    _, token_a = await node.node.registry.invite("NL", "HUB", "HUB")
    token_c = body(await post(node, "2.2.1", token_a,
                              creds_body(hub_platform, "2.2.1")))["data"]["token"]
    assert (await put_location(node, token_c, "BE", "CP2")).status_code == 201  # cached yes
    hub_platform.items = [info("BE", "CP2", "SUSPENDED", updated="2026-02-01T00:00:00Z")]
    r = await node.client.put("/ocpi/2.2.1/credentials", content=dumps(
        creds_body(hub_platform, "2.2.1")), headers=auth(token_c))
    assert body(r)["status_code"] == 1000, body(r)
    token_c = body(r)["data"]["token"]
    r = await put_location(node, token_c, "BE", "CP2", updated="2026-03-01T00:00:00Z")
    assert r.status_code == 403


def test_a_hub_whose_list_fails_stays_registered(tmp_path, hub_platform):
    import json

    from .test_partners_e2e import ocpi

    hub_platform.mode = {"/2.2.1/hubclientinfo": "garbage"}
    db = f"sqlite:///{tmp_path / 'emsp.db'}"
    r = ocpi("peers", "register", "--versions-url", f"{hub_platform.url}/versions",
             "--version", "2.2.1", "--role", "HUB", "--public-url", "http://127.0.0.1:8000",
             db=db, env={"OCPI_COUNTRY_CODE": "DE", "OCPI_PARTY_ID": "MSP",
                         "OCPI_REGISTRATION_TOKEN": "token-a"})
    assert r.returncode == 0, r.stderr
    assert "could not be pulled" in r.stdout and "peers pull nl-hub-hub hubclientinfo" in r.stdout
    listed = json.loads(ocpi("peers", "list", "--json", db=db).stdout)
    assert [(p["name"], p["state"]) for p in listed] == [("nl-hub-hub", "registered")]


async def test_a_registration_during_a_follow_up_asks_for_one_more_run(node):
    """A hub's credentials PUT right after its POST: the pull running with the old
    token is followed by one more, with the partner as it is then."""
    import asyncio

    seen: list[int | None] = []
    gate = asyncio.Event()

    async def follow(us, peer):
        seen.append(peer.profile.page_limit)
        await gate.wait()

    node.node.after_registration[:] = [follow]
    peer, _ = await node.node.registry.add_peer("NL", "HUB", "HUB")
    first = asyncio.create_task(node.node.registered(peer.id, None))
    while not seen:
        await asyncio.sleep(0)
    await node.node.registry.set_profile(peer.name, page_limit=5)  # the partner changed
    await node.node.registered(peer.id, None)  # returns at once, asks for one more
    await node.node.registered(peer.id, None)  # still one more, not two
    gate.set()
    await first
    assert seen == [None, 5]  # the second run read the partner again
    assert not node.node._following


async def test_the_partner_registry_is_read_once_per_hub_and_party(node, monkeypatch):
    """A hub's every write asks whom it may act for; the answer (reports, and whether
    the party is registered with us directly) is read once per party and ttl."""
    hub = await node.partner("FR", "GIR", "HUB")
    await node.node.registry.set_profile("fr-gir-hub", any_party=True)
    reads = []
    direct = node.node.registry.direct_parties

    async def counted():
        reads.append(1)
        return await direct()

    monkeypatch.setattr(node.node.registry, "direct_parties", counted)
    for n in range(5):
        r = await put_location(node, hub, "DE", "XYZ", "2.1.1",
                               updated=f"2026-01-0{n + 1}T00:00:00Z")
        assert body(r)["status_code"] == 1000
    assert len(reads) == 1

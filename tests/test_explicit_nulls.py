"""The explicit-nulls quirk: every optional field sent, for partners that refuse a missing key.

The seed tutorials' library (elumobility/ocpi-python) refuses a Session without
``end_date_time``, a Location without ``state`` or ``energy_mix`` and credentials
without ``website``, but takes ``null`` for each; it refuses ``null`` where it
expects a list. ``receiver.seed_library`` judges requests the same way.
"""

import json

import pytest

from ocpi.core.enums import ModuleID
from ocpi.modules.nulls import with_nulls
from ocpi.outbox import admin
from ocpi.peers import handshake
from ocpi.peers.credentials import Party
from ocpi.peers.handshake import Us
from ocpi.peers.profile import Profile
from ocpi.peers.registry import Registry
from ocpi.store.database import Database
from ocpi.store.sql_store import SqlStore

from .conftest import auth, body, dumps, op
from .outbox_helpers import CPO, receiving_partner, session, worker, write
from .receiver import Receiver, seed_library, seed_problems
from .servers import PeerMock, served

pytestmark = pytest.mark.usefixtures("local_partners")

NULLS = Profile(explicit_nulls=True)


def location(n: int = 1, updated: str = "2026-11-20T10:00:00Z") -> dict:
    connector = {"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET",
                 "power_type": "AC_3_PHASE", "max_voltage": 400, "max_amperage": 32,
                 "last_updated": updated}
    return {"country_code": CPO[0], "party_id": CPO[1], "id": f"LOC{n}", "publish": True,
            "address": "Street 1", "city": "Town", "country": "NLD",
            "coordinates": {"latitude": "52.100000", "longitude": "4.100000"},
            "time_zone": "Europe/Amsterdam", "operator": {"name": "Operator"},
            "evses": [{"uid": "EVSE1", "status": "AVAILABLE", "connectors": [connector],
                       "last_updated": updated}],
            "x_hub_extension": "kept", "last_updated": updated}


def charged(n: int, **kw) -> dict:
    """A session with a charging period (whose ``tariff_id`` is optional)."""
    return {**session(n, **kw), "charging_periods": [
        {"start_date_time": "2026-11-20T10:00:00Z",
         "dimensions": [{"type": "ENERGY", "volume": 1.5}]}]}


# --- the schema walk -------------------------------------------------------------------

def test_every_optional_field_of_the_version_is_filled_in_recursively():
    wire = with_nulls("locations", "2.2.1", location())
    assert seed_problems("location", wire) == []
    assert wire["state"] is None and wire["energy_mix"] is None and wire["name"] is None
    assert wire["facilities"] == [] and wire["evses"][0]["capabilities"] == []  # lists: []
    evse = wire["evses"][0]
    assert evse["status_schedule"] is None  # the one "list" that library types as an object
    assert evse["connectors"][0]["max_electric_power"] is None
    assert wire["operator"] == {"name": "Operator", "website": None, "logo": None}
    assert wire["x_hub_extension"] == "kept" and wire["address"] == "Street 1"
    assert "parking_places" not in wire and "help_phone" not in wire  # 2.3.0 only
    assert with_nulls("locations", "2.3.0", location())["help_phone"] is None

    s = with_nulls("sessions", "2.2.1", charged(1))
    assert seed_problems("session", s) == []
    assert (s["end_date_time"], s["total_cost"], s["meter_id"]) == (None, None, None)
    assert s["charging_periods"][0]["tariff_id"] is None
    assert s["cdr_token"] == session(1)["cdr_token"]  # nothing optional in it

    creds = with_nulls("credentials", "2.2.1", {"token": "t", "url": "u", "roles": [
        {"role": "CPO", "country_code": "NL", "party_id": "OCP",
         "business_details": {"name": "Us"}}]})
    assert creds["roles"][0]["business_details"] == {"name": "Us", "website": None,
                                                     "logo": None}
    assert "hub_party_id" not in creds  # 2.3.0 only
    creds = with_nulls("credentials", "2.1.1", {"token": "t", "url": "u", "party_id": "OCP",
                                                "country_code": "NL",
                                                "business_details": {"name": "Us"}})
    assert creds["business_details"]["website"] is None


def test_a_2_1_1_session_completes_the_location_it_embeds():
    wire = {"id": "S1", "location": {"id": "L1", "evses": [{"uid": "E1", "connectors": [
        {"id": "1"}]}]}}
    out = with_nulls("sessions", "2.1.1", wire)
    assert out["end_datetime"] is None and out["location"]["energy_mix"] is None
    assert out["location"]["evses"][0]["connectors"][0]["tariff_id"] is None


# --- outbox pushes -----------------------------------------------------------------------

async def test_pushes_to_such_a_partner_carry_every_optional_field(db):
    store = SqlStore(db)
    with Receiver(refuse=seed_library) as r:
        await receiving_partner(db, r.url, "DE", "MSP", explicit_nulls=True)
        await write(store, location(), ModuleID.locations)
        await write(store, charged(1))
        await worker(db).drain_once()
        assert await admin.messages(db, state="dead") == []
        put_location, put_session = r.accepted
        assert put_location.body["state"] is None and put_location.body["energy_mix"] is None
        assert put_session.body["end_date_time"] is None

        # a PATCH adds no null of its own (it would clear the field at the partner),
        # but the objects it carries are complete
        changed = {**location(), "owner": {"name": "Owner"},
                   "last_updated": "2026-11-20T11:00:00Z"}
        await write(store, changed, ModuleID.locations)
        await write(store, charged(1, kwh=4.0, second=60))
        await worker(db).drain_once()
    patch_location, patch_session = r.accepted[2:]
    assert patch_location.method == "PATCH" and patch_location.body == {
        "owner": {"name": "Owner", "website": None, "logo": None},
        "last_updated": "2026-11-20T11:00:00Z"}
    assert patch_session.method == "PATCH" and patch_session.body == {
        "kwh": 4.0, "last_updated": "2026-11-20T10:01:00Z"}


async def test_without_the_quirk_such_a_partner_refuses_and_with_it_takes_them(db):
    store = SqlStore(db)
    with Receiver(refuse=seed_library) as r:
        await receiving_partner(db, r.url, "DE", "MSP")
        await write(store, location(), ModuleID.locations)
        await write(store, charged(1))
        await worker(db).drain_once()
        dead = await admin.messages(db, state="dead")
        assert len(dead) == 2 and all("status_code 2001" in m.last_error for _, m in dead)
        assert r.accepted == []

        await Registry(db).set_profile("de-msp", explicit_nulls=True)
        assert await admin.retry(db, all_dead=True) == 2
        await worker(db).drain_once()
    assert [m.method for m in r.accepted] == ["PUT", "PUT"]
    assert await admin.messages(db, state="dead") == []


# --- answers to the partner's own GETs ----------------------------------------------------

async def _partner(node, cc: str, pid: str, role: str, **profile) -> str:
    token = await node.partner(cc, pid, role)
    if profile:
        await node.node.registry.set_profile(f"{cc}-{pid}-{role}".lower(), **profile)
    return token


async def test_list_pages_to_such_a_partner_carry_every_optional_field(node):
    for version in ("2.2.1", "2.3.0"):
        r = await node.client.put(f"/ocpi/cpo/{version}/locations/NL/OCP/LOC1",
                                  content=dumps(location()), headers=op(version))
        assert body(r)["status_code"] == 1000
    r = await node.client.put("/ocpi/cpo/2.2.1/sessions/NL/OCP/S0001",
                              content=dumps(charged(1)), headers=op())
    assert body(r)["status_code"] == 1000
    wanting = await _partner(node, "DE", "MSP", "EMSP", explicit_nulls=True)
    plain = await _partner(node, "DE", "OTH", "EMSP")

    for version in ("2.2.1", "2.3.0"):
        r = await node.client.get(f"/ocpi/cpo/{version}/locations", headers=auth(wanting, version))
        [loc] = body(r)["data"]
        assert seed_problems("location", loc) == []
        assert loc["state"] is None and ("help_phone" in loc) == (version == "2.3.0")
    r = await node.client.get("/ocpi/cpo/2.2.1/sessions", headers=auth(wanting))
    [ses] = body(r)["data"]
    assert seed_problems("session", ses) == [] and ses["end_date_time"] is None

    # everyone else gets what they always got: no nulls (the stored text, spliced)
    r = await node.client.get("/ocpi/cpo/2.2.1/locations", headers=auth(plain))
    [loc] = body(r)["data"]
    assert "state" not in loc and "status_schedule" not in loc["evses"][0]
    assert None not in json.loads(r.content)["data"][0].values()

    # a change of profile counts from the next request on
    await node.node.registry.set_profile("de-msp-emsp", explicit_nulls=False)
    r = await node.client.get("/ocpi/cpo/2.2.1/locations", headers=auth(wanting))
    assert "state" not in body(r)["data"][0]


async def test_get_by_id_to_such_a_partner_carries_every_optional_field(node):
    await node.client.put("/ocpi/cpo/2.2.1/locations/NL/OCP/LOC1", content=dumps(location()),
                          headers=op())
    wanting = await _partner(node, "DE", "MSP", "EMSP", explicit_nulls=True)
    r = await node.client.get("/ocpi/cpo/2.2.1/locations/LOC1", headers=auth(wanting))
    assert body(r)["data"]["state"] is None
    r = await node.client.get("/ocpi/cpo/2.2.1/locations/LOC1/EVSE1", headers=auth(wanting))
    assert body(r)["data"]["status_schedule"] is None


# --- our credentials, in both handshake directions ---------------------------------------

TOKEN_B = "token-B-from-the-partner"


@pytest.fixture
def registering():
    """A platform that registers with us (it answers our calls back)."""
    peer = PeerMock(party=("NL", "MCK", "EMSP"))
    peer.tokens = {TOKEN_B}
    yield from served(peer)


@pytest.mark.parametrize("version", ["2.1.1", "2.2.1", "2.3.0"])
async def test_our_credentials_answer_to_such_a_partner_carries_every_optional_field(
        node, registering, version):
    """Invited with the quirk: our answer to its POST is the first object it gets."""
    registry = node.node.registry
    token_a = (await registry.invite("NL", "MCK", "EMSP", profile=NULLS))[1]
    other_a = (await registry.invite("NL", "OTH", "EMSP", name="other"))[1]
    creds = {**registering.credentials(version, registering.url), "token": TOKEN_B}

    r = await node.client.post(f"/ocpi/{version}/credentials", content=dumps(creds),
                               headers=auth(token_a, version))
    ours = body(r)["data"]
    details = [ours["business_details"]] if version == "2.1.1" else \
        [role["business_details"] for role in ours["roles"]]
    assert all(d["website"] is None and d["logo"] is None for d in details)
    assert ("hub_party_id" in ours) == (version == "2.3.0")
    r = await node.client.get(f"/ocpi/{version}/credentials", headers=auth(ours["token"], version))
    assert body(r)["data"] == ours
    # a PUT rotates the token: the new one is first seen in its grace period, quirk and all
    r = await node.client.put(f"/ocpi/{version}/credentials", content=dumps(creds),
                              headers=auth(ours["token"], version))
    rotated = body(r)["data"]
    assert rotated["token"] != ours["token"] and "null" in r.text
    r = await node.client.get(f"/ocpi/{version}/credentials",
                              headers=auth(rotated["token"], version))
    assert body(r)["data"] == rotated

    other = {**registering.credentials(version, registering.url), "token": TOKEN_B,
             **({"party_id": "OTH"} if version == "2.1.1" else {"roles": [
                 {"role": "EMSP", "country_code": "NL", "party_id": "OTH",
                  "business_details": {"name": "Other"}}]})}
    r = await node.client.post(f"/ocpi/{version}/credentials", content=dumps(other),
                               headers=auth(other_a, version))
    assert "null" not in r.text  # a partner without the quirk gets no nulls


@pytest.fixture
def partner():
    """A platform we register with (it records what we send)."""
    yield from served(PeerMock(party=("NL", "MCK", "CPO")))


@pytest.mark.parametrize("version", ["2.1.1", "2.2.1"])
async def test_our_credentials_post_and_put_to_such_a_partner_carry_every_optional_field(
        database_url, partner, version):
    db = Database(database_url)
    try:
        registry = Registry(db)
        us = Us(versions_url="http://127.0.0.1:1/ocpi/versions",
                parties=[Party("EMSP", "DE", "MSP", {"name": "us"})])
        peer = await handshake.register(registry, us, f"{partner.url}/versions", "token-a",
                                        version=version, role="CPO", profile=NULLS)
        assert peer.profile.explicit_nulls
        await handshake.update(registry, us, peer, version=version)
    finally:
        await db.dispose()
    sent = [json.loads(r["body"]) for r in partner.seen("POST") + partner.seen("PUT")]
    assert len(sent) == 2
    for creds in sent:
        details = creds["business_details"] if version == "2.1.1" else \
            creds["roles"][0]["business_details"]
        assert details == {"name": "us", "website": None, "logo": None}


async def test_the_profile_is_kept_as_json_without_a_schema_change(db):
    """An older row (no explicit_nulls key) reads as off; the key round-trips."""
    registry = Registry(db)
    await registry.add_peer("DE", "MSP", "EMSP")
    peer = await registry.get("de-msp-emsp")
    assert peer.profile.explicit_nulls is False
    peer = await registry.set_profile("de-msp-emsp", explicit_nulls=True)
    assert (await registry.get("de-msp-emsp")).profile.explicit_nulls is True
    assert Profile.from_json('{"plain_token": true}').explicit_nulls is False

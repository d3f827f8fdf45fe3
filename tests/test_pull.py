"""Pulling a partner's lists into our store, on both backends, from a real server."""

import pytest

from ocpi.core.datetime import parse_datetime
from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.peers import handshake
from ocpi.peers.client import PartnerError
from ocpi.peers.credentials import Party
from ocpi.peers.handshake import Us
from ocpi.peers.registry import Registry
from ocpi.services.pull import pull
from ocpi.store.database import Database
from ocpi.store.sql_store import SqlStore

from .servers import PeerMock, served
from .test_client import BrokenLinks

US = Us(versions_url="http://127.0.0.1:1/ocpi/versions",
        parties=[Party("EMSP", "DE", "MSP", {"name": "us"})])


def location(i: int, party: str = "MCK", updated: str = "2026-01-01T00:00:00Z") -> dict:
    return {"country_code": "NL", "party_id": party, "id": f"L{i}", "publish": True,
            "address": "Street 1", "city": "Town", "country": "NLD",
            "coordinates": {"latitude": "52.100000", "longitude": "4.100000"},
            "time_zone": "Europe/Amsterdam", "last_updated": updated}


pytestmark = pytest.mark.usefixtures("local_partners")


@pytest.fixture
def mock():
    peer = PeerMock(party=("NL", "MCK", "CPO"))
    yield from served(peer)


@pytest.fixture
async def ours(database_url):
    db = Database(database_url)
    yield Registry(db), SqlStore(db)
    await db.dispose()


async def _registered(ours, mock, version="2.2.1"):
    registry, _ = ours
    return await handshake.register(registry, US, f"{mock.url}/versions", "token-a",
                                    version=version, role="CPO")


async def _stored(store: SqlStore) -> dict[str, dict]:
    items, _, _ = await store.list(ModuleID.locations, RoleEnum.emsp, {"limit": 1000})
    return {i["id"]: i for i in items}


async def test_pull_follows_every_page_into_the_store(ours, mock):
    registry, store = ours
    mock.items = [location(i) for i in range(30)]
    peer = await _registered(ours, mock)
    seen = []
    result = await pull(registry, store, US, peer, "locations",
                        progress=lambda done, total: seen.append((done, total)))
    assert (result.received, result.created, result.rejected) == (30, 30, [])
    assert seen == [(7, 30), (14, 30), (21, 30), (28, 30), (30, 30)]
    stored = await _stored(store)
    assert sorted(stored) == sorted(f"L{i}" for i in range(30))
    assert stored["L3"]["address"] == "Street 1"
    assert (await registry.get(peer.name)).last_reached_at is not None

    again = await pull(registry, store, US, peer, "locations")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 30)


async def test_since_is_sent_as_date_from(ours, mock):
    registry, store = ours
    peer = await _registered(ours, mock)
    await pull(registry, store, US, peer, "locations",
               since=parse_datetime("2026-03-01T10:00:00Z"))
    await pull(registry, store, US, peer, "sessions")
    loc_q, ses_q = (r["query"] for r in mock.seen("GET", "/locations") + mock.seen(
        "GET", "/sessions"))
    assert loc_q["date_from"] == "2026-03-01T10:00:00Z"
    assert ses_q["date_from"] == "1970-01-01T00:00:00Z"  # sessions always carry one


async def test_older_objects_do_not_replace_newer_ones(ours, mock):
    registry, store = ours
    newer = location(1, updated="2026-06-01T00:00:00Z") | {"name": "newer"}
    await store.upsert_many(ModuleID.locations, RoleEnum.emsp, [newer])
    mock.items = [location(1) | {"name": "older"}, location(2)]
    peer = await _registered(ours, mock)
    result = await pull(registry, store, US, peer, "locations")
    assert (result.created, result.unchanged) == (1, 1)
    assert (await _stored(store))["L1"]["name"] == "newer"


async def test_invalid_and_foreign_objects_are_reported_not_stored(ours, mock):
    registry, store = ours
    broken = location(2)
    del broken["coordinates"]
    mock.items = [location(1), broken, location(3, party="XXX")]
    peer = await _registered(ours, mock)
    result = await pull(registry, store, US, peer, "locations")
    assert result.created == 1 and len(result.rejected) == 2
    assert "coordinates" in result.rejected[0] and "NL/XXX" in result.rejected[1]
    assert sorted(await _stored(store)) == ["L1"]


async def test_failing_page_is_retried_then_the_pull_completes(ours, mock):
    registry, store = ours
    mock.items = [location(i) for i in range(20)]
    mock.fail_offsets = {14: 1}
    peer = await _registered(ours, mock)
    result = await pull(registry, store, US, peer, "locations", retry_delay=0.01)
    assert result.created == 20


async def test_a_pull_that_fails_half_way_keeps_only_whole_pages(ours, mock):
    registry, store = ours
    mock.items = [location(i) for i in range(20)]
    mock.fail_offsets = {14: 99}
    peer = await _registered(ours, mock)
    with pytest.raises(PartnerError, match="HTTP 503"):
        await pull(registry, store, US, peer, "locations", retry_delay=0.01)
    assert sorted(await _stored(store), key=lambda i: int(i[1:])) == [f"L{i}" for i in range(14)]
    assert "HTTP 503" in (await registry.get(peer.name)).last_error


async def test_pull_needs_a_registered_partner(ours, mock):
    registry, store = ours
    peer = await _registered(ours, mock)
    await registry.unregister(peer.id)
    with pytest.raises(ValueError, match="unregistered"):
        await pull(registry, store, US, await registry.get(peer.name), "locations")


async def test_sessions_are_pulled_into_the_store(ours, mock):
    registry, store = ours
    session = {"country_code": "NL", "party_id": "MCK", "id": "S1",
               "start_date_time": "2026-03-01T10:00:00Z", "kwh": 11.5,
               "cdr_token": {"country_code": "DE", "party_id": "MSP", "uid": "U1",
                             "type": "RFID", "contract_id": "C1"},
               "auth_method": "WHITELIST", "location_id": "L1", "evse_uid": "E1",
               "connector_id": "1", "currency": "EUR", "status": "ACTIVE",
               "last_updated": "2026-03-01T10:05:00Z", "total_cost": None}
    mock.items = [session, {**session, "id": "S2", "status": "UNKNOWN"}]
    peer = await _registered(ours, mock)
    result = await pull(registry, store, US, peer, "sessions")
    assert result.created == 1 and "status" in result.rejected[0]
    stored, _, _ = await store.list(ModuleID.sessions, RoleEnum.emsp, {"limit": 10})
    assert [(s["id"], s["kwh"], s["cdr_token"]["uid"]) for s in stored] == [("S1", 11.5, "U1")]
    assert "total_cost" not in stored[0]  # a null is "not set", as for a push


async def test_a_partner_with_an_unusable_link_is_pulled_whole_by_offset(ours):
    """The seed tutorials' library writes Links that answer 404: the pull does not stop
    after the first page, and says how it went on."""
    registry, store = ours
    partner = BrokenLinks("seed")
    partner.items = [location(i) for i in range(20)]
    for running in served(partner):
        peer = await _registered(ours, running)
        result = await pull(registry, store, US, peer, "locations")
    assert (result.received, result.created) == (20, 20)
    assert len(await _stored(store)) == 20
    assert len(result.notes) == 1 and "paging by offset" in result.notes[0]
    assert result.as_dict()["notes"] == result.notes

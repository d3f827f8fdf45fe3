"""Store and forward: what is queued, for whom, and how it goes on the wire."""

import asyncio
import os

import httpx
import pytest
from sqlalchemy import func, select

from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.outbox import admin
from ocpi.outbox.worker import Backoff, OutboxWorker
from ocpi.store import objects as store_objects
from ocpi.store.database import Database
from ocpi.store.schema import outbox
from ocpi.store.sql_store import SqlStore

from .outbox_helpers import CPO, receiving_partner, session, worker, write
from .receiver import Receiver

pytestmark = pytest.mark.usefixtures("local_partners")


async def queued(db: Database) -> int:
    async with db.begin() as tx:
        return (await tx.execute(select(func.count()).select_from(outbox))).scalar_one()


def sessions_path(r: Receiver, version: str = "2.2.1") -> str:
    return f"/ocpi/emsp/{version}/sessions/NL/OCP"


async def test_a_put_first_then_patches_of_the_changed_fields(db):
    """Gireve's session flow: PUT when the EV plugs in, kWh PATCHes, the final one."""
    store = SqlStore(db)
    with Receiver() as r:
        await receiving_partner(db, r.url, "DE", "MSP", delivery="every-message")
        await write(store, session(1, kwh=0, status="PENDING"))
        await write(store, session(1, kwh=1.5, status="ACTIVE", second=60))
        await write(store, session(1, kwh=4.25, status="ACTIVE", second=120))
        await write(store, {**session(1, kwh=7, status="COMPLETED", second=180),
                            "end_date_time": "2026-11-20T10:03:00Z"})
        assert await queued(db) == 4
        await worker(db).drain_once()
    path = sessions_path(r) + "/S0001"
    assert [(m.method, m.path) for m in r.accepted] == [("PUT", path)] + [("PATCH", path)] * 3
    assert r.accepted[0].body["status"] == "PENDING" and "cdr_token" in r.accepted[0].body
    assert r.accepted[1].body == {"kwh": 1.5, "status": "ACTIVE",
                                  "last_updated": "2026-11-20T10:01:00Z"}
    assert r.accepted[2].body == {"kwh": 4.25, "last_updated": "2026-11-20T10:02:00Z"}
    assert r.accepted[3].body == {"kwh": 7, "status": "COMPLETED",
                                  "end_date_time": "2026-11-20T10:03:00Z",
                                  "last_updated": "2026-11-20T10:03:00Z"}
    assert r.objects[path]["status"] == "COMPLETED" and r.objects[path]["kwh"] == 7
    assert await queued(db) == 0
    # routing headers name us and the eMSP; every request has its own request id
    h = r.accepted[0].headers
    assert (h["ocpi-from-country-code"], h["ocpi-from-party-id"]) == CPO
    assert (h["ocpi-to-country-code"], h["ocpi-to-party-id"]) == ("DE", "MSP")
    assert len({m.headers["x-request-id"] for m in r.accepted}) == 4


async def test_always_put_sends_whole_objects(db):
    store = SqlStore(db)
    with Receiver() as r:
        await receiving_partner(db, r.url, "DE", "MSP", always_put=True)
        await write(store, session(1, kwh=0))
        await worker(db).drain_once()
        await write(store, session(1, kwh=2, second=60))
        await worker(db).drain_once()
    assert [m.method for m in r.accepted] == ["PUT", "PUT"]
    assert r.accepted[1].body["kwh"] == 2 and "cdr_token" in r.accepted[1].body


async def test_sessions_go_only_to_the_emsp_owning_the_token(db):
    store = SqlStore(db)
    with Receiver() as first, Receiver() as second:
        await receiving_partner(db, first.url, "DE", "MSP")
        await receiving_partner(db, second.url, "BE", "OTH")
        for n in range(5):
            await write(store, session(n, owner=("DE", "MSP")))
        await write(store, session(9, owner=("BE", "OTH")))
        await write(store, session(10, owner=("FR", "NOB")))  # nobody we know
        await worker(db).drain_once()
    assert sorted(m.path.rsplit("/", 1)[1] for m in first.accepted) == \
        [f"S{n:04d}" for n in range(5)]
    assert [m.path.rsplit("/", 1)[1] for m in second.accepted] == ["S0009"]


async def test_a_hub_carries_sessions_of_emsps_we_are_not_connected_to(db):
    store = SqlStore(db)
    with Receiver() as direct, Receiver() as hub:
        await receiving_partner(db, direct.url, "DE", "MSP")
        await receiving_partner(db, hub.url, "FR", "GIR", role="HUB")
        await write(store, session(1, owner=("DE", "MSP")))  # direct partner: not via hub
        await write(store, session(2, owner=("IT", "EMP")))  # only the hub can route it
        await worker(db).drain_once()
    assert [m.path.rsplit("/", 1)[1] for m in direct.accepted] == ["S0001"]
    assert [m.path.rsplit("/", 1)[1] for m in hub.accepted] == ["S0002"]
    h = hub.accepted[0].headers
    assert (h["ocpi-to-country-code"], h["ocpi-to-party-id"]) == ("IT", "EMP")


async def test_a_session_goes_to_the_hubs_that_report_reaching_its_emsp(db):
    from ocpi.modules.hubclientinfo.reach import declare

    store = SqlStore(db)
    with Receiver() as gireve, Receiver() as other:
        await receiving_partner(db, gireve.url, "FR", "GIR", role="HUB")
        await receiving_partner(db, other.url, "NL", "HUB", role="HUB")
        await declare(store, ("FR", "GIR"), "IT", "EMP", "EMSP")
        await declare(store, ("NL", "HUB"), "IT", "EMP", "EMSP", "SUSPENDED")
        await write(store, session(1, owner=("IT", "EMP")))  # only Gireve reaches it
        await write(store, session(2, owner=("ES", "EMP")))  # nobody said: both hubs
        await worker(db).drain_once()
        # Gireve now reports ES/EMP: a new session goes to it alone, but the hub that
        # already carries S0002 keeps getting it (no stale copy left behind)
        await declare(store, ("FR", "GIR"), "ES", "EMP", "EMSP")
        await write(store, session(3, owner=("ES", "EMP")))
        await write(store, session(2, owner=("ES", "EMP"), kwh=5.0, status="COMPLETED"))
        await worker(db).drain_once()
    assert [m.path.rsplit("/", 1)[1] for m in gireve.accepted] == [
        "S0001", "S0002", "S0003", "S0002"]
    assert [m.path.rsplit("/", 1)[1] for m in other.accepted] == ["S0002", "S0002"]


async def test_a_211_partner_gets_the_location_object_and_authorization_id(db):
    store = SqlStore(db)
    location = {
        "country_code": "NL", "party_id": "OCP", "id": "LOC1", "publish": True,
        "address": "Main 1", "city": "Utrecht", "country": "NLD",
        "coordinates": {"latitude": "52.090", "longitude": "5.120"},
        "time_zone": "Europe/Amsterdam",
        "evses": [{"uid": "EVSE1", "status": "AVAILABLE", "connectors": [
            {"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE",
             "max_voltage": 230, "max_amperage": 16, "last_updated": "2026-11-20T09:00:00Z"}],
            "last_updated": "2026-11-20T09:00:00Z"}],
        "last_updated": "2026-11-20T09:00:00Z",
    }
    await store.create(ModuleID.locations, RoleEnum.cpo, location)
    with Receiver() as r:
        await receiving_partner(db, r.url, "DE", "MSP", version="2.1.1")
        await write(store, {**session(1), "authorization_reference": "AUTH-77"})
        await worker(db).drain_once()
    put = r.accepted[0]
    assert put.method == "PUT" and put.path == "/ocpi/emsp/2.1.1/sessions/NL/OCP/S0001"
    assert put.body["location"]["id"] == "LOC1"
    assert put.body["location"]["evses"][0]["uid"] == "EVSE1"
    assert put.body["authorization_id"] == "AUTH-77"
    assert put.body["start_datetime"] == "2026-11-20T10:00:00Z"
    assert "cdr_token" not in put.body and put.body["auth_id"] == "DEMSPC00001"


async def test_an_evse_status_change_goes_as_an_evse_patch(db):
    store = SqlStore(db)
    with Receiver() as r:
        await receiving_partner(db, r.url, "DE", "MSP")
        loc = {"country_code": "NL", "party_id": "OCP", "id": "LOC1", "publish": True,
               "address": "Main 1", "city": "Utrecht", "country": "NLD",
               "coordinates": {"latitude": "52.090", "longitude": "5.120"},
               "time_zone": "Europe/Amsterdam", "last_updated": "2026-11-20T09:00:00Z",
               "evses": [{"uid": u, "status": "AVAILABLE", "connectors": [],
                          "last_updated": "2026-11-20T09:00:00Z"} for u in ("E1", "E2")]}
        await write(store, loc, ModuleID.locations)
        await worker(db).drain_once()
        changed = {**loc, "last_updated": "2026-11-20T09:05:00Z",
                   "evses": [loc["evses"][0], {**loc["evses"][1], "status": "CHARGING",
                                               "last_updated": "2026-11-20T09:05:00Z"}]}
        await write(store, changed, ModuleID.locations)
        await worker(db).drain_once()
        renamed = {**changed, "name": "Station", "last_updated": "2026-11-20T09:06:00Z"}
        await write(store, renamed, ModuleID.locations)
        await worker(db).drain_once()
    base = "/ocpi/emsp/2.2.1/locations/NL/OCP/LOC1"
    assert [(m.method, m.path) for m in r.accepted] == [
        ("PUT", base), ("PATCH", base + "/E2"), ("PATCH", base)]
    assert r.accepted[1].body == {"status": "CHARGING", "last_updated": "2026-11-20T09:05:00Z"}
    assert r.accepted[2].body == {"name": "Station", "last_updated": "2026-11-20T09:06:00Z"}
    assert r.objects[base]["evses"][1]["status"] == "CHARGING"


async def test_a_refused_message_is_set_aside_and_the_queue_goes_on(db):
    store = SqlStore(db)
    with Receiver(refuse=lambda m, path, body: path.endswith("/S0002")) as r:
        await receiving_partner(db, r.url, "DE", "MSP")
        for n in (1, 2, 3):
            await write(store, session(n))
        await worker(db).drain_once()
        assert [m.path.rsplit("/", 1)[1] for m in r.accepted] == ["S0001", "S0003"]
        dead = await admin.messages(db, state="dead")
        assert len(dead) == 1
        partner, msg = dead[0]
        assert partner == "de-msp" and msg.object_key == "NL/OCP/s0002"
        assert "2001" in msg.last_error and "refused by the test" in msg.last_error
        [status] = await admin.status(db)
        assert (status.pending, status.dead) == (0, 1)
        # the operator fixes it at the partner and puts it back
        r.refuse = None
        assert await admin.retry(db, all_dead=True) == 1
        await worker(db).drain_once()
    assert [m.path.rsplit("/", 1)[1] for m in r.accepted] == ["S0001", "S0003", "S0002"]
    assert await queued(db) == 0


async def test_a_patch_the_partner_cannot_place_is_sent_whole(db):
    store = SqlStore(db)
    with Receiver() as r:
        await receiving_partner(db, r.url, "DE", "MSP")
        await write(store, session(1))
        await worker(db).drain_once()
        r.objects.clear()  # the partner lost its data
        await write(store, session(1, kwh=3, second=60))
        await worker(db).drain_once()
    assert [m.method for m in r.accepted] == ["PUT", "PUT"]
    assert r.objects[sessions_path(r) + "/S0001"]["kwh"] == 3


async def test_latest_state_sends_each_changed_object_once_in_first_change_order(db):
    store = SqlStore(db)
    with Receiver() as r:
        await receiving_partner(db, r.url, "DE", "MSP")
        second = 0
        for n in (1, 2, 1, 3, 2, 1):  # an outage: nothing is delivered meanwhile
            second += 60
            await write(store, session(n, kwh=second / 60, second=second))
        assert await queued(db) == 6
        await worker(db).drain_once()
    assert [m.path.rsplit("/", 1)[1] for m in r.accepted] == ["S0001", "S0002", "S0003"]
    assert [m.body["kwh"] for m in r.accepted] == [6, 5, 4]  # each one current
    assert await queued(db) == 0


async def test_every_message_replays_each_update_in_order(db):
    store = SqlStore(db)
    with Receiver() as r:
        await receiving_partner(db, r.url, "DE", "MSP", delivery="every-message")
        second = 0
        for n in (1, 2, 1, 3, 2, 1):
            second += 60
            await write(store, session(n, kwh=second / 60, second=second))
        await worker(db).drain_once()
    got = [(m.path.rsplit("/", 1)[1], r_kwh) for m, r_kwh in
           zip(r.accepted, [h["kwh"] for h in _states(r)], strict=True)]
    assert got == [("S0001", 1), ("S0002", 2), ("S0001", 3), ("S0003", 4), ("S0002", 5),
                   ("S0001", 6)]


def _states(r: Receiver) -> list[dict]:
    """The receiver's object state after each accepted request, in arrival order."""
    seen: dict[str, int] = {}
    out = []
    for m in r.accepted:
        key = m.path
        seen[key] = seen.get(key, 0) + 1
        out.append(r.history[key][seen[key] - 1])
    return out


async def _failing_publish(*args: object, **kwargs: object) -> int:
    raise RuntimeError("the partner table is gone")


async def test_an_object_is_never_stored_without_its_messages(db, monkeypatch):
    store = SqlStore(db)
    with Receiver() as r:
        await receiving_partner(db, r.url, "DE", "MSP")
        await write(store, session(1))
        # a write that fails after its row was written: neither the row nor a message stays
        monkeypatch.setattr(store_objects, "_OWN_WRITE", [_failing_publish])
        with pytest.raises(RuntimeError):
            await store.create(ModuleID.sessions, RoleEnum.cpo, session(2))
        monkeypatch.undo()
        assert await store.get(ModuleID.sessions, RoleEnum.cpo, "S0002", country_code="NL",
                               party_id="OCP") is None
        assert await queued(db) == 1  # the failed write queued nothing
        # writing the same object again is no change and sends nothing
        assert await store.update(ModuleID.sessions, RoleEnum.cpo, session(1), "S0001",
                                  country_code="NL", party_id="OCP") is not None
        assert await queued(db) == 1
        # an older version is not applied and not sent
        assert await store.update(ModuleID.sessions, RoleEnum.cpo,
                                  {**session(1), "kwh": 9, "last_updated": "2026-01-01T00:00:00Z"},
                                  "S0001", country_code="NL", party_id="OCP") is None
        assert await queued(db) == 1


async def test_a_create_that_finds_the_key_taken_is_the_guarded_update(db):
    """Two first PUTs of one object race: the loser's insert becomes an update that
    only a newer ``last_updated`` wins, and only what was written is sent."""
    store = SqlStore(db)
    with Receiver() as r:
        await receiving_partner(db, r.url, "DE", "MSP")
        await write(store, session(1, kwh=1, second=10))
        older = await store.create(ModuleID.sessions, RoleEnum.cpo, session(1, kwh=2, second=5))
        assert older is None and await queued(db) == 1
        same = await store.create(ModuleID.sessions, RoleEnum.cpo, session(1, kwh=1, second=10))
        assert same is not None and await queued(db) == 1
        newer = await store.create(ModuleID.sessions, RoleEnum.cpo, session(1, kwh=3, second=20))
        assert newer is not None and await queued(db) == 2
        got = await store.get(ModuleID.sessions, RoleEnum.cpo, "S0001", country_code="NL",
                              party_id="OCP")
        assert got["kwh"] == 3


async def test_objects_partners_pushed_to_us_are_not_forwarded(db):
    store = SqlStore(db)
    with Receiver() as r:
        await receiving_partner(db, r.url, "DE", "MSP")
        await store.create(ModuleID.sessions, RoleEnum.emsp, session(1))
        await store.upsert_many(ModuleID.sessions, RoleEnum.emsp, [session(2)])
        assert await queued(db) == 0
        await store.upsert_many(ModuleID.sessions, RoleEnum.cpo, [session(3), session(4)])
        assert await queued(db) == 2


async def test_a_partner_that_is_down_holds_its_queue_and_not_the_others(db):
    store = SqlStore(db)
    with Receiver() as up:
        await receiving_partner(db, up.url, "DE", "MSP")
        await receiving_partner(db, "http://127.0.0.1:9", "BE", "OTH")  # nothing listens
        await write(store, session(1, owner=("BE", "OTH")))
        await write(store, session(2, owner=("DE", "MSP")))
        await write(store, session(3, owner=("BE", "OTH")))
        await worker(db).drain_once()
        assert [m.path.rsplit("/", 1)[1] for m in up.accepted] == ["S0002"]
        [down] = [s for s in await admin.status(db) if s.name == "be-oth"]
        assert down.pending == 2 and down.attempts >= 1
        assert "cannot connect" in down.last_error and down.next_attempt_at is not None


async def test_metrics_show_the_queue_per_partner(database_url, monkeypatch):
    from ocpi import get_application

    from .conftest import OPERATOR

    app = get_application(database_url=database_url, operator_token=OPERATOR,
                          country_code="NL", party_id="OCP")
    db = app.state.node.db
    await receiving_partner(db, "http://127.0.0.1:9", "DE", "MSP")
    await write(app.state.node.crud, session(1))
    await write(app.state.node.crud, session(2))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/metrics", headers={"Authorization": f"Token {OPERATOR}"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        assert 'ocpi_outbox_pending{partner="de-msp"} 2' in r.text
        assert "# TYPE ocpi_outbox_oldest_pending_age_seconds gauge" in r.text
        r = await client.get("/metrics")
        assert r.status_code == 401 and r.json()["status_code"] == 2000
        _, partner_token = await app.state.node.registry.add_peer("BE", "OTH", "EMSP")
        r = await client.get("/metrics", headers={"Authorization": f"Token {partner_token}"})
        assert r.status_code == 403 and "/metrics is for the node operator" in r.text
    await db.dispose()


@pytest.mark.parametrize("answer,retried", [
    ((429, 2000), True), ((200, 3001), True), ((503, 3000), True),
    ((200, 2001), False), ((404, 2000), False), ((401, 2000), False), ((400, 3000), False),
])
async def test_what_is_retried_and_what_is_a_refusal(db, answer, retried):
    store = SqlStore(db)
    with Receiver(refuse=lambda m, path, b: answer) as r:
        await receiving_partner(db, r.url, "DE", "MSP")
        await write(store, session(1))
        await write(store, session(2))
        w = OutboxWorker(db, from_party=CPO, backoff=Backoff(base=5, cap=5))
        await w.drain_once()
    [status] = await admin.status(db)
    if retried:  # the head waits for its next attempt and holds the queue
        assert (status.pending, status.dead, status.attempts) == (2, 0, 1)
        assert f"HTTP {answer[0]}" in status.last_error and status.next_attempt_at is not None
        assert len(r.accepted) == 0
        assert r.events["ok"] == 1  # one request: the second message was not tried
    else:  # each refused message is set aside; the queue went on to the next
        assert (status.pending, status.dead) == (0, 2)
        assert r.events["ok"] == 2


async def test_retries_of_a_message_keep_its_correlation_id(db):
    store = SqlStore(db)
    failures = {"left": 3}

    def flaky(method, path, body):
        if failures["left"]:
            failures["left"] -= 1
            return (503, 3000)
        return None

    with Receiver(refuse=flaky) as r:
        await receiving_partner(db, r.url, "DE", "MSP")
        await write(store, session(1))
        await write(store, session(2))
        w = worker(db)
        for _ in range(50):
            await w.drain_once()
            if len(r.accepted) == 2:
                break
            await asyncio.sleep(0.02)
    first = [req for req in r.requests if req[1].endswith("/S0001")]
    second = [req for req in r.requests if req[1].endswith("/S0002")]
    assert len(first) == 4 and len(second) == 1  # three 503s, then accepted
    assert len({c for _, _, c, _ in first}) == 1  # one correlation id for all attempts
    assert first[0][2] != second[0][2]  # another message, another correlation id
    assert len({rid for *_, rid in r.requests}) == 5  # a new request id every time


async def test_a_host_that_does_not_resolve_is_retried_not_refused(db, monkeypatch):
    monkeypatch.delenv("OCPI_ALLOW_INSECURE_PARTNERS")  # the real URL checks, DNS included
    store = SqlStore(db)
    await receiving_partner(db, "https://partner.invalid", "DE", "MSP")
    await write(store, session(1))
    await OutboxWorker(db, from_party=CPO, backoff=Backoff(base=5, cap=5)).drain_once()
    [status] = await admin.status(db)
    assert (status.pending, status.dead, status.attempts) == (1, 0, 1)
    assert "cannot resolve host" in status.last_error


async def test_one_worker_per_partner_and_a_dead_holder_is_taken_over(db):
    import subprocess
    import sys
    import time

    from ocpi.outbox.leases import HOST, PID_NS, Leases

    store = SqlStore(db)
    with Receiver() as r:
        peer_id = await receiving_partner(db, r.url, "DE", "MSP")
        await write(store, session(1))
        other = Leases(db, f"{HOST}:{os.getpid()}:{PID_NS}:othernode")
        assert await other.claim(peer_id)
        blocked = worker(db)
        started = time.monotonic()
        await blocked.drain_once()  # returns at once: no spinning on a held partner
        assert time.monotonic() - started < 1 and r.accepted == []
        assert blocked.leases.blocked[peer_id] > time.monotonic() + 30

        # a holder elsewhere (another host, or another pid namespace) is waited out
        previous = other
        for holder in ("elsewhere:1:1:x", f"{HOST}:1:{PID_NS + 1}:x"):
            await previous.release(peer_id)
            previous = Leases(db, holder)
            assert await previous.claim(peer_id)
            await worker(db).drain_once()
            assert r.accepted == []
        # a holder that died on this host is taken over at once
        gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout.strip()
        await previous.release(peer_id)
        assert await Leases(db, f"{HOST}:{gone}:{PID_NS}:x").claim(peer_id)
        await worker(db).drain_once()
        assert len(r.accepted) == 1


def test_an_evse_patch_is_never_stamped_older_than_its_location():
    from ocpi.outbox.render import render

    loc = {"country_code": "NL", "party_id": "OCP", "id": "L1",
           "last_updated": "2026-11-20T09:00:00Z",
           "evses": [{"uid": "E1", "status": "AVAILABLE", "last_updated": "2026-11-20T09:00:00Z"}]}
    # the source changed the status and stamped only the Location
    now = {**loc, "last_updated": "2026-11-20T09:30:00Z",
           "evses": [{**loc["evses"][0], "status": "CHARGING"}]}
    push = render("locations", "2.2.1", "https://p/locations", now, loc)
    assert push is not None and push.url == "https://p/locations/NL/OCP/L1/E1"
    assert push.body == {"status": "CHARGING", "last_updated": "2026-11-20T09:30:00Z"}


async def test_what_a_partner_has_never_goes_back_to_an_older_version(db):
    from ocpi.outbox.queue import Queue

    store = SqlStore(db)
    await receiving_partner(db, "http://127.0.0.1:9", "DE", "MSP",
                            delivery="every-message")
    await write(store, session(1, kwh=1, second=60))
    await write(store, session(1, kwh=2, second=120))
    queue = Queue(db)
    [old, new] = [m for _, m in await admin.messages(db, state="pending")]
    await queue.settle(new, accepted=new.data)
    await queue.settle(old, accepted=old.data)  # a late settle of the older one
    had = await queue.had(new.peer_id, "sessions", new.object_key)
    assert had is not None and had.data["kwh"] == 2


async def test_a_partner_changed_since_the_last_write_is_read_as_it_is_now(db):
    """Publishing reuses a partner's parsed row only while the row is unchanged: a
    partner that drops its Sessions endpoint, then unregisters, gets nothing more."""
    from ocpi.peers.registry import Registry

    store = SqlStore(db)
    peer_id = await receiving_partner(db, "http://127.0.0.1:9", "DE", "MSP")
    await write(store, session(1))
    assert await queued(db) == 1
    registry = Registry(db)
    await registry.update_peer(peer_id, endpoints=[
        {"identifier": "locations", "role": "RECEIVER", "url": "http://127.0.0.1:9/l"}])
    await write(store, session(2))
    assert await queued(db) == 1
    await registry.update_peer(peer_id, endpoints=[
        {"identifier": "sessions", "role": "RECEIVER", "url": "http://127.0.0.1:9/s"}])
    await write(store, session(3))
    assert await queued(db) == 2
    await registry.update_peer(peer_id, state="invited")
    await write(store, session(4))
    assert await queued(db) == 2

"""Hub reports in the outbox: messages for a party a hub reports OFFLINE wait, out
of the hub's queue, without attempts, until it is CONNECTED again, then go in
their order; a SUSPENDED party's are set aside with the reason; messages for
other parties behind the hub and broadcasts are not held up; the status says why."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from ocpi.core.enums import ModuleID
from ocpi.modules.hubclientinfo.reach import declare
from ocpi.outbox import admin, held
from ocpi.outbox.worker import Backoff, OutboxWorker
from ocpi.peers.credentials import Party

from .conftest import auth, body, dumps
from .outbox_helpers import CPO, session, worker, write
from .receiver import Receiver
from .test_hubclientinfo import info
from .test_partners_e2e import ocpi

pytestmark = pytest.mark.usefixtures("local_partners")

HUB = ("FR", "GIR")
IT, ES = ("IT", "EMP"), ("ES", "EMP")
REPORT = "/ocpi/cpo/2.2.1/hubclientinfo/{cc}/{pid}"


def stamp(ahead: int) -> str:
    """A report's stamp ``ahead`` seconds from now: later than the one before, within
    the clock tolerance."""
    return (datetime.now(UTC) + timedelta(seconds=ahead)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def hub(node, url: str, **profile) -> str:
    """Gireve as our partner: it receives at ``url`` and reports to us with the token."""
    registry = node.node.registry
    peer, token = await registry.add_peer(*HUB, "HUB")
    endpoints = [{"identifier": m, "role": "RECEIVER", "url": f"{url}/ocpi/hub/2.2.1/{m}"}
                 for m in ("locations", "sessions")]
    await registry.update_peer(peer.id, state="registered", version="2.2.1",
                               endpoints=endpoints, token_out="token-for-GIR",
                               parties=[Party("HUB", *HUB, {})])
    if profile:
        await registry.set_profile(peer.name, **profile)
    return token


async def report(node, token: str, party: tuple[str, str], status: str, ahead: int) -> None:
    """The hub pushes a ClientInfo to our receiver."""
    r = await node.client.put(REPORT.format(cc=party[0], pid=party[1]),
                              content=dumps(info(*party, status, role="EMSP",
                                                 updated=stamp(ahead))),
                              headers=auth(token))
    assert body(r)["status_code"] == 1000, body(r)


def sessions(r: Receiver) -> list[str]:
    return [m.path.rsplit("/", 1)[1] for m in r.accepted if "/sessions/" in m.path]


LOCATION = {"country_code": "NL", "party_id": "OCP", "id": "LOC1", "publish": True,
            "address": "Main 1", "city": "Utrecht", "country": "NLD",
            "coordinates": {"latitude": "52.090", "longitude": "5.120"},
            "time_zone": "Europe/Amsterdam", "last_updated": "2026-11-20T09:00:00Z"}


async def until(check, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not in time")


async def test_an_offline_partys_messages_wait_and_go_in_order_once_connected(
        node, database_url):
    db, store = node.node.db, node.node.crud
    with Receiver() as r:
        token = await hub(node, r.url, delivery="every-message")
        await declare(store, HUB, *IT, "EMSP", "OFFLINE")
        await declare(store, HUB, *ES, "EMSP")
        await write(store, session(1, owner=IT))
        await write(store, session(2, owner=ES))
        await write(store, session(1, owner=IT, kwh=2, second=60))
        await write(store, session(3, owner=IT))
        await write(store, LOCATION, ModuleID.locations)  # to the hub itself
        await worker(db).drain_once()
        await worker(db).drain_once()  # held: not tried again
        # the connected party and the broadcast went; nothing for the OFFLINE one
        assert sessions(r) == ["S0002"]
        assert [m.path for m in r.accepted if "/locations/" in m.path] == [
            "/ocpi/hub/2.2.1/locations/NL/OCP/LOC1"]
        assert not [q for q in r.requests if q[1].endswith(("/S0001", "/S0003"))]
        [status] = await admin.status(db)
        assert (status.pending, status.held, status.dead, status.attempts) == (0, 3, 0, 0)
        assert status.hub_reports == [{
            "party": "IT*EMP", "status": "OFFLINE", "state": "held", "messages": 3,
            "reason": "held: the hub reports IT*EMP OFFLINE"}]
        waiting = [m for _, m in await admin.messages(db, state="held")]
        assert [m.attempts for m in waiting] == [0, 0, 0]

        out = ocpi("outbox", "status", db=database_url)
        assert "held 3: the hub reports IT*EMP OFFLINE" in out.stdout, out.stdout + out.stderr
        rows = json.loads(ocpi("outbox", "status", "--json", db=database_url).stdout)
        assert rows[0]["held"] == 3 and rows[0]["hub_reports"][0]["party"] == "IT*EMP"
        listed = ocpi("outbox", "list", "--held", db=database_url).stdout
        assert listed.count("held: the hub reports IT*EMP OFFLINE") == 3

        # still OFFLINE in a newer report: still waiting, still no request
        await report(node, token, IT, "OFFLINE", 20)
        await worker(db).drain_once()
        assert sessions(r) == ["S0002"]

        # CONNECTED, pushed to our receiver: a running worker is woken (its poll is
        # far off) and sends them in their order
        running = OutboxWorker(db, from_party=CPO, poll_interval=30,
                               backoff=Backoff(base=0.01, cap=0.05))
        store.on_publish.append(running.wake)
        stop = asyncio.Event()
        task = asyncio.create_task(running.run(stop))
        await asyncio.sleep(0.2)
        await report(node, token, IT, "CONNECTED", 40)
        await until(lambda: len(sessions(r)) == 4)
        stop.set()
        await task
    assert sessions(r) == ["S0002", "S0001", "S0001", "S0003"]
    assert [m.body.get("kwh") for m in r.accepted if m.path.endswith("/S0001")] == [0, 2]
    h = r.accepted[-1].headers
    assert (h["ocpi-to-country-code"], h["ocpi-to-party-id"]) == IT
    assert await admin.status(db) == []


async def test_a_suspended_partys_messages_are_set_aside_with_the_reason(node, database_url):
    db, store = node.node.db, node.node.crud
    with Receiver() as r:
        token = await hub(node, r.url)
        await declare(store, HUB, *IT, "EMSP", "OFFLINE")
        await write(store, session(1, owner=IT))
        await write(store, session(2, owner=IT))
        await worker(db).drain_once()
        await report(node, token, IT, "SUSPENDED", 20)  # the held ones go aside
        await write(store, session(3, owner=IT))  # and one queued after it does too
        await worker(db).drain_once()
        assert r.requests == []
        dead = [m for _, m in await admin.messages(db, state="dead")]
        assert [m.object_key for m in dead] == ["NL/OCP/s0001", "NL/OCP/s0002", "NL/OCP/s0003"]
        assert {m.last_error for m in dead} == {"the hub reports IT*EMP SUSPENDED"}
        [status] = await admin.status(db)
        assert (status.pending, status.held, status.dead) == (0, 0, 3)
        assert status.hub_reports[0]["status"] == "SUSPENDED"
        out = ocpi("outbox", "status", db=database_url)
        assert "set aside 3: the hub reports IT*EMP SUSPENDED" in out.stdout, out.stdout

        # the party is back: the operator retries them, and they go in their order
        await report(node, token, IT, "CONNECTED", 40)
        assert await admin.retry(db, all_dead=True) == 3
        await worker(db).drain_once()
    assert sessions(r) == ["S0001", "S0002", "S0003"]


async def test_a_report_that_changes_while_a_message_is_held_keeps_the_order(
        node, monkeypatch):
    """The drain read OFFLINE; CONNECTED was stored before it held the message: the
    message is not held (nobody would wake it), and the party's order is kept."""
    db, store = node.node.db, node.node.crud
    with Receiver() as r:
        await hub(node, r.url, delivery="every-message")
        await declare(store, HUB, *IT, "EMSP", "OFFLINE")
        await write(store, session(1, owner=IT))
        await worker(db).drain_once()
        await write(store, session(2, owner=IT))
        await declare(store, HUB, *IT, "EMSP", "CONNECTED")
        looks = []
        real = held.status_of

        async def first_look_stale(*args):
            looks.append(args)
            return "OFFLINE" if len(looks) == 1 else await real(*args)

        monkeypatch.setattr(held, "status_of", first_look_stale)
        await worker(db).drain_once()
    assert sessions(r) == ["S0001", "S0002"]
    assert await admin.status(db) == []


async def test_a_broadcast_and_a_direct_partner_are_never_held(node):
    """Only a message to a hub naming one party depends on a report."""
    db, store = node.node.db, node.node.crud
    with Receiver() as r:
        await hub(node, r.url)
        await declare(store, HUB, "NL", "OCP", "CPO", "OFFLINE")  # about us: not a target
        await declare(store, HUB, *IT, "EMSP", "SUSPENDED")
        await write(store, LOCATION, ModuleID.locations)
        await worker(db).drain_once()
    assert [m.method for m in r.accepted] == ["PUT"]
    assert await admin.status(db) == []


async def test_a_report_changed_where_no_hook_ran_still_releases_in_order(node):
    """A report rewritten behind the store's back (no hook made the held messages
    due): a newer message of the party never overtakes the held ones."""
    from sqlalchemy import func, update

    from ocpi.modules.hubclientinfo.declaration import CLIENT_INFO

    db, store = node.node.db, node.node.crud
    with Receiver() as r:
        await hub(node, r.url, delivery="every-message")
        await declare(store, HUB, *IT, "EMSP", "OFFLINE")
        await write(store, session(1, owner=IT))
        await worker(db).drain_once()
        table = CLIENT_INFO.table
        async with db.begin() as tx:
            await tx.execute(update(table).where(table.c.party_id == "EMP").values(
                data=func.replace(table.c.data, "OFFLINE", "CONNECTED")))
        await write(store, session(2, owner=IT))
        await worker(db).drain_once()
    assert sessions(r) == ["S0001", "S0002"]
    assert await admin.status(db) == []

"""Outbox message kinds: a one-off call whose answer and Location header are
kept, a callback to a URL the partner gave, a removal sent as DELETE; FIFO with
the partner's other messages, retried until accepted, refused ones set aside."""

import asyncio
import dataclasses

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.modules import registry
from ocpi.outbox import admin, calls
from ocpi.peers.registry import Registry
from ocpi.store.sql_store import SqlStore

from .outbox_helpers import receiving_partner, worker
from .servers import ServerThread

pytestmark = pytest.mark.usefixtures("local_partners")


class Partner:
    """A partner platform that records what it gets; the first answers can fail."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes]] = []
        self.fail_first = 0
        self.refuse: str | None = None  # a path it refuses with 2001
        self.app = Starlette(routes=[Route("/{path:path}", self.any,
                                           methods=["GET", "POST", "PUT", "DELETE"])])

    async def any(self, request: Request) -> JSONResponse:
        self.seen.append((request.method, request.url.path, await request.body()))
        if self.fail_first:
            self.fail_first -= 1
            return JSONResponse({"status_code": 3000, "timestamp": "2026-01-01T00:00:00Z"},
                                status_code=503)
        if self.refuse and request.url.path.endswith(self.refuse):
            return JSONResponse({"status_code": 2001, "status_message": "no",
                                 "timestamp": "2026-01-01T00:00:00Z"})
        headers = {"Location": f"https://partner/cdrs/{len(self.seen)}"} \
            if request.url.path.endswith("/cdrs") else None
        return JSONResponse({"status_code": 1000, "data": {"result": "ACCEPTED"},
                             "timestamp": "2026-01-01T00:00:00Z"}, headers=headers)


@pytest.fixture
def partner():
    p = Partner()
    with ServerThread(p.app) as url:
        p.url = url
        yield p


async def _peer(db, url: str) -> int:
    peer_id = await receiving_partner(db, url, "DE", "MSP")
    await Registry(db).update_peer(peer_id, endpoints=[
        {"identifier": m, "role": "RECEIVER", "url": f"{url}/{m}"}
        for m in ("cdrs", "locations")])
    return peer_id


async def test_a_call_keeps_its_answer_and_location_and_callbacks_follow_in_order(db, partner):
    peer_id = await _peer(db, partner.url)
    partner.fail_first = 1  # the first attempt meets a 503: retried, not lost
    cdr = await calls.enqueue(db, peer_id, "cdrs", {"id": "CDR1"})
    cb = await calls.enqueue(db, peer_id, "commands", {"result": "ACCEPTED"},
                             url=f"{partner.url}/callback/START_SESSION/42")
    for _ in range(50):  # until the retry (backoff up to 0.05 s) has gone too
        await worker(db).drain_once()
        if (await calls.answer(db, cb)).state != "pending":
            break
        await asyncio.sleep(0.02)
    assert [(m, p) for m, p, _ in partner.seen] == [
        ("POST", "/cdrs"), ("POST", "/cdrs"), ("POST", "/callback/START_SESSION/42")]
    got = await calls.answer(db, cdr)
    assert (got.state, got.location, got.data) == ("answered", "https://partner/cdrs/2",
                                                   {"result": "ACCEPTED"})
    assert (await calls.answer(db, cb)).state == "answered"
    assert await admin.status(db) == []  # answered calls are no queue


async def test_a_refused_call_is_set_aside_and_the_queue_goes_on(db, partner):
    peer_id = await _peer(db, partner.url)
    partner.refuse = "/bad"
    bad = await calls.enqueue(db, peer_id, "commands", {}, url=f"{partner.url}/bad")
    good = await calls.enqueue(db, peer_id, "cdrs", {"id": "CDR2"})
    await worker(db).drain_once()
    assert (await calls.answer(db, bad)).state == "dead"
    assert "2001" in (await calls.answer(db, bad)).last_error
    assert (await calls.answer(db, good)).state == "answered"


async def test_a_removal_goes_as_delete_when_the_declaration_says_so(db, partner, monkeypatch):
    locations = registry.MODULES[ModuleID.locations]
    deletable = dataclasses.replace(locations, objects=dataclasses.replace(
        locations.objects, push_methods=frozenset({"PUT", "PATCH", "DELETE"})))
    monkeypatch.setitem(registry.MODULES, ModuleID.locations, deletable)
    await _peer(db, partner.url)
    store = SqlStore(db)
    loc = {"country_code": "NL", "party_id": "OCP", "id": "L1", "address": "a", "city": "c",
           "country": "NLD", "time_zone": "Europe/Amsterdam",
           "coordinates": {"latitude": "52.1", "longitude": "4.1"},
           "last_updated": "2026-11-01T10:00:00Z"}
    await store.create(ModuleID.locations, RoleEnum.cpo, loc)
    await worker(db).drain_once()
    await store.delete(ModuleID.locations, RoleEnum.cpo, "L1", country_code="NL",
                       party_id="OCP")
    await worker(db).drain_once()
    assert [(m, p) for m, p, _ in partner.seen] == [("PUT", "/locations/NL/OCP/L1"),
                                                   ("DELETE", "/locations/NL/OCP/L1")]
    # without DELETE in the declaration (Locations: never deleted) nothing is sent
    monkeypatch.setitem(registry.MODULES, ModuleID.locations, locations)
    await store.create(ModuleID.locations, RoleEnum.cpo, {**loc, "id": "L2"})
    await store.delete(ModuleID.locations, RoleEnum.cpo, "L2", country_code="NL",
                       party_id="OCP")
    await worker(db).drain_once()
    assert [p for _, p, _ in partner.seen][2:] == ["/locations/NL/OCP/L2"]

"""The Sessions page: running ones in a live fragment, finished ones searched, one
session with its CDR (built by the node from the demo tariff) and its delivery."""

import html
from collections.abc import AsyncIterator

import pytest

from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.demo import sample_locations, sample_tariff
from ocpi.store.sql_store import SqlStore

from .console_helpers import ConsoleNode, console_node, secret_key  # noqa: F401
from .outbox_helpers import receiving_partner, session, worker, write
from .receiver import Receiver

pytestmark = pytest.mark.usefixtures("local_partners")


@pytest.fixture
async def console(database_url: str, secret_key: str  # noqa: F811
                  ) -> AsyncIterator[ConsoleNode]:
    async for c in console_node(database_url):
        store = SqlStore(c.node.db)
        await store.create(ModuleID.tariffs, RoleEnum.cpo, sample_tariff("NL", "OCP"))
        for loc in sample_locations("NL", "OCP"):
            await store.create(ModuleID.locations, RoleEnum.cpo, loc)
        await c.login()
        yield c


def _at_demo(n: int, **extra: object) -> dict:
    return {**session(n, location_id="DEMO-1"), "evse_uid": "DEMO-1-1", **extra}


def _completed(n: int, location: str = "DEMO-1") -> dict:
    return {**session(n, location_id=location, status="COMPLETED", kwh=12.5),
            "evse_uid": "DEMO-1-1", "end_date_time": "2026-11-20T11:00:00Z",
            "charging_periods": [{"start_date_time": "2026-11-20T10:00:00Z",
                                  "dimensions": [{"type": "ENERGY", "volume": 12.5}]}],
            "last_updated": "2026-11-20T11:00:00Z"}


async def _text(console: ConsoleNode, path: str) -> str:
    r = await console.client.get(path)
    assert r.status_code == 200, r.text
    return html.unescape(r.text)


async def test_running_sessions_in_the_page_and_in_its_live_fragment(console: ConsoleNode):
    store = SqlStore(console.node.db)
    await write(store, _at_demo(1, kwh=1.25))
    text = await _text(console, "/console/sessions")
    assert 'hx-get="/console/sessions/live"' in text and 'aria-live="polite"' in text
    assert "S0001" in text and "1.250" in text and "DEMO-1 DEMO-1-1 1" in text
    assert "DE*MSP" in text and "No finished session" in text
    await write(store, {**_at_demo(1, kwh=7.5), "last_updated": "2026-11-20T10:30:00Z"})
    live = await console.client.get("/console/sessions/live", headers={"HX-Request": "true"})
    assert live.status_code == 200 and "<html" not in live.text
    assert "7.500" in live.text and "1.250" not in live.text


async def test_finished_sessions_searched_by_day_location_and_token(console: ConsoleNode):
    store = SqlStore(console.node.db)
    await write(store, _completed(1))
    await write(store, _completed(2, location="DEMO-2"))
    text = await _text(console, "/console/sessions")
    assert "2 finished session(s)" in text and "No session is running" in text
    for query, expected in (("date=2026-11-20", {"S0001", "S0002"}), ("date=2026-11-21", set()),
                            ("location=demo-2", {"S0002"}), ("token=TOK1", {"S0001"}),
                            ("token=DEMSPC00002", {"S0002"}),
                            ("token=TOK1&location=DEMO-2", set())):
        text = await _text(console, f"/console/sessions?{query}")
        shown = {s for s in ("S0001", "S0002") if f">{s}</a>" in text}
        assert shown == expected, query
    for bad in ("date=yesterday", "date=2026-13-01", "location=" + "x" * 100,
                "token=" + "t" * 100):
        r = await console.client.get(f"/console/sessions?{bad}")
        assert r.status_code == 400, bad


async def test_a_session_with_its_cdr_and_the_cdrs_delivery(console: ConsoleNode):
    db = console.node.db
    with Receiver(refuse=lambda method, path, body: (200, 1000) if method == "POST" else None
                  ) as receiver:
        await receiving_partner(db, receiver.url, "DE", "MSP")
        peer = await console.node.registry.get("de-msp")
        await console.node.registry.update_peer(peer.id, endpoints=[
            *peer.endpoints, {"identifier": "cdrs", "role": "RECEIVER",
                              "url": f"{receiver.url}/ocpi/emsp/2.2.1/cdrs"}])
        await write(SqlStore(db), _completed(1))
        text = await _text(console, "/console/sessions/show?role=CPO&cc=NL&pid=OCP&id=S0001")
        assert "Session S0001" in text and "COMPLETED" in text and "12.500 kWh" in text
        assert "CDR S0001" in text and "waiting" in text
        await worker(db).drain_once()
        text = await _text(console, "/console/sessions/show?role=CPO&cc=NL&pid=OCP&id=S0001")
        assert "delivered" in text and "de-msp" in text
        assert any(m == "POST" and "/cdrs" in p for m, p, *_ in receiver.requests)


async def test_a_held_cdr_shows_why(console: ConsoleNode):
    await write(SqlStore(console.node.db), _completed(1, location="NOWHERE"))
    text = await _text(console, "/console/sessions/show?role=CPO&cc=NL&pid=OCP&id=S0001")
    assert "The CDR is held:" in text


async def test_an_unknown_session_is_a_404_page(console: ConsoleNode):
    r = await console.client.get("/console/sessions/show?role=CPO&cc=NL&pid=OCP&id=NOPE")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    r = await console.client.get("/console/sessions/show?role=HUB&cc=NL&pid=OCP&id=NOPE")
    assert r.status_code == 400

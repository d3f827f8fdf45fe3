"""The Outbox page: queues, a failing partner, dead letters with the partner's answer,
retry and drop, one or all; against a real receiver and our real worker."""

import html
from collections.abc import AsyncIterator

import pytest

from ocpi.outbox import admin
from ocpi.store.sql_store import SqlStore

from .console_helpers import ConsoleNode, console_node, secret_key  # noqa: F401
from .outbox_helpers import receiving_partner, session, worker, write
from .receiver import Receiver

pytestmark = pytest.mark.usefixtures("local_partners")


@pytest.fixture
async def console(database_url: str, secret_key: str  # noqa: F811
                  ) -> AsyncIterator[ConsoleNode]:
    async for c in console_node(database_url):
        await c.login()
        yield c


async def _page(console: ConsoleNode, path: str = "/console/outbox") -> str:
    r = await console.client.get(path)
    assert r.status_code == 200, r.text
    return html.unescape(r.text)


async def test_an_empty_outbox(console: ConsoleNode):
    text = await _page(console)
    assert "The outbox is empty" in text and "No dead letters" in text
    live = await console.client.get("/console/outbox/live", headers={"HX-Request": "true"})
    assert live.status_code == 200 and "<html" not in live.text
    assert "The outbox is empty" in live.text


async def test_dead_letters_with_the_answer_retry_and_drop(console: ConsoleNode):
    db = console.node.db
    with Receiver(refuse=lambda method, path, body: True) as receiver:
        await receiving_partner(db, receiver.url, "DE", "MSP")
        for n in (1, 2, 3):
            await write(SqlStore(db), session(n))
        await worker(db).drain_once()
        assert len(await admin.messages(db, state="dead")) == 3
        text = await _page(console)
        assert "3 dead letter(s)" in text
        assert "refused by the test" in text and "S0001" in text
        seqs = [m.seq for _, m in await admin.messages(db, state="dead")]

        # one back in the queue, now accepted
        receiver.refuse = None
        r = await console.act("/console/outbox/retry", "/console/outbox", id=str(seqs[0]))
        assert r.status_code == 303
        assert f"Message {seqs[0]} is back" in await _page(console)
        await worker(db).drain_once()
        assert any("S0001" in a.path for a in receiver.accepted)
        assert len(await admin.messages(db, state="dead")) == 2

        # one dropped for good; retrying it again says so
        await console.act("/console/outbox/drop", "/console/outbox", id=str(seqs[1]))
        assert [m.seq for _, m in await admin.messages(db, state="dead")] == [seqs[2]]
        await console.act("/console/outbox/retry", "/console/outbox", id=str(seqs[1]))
        assert f"Message {seqs[1]} is not a dead letter" in await _page(console)

        # filtered by partner; then all at once
        text = await _page(console, "/console/outbox?partner=de-msp&limit=5")
        assert "1 dead letter(s) for de-msp" in text
        text = await _page(console, "/console/outbox?partner=nobody")
        assert "No dead letters for nobody" in text
        await console.act("/console/outbox/retry-all", "/console/outbox")
        assert await admin.messages(db, state="dead") == []
        for n in (4, 5):
            await write(SqlStore(db), session(n))
        receiver.refuse = lambda method, path, body: True
        await worker(db).drain_once()
        assert len(await admin.messages(db, state="dead")) == 3  # S0003 retried, refused again
        await console.act("/console/outbox/drop-all", "/console/outbox")
        assert "3 dead letter(s) dropped" in await _page(console)
        assert await admin.messages(db, state="dead") == []


async def test_a_partner_that_stopped_answering_shows_as_failing(console: ConsoleNode):
    db = console.node.db
    with Receiver() as receiver:
        url = receiver.url
    await receiving_partner(db, url, "DE", "MSP")  # nobody listens there any more
    await write(SqlStore(db), session(1))
    await worker(db).drain_once()
    text = await _page(console)
    assert "de-msp" in text and "failing-row" in text
    [q] = await admin.status(db)
    assert q.last_error and q.last_error in text
    partners = await _page(console, "/console/partners")
    assert "Delivery failing" in partners and "failing" in partners


async def test_bad_ids_are_400_pages(console: ConsoleNode):
    csrf = await console.csrf("/console/outbox")
    for value in ("x", "-1", "0", "9" * 30):
        r = await console.client.post("/console/outbox/retry", data={"csrf": csrf, "id": value})
        assert r.status_code == 400, value
        assert r.headers["content-type"].startswith("text/html")
    r = await console.client.get("/console/outbox?limit=100000")
    assert r.status_code == 400

"""The Partners page against a real partner platform (``PeerMock`` served over HTTP)."""

import asyncio
import html
from collections.abc import AsyncIterator, Iterator

import pytest

from ocpi.peers import handshake
from ocpi.services.us import us

from .console_helpers import ConsoleNode, console_node, secret_key  # noqa: F401
from .servers import PeerMock, served

pytestmark = pytest.mark.usefixtures("local_partners")


@pytest.fixture
def mock() -> Iterator[PeerMock]:
    peer = PeerMock(party=("NL", "MCK", "CPO"))
    yield from served(peer)


@pytest.fixture
async def console(database_url: str, secret_key: str,  # noqa: F811
                  mock: PeerMock) -> AsyncIterator[ConsoleNode]:
    async for c in console_node(database_url, public_url="http://testserver"):
        node = c.node
        ours = await us(node.db, node.public_url, node.country_code, node.party_id)
        await handshake.register(node.registry, ours, f"{mock.url}/versions", "token-a",
                                 version="2.2.1")
        await c.login()
        yield c


async def _page(console: ConsoleNode) -> str:
    r = await console.client.get("/console/partners")
    assert r.status_code == 200
    return html.unescape(r.text)


async def test_a_partner_with_its_state_version_parties_and_health(console: ConsoleNode):
    text = await _page(console)
    assert "nl-mck-cpo" in text and "registered" in text
    assert "2.2.1" in text and "CPO NL*MCK" in text
    assert "latest-state" in text
    peer = await console.node.registry.get("nl-mck-cpo")
    await console.node.registry.mark_reached(peer.id, "HTTP 503 from the partner")
    text = await _page(console)
    assert "HTTP 503 from the partner" in text and "failing" in text


async def test_update_credentials_exchanges_new_tokens(console: ConsoleNode, mock: PeerMock):
    before = (await console.node.registry.get("nl-mck-cpo")).token_out
    mock.given_token = "mock-token-C2"
    r = await console.act("/console/partners/update", name="nl-mck-cpo")
    assert r.status_code == 303
    assert mock.seen("PUT", "/credentials")
    after = await console.node.registry.get("nl-mck-cpo")
    assert after.token_out == "mock-token-C2" != before
    assert "credentials exchanged" in await _page(console)


async def test_a_failed_update_is_reported_not_raised(console: ConsoleNode, mock: PeerMock):
    mock.mode["*"] = "down"
    r = await console.act("/console/partners/update", name="nl-mck-cpo")
    assert r.status_code == 303
    text = await _page(console)
    assert "Updating nl-mck-cpo failed" in text


async def test_pull_now_runs_beside_the_page_and_shows_its_result(console: ConsoleNode,
                                                                  mock: PeerMock):
    r = await console.act("/console/partners/pull", name="nl-mck-cpo", module="sessions")
    assert r.status_code == 303
    assert "Pulling sessions from nl-mck-cpo" in await _page(console)
    for _ in range(200):
        text = await _page(console)
        if "sessions: running" not in text:
            break
        await asyncio.sleep(0.05)
    assert mock.seen("GET", "/sessions")
    assert "sessions: done, 0 received: 0 new" in text


async def test_delivery_mode_changes(console: ConsoleNode):
    r = await console.act("/console/partners/delivery", name="nl-mck-cpo",
                          delivery="every-message")
    assert r.status_code == 303
    assert (await console.node.registry.get("nl-mck-cpo")).profile.delivery == "every-message"


async def test_unregister_tells_the_partner_and_cuts_it_off(console: ConsoleNode,
                                                            mock: PeerMock):
    r = await console.act("/console/partners/unregister", name="nl-mck-cpo")
    assert r.status_code == 303
    assert mock.seen("DELETE", "/credentials")
    assert (await console.node.registry.get("nl-mck-cpo")).state == "unregistered"
    text = await _page(console)
    assert "nl-mck-cpo is unregistered" in text
    assert "/console/partners/pull" not in text  # no actions for a partner that is gone


async def test_unregister_of_an_unreachable_partner_needs_force(console: ConsoleNode,
                                                                mock: PeerMock):
    mock.mode["*"] = "down"
    await console.act("/console/partners/unregister", name="nl-mck-cpo")
    assert (await console.node.registry.get("nl-mck-cpo")).state == "registered"
    assert "Unregistering nl-mck-cpo failed" in await _page(console)
    await console.act("/console/partners/unregister", name="nl-mck-cpo", force="yes")
    assert (await console.node.registry.get("nl-mck-cpo")).state == "unregistered"

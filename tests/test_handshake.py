"""We register with a partner (client side), against real servers on 127.0.0.1.

"Our" node is an eMSP served for real (the partner calls back into it during
the handshake) on the backend under test; the partner is either another node
of this package (a CPO) or the recording ``PeerMock``.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from ocpi import get_application
from ocpi.core.enums import RoleEnum
from ocpi.peers import handshake
from ocpi.peers.credentials import Party
from ocpi.peers.handshake import HandshakeError, Us
from ocpi.peers.registry import Registry
from ocpi.store.database import Database
from ocpi.store.schema import tokens

from .conftest import auth
from .servers import PeerMock, ServerThread, served

pytestmark = pytest.mark.usefixtures("local_partners")


class Side:
    """A node served for real, with its own registry handle for CLI-like calls."""

    def __init__(self, url: str, database_url: str) -> None:
        self.url = url
        self.db = Database(database_url)
        self.registry = Registry(self.db)

    def us(self, cc: str, pid: str, role: str) -> Us:
        return Us(versions_url=f"{self.url}/ocpi/versions",
                  parties=[Party(role, cc, pid, {"name": f"{cc} {pid}"})])


@contextmanager
def _serving(database_url: str, role: RoleEnum, cc: str, pid: str) -> Iterator[Side]:
    app = get_application(roles=[role], database_url=database_url, country_code=cc,
                          party_id=pid, operator_token="op")
    with ServerThread(app) as url:
        yield Side(url, database_url)


@pytest.fixture
async def emsp(database_url):
    """Our side: an eMSP DE/MSP on the backend under test."""
    with _serving(database_url, RoleEnum.emsp, "DE", "MSP") as side:
        yield side
        await side.db.dispose()


@pytest.fixture
async def cpo(tmp_path: Path):
    """The partner: a CPO NL/CPO of this package, on SQLite."""
    with _serving(f"sqlite:///{tmp_path / 'cpo.db'}", RoleEnum.cpo, "NL", "CPO") as side:
        yield side
        await side.db.dispose()


@pytest.fixture
def mock():
    peer = PeerMock(party=("NL", "MCK", "CPO"))
    yield from served(peer)


async def _status(url: str, token: str, version: str) -> int:
    async with httpx.AsyncClient() as c:
        return (await c.get(url, headers=auth(token, version))).status_code


@pytest.mark.parametrize("version", ["2.1.1", "2.2.1", "2.3.0"])
async def test_register_update_unregister_with_a_real_node(emsp, cpo, version):
    _, token_a = await cpo.registry.invite("DE", "MSP", "EMSP")
    us = emsp.us("DE", "MSP", "EMSP")
    peer = await handshake.register(emsp.registry, us, f"{cpo.url}/ocpi/versions", token_a,
                                    version=version)
    assert peer.name == "nl-cpo-cpo" and peer.version == version and peer.state == "registered"
    assert [(p.country_code, p.party_id, p.role) for p in peer.all_parties()] == \
        [("NL", "CPO", "CPO")]
    locations = peer.endpoint("locations", "SENDER")
    assert locations == f"{cpo.url}/ocpi/cpo/{version}/locations"

    theirs = (await cpo.registry.list_peers())[0]
    assert theirs.state == "registered" and theirs.version == version
    assert theirs.endpoint("locations") == f"{emsp.url}/ocpi/emsp/{version}/locations"

    # each side's token opens the other; token A is spent
    assert await _status(locations, peer.token_out, version) == 200
    assert await _status(f"{emsp.url}/ocpi/emsp/{version}/locations/NL/CPO/X",
                         theirs.token_out, version) == 404  # known caller, unknown object
    assert await _status(f"{cpo.url}/ocpi/versions", token_a, version) == 401

    # PUT: fresh tokens both ways; the old one keeps working until the new is used
    old = peer.token_out
    updated = await handshake.update(emsp.registry, us, peer)
    assert updated.token_out != old and updated.version == "2.3.0"  # highest in common
    assert await _status(locations, old, version) == 200
    assert await _status(f"{cpo.url}/ocpi/cpo/2.3.0/locations", updated.token_out,
                         "2.3.0") == 200
    assert await _status(locations, old, version) == 401

    # DELETE: both sides unregistered, the token we held no longer works
    await handshake.unregister(emsp.registry, us, updated)
    assert (await emsp.registry.get("nl-cpo-cpo")).state == "unregistered"
    assert (await cpo.registry.list_peers())[0].state == "unregistered"
    assert await _status(f"{cpo.url}/ocpi/cpo/2.3.0/locations", updated.token_out,
                         "2.3.0") == 401


async def test_highest_common_version_is_picked(emsp, mock):
    mock.versions = ["2.1.1", "2.2.1"]
    mock.extra_versions = [{"version": "9.9", "url": f"{mock.url}/9.9/details"}]
    peer = await handshake.register(emsp.registry, emsp.us("DE", "MSP", "EMSP"),
                                    f"{mock.url}/versions", "token-a")
    assert peer.version == "2.2.1" and peer.token_out == "mock-token-C"
    order = [(r["method"], r["path"]) for r in mock.requests]
    assert order == [("GET", "/versions"), ("GET", "/2.2.1/details"),
                     ("POST", "/2.2.1/credentials")]
    sent = mock.requests[-1]
    assert sent["headers"]["authorization"] == "Token dG9rZW4tYQ=="  # token A, base64
    assert b'"roles"' in sent["body"] and b'"DE"' in sent["body"]


async def test_plain_token_partner_is_detected_and_remembered(emsp, mock):
    mock.plain_only = True
    peer = await handshake.register(emsp.registry, emsp.us("DE", "MSP", "EMSP"),
                                    f"{mock.url}/versions", "token-a", version="2.2.1")
    assert peer.profile.plain_token is True
    assert mock.requests[-1]["headers"]["authorization"] == "Token token-a"


async def _nothing_stored(side: Side) -> None:
    assert await side.registry.list_peers() == []


@pytest.mark.parametrize("mode,message", [
    ("down", "HTTP 503"),
    ("garbage", "without an OCPI envelope"),
    ("slow", "timeout"),
])
async def test_bad_versions_endpoint_fails_clearly_and_stores_nothing(emsp, mock, monkeypatch,
                                                                      mode, message):
    monkeypatch.setenv("OCPI_PARTNER_TIMEOUT", "0.5")
    mock.mode = {"/versions": mode}
    with pytest.raises(HandshakeError, match=message) as err:
        await handshake.register(emsp.registry, emsp.us("DE", "MSP", "EMSP"),
                                 f"{mock.url}/versions", "token-a")
    assert "/versions" in str(err.value)
    await _nothing_stored(emsp)
    assert mock.seen("POST") == []


async def test_dead_versions_url_fails_clearly(emsp):
    with pytest.raises(HandshakeError, match="cannot connect"):
        await handshake.register(emsp.registry, emsp.us("DE", "MSP", "EMSP"),
                                 "http://127.0.0.1:9/versions", "token-a")
    await _nothing_stored(emsp)


async def test_no_post_when_the_partner_lacks_what_we_need(emsp, mock):
    mock.modules = ["locations", "sessions"]  # no credentials endpoint
    with pytest.raises(HandshakeError, match="no credentials module"):
        await handshake.register(emsp.registry, emsp.us("DE", "MSP", "EMSP"),
                                 f"{mock.url}/versions", "token-a")
    mock.modules = ["credentials", "tokens"]
    with pytest.raises(HandshakeError, match="none of locations, sessions"):
        await handshake.register(emsp.registry, emsp.us("DE", "MSP", "EMSP"),
                                 f"{mock.url}/versions", "token-a")
    assert mock.seen("POST") == []
    await _nothing_stored(emsp)


async def test_refused_post_leaves_no_half_registered_partner(emsp, mock):
    mock.mode = {"/2.2.1/credentials": "down"}
    with pytest.raises(HandshakeError, match="registration refused"):
        await handshake.register(emsp.registry, emsp.us("DE", "MSP", "EMSP"),
                                 f"{mock.url}/versions", "token-a", version="2.2.1")
    await _nothing_stored(emsp)


async def test_partner_that_cannot_call_us_back_gets_a_hint(emsp, cpo):
    _, token_a = await cpo.registry.invite("DE", "MSP", "EMSP")
    us = Us(versions_url="http://127.0.0.1:9/ocpi/versions",
            parties=[Party("EMSP", "DE", "MSP", {"name": "x"})])
    with pytest.raises(HandshakeError, match="could not call us back") as err:
        await handshake.register(emsp.registry, us, f"{cpo.url}/ocpi/versions", token_a)
    assert err.value.status_code == 3001
    await _nothing_stored(emsp)
    assert (await cpo.registry.list_peers())[0].state == "invited"  # it can try again


async def test_2_1_1_role_comes_from_the_partners_urls_or_the_flag(emsp, mock):
    with pytest.raises(HandshakeError, match="--role"):
        await handshake.register(emsp.registry, emsp.us("DE", "MSP", "EMSP"),
                                 f"{mock.url}/versions", "token-a", version="2.1.1")
    peer = await handshake.register(emsp.registry, emsp.us("DE", "MSP", "EMSP"),
                                    f"{mock.url}/versions", "token-a", version="2.1.1",
                                    role="CPO")
    assert peer.role == "CPO" and peer.version == "2.1.1"


async def test_no_token_is_ever_written_to_a_log(emsp, cpo, caplog):
    caplog.set_level(logging.DEBUG)
    _, token_a = await cpo.registry.invite("DE", "MSP", "EMSP")
    us = emsp.us("DE", "MSP", "EMSP")
    peer = await handshake.register(emsp.registry, us, f"{cpo.url}/ocpi/versions", token_a)
    peer = await handshake.update(emsp.registry, us, peer)
    with pytest.raises(HandshakeError):
        await handshake.register(emsp.registry, us, "http://127.0.0.1:9/versions", "secret-a")
    theirs = (await cpo.registry.list_peers())[0]
    assert caplog.records  # httpx and the servers did log
    for token in (token_a, peer.token_out, theirs.token_out, "secret-a"):
        assert token and token not in caplog.text


async def test_a_partner_claiming_to_be_a_hub_needs_the_operators_yes(emsp, mock):
    """A HUB may write objects of every party it reaches: the operator must say so with
    --role HUB."""
    mock.party = ("NL", "HUB", "HUB")
    with pytest.raises(HandshakeError, match="--role HUB") as err:
        await handshake.register(emsp.registry, emsp.us("DE", "MSP", "EMSP"),
                                 f"{mock.url}/versions", "token-a", version="2.2.1")
    # it registered us already: what it answered is kept for the operator, not thrown away
    assert "kept" in str(err.value)
    [kept] = await emsp.registry.list_peers()
    assert kept.state == "registering" and "HUB" in kept.last_error
    assert kept.token_out == "mock-token-C"
    assert (await emsp.registry.identify("mock-token-C")) is None  # not a token for us

    peer = await handshake.register(emsp.registry, emsp.us("DE", "MSP", "EMSP"),
                                    f"{mock.url}/versions", "token-a", version="2.2.1",
                                    role="HUB")
    assert peer.is_hub and peer.name == "nl-hub-hub"


async def test_an_invalid_answer_after_our_post_is_kept_for_the_operator(emsp, mock):
    mock.given_token = "x" * 65  # longer than OCPI allows
    with pytest.raises(HandshakeError, match="the partner registered us, but"):
        await handshake.register(emsp.registry, emsp.us("DE", "MSP", "EMSP"),
                                 f"{mock.url}/versions", "token-a", version="2.2.1")
    [kept] = await emsp.registry.list_peers()
    assert kept.state == "registering" and "token" in kept.last_error
    await handshake.unregister(emsp.registry, emsp.us("DE", "MSP", "EMSP"), kept, force=True)
    assert (await emsp.registry.get(kept.name)).state == "unregistered"


async def _current_tokens(side: Side, peer_id: int) -> int:
    async with side.db.begin() as tx:
        rows = (await tx.execute(select(tokens.c.kind).where(tokens.c.peer_id == peer_id))).all()
    return sum(1 for r in rows if r.kind == "C")


async def test_an_update_that_may_have_reached_the_partner_keeps_our_new_token(emsp, mock,
                                                                               monkeypatch):
    """A timeout leaves it unknown whether the partner switched to our new token: keep it
    valid. An answered refusal means it did not: drop it."""
    us = emsp.us("DE", "MSP", "EMSP")
    peer = await handshake.register(emsp.registry, us, f"{mock.url}/versions", "token-a",
                                    version="2.2.1")
    assert await _current_tokens(emsp, peer.id) == 1
    monkeypatch.setenv("OCPI_PARTNER_TIMEOUT", "0.5")
    mock.mode = {"/2.2.1/credentials": "slow"}
    with pytest.raises(HandshakeError, match="timeout"):
        await handshake.update(emsp.registry, us, peer, version="2.2.1")
    assert await _current_tokens(emsp, peer.id) == 2
    mock.mode = {"/2.2.1/credentials": "down"}
    with pytest.raises(HandshakeError, match="HTTP 503"):
        await handshake.update(emsp.registry, us, peer, version="2.2.1")
    assert await _current_tokens(emsp, peer.id) == 2

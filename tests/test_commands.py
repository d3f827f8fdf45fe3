"""Commands between two nodes of this package over real HTTP, for 2.1.1 and 2.2.1:
the eMSP starts a session by command, the CPO's hook accepts it and reports the
result later, which reaches the eMSP's response_url through the outbox (through
a 500 too); what the CPO's own data answers at once (unknown Location, session);
the one TIMEOUT of a command whose result never comes, also after a restart; and
a result POST from the wrong partner, or a second one, stored nowhere.

Both nodes are served by uvicorn in the test's own event loop, so the node under
the ``node`` fixture (SQLite, then PostgreSQL) is used from one loop only; it
plays the CPO in some tests and the eMSP in others, the other node is SQLite."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select, update

from ocpi import get_application
from ocpi.core import jsonutil
from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.modules.remote import now, records
from ocpi.modules.tokens.declaration import authorizations
from ocpi.outbox.worker import Backoff, OutboxWorker
from ocpi.peers.credentials import Party
from ocpi.services import authorization, commands
from ocpi.store.schema import outbox

from .conftest import OPERATOR, auth
from .test_cli import run

pytestmark = pytest.mark.usefixtures("local_partners")

FIXTURE_PARTY, OTHER_PARTY = ("NL", "OCP"), ("DE", "MSP")
STAMP = "2026-01-01T00:00:00Z"


def location(party: tuple[str, str]) -> dict[str, Any]:
    return {"country_code": party[0], "party_id": party[1], "id": "LOC1", "publish": True,
            "address": "Street 1", "city": "Town", "postal_code": "1234AB", "country": "NLD",
            "coordinates": {"latitude": "52.370216", "longitude": "4.895168"},
            "time_zone": "Europe/Amsterdam", "last_updated": STAMP,
            "evses": [{"uid": "EVSE1", "evse_id": "NL*OCP*E1", "status": "AVAILABLE",
                       "last_updated": STAMP,
                       "connectors": [{"id": "1", "standard": "IEC_62196_T2",
                                       "format": "SOCKET", "power_type": "AC_3_PHASE",
                                       "max_voltage": 230, "max_amperage": 32,
                                       "last_updated": STAMP}]}]}


def token(party: tuple[str, str]) -> dict[str, Any]:
    return {"country_code": party[0], "party_id": party[1], "uid": "TOK1", "type": "RFID",
            "contract_id": f"{party[0]}-{party[1]}-C00001", "issuer": "Issuer", "valid": True,
            "whitelist": "ALLOWED", "last_updated": STAMP}


class Hook:
    """The CPO operator's command handler: answers by command type, remembers each."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.answers: dict[str, Any] = {
            "START_SESSION": {"result": "ACCEPTED", "timeout": 30},
            "UNLOCK_CONNECTOR": {"result": "REJECTED", "message": "the cable is stuck"}}

    async def __call__(self, data: dict[str, Any]) -> Any:
        self.seen.append(data)
        return self.answers.get(data["command"])


class FailingResults:
    """The eMSP behind a front answering its first ``n`` result POSTs with a 500."""

    def __init__(self, app: Any, n: int) -> None:
        self.app, self.left = app, n

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.left and scope["method"] == "POST" \
                and "/ocpi/emsp/" in scope["path"] and "/commands/" in scope["path"]:
            self.left -= 1
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body",
                        "body": b'{"status_code": 3000, "timestamp": "2026-01-01T00:00:00Z"}'})
            return
        await self.app(scope, receive, send)


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """``app`` served for real on 127.0.0.1, in this event loop."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off",
                                           log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


class Side:
    def __init__(self, app: Any, url: str, party: tuple[str, str]) -> None:
        self.app, self.url, self.party = app, url, party
        self.node = app.state.node
        self.db, self.registry = self.node.db, self.node.registry
        self.token = ""  # what the other side calls us with


@asynccontextmanager
async def pair(node: Any, tmp_path: Any, version: str, *, fixture_is_cpo: bool = True,
               failing_results: int = 0) -> AsyncIterator[tuple[Side, Side, Hook]]:
    other = get_application(database_url=f"sqlite:///{tmp_path / 'other.db'}",
                            operator_token=OPERATOR, country_code=OTHER_PARTY[0],
                            party_id=OTHER_PARTY[1], deliver=False)
    apps = (node.app, other) if fixture_is_cpo else (other, node.app)
    parties = (FIXTURE_PARTY, OTHER_PARTY) if fixture_is_cpo else (OTHER_PARTY, FIXTURE_PARTY)
    front = FailingResults(apps[1], failing_results)
    try:
        async with serving(apps[0]) as cpo_url, serving(front) as emsp_url:
            cpo, emsp = Side(apps[0], cpo_url, parties[0]), Side(apps[1], emsp_url, parties[1])
            await cpo.node.crud.create(ModuleID.locations, RoleEnum.cpo, location(cpo.party),
                                       country_code=cpo.party[0], party_id=cpo.party[1])
            await emsp.node.crud.create(ModuleID.tokens, RoleEnum.emsp, token(emsp.party),
                                        country_code=emsp.party[0], party_id=emsp.party[1])
            await connect(cpo, emsp, version)
            hook = Hook()
            cpo.node.command_handler = hook
            yield cpo, emsp, hook
    finally:
        await other.state.node.db.dispose()


async def connect(cpo: Side, emsp: Side, version: str) -> None:
    """Registered with each other as a handshake leaves them."""
    at_cpo, emsp.token = await cpo.registry.add_peer(*emsp.party, "EMSP", name="msp")
    at_emsp, cpo.token = await emsp.registry.add_peer(*cpo.party, "CPO", name="cpo")
    await cpo.registry.update_peer(
        at_cpo.id, version=version, token_out=cpo.token, parties=[Party("EMSP", *emsp.party, {})],
        endpoints=[{"identifier": m, "role": "SENDER",
                    "url": f"{emsp.url}/ocpi/emsp/{version}/{m}"}
                   for m in ("commands", "chargingprofiles")])
    await emsp.registry.update_peer(
        at_emsp.id, version=version, token_out=emsp.token,
        parties=[Party("CPO", *cpo.party, {})],
        endpoints=[{"identifier": m, "role": "RECEIVER",
                    "url": f"{cpo.url}/ocpi/cpo/{version}/{m}"}
                   for m in ("commands", "chargingprofiles")])


async def send(emsp: Side, command: str, **fields: Any) -> Any:
    peer = await emsp.registry.get("cpo")
    return await commands.send(emsp.db, peer, command, fields, base_url=emsp.url,
                               from_party=emsp.party)


async def drain(side: Side) -> None:
    w = OutboxWorker(side.db, from_party=side.party, backoff=Backoff(base=0.01, cap=0.05),
                     poll_interval=0.05)
    for _ in range(100):
        await w.drain_once()
        async with side.db.begin() as tx:
            left = (await tx.execute(select(outbox.c.seq).where(
                outbox.c.state == "pending"))).all()
        if not left:
            return
        await asyncio.sleep(0.03)
    raise AssertionError("the outbox was not drained")


async def callbacks(side: Side) -> list[Any]:
    async with side.db.begin() as tx:
        return (await tx.execute(select(outbox).where(outbox.c.kind == "callback")
                                 .order_by(outbox.c.seq))).all()


START = {"token_uid": "TOK1", "location_id": "LOC1", "evse_uid": "EVSE1", "connector_id": "1"}


@pytest.mark.parametrize("fixture_is_cpo", [True, False], ids=["cpo", "emsp"])
@pytest.mark.parametrize("version", ["2.1.1", "2.2.1"])
async def test_a_session_started_by_command_gets_its_result_through_the_outbox(
        node, tmp_path, version, fixture_is_cpo):
    async with pair(node, tmp_path, version, fixture_is_cpo=fixture_is_cpo) as (cpo, emsp,
                                                                                 hook):
        sent = await send(emsp, "START_SESSION", **START)
        assert sent.state == "pending" and sent.response["result"] == "ACCEPTED"
        assert sent.response == ({"result": "ACCEPTED"} if version == "2.1.1"
                                 else {"result": "ACCEPTED", "timeout": 30})
        data = hook.seen[0]
        assert data["command"] == "START_SESSION" and data["version"] == version
        request = data["request"]
        assert request["response_url"] == sent.response_url
        assert sent.response_url.startswith(f"{emsp.url}/ocpi/emsp/{version}/commands/"
                                            "START_SESSION/")
        assert request["token"]["uid"] == "TOK1"  # our stored token, in the partner's version
        assert ("auth_id" in request["token"]) == (version == "2.1.1")
        # the session that follows carries the reference of the accepted command
        reference = data["authorization_reference"]
        session = await authorization.reference_for_session(cpo.db, {
            "id": "S1", "location_id": "LOC1", "cdr_token": {"uid": "TOK1", "type": "RFID"}})
        assert reference and session["authorization_reference"] == reference

        done = await commands.report_result(cpo.db, data["id"], "ACCEPTED", "started")
        assert (done.state, done.result) == ("done", "ACCEPTED")
        [queued] = await callbacks(cpo)
        assert queued.url == sent.response_url
        body = jsonutil.loads(queued.data)
        assert body == ({"result": "ACCEPTED"} if version == "2.1.1" else
                        {"result": "ACCEPTED", "message": [{"language": "en",
                                                            "text": "started"}]})
        await drain(cpo)
        got = await commands.get(emsp.db, sent.id)
        assert (got.state, got.result) == ("done", "ACCEPTED")
        with pytest.raises(commands.Refused):  # one result per command
            await commands.report_result(cpo.db, data["id"], "FAILED")
        [theirs] = await commands.listing(cpo.db)
        assert (theirs["side"], theirs["partner"], theirs["result"]) == ("CPO", "msp",
                                                                         "ACCEPTED")


@pytest.mark.parametrize("version", ["2.1.1", "2.2.1"])
async def test_what_the_cpo_knows_is_answered_at_once(node, tmp_path, version):
    async with pair(node, tmp_path, version) as (cpo, emsp, hook):
        unknown = await send(emsp, "START_SESSION", token_uid="TOK1", location_id="NOPE")
        assert unknown.state == "done" and unknown.response["result"] == "REJECTED"
        evse = await send(emsp, "UNLOCK_CONNECTOR", location_id="LOC1", evse_uid="E9",
                          connector_id="1")
        assert evse.response["result"] == "REJECTED"
        session = await send(emsp, "STOP_SESSION", session_id="S404")
        assert session.response["result"] == "UNKNOWN_SESSION"
        if version != "2.1.1":  # the reason travels in the message
            assert "unknown Location 'NOPE'" in unknown.response["message"][0]["text"]
            assert "unknown EVSE 'E9'" in evse.response["message"][0]["text"]
        assert hook.seen == []  # never asked about what we do not hold
        refused = await send(emsp, "UNLOCK_CONNECTOR", location_id="LOC1", evse_uid="EVSE1",
                             connector_id="1")
        assert refused.state == "done" and refused.response["result"] == "REJECTED"
        if version != "2.1.1":
            assert refused.response["message"] == [{"language": "en",
                                                    "text": "the cable is stuck"}]
            # no handler says: not supported
            cancel = await send(emsp, "CANCEL_RESERVATION", reservation_id="R1")
            assert cancel.response["result"] == "NOT_SUPPORTED"
        else:
            with pytest.raises(ValueError, match=r"not a command of OCPI 2\.1\.1"):
                await send(emsp, "CANCEL_RESERVATION", reservation_id="R1")
        # nothing pending, nothing queued: no result is due for any of them
        assert {c["state"] for c in await commands.listing(cpo.db)} == {"done"}
        assert await commands.sweep(cpo.db, at=now() + timedelta(days=2)) == []
        assert await callbacks(cpo) == []
        # an unknown command type, and a body that is not the command's
        h = {**auth(emsp.token, version), "Content-Type": "application/json"}
        async with httpx.AsyncClient() as client:
            r = await client.post(f"{cpo.url}/ocpi/cpo/{version}/commands/SELF_DESTRUCT",
                                  content=b"{}", headers=h)
            assert r.json()["data"]["result"] == "NOT_SUPPORTED"
            r = await client.post(f"{cpo.url}/ocpi/cpo/{version}/commands/STOP_SESSION",
                                  content=b'{"response_url": "https://x/y"}', headers=h)
            assert r.json()["status_code"] == 2001 and "session_id" in r.json()["status_message"]


async def test_a_missing_result_times_out_once_also_across_a_restart(
        node, tmp_path, database_url):
    async with pair(node, tmp_path, "2.2.1") as (cpo, emsp, hook):
        first = await send(emsp, "START_SESSION", **START)
        second = await send(emsp, "START_SESSION", **START)
        ids = [d["id"] for d in hook.seen]
        assert await commands.sweep(cpo.db) == []  # not yet
        # two sweepers at once (two processes): one TIMEOUT
        swept = await asyncio.gather(*(commands.sweep(cpo.db, at=now() + timedelta(seconds=31))
                                       for _ in range(2)))
        assert sorted(swept[0] + swept[1]) == sorted(ids)
        with pytest.raises(commands.Refused, match="result already"):  # a late result
            await commands.report_result(cpo.db, ids[0], "ACCEPTED")
        third = await send(emsp, "START_SESSION", **START)
        async with cpo.db.begin() as tx:  # its time passes while the node is down
            await tx.execute(update(records).where(records.c.id == hook.seen[2]["id"])
                             .values(timeout_at=now() - timedelta(seconds=1)))
        restarted = get_application(database_url=database_url, operator_token=OPERATOR,
                                    country_code=cpo.party[0], party_id=cpo.party[1],
                                    deliver=False)
        async with restarted.router.lifespan_context(restarted):
            pass
        await restarted.state.node.db.dispose()
        assert await commands.sweep(cpo.db, at=now() + timedelta(days=1)) == []
        queued = await callbacks(cpo)
        assert [jsonutil.loads(q.data)["result"] for q in queued] == ["TIMEOUT"] * 3
        await drain(cpo)
        for sent in (first, second, third):
            got = await commands.get(emsp.db, sent.id)
            assert (got.state, got.result) == ("done", "TIMEOUT")


async def test_a_result_from_another_partner_or_twice_is_stored_nowhere(node, tmp_path):
    async with pair(node, tmp_path, "2.2.1", fixture_is_cpo=False) as (cpo, emsp, _hook):
        sent = await send(emsp, "START_SESSION", **START)
        _, stranger = await emsp.registry.add_peer("FR", "XXX", "CPO", name="stranger")
        result = b'{"result": "ACCEPTED"}'
        typed = {"Content-Type": "application/json"}
        async with httpx.AsyncClient() as client:
            r = await client.post(sent.response_url, content=result,
                                  headers={**auth(stranger), **typed})
            assert r.status_code == 404
            r = await client.post(sent.response_url[:-3] + "xyz", content=result,
                                  headers={**auth(cpo.token), **typed})
            assert r.status_code == 404
            assert (await commands.get(emsp.db, sent.id)).state == "pending"
            r = await client.post(sent.response_url, content=b'{"result": "MAYBE"}',
                                  headers={**auth(cpo.token), **typed})
            assert r.json()["status_code"] == 2001
            r = await client.post(sent.response_url, content=result,
                                  headers={**auth(cpo.token), **typed})
            assert r.json()["status_code"] == 1000, r.text
            r = await client.post(sent.response_url, content=b'{"result": "FAILED"}',
                                  headers={**auth(cpo.token), **typed})
            assert r.json()["status_code"] == 2001
        got = await commands.get(emsp.db, sent.id)
        assert (got.state, got.result) == ("done", "ACCEPTED")
        async with emsp.db.begin() as tx:
            assert (await tx.execute(select(func.count()).select_from(records))).scalar() == 1


async def test_a_result_answered_500_is_retried_until_delivered(node, tmp_path):
    async with pair(node, tmp_path, "2.2.1", failing_results=2) as (cpo, emsp, hook):
        sent = await send(emsp, "START_SESSION", **START)
        await commands.report_result(cpo.db, hook.seen[0]["id"], "EVSE_OCCUPIED")
        await drain(cpo)
        [queued] = await callbacks(cpo)
        assert queued.state == "answered" and queued.attempts >= 2
        got = await commands.get(emsp.db, sent.id)
        assert (got.state, got.result) == ("done", "EVSE_OCCUPIED")


async def test_the_cli_sends_reports_and_lists(node, tmp_path, database_url):
    async with pair(node, tmp_path, "2.2.1") as (cpo, emsp, hook):
        other = f"sqlite:///{tmp_path / 'other.db'}"
        env = {"OCPI_COUNTRY_CODE": emsp.party[0], "OCPI_PARTY_ID": emsp.party[1],
               "OCPI_ALLOW_INSECURE_PARTNERS": "1"}
        out = await asyncio.to_thread(
            run, "commands", "start-session", "cpo", "--token", "TOK1", "--location", "LOC1",
            "--public-url", emsp.url, "--json", db=other, env=env)
        assert out.returncode == 0, out.stderr
        sent = jsonutil.loads(out.stdout)
        assert sent["response"]["result"] == "ACCEPTED" and sent["side"] == "EMSP"
        out = await asyncio.to_thread(run, "commands", "result", str(hook.seen[0]["id"]),
                                      "accepted", db=database_url)
        assert out.returncode == 0, out.stderr
        out = await asyncio.to_thread(run, "commands", "result", str(hook.seen[0]["id"]),
                                      "FAILED", db=database_url)
        assert out.returncode == 1 and "result already" in out.stderr
        await drain(cpo)
        out = await asyncio.to_thread(run, "commands", "list", db=other)
        assert "START_SESSION" in out.stdout and "result: ACCEPTED" in out.stdout, out.stdout


async def test_a_hook_answer_that_is_no_command_response_records_nothing_accepted(
        node, tmp_path):
    """A bad answer from the operator's code (a message without its language) is
    REJECTED, logged, and closed: no 500 to the eMSP, no pending command counting
    down to a TIMEOUT, no authorization recorded for a session."""
    async with pair(node, tmp_path, "2.2.1") as (cpo, emsp, hook):
        hook.answers["START_SESSION"] = {"result": "ACCEPTED", "timeout": 30,
                                         "message": {"text": "no language"}}
        sent = await send(emsp, "START_SESSION", token_uid="TOK1", location_id="LOC1")
        assert (sent.state, sent.response["result"]) == ("done", "REJECTED")
        assert {c["state"] for c in await commands.listing(cpo.db)} == {"done"}
        assert await commands.sweep(cpo.db, at=now() + timedelta(days=2)) == []
        async with cpo.db.begin() as tx:
            recorded = (await tx.execute(select(func.count()).select_from(
                authorizations))).scalar_one()
        assert recorded == 0


async def test_a_command_for_another_partys_token_is_rejected_unasked(node, tmp_path):
    """A partner commands only for the parties it speaks for (a hub: those it
    reaches), as it writes only in their namespace."""
    async with pair(node, tmp_path, "2.2.1") as (cpo, emsp, hook):
        foreign = {**token(("XX", "YYY")), "uid": "NOTMINE"}
        body = {"response_url": "https://emsp.example/cb/1", "token": foreign,
                "location_id": "LOC1"}
        h = {**auth(emsp.token, "2.2.1"), "Content-Type": "application/json"}
        async with httpx.AsyncClient() as client:
            r = await client.post(f"{cpo.url}/ocpi/cpo/2.2.1/commands/START_SESSION",
                                  content=jsonutil.dumps(body), headers=h)
        assert r.json()["data"]["result"] == "REJECTED", r.text
        assert "another party" in r.json()["data"]["message"][0]["text"]
        assert hook.seen == []


async def test_a_result_for_a_command_through_a_hub_is_routed_to_the_party_behind_it(
        node, tmp_path):
    """A hub forwards an eMSP's command (OCPI-from-*): the result goes back to the hub's
    response_url with OCPI-to-* naming that eMSP, as 2.2.1's message routing asks."""
    async with pair(node, tmp_path, "2.2.1") as (cpo, _emsp, hook):
        hub_peer, hub_token = await cpo.registry.add_peer("NL", "HUB", "HUB", name="hub")
        await cpo.registry.update_peer(hub_peer.id, version="2.2.1", token_out="x",
                                       parties=[Party("HUB", "NL", "HUB", {})])
        await cpo.registry.set_profile("hub", any_party=True)
        body = {"response_url": "https://hub.example/cb/1", "token": token(("XX", "EMP")),
                "location_id": "LOC1"}
        h = {**auth(hub_token, "2.2.1"), "Content-Type": "application/json",
             "OCPI-from-country-code": "XX", "OCPI-from-party-id": "EMP",
             "OCPI-to-country-code": cpo.party[0], "OCPI-to-party-id": cpo.party[1]}
        async with httpx.AsyncClient() as client:
            r = await client.post(f"{cpo.url}/ocpi/cpo/2.2.1/commands/START_SESSION",
                                  content=jsonutil.dumps(body), headers=h)
        assert r.json()["data"]["result"] == "ACCEPTED", r.text
        assert hook.seen[0]["from_party"] == ("XX", "EMP")
        await commands.report_result(cpo.db, hook.seen[0]["id"], "ACCEPTED")
        [queued] = await callbacks(cpo)
        assert (queued.to_country_code, queued.to_party_id) == ("XX", "EMP")
        assert queued.url == "https://hub.example/cb/1"

"""Charging Profiles between two nodes of this package over real HTTP (2.2.1 and
2.3.0): the SCSP (our eMSP side) sets, gets and clears a session's profile at the
CPO, whose hook accepts and whose results reach the response_url through the
outbox; the CPO's unsolicited update reaches only a partner that set a profile;
what the CPO's own data answers at once; a result from the wrong partner or
twice stored nowhere; an expired request closed without a result."""

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from ocpi.core import jsonutil
from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.modules import remote as rec
from ocpi.modules.remote import now, records
from ocpi.services import charging_profiles as cp
from ocpi.services import commands
from ocpi.store.schema import outbox

from .conftest import auth
from .test_cli import run
from .test_commands import Side, callbacks, drain, pair

pytestmark = pytest.mark.usefixtures("local_partners")

PROFILE = {"charging_rate_unit": "W", "charging_profile_period": [
    {"start_period": 0, "limit": 11000}, {"start_period": 600, "limit": 7400}]}


def session(party: tuple[str, str], owner: tuple[str, str], id: str = "S1",
            status: str = "ACTIVE") -> dict[str, Any]:
    return {"country_code": party[0], "party_id": party[1], "id": id,
            "start_date_time": "2026-01-01T10:00:00Z", "kwh": 1.5,
            "cdr_token": {"uid": "TOK1", "type": "RFID", "contract_id": "C1",
                          "country_code": owner[0], "party_id": owner[1]},
            "auth_method": "COMMAND", "location_id": "LOC1", "evse_uid": "EVSE1",
            "connector_id": "1", "currency": "EUR", "status": status,
            "last_updated": "2026-01-01T10:00:00Z"}


class ProfileHook:
    def __init__(self, answer: Any = None) -> None:
        self.seen: list[dict[str, Any]] = []
        self.answer = answer or {"result": "ACCEPTED", "timeout": 20}

    def __call__(self, data: dict[str, Any]) -> Any:
        self.seen.append(data)
        return self.answer


async def with_session(cpo: Side, emsp: Side, **kw: Any) -> None:
    await cpo.node.crud.create(ModuleID.sessions, RoleEnum.cpo,
                               session(cpo.party, emsp.party, **kw),
                               country_code=cpo.party[0], party_id=cpo.party[1])


async def send(emsp: Side, kind: str, session_id: str = "S1", **kw: Any) -> Any:
    peer = await emsp.registry.get("cpo")
    return await cp.send(emsp.db, peer, kind, session_id, base_url=emsp.url,
                         from_party=emsp.party, **kw)


@pytest.mark.parametrize("fixture_is_cpo", [True, False], ids=["cpo", "scsp"])
@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
async def test_set_get_update_and_clear_a_sessions_profile(node, tmp_path, version,
                                                            fixture_is_cpo):
    async with pair(node, tmp_path, version, fixture_is_cpo=fixture_is_cpo) as (cpo, emsp, _):
        hook = cpo.node.charging_profile_handler = ProfileHook()
        await with_session(cpo, emsp)
        sent = await send(emsp, "SET", profile=PROFILE)
        assert (sent.state, sent.response) == ("pending", {"result": "ACCEPTED", "timeout": 20})
        seen = hook.seen[0]
        assert (seen["request"], seen["session_id"], seen["version"]) == ("SET", "S1", version)
        assert seen["charging_profile"] == PROFILE and seen["session"]["id"] == "S1"
        assert await cp.active_profile(cpo.db, "S1") is None  # not until the charger says
        await cp.report_result(cpo.db, seen["id"], "ACCEPTED")
        await drain(cpo)
        got = await cp.get(emsp.db, sent.id)
        assert (got.state, got.result) == ("done", "ACCEPTED")
        active = await cp.active_profile(cpo.db, "S1")
        assert active["charging_profile"] == PROFILE

        asked = await send(emsp, "GET", duration=900)
        assert asked.response["result"] == "ACCEPTED"
        assert hook.seen[1]["duration"] == 900
        with pytest.raises(ValueError, match="carries the active profile"):
            await cp.report_result(cpo.db, hook.seen[1]["id"], "ACCEPTED")
        await cp.report_result(cpo.db, hook.seen[1]["id"], "ACCEPTED", active)
        await drain(cpo)
        latest = await cp.latest(emsp.db, "S1")
        assert latest["from"] == "get" and latest["profile"] == active

        # a change the CPO learnt of: PUT to the SCSP, which keeps it as the latest
        lowered = {"charging_rate_unit": "A", "charging_profile_period": [
            {"start_period": 0, "limit": 16}]}
        [queued] = await cp.changed(cpo.db, "S1", lowered)
        await drain(cpo)
        latest = await cp.latest(emsp.db, "S1")
        assert latest["from"] == "update" and latest["profile"]["charging_profile"] == lowered
        assert (await cp.active_profile(cpo.db, "S1"))["charging_profile"] == lowered
        async with cpo.db.begin() as tx:
            row = (await tx.execute(select(outbox).where(outbox.c.seq == queued))).one()
        assert (row.method, row.state) == ("PUT", "answered")
        assert row.url.endswith(f"/ocpi/emsp/{version}/chargingprofiles/S1")

        cleared = await send(emsp, "CLEAR")
        assert hook.seen[2]["request"] == "CLEAR"
        await cp.report_result(cpo.db, hook.seen[2]["id"], "ACCEPTED")
        await drain(cpo)
        assert (await cp.get(emsp.db, cleared.id)).result == "ACCEPTED"
        assert await cp.active_profile(cpo.db, "S1") is None
        bodies = [jsonutil.loads(c.data) for c in await callbacks(cpo)]
        assert bodies[0] == {"result": "ACCEPTED"} and bodies[1]["profile"] == active
        sides = {(r["side"], r["command"]) for r in await cp.listing(cpo.db)}
        assert ("CPO", "SET") in sides and ("CPO", "UPDATE") in sides


async def test_what_the_cpo_knows_is_answered_at_once(node, tmp_path):
    async with pair(node, tmp_path, "2.2.1") as (cpo, emsp, _):
        await with_session(cpo, emsp)
        await with_session(cpo, emsp, id="DONE1", status="COMPLETED")
        await cpo.node.crud.create(ModuleID.sessions, RoleEnum.cpo,
                                   session(cpo.party, ("XX", "YYY"), id="THEIRS"),
                                   country_code=cpo.party[0], party_id=cpo.party[1])
        assert (await send(emsp, "GET", "S404", duration=60)).response["result"] == \
            "UNKNOWN_SESSION"
        assert (await send(emsp, "SET", "THEIRS", profile=PROFILE)).response["result"] == \
            "REJECTED"
        assert (await send(emsp, "CLEAR", "DONE1")).response["result"] == "REJECTED"
        # no handler: nothing reaches a charger
        assert (await send(emsp, "SET", profile=PROFILE)).response["result"] == "NOT_SUPPORTED"
        hook = cpo.node.charging_profile_handler = ProfileHook({"result": "REJECTED"})
        await send(emsp, "GET", duration=100_000)  # more than a day: asked for a day
        assert hook.seen[-1]["duration"] == 86_400
        for _ in range(8):
            assert (await send(emsp, "CLEAR")).response["result"] == "REJECTED"
        # ten requests a minute on one session: the next is TOO_OFTEN, unasked, and
        # kept nowhere (it would count against the next)
        before = len(await cp.listing(cpo.db))
        assert (await send(emsp, "CLEAR")).response["result"] == "TOO_OFTEN"
        assert len(hook.seen) == 9 and len(await cp.listing(cpo.db)) == before
        # another partner's requests on a session never count against its owner
        await with_session(cpo, emsp, id="S2")
        _, stranger = await cpo.registry.add_peer("FR", "XXX", "EMSP", name="stranger")
        async with httpx.AsyncClient() as client:
            for _ in range(12):
                r = await client.delete(f"{cpo.url}/ocpi/cpo/2.2.1/chargingprofiles/S2",
                                        params={"response_url": "https://x.example/r"},
                                        headers=auth(stranger, "2.2.1"))
                assert r.json()["data"]["result"] == "REJECTED", r.text
        assert (await send(emsp, "CLEAR", "S2")).response["result"] == "REJECTED"
        assert len(hook.seen) == 10  # asked: the owner was not TOO_OFTEN
        h = {**auth(emsp.token, "2.2.1"), "Content-Type": "application/json"}
        url = f"{cpo.url}/ocpi/cpo/2.2.1/chargingprofiles/S1"
        async with httpx.AsyncClient() as client:
            r = await client.get(url, params={"response_url": "https://x.example/r"},
                                 headers=h)
            assert r.status_code == 200 and r.json()["status_code"] == 2001
            assert "duration" in r.json()["status_message"]
            r = await client.put(url, content=jsonutil.dumps(
                {"response_url": "https://x.example/r",
                 "charging_profile": {"charging_rate_unit": "kW"}}), headers=h)
            assert r.json()["status_code"] == 2001
            assert "charging_rate_unit" in r.json()["status_message"]
            r = await client.delete(url, headers=h)
            assert r.json()["status_code"] == 2001 and "response_url" in r.text
            r = await client.put(url, content=jsonutil.dumps(
                {"response_url": "https://x.example/r", "charging_profile": {
                    "charging_rate_unit": "W", "charging_profile_period": [
                        {"start_period": 600, "limit": 1}, {"start_period": 0, "limit": 2}]}}),
                headers=h)
            assert r.json()["status_code"] == 2001 and "start_period" in r.text
        assert await callbacks(cpo) == []


async def test_results_and_updates_only_from_the_partner_asked(node, tmp_path):
    async with pair(node, tmp_path, "2.2.1", fixture_is_cpo=False) as (cpo, emsp, _):
        cpo.node.charging_profile_handler = ProfileHook()
        await with_session(cpo, emsp)
        _, stranger = await emsp.registry.add_peer("FR", "XXX", "CPO", name="stranger")
        update = jsonutil.dumps({"start_date_time": "2026-01-01T10:00:00Z",
                                 "charging_profile": PROFILE})
        typed = {"Content-Type": "application/json"}
        put_url = f"{emsp.url}/ocpi/emsp/2.2.1/chargingprofiles/S1"
        async with httpx.AsyncClient() as client:
            # an update for a session we set nothing on is refused, stored nowhere
            r = await client.put(put_url, content=update,
                                 headers={**auth(cpo.token, "2.2.1"), **typed})
            assert r.json()["status_code"] == 2000, r.text
            assert "we set no charging profile" in r.json()["status_message"]
            sent = await send(emsp, "SET", profile=PROFILE)
            result = b'{"result": "ACCEPTED"}'
            r = await client.post(sent.response_url, content=result,
                                  headers={**auth(stranger, "2.2.1"), **typed})
            assert r.status_code == 404
            r = await client.put(put_url, content=update,
                                 headers={**auth(stranger, "2.2.1"), **typed})
            assert r.json()["status_code"] == 2000
            wrong_kind = sent.response_url.replace("/chargingprofile/", "/clearprofile/")
            r = await client.post(wrong_kind, content=result,
                                  headers={**auth(cpo.token, "2.2.1"), **typed})
            assert r.status_code == 404
            r = await client.post(sent.response_url, content=result,
                                  headers={**auth(cpo.token, "2.2.1"), **typed})
            assert r.json()["status_code"] == 1000, r.text
            r = await client.post(sent.response_url, content=b'{"result": "REJECTED"}',
                                  headers={**auth(cpo.token, "2.2.1"), **typed})
            assert r.json()["status_code"] == 2001
            r = await client.put(put_url, content=update,
                                 headers={**auth(cpo.token, "2.2.1"), **typed})
            assert r.json()["status_code"] == 1000, r.text
        assert (await cp.get(emsp.db, sent.id)).result == "ACCEPTED"
        assert (await cp.latest(emsp.db, "S1"))["profile"]["charging_profile"] == PROFILE
        async with emsp.db.begin() as tx:
            assert (await tx.execute(select(func.count()).select_from(records))).scalar() == 2


async def test_an_expired_request_is_closed_without_a_result(node, tmp_path):
    async with pair(node, tmp_path, "2.2.1") as (cpo, emsp, _):
        hook = cpo.node.charging_profile_handler = ProfileHook()
        await with_session(cpo, emsp)
        await send(emsp, "SET", profile=PROFILE)
        assert await commands.sweep(cpo.db, at=now() + timedelta(seconds=21)) == []
        [row] = await cp.listing(cpo.db)
        assert (row["state"], row["result"]) == ("done", "TIMEOUT")
        with pytest.raises(commands.Refused, match="result already"):
            await cp.report_result(cpo.db, hook.seen[0]["id"], "ACCEPTED")
        assert await callbacks(cpo) == []  # the SCSP expects nothing after the timeout
        with pytest.raises(ValueError, match="ChargingProfileResultType"):
            await cp.report_result(cpo.db, hook.seen[0]["id"], "MAYBE")


async def test_the_cli_sets_reports_and_shows(node, tmp_path, database_url):
    async with pair(node, tmp_path, "2.2.1") as (cpo, emsp, _):
        hook = cpo.node.charging_profile_handler = ProfileHook()
        await with_session(cpo, emsp)
        other = f"sqlite:///{tmp_path / 'other.db'}"
        env = {"OCPI_COUNTRY_CODE": emsp.party[0], "OCPI_PARTY_ID": emsp.party[1],
               "OCPI_ALLOW_INSECURE_PARTNERS": "1"}
        out = await asyncio.to_thread(run, "chargingprofiles", "set", "cpo", "S1", "--limit",
                                      "16", "--unit", "A", "--public-url", emsp.url, "--json",
                                      db=other, env=env)
        assert out.returncode == 0, out.stderr
        assert jsonutil.loads(out.stdout)["response"]["result"] == "ACCEPTED"
        out = await asyncio.to_thread(run, "chargingprofiles", "result",
                                      str(hook.seen[0]["id"]), "accepted", db=database_url)
        assert out.returncode == 0, out.stderr
        out = await asyncio.to_thread(run, "chargingprofiles", "active", "S1", "--json",
                                      db=database_url)
        assert out.returncode == 0, out.stderr
        shown = jsonutil.loads(out.stdout)
        assert shown["profile"]["charging_profile"]["charging_profile_period"] == [
            {"start_period": 0, "limit": 16.0}]
        await drain(cpo)
        out = await asyncio.to_thread(run, "chargingprofiles", "list", db=other)
        assert "SET" in out.stdout and "result: ACCEPTED" in out.stdout, out.stdout


async def test_what_we_sent_is_no_longer_awaited_after_its_timeout_and_grace(node, tmp_path):
    """The sender's side: a request the CPO accepted waits for its result until the
    timeout it gave plus ``SENDER_GRACE`` (its own TIMEOUT may be on the way), then
    is closed; a command too, through the same sweeper."""
    async with pair(node, tmp_path, "2.2.1", fixture_is_cpo=False) as (cpo, emsp, _):
        cpo.node.charging_profile_handler = ProfileHook()
        await with_session(cpo, emsp)
        sent = await send(emsp, "SET", profile=PROFILE)
        command = await commands.send(emsp.db, await emsp.registry.get("cpo"), "START_SESSION",
                                      {"token_uid": "TOK1", "location_id": "LOC1"},
                                      base_url=emsp.url, from_party=emsp.party)
        assert command.state == sent.state == "pending"
        await commands.sweep(emsp.db, at=now() + timedelta(seconds=20) + commands.SENDER_GRACE
                             - timedelta(seconds=5))
        assert (await cp.get(emsp.db, sent.id)).state == "pending"  # its 20 s + grace
        assert (await commands.get(emsp.db, command.id)).state == "pending"
        await commands.sweep(emsp.db, at=now() + timedelta(seconds=31) + commands.SENDER_GRACE)
        for done in (await cp.get(emsp.db, sent.id), await commands.get(emsp.db, command.id)):
            assert (done.state, done.result) == ("done", "TIMEOUT")
        # one whose request never came back (we died while it was in flight) too
        async with emsp.db.begin() as tx:
            stuck = await rec.insert_one(
                tx, module="commands", role="EMSP", peer_id=None, command="STOP_SESSION",
                version="2.2.1", uid="stuck", response_url="", request={}, state="asking",
                created_at=now(), timeout_at=now() + commands.SENDER_WAIT)
        await commands.sweep(emsp.db, at=now() + commands.SENDER_WAIT + commands.SENDER_GRACE
                             + timedelta(seconds=1))
        assert (await commands.get(emsp.db, stuck)).result == "TIMEOUT"
        assert await callbacks(emsp) == []  # nothing is told to the CPO


async def test_a_result_through_a_hub_is_routed_to_the_party_behind_it(node, tmp_path):
    from ocpi.peers.credentials import Party

    async with pair(node, tmp_path, "2.2.1") as (cpo, _emsp, _):
        hook = cpo.node.charging_profile_handler = ProfileHook()
        await cpo.node.crud.create(ModuleID.sessions, RoleEnum.cpo,
                                   session(cpo.party, ("XX", "EMP"), id="VIAHUB"),
                                   country_code=cpo.party[0], party_id=cpo.party[1])
        hub_peer, hub_token = await cpo.registry.add_peer("NL", "HUB", "HUB", name="hub")
        await cpo.registry.update_peer(hub_peer.id, version="2.2.1", token_out="x",
                                       parties=[Party("HUB", "NL", "HUB", {})])
        await cpo.registry.set_profile("hub", any_party=True)
        h = {**auth(hub_token, "2.2.1"), "Content-Type": "application/json",
             "OCPI-from-country-code": "XX", "OCPI-from-party-id": "EMP",
             "OCPI-to-country-code": cpo.party[0], "OCPI-to-party-id": cpo.party[1]}
        body = {"response_url": "https://hub.example/cp/1", "charging_profile": PROFILE}
        async with httpx.AsyncClient() as client:
            r = await client.put(f"{cpo.url}/ocpi/cpo/2.2.1/chargingprofiles/VIAHUB",
                                 content=jsonutil.dumps(body), headers=h)
        assert r.json()["data"]["result"] == "ACCEPTED", r.text
        await cp.report_result(cpo.db, hook.seen[0]["id"], "ACCEPTED")
        [queued] = await callbacks(cpo)
        assert (queued.to_country_code, queued.to_party_id, queued.url) == (
            "XX", "EMP", "https://hub.example/cp/1")

"""CDRs: every specification example accepted by the eMSP receiver and read back at
the Location it answered; a CDR never changes; our completed sessions become one
priced CDR each, POSTed after the session's final update to the eMSP owning the
token (a second node of this package, over real HTTP), retried through a 500,
held when they cannot be priced, reconciled when the eMSP loses one; the eMSP
checks each against the tariff it holds."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from ocpi import get_application
from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.peers.registry import Registry
from ocpi.services import cdr_builder, cdrs
from ocpi.store.schema import outbox

from .conftest import OPERATOR, auth, body, dumps, example, op
from .outbox_helpers import receiving_partner, worker
from .servers import ServerThread
from .test_cli import run

pytestmark = pytest.mark.usefixtures("local_partners")

VERSIONS = ("2.1.1", "2.2.1", "2.3.0")
CDR_EXAMPLES = {"2.1.1": "mod_cdrs_L250_example_of_a_cdr.json", "2.2.1": "cdr_example.json",
                "2.3.0": "cdr_example.json"}
EMSP = ("DE", "MSP")


def _owner(version: str, cdr: dict) -> tuple[str, str]:
    return (cdr["country_code"], cdr["party_id"]) if version != "2.1.1" else ("NL", "TNM")


@pytest.mark.parametrize("version", VERSIONS)
async def test_every_cdr_example_is_accepted_and_read_back_at_its_location(node, version):
    cdr = example(version, CDR_EXAMPLES[version])
    token = await node.partner(*_owner(version, cdr), role="CPO")
    h = auth(token, version)
    r = await node.client.post(f"/ocpi/emsp/{version}/cdrs", content=dumps(cdr), headers=h)
    assert r.status_code in (200, 201) and body(r)["status_code"] == 1000, r.text
    where = r.headers["Location"]
    cc, pid = _owner(version, cdr)
    assert where.endswith(f"/ocpi/emsp/{version}/cdrs/{cc}/{pid}/{cdr['id']}")
    got = body(await node.client.get(where.removeprefix("http://testserver"), headers=h))
    assert got["status_code"] == 1000 and got["data"] == cdr


async def test_a_cdr_posted_again_is_answered_alike_and_a_changed_one_is_refused(node):
    cdr = example("2.2.1", "cdr_example.json")
    h = auth(await node.partner(cdr["country_code"], cdr["party_id"], role="CPO"))
    first = await node.client.post("/ocpi/emsp/2.2.1/cdrs", content=dumps(cdr), headers=h)
    again = await node.client.post("/ocpi/emsp/2.2.1/cdrs", content=dumps(cdr), headers=h)
    assert body(again)["status_code"] == 1000
    assert again.headers["Location"] == first.headers["Location"]
    changed = {**cdr, "total_energy": 99, "last_updated": "2025-01-01T00:00:00Z"}
    r = await node.client.post("/ocpi/emsp/2.2.1/cdrs", content=dumps(changed), headers=h)
    assert r.status_code == 200 and body(r)["status_code"] == 2001
    assert "credit" in body(r)["status_message"]
    got = body(await node.client.get(first.headers["Location"].removeprefix(
        "http://testserver"), headers=h))["data"]
    assert got["total_energy"] == cdr["total_energy"]
    # another party's CDR is not this partner's to post
    other = {**cdr, "party_id": "XXX"}
    r = await node.client.post("/ocpi/emsp/2.2.1/cdrs", content=dumps(other), headers=h)
    assert r.status_code == 403


# --- two nodes: our CPO (the ``node`` fixture) and an eMSP of this package ----------

TARIFF = {"country_code": "NL", "party_id": "OCP", "id": "T-ENERGY", "currency": "EUR",
          "elements": [{"price_components": [
              {"type": "ENERGY", "price": Decimal("0.25"), "vat": Decimal("10.0"),
               "step_size": 1}]}],
          "last_updated": "2026-01-01T00:00:00Z"}


def location(tariff_ids: list[str]) -> dict[str, Any]:
    return {"country_code": "NL", "party_id": "OCP", "id": "LOC1", "publish": True,
            "address": "Street 1", "city": "Town", "postal_code": "1234AB", "country": "NLD",
            "coordinates": {"latitude": "52.370216", "longitude": "4.895168"},
            "time_zone": "Europe/Amsterdam", "last_updated": "2026-01-01T00:00:00Z",
            "evses": [{"uid": "EVSE1", "evse_id": "NL*OCP*E1", "status": "AVAILABLE",
                       "last_updated": "2026-01-01T00:00:00Z",
                       "connectors": [{"id": "1", "standard": "IEC_62196_T2",
                                       "format": "SOCKET", "power_type": "AC_3_PHASE",
                                       "max_voltage": 230, "max_amperage": 32,
                                       "tariff_ids": tariff_ids,
                                       "last_updated": "2026-01-01T00:00:00Z"}]}]}


def session(sid: str, status: str, kwh: str, updated: str, **extra: Any) -> dict[str, Any]:
    return {"country_code": "NL", "party_id": "OCP", "id": sid,
            "start_date_time": "2026-03-02T10:00:00Z", "kwh": Decimal(kwh),
            "cdr_token": {"country_code": EMSP[0], "party_id": EMSP[1], "uid": "TOK1",
                          "type": "RFID", "contract_id": "DE-MSP-C00001-X"},
            "auth_method": "WHITELIST", "location_id": "LOC1", "evse_uid": "EVSE1",
            "connector_id": "1", "currency": "EUR", "status": status,
            "last_updated": updated, **extra}


class Emsp:
    def __init__(self, app: Any, url: str) -> None:
        self.app, self.url = app, url
        self.node = app.state.node

    async def cdr(self, cdr_id: str) -> dict[str, Any] | None:
        return await self.node.crud.get(ModuleID.cdrs, RoleEnum.emsp, cdr_id,
                                        country_code="NL", party_id="OCP")


class FailingPosts:
    """The eMSP node behind a front that answers its first ``n`` CDR POSTs with a 500
    (an outage of its CDR service), then passes everything through."""

    def __init__(self, app: Any, n: int) -> None:
        self.app, self.left = app, n

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (scope["type"] == "http" and self.left and scope["method"] == "POST"
                and scope["path"].endswith("/cdrs")):
            self.left -= 1
            payload = b'{"status_code": 3000, "timestamp": "2026-01-01T00:00:00Z"}'
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": payload})
            return
        await self.app(scope, receive, send)


@asynccontextmanager
async def emsp_node(tmp_path: Any, fail_posts: int = 0) -> AsyncIterator[Emsp]:
    app = get_application(database_url=f"sqlite:///{tmp_path / 'emsp.db'}",
                          operator_token=OPERATOR, country_code=EMSP[0], party_id=EMSP[1],
                          roles=[RoleEnum.emsp], deliver=False)
    front = FailingPosts(app, fail_posts)
    with ServerThread(front) as url:
        emsp = Emsp(app, url)
        emsp.front = front
        yield emsp
    await app.state.node.db.dispose()


async def connect(cpo: Any, emsp: Emsp, version: str) -> int:
    """The two registered with each other as a handshake leaves them."""
    _, token = await emsp.node.registry.add_peer("NL", "OCP", "CPO")
    peer_id = await receiving_partner(cpo.node.db, emsp.url, *EMSP, version=version)
    side = f"{emsp.url}/ocpi/emsp/{version}"
    await Registry(cpo.node.db).update_peer(peer_id, token_out=token, endpoints=[
        {"identifier": m, "role": "RECEIVER", "url": f"{side}/{m}"}
        for m in ("locations", "sessions", "tariffs", "cdrs")])
    return peer_id


async def drain(cpo: Any, rounds: int = 40) -> None:
    w = worker(cpo.node.db)
    for _ in range(rounds):
        await w.drain_once()
        async with cpo.node.db.begin() as tx:
            left = (await tx.execute(select(outbox.c.seq).where(
                outbox.c.state == "pending"))).all()
        if not left:
            return
        await asyncio.sleep(0.05)


async def put(cpo: Any, module: str, obj: dict[str, Any], version: str = "2.2.1") -> dict:
    r = await cpo.client.put(f"/ocpi/cpo/{version}/{module}/NL/OCP/{obj['id']}",
                             content=dumps(obj), headers=op(version))
    assert body(r)["status_code"] == 1000, r.text
    return body(r)


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_completed_session_becomes_one_priced_cdr_after_its_final_update(
        node, tmp_path, version):
    async with emsp_node(tmp_path) as emsp:
        await connect(node, emsp, version)
        await put(node, "tariffs", TARIFF)
        await put(node, "locations", location(["T-ENERGY"]))
        await put(node, "sessions", session("S1", "ACTIVE", "3", "2026-03-02T10:10:00Z"))
        await put(node, "sessions", session("S1", "COMPLETED", "20", "2026-03-02T11:00:00Z",
                                            end_date_time="2026-03-02T11:00:00Z"))
        # written again COMPLETED: still one CDR
        await put(node, "sessions", session("S1", "COMPLETED", "20", "2026-03-02T11:00:05Z",
                                            end_date_time="2026-03-02T11:00:00Z"))
        ours = body(await node.client.get("/ocpi/cpo/2.3.0/cdrs/NL/OCP/S1",
                                          headers=op("2.3.0")))["data"]
        # 20 kWh at 0.25 EUR (step 1 Wh) = 5.00 before taxes; VAT 10 % = 0.50
        assert Decimal(str(ours["total_cost"]["before_taxes"])) == Decimal("5.00")
        assert sum(Decimal(str(t["amount"])) for t in ours["total_cost"]["taxes"]) == \
            Decimal("0.50")
        assert Decimal(str(ours["total_energy"])) == 20
        assert ours["cdr_location"]["evse_id"] == "NL*OCP*E1"
        assert ours["tariffs"][0]["id"] == "T-ENERGY"
        async with node.node.db.begin() as tx:
            queued = (await tx.execute(select(outbox.c.module, outbox.c.kind)
                                       .order_by(outbox.c.seq))).all()
        kinds = [(m, k) for m, k in queued if m in ("sessions", "cdrs")]
        # one CDR, a call queued right behind the update that completed its session
        assert kinds == [("sessions", "state"), ("sessions", "state"), ("cdrs", "call"),
                         ("sessions", "state")]
        await drain(node)
        received = await emsp.cdr("S1")
        assert received is not None, await cdrs.show(node.node.db, "S1")
        got = (received.get("total_cost") or {})
        assert Decimal(str(got["before_taxes"])) == Decimal("5.00")
        # the eMSP priced it again against the tariff it received from us: agreed
        assert received["_check"]["state"] == "agreed", received["_check"]
        their_session = await emsp.node.crud.get(ModuleID.sessions, RoleEnum.emsp, "S1",
                                                 country_code="NL", party_id="OCP")
        assert their_session["status"] == "COMPLETED"
        shown = await cdrs.show(node.node.db, "S1")
        delivery = shown[0]["deliveries"][0]
        assert delivery["state"] == "answered"
        assert delivery["location"].endswith(f"/ocpi/emsp/{version}/cdrs/NL/OCP/S1")
        # only the token's eMSP sees it in our list
        other = await node.partner("FR", "OTH", role="EMSP")
        listed = body(await node.client.get("/ocpi/cpo/2.2.1/cdrs", headers=auth(other)))
        assert listed["data"] == []


async def test_a_session_without_a_tariff_is_held_until_retried(node, tmp_path):
    await put(node, "locations", location([]))
    await put(node, "sessions", session("S2", "COMPLETED", "10", "2026-03-02T11:00:00Z",
                                        end_date_time="2026-03-02T11:00:00Z"))
    assert body(await node.client.get("/ocpi/cpo/2.2.1/cdrs/NL/OCP/S2",
                                      headers=op()))["status_code"] != 1000
    held = await cdrs.held(node.node.db)
    assert [h["session_id"] for h in held] == ["s2"] and "no tariff" in held[0]["reason"]
    # the operator fixes the data: the tariff, then the connector naming it
    await put(node, "tariffs", TARIFF)
    await put(node, "locations", {**location(["T-ENERGY"]),
                                  "last_updated": "2026-01-02T00:00:00Z"})
    results = await cdr_builder.retry(node.node.db, "S2")
    assert results == [{"session_id": "S2", "result": "built"}]
    assert await cdrs.held(node.node.db) == []
    got = body(await node.client.get("/ocpi/cpo/2.2.1/cdrs/NL/OCP/S2", headers=op()))
    assert got["status_code"] == 1000
    assert Decimal(str(got["data"]["total_cost"]["excl_vat"])) == Decimal("2.50")
    # the operator reads our list too, by date like a partner
    listed = body(await node.client.get("/ocpi/cpo/2.2.1/cdrs", headers=op()))["data"]
    assert [c["id"] for c in listed] == ["S2"]
    later = body(await node.client.get("/ocpi/cpo/2.2.1/cdrs?date_from=2099-01-01T00:00:00Z",
                                       headers=op()))["data"]
    assert later == []
    # the operator cannot write one: CDRs are built, never hand-made
    r = await node.client.put("/ocpi/cpo/2.2.1/cdrs/NL/OCP/S2", content=dumps(got["data"]),
                              headers=op())
    assert r.status_code in (404, 405) and body(r)["status_code"] >= 2000


async def test_a_currency_mismatch_is_held_with_the_reason(node):
    await put(node, "tariffs", TARIFF)
    await put(node, "locations", location(["T-ENERGY"]))
    await put(node, "sessions", {**session("S3", "COMPLETED", "10", "2026-03-02T11:00:00Z",
                                           end_date_time="2026-03-02T11:00:00Z"),
                                 "currency": "USD"})
    held = await cdrs.held(node.node.db)
    assert len(held) == 1 and "currency" in held[0]["reason"]


async def test_a_cdr_first_answered_500_is_delivered_later(node, tmp_path):
    async with emsp_node(tmp_path, fail_posts=1) as emsp:
        await connect(node, emsp, "2.2.1")
        await put(node, "tariffs", TARIFF)
        await put(node, "locations", location(["T-ENERGY"]))
        await put(node, "sessions", session("S4", "COMPLETED", "4", "2026-03-02T11:00:00Z",
                                            end_date_time="2026-03-02T11:00:00Z"))
        await drain(node)
        assert emsp.front.left == 0  # the 500 was met, and the CDR went again
        assert (await emsp.cdr("S4")) is not None


async def test_reconcile_finds_a_lost_cdr_and_sends_it_again(node, tmp_path):
    async with emsp_node(tmp_path) as emsp:
        peer_id = await connect(node, emsp, "2.2.1")
        await put(node, "tariffs", TARIFF)
        await put(node, "locations", location(["T-ENERGY"]))
        for sid in ("S5", "S6"):
            await put(node, "sessions", session(sid, "COMPLETED", "8", "2026-03-02T11:00:00Z",
                                                end_date_time="2026-03-02T11:00:00Z"))
        await drain(node)
        await emsp.node.crud.delete(ModuleID.cdrs, RoleEnum.emsp, "S5", country_code="NL",
                                    party_id="OCP")
        peer = await Registry(node.node.db).get_by_id(peer_id)
        report = await cdrs.reconcile(node.node.db, peer, from_party=("NL", "OCP"))
        assert report["agreed"] == ["s6"] and [m["id"] for m in report["missing"]] == ["s5"]
        await drain(node)
        assert (await emsp.cdr("S5")) is not None
        again = await cdrs.reconcile(node.node.db, peer, from_party=("NL", "OCP"))
        assert sorted(again["agreed"]) == ["s5", "s6"] and not again["missing"]
        # a POST held for a party a hub reports OFFLINE is not delivered yet: pending
        async with node.node.db.begin() as tx:
            await tx.execute(update(outbox).where(outbox.c.module == "cdrs",
                                                  outbox.c.object_key.endswith("/s6"))
                             .values(state="held", answer_location=None))
        held = await cdrs.reconcile(node.node.db, peer, from_party=("NL", "OCP"))
        assert held["pending"] == ["s6"] and not held["unreadable"]


async def test_a_received_cdr_costing_more_than_our_tariff_says_is_disputed(node, tmp_path):
    cpo_token = await node.partner("NL", "CPX", role="CPO")
    h = auth(cpo_token)
    tariff = {**TARIFF, "party_id": "CPX"}
    r = await node.client.put("/ocpi/emsp/2.2.1/tariffs/NL/CPX/T-ENERGY", content=dumps(tariff),
                              headers=h)
    assert body(r)["status_code"] == 1000
    cdr = example("2.2.1", "cdr_example.json")
    cdr = {**cdr, "country_code": "NL", "party_id": "CPX", "id": "C1",
           "tariffs": [tariff], "currency": "EUR",
           "start_date_time": "2026-03-02T10:00:00Z", "end_date_time": "2026-03-02T11:00:00Z",
           "charging_periods": [{"start_date_time": "2026-03-02T10:00:00Z", "dimensions": [
               {"type": "ENERGY", "volume": 20}], "tariff_id": "T-ENERGY"}],
           "total_energy": 20, "total_time": 1,
           "total_cost": {"excl_vat": Decimal("5.00"), "incl_vat": Decimal("5.50")}}
    r = await node.client.post("/ocpi/emsp/2.2.1/cdrs", content=dumps(cdr), headers=h)
    assert body(r)["status_code"] == 1000 and body(r)["status_message"] == "Success"
    wrong = {**cdr, "id": "C2", "total_cost": {"excl_vat": Decimal("6.00"),
                                               "incl_vat": Decimal("6.60")}}
    r = await node.client.post("/ocpi/emsp/2.2.1/cdrs", content=dumps(wrong), headers=h)
    assert body(r)["status_code"] == 1000 and "disputed" in body(r)["status_message"]
    disputed = await cdrs.listing(node.node.db, disputed=True)
    assert [d["id"] for d in disputed] == ["C2"]
    assert "our pricing 5.00" in disputed[0]["reason"].replace("5.0000", "5.00")


def test_cdrs_cli_lists_held_and_disputed(tmp_path):
    db = f"sqlite:///{tmp_path / 'n.db'}"
    r = run("cdrs", "list", "--held", "--json", db=db)
    assert r.returncode == 0 and json.loads(r.stdout) == []
    r = run("cdrs", "list", "--disputed", db=db)
    assert r.returncode == 0 and "no CDRs" in r.stdout
    r = run("cdrs", "retry", db=db)
    assert r.returncode == 1 and "--all" in r.stderr


async def test_a_correction_is_a_credit_cdr_then_a_new_one(node, tmp_path):
    async with emsp_node(tmp_path) as emsp:
        await connect(node, emsp, "2.2.1")
        await put(node, "tariffs", TARIFF)
        await put(node, "locations", location(["T-ENERGY"]))
        await put(node, "sessions", session("S7", "COMPLETED", "10", "2026-03-02T11:00:00Z",
                                            end_date_time="2026-03-02T11:00:00Z"))
        # the operator finds the price was wrong: 0.20, not 0.25, and corrects the CDR
        await put(node, "tariffs", {**TARIFF, "elements": [{"price_components": [
            {"type": "ENERGY", "price": Decimal("0.20"), "vat": Decimal("10.0"),
             "step_size": 1}]}], "last_updated": "2026-03-03T00:00:00Z"})
        done = await cdr_builder.correct(node.node.db, "S7")
        assert (done["credit"]["id"], done["new"]["id"]) == ("S7-C", "S7-R1")
        assert done["credit"]["credit"] is True
        assert done["credit"]["credit_reference_id"] == "S7"
        assert Decimal(str(done["credit"]["total_cost"]["before_taxes"])) == Decimal("-2.50")
        assert Decimal(str(done["new"]["total_cost"]["before_taxes"])) == Decimal("2.00")
        with pytest.raises(ValueError, match="credited already"):
            await cdr_builder.correct(node.node.db, "S7")
        await drain(node)
        got = {cid: await emsp.cdr(cid) for cid in ("S7", "S7-C", "S7-R1")}
        assert all(got.values()), got
        # the eMSP checks the credit against the CDR it credits, the new one against
        # the corrected tariff it was sent: both agree
        assert got["S7-C"]["_check"]["state"] == "agreed", got["S7-C"]["_check"]
        assert got["S7-R1"]["_check"]["state"] == "agreed", got["S7-R1"]["_check"]
        # and the credit reached it before the new CDR
        async with node.node.db.begin() as tx:
            keys = [r[0] for r in (await tx.execute(
                select(outbox.c.object_key).where(outbox.c.module == "cdrs")
                .order_by(outbox.c.seq))).all()]
        assert keys == ["NL/OCP/s7", "NL/OCP/s7-c", "NL/OCP/s7-r1"]


def test_the_price_of_a_planned_session_from_the_cli(tmp_path):
    db = f"sqlite:///{tmp_path / 'n.db'}"
    items = [{**TARIFF, "elements": [
        {"price_components": [{"type": "ENERGY", "price": "0.30", "vat": "21",
                               "step_size": 1}],
         "restrictions": {"start_time": "07:00", "end_time": "22:00"}},
        {"price_components": [{"type": "ENERGY", "price": "0.15", "vat": "21",
                               "step_size": 1}]}]}]
    (tmp_path / "t.json").write_text(json.dumps(items, default=str))
    loc = location(["T-ENERGY"])
    (tmp_path / "l.json").write_text(json.dumps([loc], default=str))
    for module, name in (("tariffs", "t.json"), ("locations", "l.json")):
        r = run("import", module, str(tmp_path / name), db=db)
        assert r.returncode == 0, r.stderr
    # 21:00-23:00 in Amsterdam (UTC+1 in March), 20 kWh: 10 at 0.30 and 10 at 0.15
    r = run("tariffs", "price", "T-ENERGY", "--start", "2026-03-02T20:00:00Z", "--kwh", "20",
            "--minutes", "120", "--json", db=db)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["time_zone"] == "Europe/Amsterdam"
    assert Decimal(got["total"]["before_taxes"]) == Decimal("4.50")
    r = run("tariffs", "price", "T-ENERGY", "--start", "2026-03-02T20:00:00Z", "--kwh", "20",
            "--minutes", "120", db=db)
    assert r.returncode == 0 and r.stdout.startswith("4.5"), r.stdout
    r = run("tariffs", "price", "NOPE", "--start", "2026-03-02T20:00:00Z", "--kwh", "1",
            "--minutes", "1", db=db)
    assert r.returncode == 1 and "no tariff 'NOPE'" in r.stderr
    r = run("tariffs", "price", "T-ENERGY", "--start", "2026-03-02T20:00:00Z", "--kwh", "-1",
            "--minutes", "1", db=db)
    assert r.returncode == 1 and "--kwh" in r.stderr


def test_cdrs_correct_from_the_cli_says_what_is_missing(tmp_path):
    db = f"sqlite:///{tmp_path / 'n.db'}"
    r = run("cdrs", "correct", "NOPE", db=db)
    assert r.returncode == 1 and "no CDR 'NOPE'" in r.stderr


async def _post(node: Any, cdr: dict, version: str = "2.2.1", token: str | None = None
                ) -> Any:
    token = token or await node.partner(cdr.get("country_code", "NL"),
                                        cdr.get("party_id", "TNM"), role="CPO")
    return await node.client.post(f"/ocpi/emsp/{version}/cdrs", content=dumps(cdr),
                                  headers=auth(token, version))


async def test_hostile_cdrs_are_stored_unchecked_never_a_500(node):
    base = example("2.2.1", "cdr_example.json")
    many = {**base["tariffs"][0], "elements": [
        {"price_components": [{"type": "TIME", "price": 1, "step_size": 1}],
         "restrictions": {"start_time": f"{h % 24:02d}:{m:02d}",
                          "end_time": f"{h % 24:02d}:{m + 1:02d}"}}
        for h in range(24) for m in range(0, 50, 8)]}
    far = {"start_date_time": "9999-12-31T20:00:00Z", "end_date_time": "9999-12-31T23:00:00Z"}
    token = await node.partner(base["country_code"], base["party_id"], role="CPO")
    evening = {**base["tariffs"][0], "elements": many["elements"][-1:]}  # one time window
    for n, cdr in enumerate(({**base, "tariffs": [many]}, {
            **base, **far, "tariffs": [evening], "charging_periods": [
                {**base["charging_periods"][0], "start_date_time": far["start_date_time"]}]})):
        r = await _post(node, {**cdr, "id": f"H{n}"}, token=token)
        assert r.status_code in (200, 201) and body(r)["status_code"] == 1000, r.text
        assert "unchecked" in body(r)["status_message"]
        stored = await node.node.crud.get(ModuleID.cdrs, RoleEnum.emsp, f"H{n}",
                                          country_code=base["country_code"],
                                          party_id=base["party_id"])
        assert stored["_check"]["state"] == "unchecked"


async def test_a_2_1_1_cdr_is_the_callers_whatever_owner_it_names(node):
    cdr = {**example("2.1.1", CDR_EXAMPLES["2.1.1"]), "country_code": "XX", "party_id": "YYY"}
    r = await _post(node, cdr, "2.1.1", await node.partner("NL", "TNM", role="CPO"))
    assert body(r)["status_code"] == 1000
    assert r.headers["Location"].endswith(f"/cdrs/NL/TNM/{cdr['id']}")
    stored = await node.node.crud.get(ModuleID.cdrs, RoleEnum.emsp, cdr["id"],
                                      country_code="NL", party_id="TNM")
    assert (stored["country_code"], stored["party_id"]) == ("NL", "TNM")


async def test_reconcile_never_resends_on_a_refusal_that_is_not_unknown(node, tmp_path):
    async with emsp_node(tmp_path) as emsp:
        peer_id = await connect(node, emsp, "2.2.1")
        await put(node, "tariffs", TARIFF)
        await put(node, "locations", location(["T-ENERGY"]))
        await put(node, "sessions", session("S8", "COMPLETED", "8", "2026-03-02T11:00:00Z",
                                            end_date_time="2026-03-02T11:00:00Z"))
        await drain(node)
        # the eMSP no longer knows our token: 401, which is no "CDR missing"
        await Registry(node.node.db).update_peer(peer_id, token_out="a-token-it-forgot")
        peer = await Registry(node.node.db).get_by_id(peer_id)
        report = await cdrs.reconcile(node.node.db, peer, from_party=("NL", "OCP"))
        assert report["missing"] == [] and [u["id"] for u in report["unreadable"]] == ["s8"]


async def test_a_session_parked_before_its_first_period_is_billed_for_all_of_it(node):
    park = {**TARIFF, "id": "T-PARK", "elements": [{"price_components": [
        {"type": "PARKING_TIME", "price": Decimal("6.00"), "step_size": 60}]}]}
    await put(node, "tariffs", park)
    await put(node, "locations", location(["T-PARK"]))
    # plugged in at 10:00, charging only from 10:30 to 11:00, left at 11:00
    await put(node, "sessions", session(
        "S9", "COMPLETED", "5", "2026-03-02T11:00:00Z", end_date_time="2026-03-02T11:00:00Z",
        charging_periods=[{"start_date_time": "2026-03-02T10:30:00Z", "dimensions": [
            {"type": "ENERGY", "volume": 5}, {"type": "TIME", "volume": Decimal("0.5")}]}]))
    got = body(await node.client.get("/ocpi/cpo/2.3.0/cdrs/NL/OCP/S9", headers=op("2.3.0")))
    cdr = got["data"]
    assert Decimal(str(cdr["total_time"])) == 1  # the whole session, 10:00 to 11:00
    assert Decimal(str(cdr["total_parking_time"])) == Decimal("0.5")
    assert Decimal(str(cdr["total_cost"]["before_taxes"])) == Decimal("3.00")  # 30 min at 6/h


async def test_an_evse_without_evse_id_is_held_never_given_a_made_up_one(node):
    await put(node, "tariffs", TARIFF)
    loc = location(["T-ENERGY"])
    del loc["evses"][0]["evse_id"]
    await put(node, "locations", loc)
    await put(node, "sessions", session("S10", "COMPLETED", "10", "2026-03-02T11:00:00Z",
                                        end_date_time="2026-03-02T11:00:00Z"))
    held = await cdrs.held(node.node.db)
    assert len(held) == 1 and "evse_id" in held[0]["reason"]

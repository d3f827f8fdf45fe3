"""Tokens: every specification example accepted and read back per version, the
CPO receiver's keys (uid and type), the eMSP's own tokens and their list, and
the eMSP's real-time authorization answer."""

import pytest

from ocpi.core.enums import ModuleID, RoleEnum

from .conftest import EXAMPLES, auth, body, dumps, example, op

VERSIONS = ("2.1.1", "2.2.1", "2.3.0")
RECEIVER = "/ocpi/cpo/{v}/tokens/{cc}/{pid}/{uid}"
OWN = "/ocpi/emsp/{v}/tokens/{cc}/{pid}/{uid}"


def _token_examples(version: str) -> list[dict]:
    """Every whole Token among the version's examples (lists and envelopes opened)."""
    found: list[dict] = []
    for path in sorted((EXAMPLES / version).glob("*token*")):
        data = example(version, path.name)
        if isinstance(data, dict) and "data" in data:
            data = data["data"]
        items = data if isinstance(data, list) else [data]
        found += [t for t in items if isinstance(t, dict) and "uid" in t and "whitelist" in t]
    return found


def _url(version: str, token: dict, cc: str = "NL", pid: str = "TNM") -> str:
    url = RECEIVER.format(v=version, cc=token.get("country_code", cc),
                          pid=token.get("party_id", pid), uid=token["uid"])
    return url if version == "2.1.1" else f"{url}?type={token['type']}"


@pytest.mark.parametrize("version", VERSIONS)
async def test_every_token_example_is_accepted_and_read_back_equal(node, version):
    examples = _token_examples(version)
    assert len(examples) >= 3, [p.name for p in (EXAMPLES / version).glob("*token*")]
    owners = {(t.get("country_code", "NL"), t.get("party_id", "TNM")) for t in examples}
    tokens = {o: await node.partner(*o, role="EMSP") for o in owners}
    for token in examples:
        h = auth(tokens[(token.get("country_code", "NL"), token.get("party_id", "TNM"))],
                 version)
        r = await node.client.put(_url(version, token), content=dumps(token), headers=h)
        assert body(r)["status_code"] == 1000, (token["uid"], r.text)
        got = body(await node.client.get(_url(version, token), headers=h))
        assert got["status_code"] == 1000 and got["data"] == token


@pytest.mark.parametrize("version", VERSIONS)
def test_every_token_example_renders_valid_in_every_version(version):
    from ocpi.modules.registry import object_type

    decl = object_type("tokens")
    for token in _token_examples(version):
        canonical = decl.to_canonical(token, version, "NL", "TNM")
        for target in VERSIONS:
            wire = decl.to_wire(canonical, target)
            decl.model(target).model_validate(wire, context={"warnings": []})
            assert wire["last_updated"] == token["last_updated"]


async def test_a_management_write_says_what_older_versions_do_not_carry(node):
    token = {**_token("EM1", type_="EMAID", group_id="G1"), "country_code": "NL",
             "party_id": "OCP"}
    r = await node.client.put(OWN.format(v="2.3.0", cc="NL", pid="OCP", uid="EM1")
                              + "?type=EMAID", content=dumps(token), headers=op("2.3.0"))
    message = body(r)["status_message"]
    assert body(r)["status_code"] == 1000
    assert "not carried in 2.1.1: type, group_id" in message
    assert "not carried in 2.2.1: type" in message
    # an older write is not applied, and not examined either
    stale = {**token, "last_updated": "2000-01-01T00:00:00Z"}
    r = await node.client.put(OWN.format(v="2.3.0", cc="NL", pid="OCP", uid="EM1")
                              + "?type=EMAID", content=dumps(stale), headers=op("2.3.0"))
    assert "not applied" in body(r)["status_message"]
    assert "not carried" not in body(r)["status_message"]


@pytest.mark.parametrize("version,patch", [
    ("2.1.1", "mod_tokens_L169_example_invalidate_a_token.json"),
    ("2.2.1", "token_patch_example.json"), ("2.3.0", "token_patch_example.json")])
async def test_the_patch_examples_block_the_token(node, version, patch):
    token = _token_examples(version)[0]
    h = auth(await node.partner(token.get("country_code", "NL"),
                                token.get("party_id", "TNM"), role="EMSP"), version)
    await node.client.put(_url(version, token), content=dumps(token), headers=h)
    fragment = example(version, patch)
    r = await node.client.patch(_url(version, token), content=dumps(fragment), headers=h)
    assert body(r)["status_code"] == 1000, r.text
    got = body(await node.client.get(_url(version, token), headers=h))["data"]
    assert got["valid"] is False
    assert {k: v for k, v in got.items() if k not in ("valid", "last_updated")} == \
        {k: v for k, v in token.items() if k not in ("valid", "last_updated")}


def _token(uid: str = "AA11", type_: str = "RFID", **extra: object) -> dict:
    return {"country_code": "DE", "party_id": "MSP", "uid": uid, "type": type_,
            "contract_id": f"DE-MSP-{uid}", "issuer": "MSP", "valid": True,
            "whitelist": "ALLOWED", "last_updated": "2026-11-01T10:00:00Z", **extra}


async def test_uid_and_type_are_the_key_and_type_defaults_to_rfid(node):
    h = auth(await node.partner("DE", "MSP", role="EMSP"))
    base = RECEIVER.format(v="2.2.1", cc="DE", pid="MSP", uid="AA11")
    assert (await node.client.put(base, content=dumps(_token()), headers=h)).status_code == 201
    app = _token(type_="APP_USER", whitelist="NEVER")
    r = await node.client.put(base + "?type=APP_USER", content=dumps(app), headers=h)
    assert r.status_code == 201, r.text
    assert body(await node.client.get(base, headers=h))["data"]["type"] == "RFID"
    got = body(await node.client.get(base + "?type=APP_USER", headers=h))["data"]
    assert (got["type"], got["whitelist"]) == ("APP_USER", "NEVER")
    # a body whose type the URL does not name is refused, naming the field
    r = await node.client.put(base + "?type=OTHER", content=dumps(_token()), headers=h)
    assert r.status_code == 200 and body(r)["status_code"] == 2001
    assert "uid" in body(r)["status_message"]
    r = await node.client.get(base + "?type=OTHER", headers=h)
    assert r.status_code == 404 and body(r)["status_code"] == 2004


async def test_a_partner_writes_only_its_own_tokens(node):
    h = auth(await node.partner("DE", "XYZ", role="EMSP"))
    r = await node.client.put(RECEIVER.format(v="2.2.1", cc="DE", pid="MSP", uid="AA11"),
                              content=dumps(_token()), headers=h)
    assert body(r)["status_code"] != 1000
    assert await node.node.crud.get(ModuleID.tokens, RoleEnum.cpo, "AA11",
                                    token_type="RFID") is None


async def test_a_patch_needs_last_updated_on_2_2_and_not_on_2_1_1(node):
    token = await node.partner("DE", "MSP", role="EMSP")
    url = RECEIVER.format(v="2.2.1", cc="DE", pid="MSP", uid="AA11")
    await node.client.put(url, content=dumps(_token()), headers=auth(token))
    r = await node.client.patch(url, json={"valid": False}, headers=auth(token))
    assert body(r)["status_code"] == 2001 and "last_updated" in body(r)["status_message"]
    r = await node.client.patch(url.replace("2.2.1", "2.1.1"), json={"valid": False},
                                headers=auth(token, "2.1.1"))
    assert body(r)["status_code"] == 1000, r.text
    assert body(await node.client.get(url, headers=auth(token)))["data"]["valid"] is False


# --- the eMSP's own tokens ----------------------------------------------------------

async def _own(node, uid: str = "OWN1", **extra: object) -> dict:
    token = {**_token(uid, **extra), "country_code": "NL", "party_id": "OCP"}
    r = await node.client.put(OWN.format(v="2.2.1", cc="NL", pid="OCP", uid=uid)
                              + f"?type={token['type']}", content=dumps(token), headers=op())
    assert body(r)["status_code"] == 1000, r.text
    return token


async def test_our_own_tokens_are_listed_to_cpos_in_their_version(node):
    cpo = await node.partner("BE", "CPO", role="CPO")
    await _own(node, "OWN1")
    await _own(node, "OWN2", type_="EMAID", whitelist="NEVER")
    new = body(await node.client.get("/ocpi/emsp/2.3.0/tokens", headers=auth(cpo, "2.3.0")))
    assert [(t["uid"], t["type"]) for t in new["data"]] == [("OWN1", "RFID"), ("OWN2", "EMAID")]
    v221 = body(await node.client.get("/ocpi/emsp/2.2.1/tokens", headers=auth(cpo)))["data"]
    assert v221[1]["type"] == "OTHER"  # 2.2.1 has no EMAID
    old = body(await node.client.get("/ocpi/emsp/2.1.1/tokens",
                                     headers=auth(cpo, "2.1.1")))["data"]
    assert old[0]["auth_id"] == "DE-MSP-OWN1" and "contract_id" not in old[0]
    assert "country_code" not in old[0] and old[1]["type"] == "OTHER"
    from ocpi.modules.tokens.schemas import SCHEMAS

    for version, page in (("2.3.0", new["data"]), ("2.2.1", v221), ("2.1.1", old)):
        for t in page:
            SCHEMAS[version].model_validate(t, context={"warnings": []})


async def test_our_tokens_are_for_cpos_only(node):
    emsp = await node.partner("FR", "MSP", role="EMSP")
    await _own(node, "OWN1")
    r = await node.client.get("/ocpi/emsp/2.2.1/tokens", headers=auth(emsp))
    assert r.status_code == 403 and "OWN1" not in r.text
    r = await node.client.post("/ocpi/emsp/2.2.1/tokens/OWN1/authorize", headers=auth(emsp))
    assert r.status_code == 403 and "OWN1" not in r.text
    hub = await node.partner("FR", "HUB", role="HUB")
    got = body(await node.client.get("/ocpi/emsp/2.2.1/tokens", headers=auth(hub)))["data"]
    assert [t["uid"] for t in got] == ["OWN1"]


async def test_authorize_answers_from_the_stored_token(node):
    cpo = await node.partner("BE", "CPO", role="CPO")
    await _own(node, "GOOD")
    await _own(node, "BAD", valid=False)
    url = "/ocpi/emsp/2.2.1/tokens/{uid}/authorize"
    r = await node.client.post(url.format(uid="GOOD"), headers=auth(cpo))
    got = body(r)["data"]
    assert got["allowed"] == "ALLOWED" and got["token"]["uid"] == "GOOD"
    assert 0 < len(got["authorization_reference"]) <= 36
    refs = {"location_id": "LOC1", "evse_uids": ["E1"]}
    got = body(await node.client.post(url.format(uid="BAD"), content=dumps(refs),
                                      headers=auth(cpo)))["data"]
    assert got["allowed"] == "BLOCKED" and got["location"] == refs
    r = await node.client.post(url.format(uid="NOPE"), headers=auth(cpo))
    assert r.status_code == 404 and body(r)["status_code"] == 2004 and "data" not in body(r)
    r = await node.client.post(url.format(uid="GOOD") + "?type=APP_USER", headers=auth(cpo))
    assert r.status_code == 404 and body(r)["status_code"] == 2004
    r = await node.client.post(url.format(uid="GOOD"), json={"evse_uids": ["E1"]},
                               headers=auth(cpo))
    assert body(r)["status_code"] == 2001 and "location_id" in body(r)["status_message"]
    # 2.1.1: Gireve's authorization_id, and no token
    old = body(await node.client.post("/ocpi/emsp/2.1.1/tokens/GOOD/authorize",
                                      headers=auth(cpo, "2.1.1")))["data"]
    assert old["allowed"] == "ALLOWED" and old["authorization_id"] and "token" not in old


async def test_the_operators_rules_decide_after_the_token(database_url):
    import httpx

    from ocpi import get_application

    seen = []

    async def rules(data: dict) -> dict | None:
        seen.append(data)
        if data["location"] and data["location"]["location_id"] == "EXPENSIVE":
            return {"allowed": "NO_CREDIT", "info": {"language": "en", "text": "top up"}}
        return None

    app = get_application(database_url=database_url, operator_token="op", country_code="NL",
                          party_id="OCP", authorizer=rules, deliver=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        _, cpo = await app.state.node.registry.add_peer("BE", "CPO", "CPO")
        token = {**_token("T1"), "country_code": "NL", "party_id": "OCP"}
        await client.put("/ocpi/emsp/2.2.1/tokens/NL/OCP/T1", content=dumps(token),
                         headers=auth("op"))
        url = "/ocpi/emsp/2.2.1/tokens/T1/authorize"
        got = body(await client.post(url, json={"location_id": "EXPENSIVE"},
                                     headers=auth(cpo)))["data"]
        assert got["allowed"] == "NO_CREDIT" and got["info"]["text"] == "top up"
        got = body(await client.post(url, json={"location_id": "CHEAP"},
                                     headers=auth(cpo)))["data"]
        assert got["allowed"] == "ALLOWED"
        assert seen[0]["token"]["uid"] == "T1"
    await app.state.node.db.dispose()


async def test_old_authorization_records_are_pruned_by_the_recording_path(db, monkeypatch):
    from datetime import timedelta

    from sqlalchemy import insert, select

    from ocpi.modules.tokens import records
    from ocpi.modules.tokens.declaration import authorizations

    def row(age_days: float, uid: str) -> dict:
        return {"role": "EMSP", "uid": uid, "type": "RFID", "allowed": "ALLOWED",
                "decided_by": "emsp", "created_at": records.now() - timedelta(days=age_days)}

    async def uids() -> list[str]:
        async with db.begin() as tx:
            found = await tx.execute(select(authorizations.c.uid).order_by(authorizations.c.uid))
            return [r[0] for r in found]

    async with db.begin() as tx:
        await tx.execute(insert(authorizations), [row(100, "old"), row(89, "recent")])
    monkeypatch.setattr(records, "_next_prune", 0.0)
    monkeypatch.setattr(records, "PRUNE_BATCH", 2)  # several batches
    async with db.begin() as tx:
        await tx.execute(insert(authorizations), [row(95, f"old{n}") for n in range(4)])
    decision = records.Decision("ALLOWED", "emsp", reference=records.new_reference())
    await records.record(db, RoleEnum.emsp, decision, uid="new", token_type="RFID")
    assert await records._pruning == 5  # in the background: the answer did not wait
    assert await uids() == ["new", "recent"]
    # at most once an hour: an old record written meanwhile waits for the next prune
    async with db.begin() as tx:
        await tx.execute(insert(authorizations), [row(200, "older")])
    pruning = records._pruning
    await records.record(db, RoleEnum.emsp, decision, uid="newer", token_type="RFID")
    assert records._pruning is pruning
    assert await uids() == ["new", "newer", "older", "recent"]
    monkeypatch.setenv("OCPI_AUTHORIZATION_RETENTION_DAYS", "30")
    assert await records.prune(db, records.retention()) == 2
    assert await uids() == ["new", "newer"]
    # never under a day (a session takes its reference within 30 minutes), never broken
    monkeypatch.setenv("OCPI_AUTHORIZATION_RETENTION_DAYS", "0")
    assert records.retention() == records.MIN_RETENTION
    monkeypatch.setenv("OCPI_AUTHORIZATION_RETENTION_DAYS", "soon")
    assert records.retention() == timedelta(days=90)
    await db.dispose()  # a prune that fails is logged; the record it follows stands
    monkeypatch.setattr(records, "_next_prune", 0.0)
    monkeypatch.setattr(records, "prune", _failing)
    await records.record(db, RoleEnum.emsp, decision, uid="last", token_type="RFID")
    assert await records._pruning == 0
    assert "last" in await uids()


async def _failing(db, older_than):
    raise RuntimeError("database gone")


async def test_an_unknown_token_is_answered_in_each_versions_own_status_code(node):
    """2004 Unknown Token exists from 2.2 on; 2.1.1's authorization answers a 404 with
    its generic client error."""
    cpo = await node.partner("NL", "CPO", role="CPO")
    for version, code in (("2.1.1", 2000), ("2.2.1", 2004), ("2.3.0", 2004)):
        r = await node.client.post(f"/ocpi/emsp/{version}/tokens/NOPE/authorize",
                                   headers=auth(cpo, version))
        assert (r.status_code, body(r)["status_code"]) == (404, code), version
        assert "data" not in body(r)


async def test_a_2_1_1_token_of_a_type_2_1_1_lacks_is_refused_for_that_reason(node):
    emsp = await node.partner("NL", "TNM", role="EMSP")
    token = {**example("2.1.1", "mod_tokens_L361_example.json"), "type": "APP_USER"}
    r = await node.client.put(RECEIVER.format(v="2.1.1", cc="NL", pid="TNM", uid=token["uid"]),
                              content=dumps(token), headers=auth(emsp, "2.1.1"))
    assert r.status_code == 200 and body(r)["status_code"] == 2001
    message = body(r)["status_message"]
    assert "type" in message and "APP_USER" in message and "URL" not in message


@pytest.mark.usefixtures("local_partners")
@pytest.mark.parametrize("answer,allowed,reason", [
    # the seed tutorials' library wraps a single object in a one-element list
    ([{"allowed": "ALLOWED", "authorization_reference": "REF-1"}], "ALLOWED", None),
    ({"allowed": "BLOCKED"}, "BLOCKED", None),
    # an answer that cannot be read is the eMSP's fault, said with its words
    ([{"allowed": "ALLOWED"}, {"allowed": "BLOCKED"}], "NOT_ALLOWED", "has no Authorization"),
    ("garbage", "NOT_ALLOWED", "garbage"),
])
async def test_the_cpo_reads_an_emsps_authorization_as_it_really_comes(db, answer, allowed,
                                                                       reason):
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from ocpi.peers.registry import Registry
    from ocpi.services.authorization import authorize

    from .outbox_helpers import receiving_partner
    from .servers import ServerThread

    async def auth_endpoint(request):
        return JSONResponse({"data": answer, "status_code": 1000,
                             "timestamp": "2026-01-01T00:00:00Z"})

    app = Starlette(routes=[Route("/tokens/{uid}/authorize", auth_endpoint,
                                  methods=["POST"])])
    with ServerThread(app) as url:
        peer_id = await receiving_partner(db, url, "DE", "MSP")
        await Registry(db).update_peer(peer_id, endpoints=[
            {"identifier": "tokens", "role": "SENDER", "url": f"{url}/tokens"}])
        peer = await Registry(db).get_by_id(peer_id)
        decision = await authorize(db, peer, "T1")
    assert decision.allowed == allowed
    if reason is None:
        assert decision.decided_by == "emsp"
    else:
        assert reason in (decision.reason or "")

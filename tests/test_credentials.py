"""The credentials module: a partner registers with us (server side), on both backends.

The partner is a real HTTP server on 127.0.0.1 (``PeerMock``) that records
the calls our node makes back to it during the handshake.
"""

import base64

import pytest
from sqlalchemy import select

from ocpi.store.schema import tokens

from .conftest import auth, body, dumps, example, op
from .servers import PeerMock, served

VERSIONS = ["2.1.1", "2.2.1", "2.3.0"]
TOKEN_B = "token-B-from-the-partner"


pytestmark = pytest.mark.usefixtures("local_partners")


@pytest.fixture
def mock():
    peer = PeerMock(party=("NL", "MCK", "EMSP"))
    peer.tokens = {TOKEN_B}
    yield from served(peer)


async def invite(node, cc="NL", pid="MCK", role="EMSP", also=()):
    _, token = await node.node.registry.invite(cc, pid, role, also=list(also))
    return token


def creds_body(mock, version, token=TOKEN_B):
    data = mock.credentials(version, mock.url)
    data["token"] = token
    return data


async def post(node, version, token, data):
    return await node.client.post(f"/ocpi/{version}/credentials", content=dumps(data),
                                  headers=auth(token, version))


@pytest.mark.parametrize("version", VERSIONS)
async def test_details_list_credentials(node, version):
    token = await invite(node)
    r = await node.client.get(f"/ocpi/{version}/details", headers=auth(token, version))
    eps = [e for e in body(r)["data"]["endpoints"] if e["identifier"] == "credentials"]
    assert len(eps) == 1
    assert eps[0]["url"] == f"http://testserver/ocpi/{version}/credentials"
    if version == "2.1.1":
        assert "role" not in eps[0]
    else:
        assert eps[0]["role"] == "SENDER"


@pytest.mark.parametrize("version", VERSIONS)
async def test_post_with_token_a_registers(node, mock, version):
    token_a = await invite(node)
    # token A opens versions and credentials only
    assert (await node.client.get("/ocpi/versions", headers=auth(token_a, version))
            ).status_code == 200
    r = await node.client.get(f"/ocpi/cpo/{version}/locations", headers=auth(token_a, version))
    assert r.status_code == 401 and body(r)["status_code"] == 2000

    r = await post(node, version, token_a, creds_body(mock, version))
    data = body(r)
    assert r.status_code == 200 and data["status_code"] == 1000, data
    token_c = data["data"]["token"]
    assert token_c not in (token_a, TOKEN_B)
    assert data["data"]["url"] == "http://testserver/ocpi/versions"
    if version == "2.1.1":
        assert (data["data"]["country_code"], data["data"]["party_id"]) == ("NL", "OCP")
        assert data["data"]["business_details"]["name"]
    else:
        assert {r["role"] for r in data["data"]["roles"]} == {"CPO", "EMSP"}
        assert all(r["business_details"]["name"] for r in data["data"]["roles"])

    # we called its versions and this version's details, with token B as the version says
    gets = [(r["path"], r["headers"]["authorization"]) for r in mock.seen("GET")]
    expected = TOKEN_B if version == "2.1.1" else base64.b64encode(TOKEN_B.encode()).decode()
    assert gets == [("/versions", f"Token {expected}"),
                    (f"/{version}/details", f"Token {expected}")]

    # token A is dead, token C works, a second POST is 405
    r = await node.client.get("/ocpi/versions", headers=auth(token_a, version))
    assert r.status_code == 401
    r = await node.client.get(f"/ocpi/cpo/{version}/locations", headers=auth(token_c, version))
    assert r.status_code == 200 and body(r)["status_code"] == 1000
    r = await post(node, version, token_c, creds_body(mock, version))
    assert r.status_code == 405 and body(r)["status_code"] == 2000

    peer = (await node.node.registry.list_peers())[0]
    assert peer.state == "registered" and peer.version == version
    assert peer.token_out == TOKEN_B
    assert peer.endpoint("locations") == f"{mock.url}/{version}/locations"
    assert [(p.country_code, p.party_id, p.role) for p in peer.parties] == \
        [("NL", "MCK", "EMSP")]


async def test_get_returns_our_credentials_for_the_caller(node, mock):
    token_a = await invite(node)
    token_c = body(await post(node, "2.2.1", token_a, creds_body(mock, "2.2.1")))["data"]["token"]
    r = await node.client.get("/ocpi/2.2.1/credentials", headers=auth(token_c))
    data = body(r)["data"]
    assert data["token"] == token_c and data["url"] == "http://testserver/ocpi/versions"
    assert {(x["role"], x["country_code"], x["party_id"]) for x in data["roles"]} == \
        {("CPO", "NL", "OCP"), ("EMSP", "NL", "OCP")}
    r = await node.client.get("/ocpi/2.1.1/credentials", headers=auth(token_c, "2.1.1"))
    assert set(body(r)["data"]) >= {"token", "url", "business_details", "party_id",
                                    "country_code"}


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_put_and_delete_before_registration_are_405(node, mock, method):
    token_a = await invite(node)
    r = await node.client.request(method, "/ocpi/2.2.1/credentials", headers=auth(token_a),
                                  content=dumps(creds_body(mock, "2.2.1")))
    assert r.status_code == 405 and body(r)["status_code"] == 2000
    # still invited: token A still registers
    r = await post(node, "2.2.1", token_a, creds_body(mock, "2.2.1"))
    assert body(r)["status_code"] == 1000


async def test_put_rotates_with_a_grace_period_and_switches_version(node, mock):
    token_a = await invite(node)
    token_c = body(await post(node, "2.1.1", token_a, creds_body(mock, "2.1.1")))["data"]["token"]
    mock.requests.clear()
    r = await node.client.put("/ocpi/2.2.1/credentials", content=dumps(creds_body(mock, "2.2.1")),
                              headers=auth(token_c))
    data = body(r)
    assert data["status_code"] == 1000, data
    new_c = data["data"]["token"]
    assert new_c != token_c
    assert [r["path"] for r in mock.seen("GET")] == ["/versions", "/2.2.1/details"]
    peer = (await node.node.registry.list_peers())[0]
    assert peer.version == "2.2.1"
    assert peer.endpoint("locations", "SENDER") == f"{mock.url}/2.2.1/locations"

    # the answer might have been lost: the old token still works...
    r = await node.client.get("/ocpi/cpo/2.2.1/locations", headers=auth(token_c))
    assert r.status_code == 200
    # ...until the partner uses the new one
    r = await node.client.get("/ocpi/cpo/2.2.1/locations", headers=auth(new_c))
    assert r.status_code == 200
    r = await node.client.get("/ocpi/cpo/2.2.1/locations", headers=auth(token_c))
    assert r.status_code == 401


async def test_replaced_token_expires_after_the_grace_period(node, mock):
    node.node.registry.grace = node.node.registry.grace * 0  # no grace at all
    token_a = await invite(node)
    token_c = body(await post(node, "2.2.1", token_a, creds_body(mock, "2.2.1")))["data"]["token"]
    r = await node.client.put("/ocpi/2.2.1/credentials", content=dumps(creds_body(mock, "2.2.1")),
                              headers=auth(token_c))
    assert body(r)["status_code"] == 1000
    r = await node.client.get("/ocpi/cpo/2.2.1/locations", headers=auth(token_c))
    assert r.status_code == 401


async def test_delete_unregisters_and_its_token_stops_at_once(node, mock):
    token_a = await invite(node)
    token_c = body(await post(node, "2.2.1", token_a, creds_body(mock, "2.2.1")))["data"]["token"]
    r = await node.client.delete("/ocpi/2.2.1/credentials", headers=auth(token_c))
    assert r.status_code == 200 and body(r)["status_code"] == 1000
    r = await node.client.get("/ocpi/cpo/2.2.1/locations", headers=auth(token_c))
    assert r.status_code == 401 and body(r)["status_code"] == 2000
    peer = (await node.node.registry.list_peers())[0]
    assert peer.state == "unregistered" and peer.token_out is None


async def test_unreachable_partner_is_3001_and_nothing_changes(node, mock):
    token_a = await invite(node)
    data = creds_body(mock, "2.2.1")
    data["url"] = "http://127.0.0.1:9/versions"
    r = await post(node, "2.2.1", token_a, data)
    assert body(r)["status_code"] == 3001
    assert "127.0.0.1:9" in body(r)["status_message"]
    peer = (await node.node.registry.list_peers())[0]
    assert peer.state == "invited" and peer.last_error
    assert body(await post(node, "2.2.1", token_a, creds_body(mock, "2.2.1")))["status_code"] \
        == 1000


async def test_garbage_versions_is_3001(node, mock):
    token_a = await invite(node)
    mock.mode = {"/versions": "garbage"}
    r = await post(node, "2.2.1", token_a, creds_body(mock, "2.2.1"))
    assert body(r)["status_code"] == 3001


async def test_partner_without_this_version_is_3002(node, mock):
    mock.versions = ["2.1.1"]
    token_a = await invite(node)
    r = await post(node, "2.2.1", token_a, creds_body(mock, "2.2.1"))
    assert body(r)["status_code"] == 3002


async def test_partner_without_modules_we_use_is_3003(node, mock):
    mock.modules = ["credentials", "payments"]  # none we use (commands, profiles we do)
    token_a = await invite(node)
    r = await post(node, "2.2.1", token_a, creds_body(mock, "2.2.1"))
    assert body(r)["status_code"] == 3003
    assert (await node.node.registry.list_peers())[0].state == "invited"


async def test_unknown_versions_and_modules_are_ignored(node, mock):
    mock.extra_versions = [{"version": "9.9", "url": f"{mock.url}/9.9/details"}]
    mock.extra_endpoints = [{"identifier": "nltnm-tokens", "role": "SENDER",
                             "url": f"{mock.url}/x"}]
    token_a = await invite(node)
    r = await post(node, "2.3.0", token_a, creds_body(mock, "2.3.0"))
    assert body(r)["status_code"] == 1000


@pytest.mark.parametrize("version,change,field", [
    ("2.2.1", lambda d: d.pop("roles"), "roles"),
    ("2.3.0", lambda d: d["roles"].append(dict(d["roles"][0])), "roles"),
    ("2.1.1", lambda d: [d.pop(k) for k in ("country_code", "party_id", "business_details")]
     and d.update(roles=[]), "business_details"),
    ("2.2.1", lambda d: d.update(token="x" * 65), "token"),
    ("2.2.1", lambda d: d.pop("url"), "url"),
])
async def test_invalid_credentials_are_2001_and_store_nothing(node, mock, version, change,
                                                              field):
    token_a = await invite(node)
    data = creds_body(mock, version)
    change(data)
    r = await post(node, version, token_a, data)
    assert r.status_code == 200 and body(r)["status_code"] == 2001
    assert field in body(r)["status_message"]
    assert mock.requests == []  # we did not even call it
    assert (await node.node.registry.list_peers())[0].state == "invited"


async def test_credentials_must_name_the_invited_party(node, mock):
    token_a = await invite(node, "DE", "XYZ", "EMSP")
    r = await post(node, "2.2.1", token_a, creds_body(mock, "2.2.1"))
    assert r.status_code == 200 and "DE/XYZ" in body(r)["status_message"]


async def test_insecure_partner_url_is_refused_without_the_switch(node, mock, monkeypatch):
    monkeypatch.delenv("OCPI_ALLOW_INSECURE_PARTNERS")
    token_a = await invite(node)
    r = await post(node, "2.2.1", token_a, creds_body(mock, "2.2.1"))
    assert r.status_code == 200 and body(r)["status_code"] == 2001
    assert body(r)["status_message"].startswith("url:")
    assert mock.requests == []


async def test_one_registration_for_several_parties(node, mock):
    """CR-21: a platform with two CPO parties may write in both namespaces, no other."""
    token_a = await invite(node, "NL", "AAA", "CPO", also=[("NL", "BBB")])
    data = creds_body(mock, "2.2.1")
    data["roles"] = [{"role": "CPO", "country_code": "NL", "party_id": pid,
                      "business_details": {"name": pid}} for pid in ("AAA", "BBB")]
    token_c = body(await post(node, "2.2.1", token_a, data))["data"]["token"]
    for pid, expected in (("BBB", 201), ("CCC", 403)):
        loc = {"country_code": "NL", "party_id": pid, "id": "L1", "publish": True,
               "address": "a", "city": "c", "country": "NLD", "time_zone": "Europe/Amsterdam",
               "coordinates": {"latitude": "52.000000", "longitude": "4.000000"},
               "last_updated": "2026-01-01T00:00:00Z"}
        r = await node.client.put(f"/ocpi/emsp/2.2.1/locations/NL/{pid}/L1", content=dumps(loc),
                                  headers=auth(token_c))
        assert r.status_code == expected, body(r)


async def test_hub_party_id_is_accepted_and_stored(node, mock):
    token_a = await invite(node, "NL", "MCK", "HUB")
    data = creds_body(mock, "2.3.0")
    data["hub_party_id"] = "NLMCK"
    data["roles"][0]["role"] = "HUB"
    r = await post(node, "2.3.0", token_a, data)
    assert body(r)["status_code"] == 1000
    assert (await node.node.registry.list_peers())[0].hub_party_id == "NLMCK"
    # a hub forwards other parties' objects: those it reports reaching (Hub Client Info)
    headers = auth(body(r)["data"]["token"], "2.3.0")
    loc = {"country_code": "DE", "party_id": "ABC", "id": "L1", "publish": True,
           "address": "a", "city": "c", "country": "DEU", "time_zone": "Europe/Berlin",
           "coordinates": {"latitude": "52.000000", "longitude": "13.000000"},
           "last_updated": "2026-01-01T00:00:00Z"}
    url = "/ocpi/emsp/2.3.0/locations/DE/ABC/L1"
    r = await node.client.put(url, content=dumps(loc), headers=headers)
    assert r.status_code == 403, body(r)
    assert "has not reported reaching" in body(r)["status_message"]
    info = {"country_code": "DE", "party_id": "ABC", "role": "CPO", "status": "CONNECTED",
            "last_updated": "2026-01-01T00:00:00Z"}
    r = await node.client.put("/ocpi/emsp/2.3.0/hubclientinfo/DE/ABC", content=dumps(info),
                              headers=headers)
    assert r.status_code == 201, body(r)
    r = await node.client.put(url, content=dumps(loc), headers=headers)
    assert r.status_code == 201, body(r)


async def test_a_hub_that_lists_its_parties_writes_only_for_them(node, mock):
    token_a = await invite(node, "NL", "MCK", "HUB")
    data = creds_body(mock, "2.3.0")
    data["roles"] = [{**data["roles"][0], "role": "HUB"},
                     {**data["roles"][0], "role": "CPO", "country_code": "DE",
                      "party_id": "ABC"}]
    r = await post(node, "2.3.0", token_a, data)
    assert body(r)["status_code"] == 1000, body(r)
    token = body(r)["data"]["token"]
    for pid, expected in (("ABC", 201), ("XYZ", 403)):
        loc = {"country_code": "DE", "party_id": pid, "id": "L1", "publish": True,
               "address": "a", "city": "c", "country": "DEU", "time_zone": "Europe/Berlin",
               "coordinates": {"latitude": "52.000000", "longitude": "13.000000"},
               "last_updated": "2026-01-01T00:00:00Z"}
        r = await node.client.put(f"/ocpi/emsp/2.3.0/locations/DE/{pid}/L1", content=dumps(loc),
                                  headers=auth(token, "2.3.0"))
        assert r.status_code == expected, body(r)


async def test_spec_credentials_examples_are_accepted(node, mock):
    for version, name in (("2.1.1", "credentials_L95_example.json"),
                          ("2.2.1", "credentials_example2.json"),
                          ("2.3.0", "credentials_example3.json")):
        data = example(version, name)
        cc, pid = (data["country_code"], data["party_id"]) if version == "2.1.1" else \
            (data["roles"][0]["country_code"], data["roles"][0]["party_id"])
        token_a = await invite(node, cc, pid, "CPO")
        data["url"] = f"{mock.url}/versions"
        data["token"] = TOKEN_B
        r = await post(node, version, token_a, data)
        assert body(r)["status_code"] == 1000, (name, body(r))
        await node.node.registry.unregister((await node.node.registry.list_peers())[-1].id)


async def test_tokens_are_stored_hashed(node, mock):
    token_a = await invite(node)
    token_c = body(await post(node, "2.2.1", token_a, creds_body(mock, "2.2.1")))["data"]["token"]
    async with node.node.db.begin() as tx:
        stored = [r[0] for r in (await tx.execute(select(tokens.c.token_hash))).all()]
    assert stored and token_c not in stored and token_a not in stored
    assert all(len(h) == 64 for h in stored)


async def test_foreign_and_replayed_tokens_get_401_envelopes(node, mock):
    token_a = await invite(node)
    await post(node, "2.2.1", token_a, creds_body(mock, "2.2.1"))
    for token in (token_a, "never-issued"):
        for path in ("/ocpi/versions", "/ocpi/2.2.1/credentials", "/ocpi/cpo/2.2.1/locations"):
            r = await node.client.get(path, headers=auth(token))
            assert r.status_code == 401 and body(r)["status_code"] == 2000, path
    r = await node.client.get("/ocpi/2.2.1/credentials", headers=op())
    assert r.status_code == 403  # the operator is not a partner: no credentials of its own


def _roles(*entries):
    return [{"role": role, "country_code": cc, "party_id": pid,
             "business_details": {"name": pid}} for role, cc, pid in entries]


@pytest.mark.parametrize("roles,message", [
    (_roles(("EMSP", "NL", "MCK"), ("CPO", "DE", "EVL")), "DE/EVL was not part of the invitation"),
    (_roles(("EMSP", "NL", "MCK"), ("HUB", "NL", "MCK")), "role HUB was not part"),
    (_roles(("FOO", "NL", "MCK")), "roles.0.role"),
])
async def test_a_partner_cannot_widen_its_own_rights(node, mock, roles, message):
    """A registration admits only what the invitation named; HUB (write anywhere) and
    unknown roles are refused, and nothing is stored."""
    token_a = await invite(node)
    data = creds_body(mock, "2.2.1")
    data["roles"] = roles
    r = await post(node, "2.2.1", token_a, data)
    assert r.status_code == 200 and body(r)["status_code"] == 2001
    assert message in body(r)["status_message"]
    peer = (await node.node.registry.list_peers())[0]
    assert peer.state == "invited"
    caller = await node.node.registry.identify(token_a)
    assert caller.token_kind == "A" and not caller.owns("DE", "EVL")


async def test_a_replaced_token_may_read_but_not_change_the_registration(node, mock):
    token_a = await invite(node)
    old = body(await post(node, "2.2.1", token_a, creds_body(mock, "2.2.1")))["data"]["token"]
    new = body(await node.client.put("/ocpi/2.2.1/credentials",
                                     content=dumps(creds_body(mock, "2.2.1")),
                                     headers=auth(old)))["data"]["token"]
    assert (await node.client.get("/ocpi/cpo/2.2.1/locations", headers=auth(old))
            ).status_code == 200
    for method in ("PUT", "DELETE"):
        r = await node.client.request(method, "/ocpi/2.2.1/credentials", headers=auth(old),
                                      content=dumps(creds_body(mock, "2.2.1")))
        assert r.status_code == 405, method
    assert (await node.client.get("/ocpi/cpo/2.2.1/locations", headers=auth(new))
            ).status_code == 200


async def test_a_put_never_undoes_a_delete(node, mock):
    """A PUT still fetching the partner's endpoints when a DELETE lands does not revive it."""
    token_a = await invite(node)
    token_c = body(await post(node, "2.2.1", token_a, creds_body(mock, "2.2.1")))["data"]["token"]
    registry = node.node.registry
    peer = (await registry.list_peers())[0]
    await registry.unregister(peer.id)
    assert await registry.rotate(peer.id, token_c, version="2.2.1") is None
    assert (await registry.list_peers())[0].state == "unregistered"
    assert await registry.identify(token_c) is None


async def test_unresolvable_partner_host_is_3001(node, mock, monkeypatch):
    monkeypatch.delenv("OCPI_ALLOW_INSECURE_PARTNERS")
    token_a = await invite(node)
    data = creds_body(mock, "2.2.1")
    data["url"] = "https://no-such-host.invalid/versions"
    r = await post(node, "2.2.1", token_a, data)
    assert body(r)["status_code"] == 3001 and "resolve" in body(r)["status_message"]

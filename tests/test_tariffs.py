"""Tariffs: every specification example accepted by the eMSP receiver and read back
equal in its version; PATCH only where the version has it; DELETE; our own tariffs
from the management API, listed by date and pushed to eMSPs (a removal as DELETE);
connectors naming tariffs we do not hold; ``ocpi import tariffs``."""

import json

import pytest

from ocpi.core.enums import ModuleID, RoleEnum

from .conftest import EXAMPLES, auth, body, dumps, example, op
from .outbox_helpers import receiving_partner, worker
from .receiver import Receiver
from .test_cli import run

pytestmark = pytest.mark.usefixtures("local_partners")

VERSIONS = ("2.1.1", "2.2.1", "2.3.0")
RECEIVER = "/ocpi/emsp/{v}/tariffs/{cc}/{pid}/{id}"
OWN = "/ocpi/cpo/{v}/tariffs/{cc}/{pid}/{id}"


def tariff_examples(version: str) -> list[dict]:
    """Every whole Tariff among the version's examples (the PUT body the specification
    prints without ``last_updated`` is no whole Tariff: it is tested apart)."""
    found = []
    for path in sorted((EXAMPLES / version).glob("*tariff*")):
        data = example(version, path.name)
        if isinstance(data, dict) and "elements" in data and "last_updated" in data:
            found.append(data)
    return found


def _url(version: str, tariff: dict, template: str = RECEIVER) -> str:
    return template.format(v=version, cc=tariff.get("country_code", "NL"),
                           pid=tariff.get("party_id", "TNM"), id=tariff["id"])


@pytest.mark.parametrize("version", VERSIONS)
async def test_every_tariff_example_is_accepted_and_read_back_equal(node, version):
    examples = tariff_examples(version)
    assert len(examples) >= (5 if version == "2.1.1" else 18), version
    owners = {(t.get("country_code", "NL"), t.get("party_id", "TNM")) for t in examples}
    tokens = {o: await node.partner(*o, role="CPO") for o in owners}
    for tariff in examples:
        h = auth(tokens[(tariff.get("country_code", "NL"), tariff.get("party_id", "TNM"))],
                 version)
        # several examples share an id: each is read back on its own
        await node.client.delete(_url(version, tariff), headers=h)
        r = await node.client.put(_url(version, tariff), content=dumps(tariff), headers=h)
        assert body(r)["status_code"] == 1000, (tariff["id"], r.text)
        assert r.status_code == 201
        got = body(await node.client.get(_url(version, tariff), headers=h))
        assert got["status_code"] == 1000 and got["data"] == tariff, tariff["id"]


@pytest.mark.parametrize("version", ("2.2.1", "2.3.0"))
async def test_the_put_example_without_last_updated_is_refused_naming_it(node, version):
    tariff = example(version, "tariff_put_example.json")
    token = await node.partner(tariff["country_code"], tariff["party_id"], role="CPO")
    r = await node.client.put(_url(version, tariff), content=dumps(tariff),
                              headers=auth(token, version))
    assert r.status_code == 200 and body(r)["status_code"] == 2001
    assert "last_updated" in body(r)["status_message"]
    stored = await node.node.crud.get(ModuleID.tariffs, RoleEnum.emsp, tariff["id"],
                                      country_code="DE", party_id="ALL")
    assert stored is None


async def test_patch_exists_only_on_2_1_1_and_delete_removes(node):
    tariff = example("2.1.1", "mod_tariffs_L294_simple_tariff_example_2_euro_per_hour.json")
    token = await node.partner("NL", "TNM", role="CPO")
    url211, url221 = _url("2.1.1", tariff), _url("2.2.1", {**tariff, "country_code": "NL",
                                                          "party_id": "TNM"})
    r = await node.client.put(url211, content=dumps(tariff), headers=auth(token, "2.1.1"))
    assert body(r)["status_code"] == 1000
    # the specification's own 2.1.1 PATCH example: the price to 2.50
    patch = example("2.1.1", "mod_tariffs_L209_example_change_tariff_to_2_50.json")
    r = await node.client.patch(url211, content=dumps(patch), headers=auth(token, "2.1.1"))
    assert body(r)["status_code"] == 1000, r.text
    got = body(await node.client.get(url211, headers=auth(token, "2.1.1")))["data"]
    assert str(got["elements"][0]["price_components"][0]["price"]) == "2.50"
    # 2.2.1 has no PATCH for tariffs: no such endpoint, and nothing changes
    r = await node.client.patch(url221, content=dumps({"currency": "USD",
                                                       "last_updated": "2025-01-01T00:00:00Z"}),
                                headers=auth(token))
    assert r.status_code in (404, 405) and body(r)["status_code"] >= 2000
    got = body(await node.client.get(url221, headers=auth(token)))["data"]
    assert got["currency"] == "EUR"
    r = await node.client.delete(url221, headers=auth(token))
    assert body(r)["status_code"] == 1000
    r = await node.client.get(url221, headers=auth(token))
    assert r.status_code == 404 and body(r)["status_code"] >= 2000


async def test_a_partner_writes_only_its_own_tariffs(node):
    tariff = example("2.2.1", "tariff_1_simple_2hour.json")
    other = await node.partner("NL", "XYZ", role="CPO")
    r = await node.client.put(_url("2.2.1", tariff), content=dumps(tariff),
                              headers=auth(other))
    assert r.status_code == 403 and body(r)["status_code"] >= 2000
    assert await node.node.crud.get(ModuleID.tariffs, RoleEnum.emsp, tariff["id"],
                                    country_code=tariff["country_code"],
                                    party_id=tariff["party_id"]) is None


def _own(tariff: dict, updated: str) -> dict:
    return {**tariff, "country_code": "NL", "party_id": "OCP", "last_updated": updated}


async def test_our_tariffs_are_listed_by_date_and_only_the_operator_writes_them(node):
    base = example("2.2.1", "tariff_1_simple_2hour.json")
    for n, day in enumerate(("2026-01-01", "2026-02-01", "2026-03-01")):
        t = _own({**base, "id": f"T{n}"}, f"{day}T00:00:00Z")
        r = await node.client.put(_url("2.2.1", t, OWN), content=dumps(t), headers=op())
        assert body(r)["status_code"] == 1000, r.text
    emsp = await node.partner("DE", "MSP", role="EMSP")
    r = await node.client.get("/ocpi/cpo/2.2.1/tariffs", headers=auth(emsp))
    assert [t["id"] for t in body(r)["data"]] == ["T0", "T1", "T2"]
    assert r.headers["X-Total-Count"] == "3"
    r = await node.client.get("/ocpi/cpo/2.2.1/tariffs?date_from=2026-01-15T00:00:00Z"
                              "&date_to=2026-03-01T00:00:00Z", headers=auth(emsp))
    assert [t["id"] for t in body(r)["data"]] == ["T1"]
    # 2.1.1 readers get each in their version: no owner, no 2.2 fields
    r = await node.client.get("/ocpi/cpo/2.1.1/tariffs", headers=auth(emsp, "2.1.1"))
    assert all("country_code" not in t and "type" not in t for t in body(r)["data"])
    # a partner cannot write on our sender's paths
    t = _own({**base, "id": "T9"}, "2026-04-01T00:00:00Z")
    r = await node.client.put(_url("2.2.1", t, OWN), content=dumps(t), headers=auth(emsp))
    assert r.status_code in (401, 403) and body(r)["status_code"] >= 2000


async def test_what_older_versions_cannot_carry_is_said_to_the_operator(node):
    t = _own(example("2.3.0", "tariff_6_025kwh_start_max_price.json"), "2026-01-01T00:00:00Z")
    r = await node.client.put(_url("2.3.0", t, OWN), content=dumps(t), headers=op("2.3.0"))
    got = body(r)
    assert got["status_code"] == 1000, r.text
    assert "not carried in 2.1.1" in got["status_message"]
    assert "max_price" in got["status_message"]


async def test_our_tariffs_reach_emsps_and_a_removal_goes_as_delete(node):
    db = node.node.db
    base = example("2.2.1", "tariff_8_simple_025kwh.json")
    with Receiver() as partner:
        peer_221 = await receiving_partner(db, partner.url, "DE", "MSP")
        peer_211 = await receiving_partner(db, partner.url, "BE", "MSP", version="2.1.1")
        from ocpi.peers.registry import Registry
        for peer_id, version in ((peer_221, "2.2.1"), (peer_211, "2.1.1")):
            side = f"{partner.url}/ocpi/emsp/{version}"
            await Registry(db).update_peer(peer_id, endpoints=[
                {"identifier": "tariffs", "role": "RECEIVER", "url": f"{side}/tariffs"}])
        cpo = await receiving_partner(db, partner.url, "FR", "CPX", role="CPO")
        await Registry(db).update_peer(cpo, endpoints=[
            {"identifier": "tariffs", "role": "RECEIVER", "url": f"{partner.url}/cpo/tariffs"}])
        t = _own({**base, "id": "T1"}, "2026-01-01T00:00:00Z")
        assert body(await node.client.put(_url("2.2.1", t, OWN), content=dumps(t),
                                          headers=op()))["status_code"] == 1000
        await worker(db).drain_once()  # both have it: a change could now go as a PATCH
        changed = {**t, "currency": "USD", "last_updated": "2026-01-02T00:00:00Z"}
        assert body(await node.client.put(_url("2.2.1", t, OWN), content=dumps(changed),
                                          headers=op()))["status_code"] == 1000
        await worker(db).drain_once()
        r = await node.client.delete(_url("2.2.1", t, OWN), headers=op())
        assert body(r)["status_code"] == 1000
        await worker(db).drain_once()
        seen = [(m, p) for m, p, _, _ in partner.requests]
        assert ("PUT", "/ocpi/emsp/2.2.1/tariffs/NL/OCP/T1") in seen
        assert ("DELETE", "/ocpi/emsp/2.2.1/tariffs/NL/OCP/T1") in seen
        assert ("DELETE", "/ocpi/emsp/2.1.1/tariffs/NL/OCP/T1") in seen
        # the change: a PATCH where the version has one (2.1.1), else the whole tariff
        assert ("PATCH", "/ocpi/emsp/2.1.1/tariffs/NL/OCP/T1") in seen
        assert seen.count(("PUT", "/ocpi/emsp/2.2.1/tariffs/NL/OCP/T1")) == 2
        assert not any(m == "PATCH" and "/2.2.1/" in p for m, p in seen)
        # a CPO partner gets none of our tariffs
        assert not any(p.startswith("/cpo/") for _, p in seen)
        puts = [m.body for m in partner.accepted if m.method == "PUT" and "/2.1.1/" in m.path]
        assert puts and "country_code" not in puts[-1]


async def test_a_connector_naming_a_tariff_we_do_not_hold_is_a_warning_for_ours_only(node):
    loc = example("2.2.1", "location_example.json")
    loc = {**loc, "country_code": "NL", "party_id": "OCP", "id": "LOCT"}
    loc["evses"][0]["connectors"][0]["tariff_ids"] = ["NOPE"]
    url = "/ocpi/cpo/2.2.1/locations/NL/OCP/LOCT"
    r = await node.client.put(url, content=dumps(loc), headers=op())
    got = body(r)
    assert got["status_code"] == 1000
    assert "tariff" in got["status_message"] and "NOPE" in got["status_message"]
    # a partner's Location naming an unknown tariff is taken without a word about it
    token = await node.partner("BE", "BEC", role="CPO")
    theirs = example("2.2.1", "location_example.json")
    theirs["evses"][0]["connectors"][0]["tariff_ids"] = ["NOPE"]
    r = await node.client.put(
        f"/ocpi/emsp/2.2.1/locations/{theirs['country_code']}/{theirs['party_id']}/"
        f"{theirs['id']}", content=dumps(theirs), headers=auth(token))
    assert body(r)["status_code"] == 1000 and "NOPE" not in body(r)["status_message"]


def test_ocpi_import_tariffs_takes_a_versions_list(tmp_path):
    db = f"sqlite:///{tmp_path / 'cpo.db'}"
    items = [example("2.1.1", "mod_tariffs_L294_simple_tariff_example_2_euro_per_hour.json"),
             example("2.1.1", "mod_tariffs_L360_complex_tariff_example.json")]
    path = tmp_path / "tariffs.json"
    path.write_text(json.dumps(items, default=str))
    r = run("import", "tariffs", str(path), "--version", "2.1.1", "--country-code", "NL",
            "--party-id", "OCP", "--json", db=db)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["created"] == 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{**items[0], "elements": []}], default=str))
    r = run("import", "tariffs", str(bad), "--version", "2.1.1", "--country-code", "NL",
            "--party-id", "OCP", db=db)
    assert r.returncode == 1 and "elements" in r.stderr


def test_ocpi_import_says_which_tariffs_our_connectors_name_that_we_lack(tmp_path):
    db = f"sqlite:///{tmp_path / 'cpo.db'}"
    loc = {**example("2.2.1", "location_example.json"), "country_code": "NL",
           "party_id": "OCP"}
    loc["evses"][0]["connectors"][0]["tariff_ids"] = ["HELD", "NOPE"]
    tariff = {**example("2.2.1", "tariff_1_simple_2hour.json"), "country_code": "NL",
              "party_id": "OCP", "id": "HELD"}
    (tmp_path / "t.json").write_text(json.dumps([tariff], default=str))
    (tmp_path / "l.json").write_text(json.dumps([loc], default=str))
    assert run("import", "tariffs", str(tmp_path / "t.json"), db=db).returncode == 0
    r = run("import", "locations", str(tmp_path / "l.json"), db=db)
    assert r.returncode == 0, r.stderr
    assert "tariffs 'NOPE'" in r.stderr and "HELD" not in r.stderr


async def test_a_management_patch_naming_a_tariff_we_lack_says_so(node):
    loc = {**example("2.2.1", "location_example.json"), "country_code": "NL",
           "party_id": "OCP", "id": "LOCP"}
    url = "/ocpi/cpo/2.2.1/locations/NL/OCP/LOCP"
    assert body(await node.client.put(url, content=dumps(loc), headers=op()))[
        "status_code"] == 1000
    evse, conn = loc["evses"][0]["uid"], loc["evses"][0]["connectors"][0]["id"]
    r = await node.client.patch(f"{url}/{evse}/{conn}", headers=op(),
                                content=dumps({"tariff_ids": ["LATER"]}))
    assert body(r)["status_code"] == 1000 and "tariffs 'LATER'" in body(r)["status_message"]
    r = await node.client.patch(f"{url}/{evse}", headers=op(),
                                content=dumps({"status": "CHARGING"}))
    assert body(r)["status_code"] == 1000 and "LATER" not in body(r)["status_message"]

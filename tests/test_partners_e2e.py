"""Acceptance: two nodes of this package, started as a user starts them, register
with each other by ``invite`` + ``register`` alone and the eMSP pulls the CPO's
locations over several pages. Real processes, real HTTP, nothing mocked.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ocpi.peers.registry import Registry
from ocpi.store.database import Database

from .conftest import BACKENDS, PG_URL, auth, reset_postgres
from .servers import wait_serving
from .test_cli import free_port

OCPI = [sys.executable, "-m", "ocpi.cli"]
OPERATOR = "e2e-operator-token"
ENV = {**os.environ, "OCPI_ALLOW_INSECURE_PARTNERS": "1", "OCPI_OPERATOR_TOKEN": OPERATOR}
N_LOCATIONS = 260


def ocpi(*args: str, db: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*OCPI, *args, "--database", db], capture_output=True, text=True,
                          timeout=120, env={**ENV, **(env or {})})


@contextmanager
def serving(db: str, role: str, cc: str, pid: str, *extra: str) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([*OCPI, "serve", "--database", db, "--port", str(port), "--role",
                             role, "--country-code", cc, "--party-id", pid, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_serving(base, proc, lambda: proc.stderr.read() if proc.stderr else b"")
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def locations_file(path: Path) -> Path:
    locs = [{"country_code": "NL", "party_id": "CPO", "id": f"LOC{i:04d}", "publish": True,
             "address": f"Street {i}", "city": "Town", "postal_code": "1234AB",
             "country": "NLD", "time_zone": "Europe/Amsterdam",
             "coordinates": {"latitude": "52.123456", "longitude": "4.123456"},
             "last_updated": "2026-01-01T00:00:00Z",
             "evses": [{"uid": f"E{i}", "status": "AVAILABLE",
                        "last_updated": "2026-01-01T00:00:00Z",
                        "connectors": [{"id": "1", "standard": "IEC_62196_T2",
                                        "format": "SOCKET", "power_type": "AC_3_PHASE",
                                        "max_voltage": 230, "max_amperage": 16,
                                        "last_updated": "2026-01-01T00:00:00Z"}]}]}
            for i in range(N_LOCATIONS)]
    path.write_text(json.dumps(locs))
    return path


async def _token_out(db_url: str, name: str) -> str:
    db = Database(db_url)
    try:
        peer = await Registry(db).get(name)
        assert peer is not None and peer.token_out
        return peer.token_out
    finally:
        await db.dispose()


CASES = [("2.1.1", "sqlite"), ("2.2.1", "sqlite"), ("2.3.0", "sqlite"),
         ("2.2.1", "postgresql")]


@pytest.mark.parametrize("version,cpo_backend",
                         [c for c in CASES if c[1] in BACKENDS])
async def test_invite_register_pull(tmp_path, version, cpo_backend):
    if cpo_backend == "postgresql":
        await reset_postgres()
        cpo_db = PG_URL
    else:
        cpo_db = f"sqlite:///{tmp_path / 'cpo.db'}"
    emsp_db = f"sqlite:///{tmp_path / 'emsp.db'}"
    r = ocpi("import", "locations", str(locations_file(tmp_path / "locs.json")), db=cpo_db)
    assert r.returncode == 0, r.stderr

    with serving(cpo_db, "cpo", "NL", "CPO") as cpo, serving(emsp_db, "emsp", "DE", "MSP"):
        r = ocpi("peers", "invite", "--country-code", "DE", "--party-id", "MSP", "--role",
                 "EMSP", "--json", db=cpo_db)
        assert r.returncode == 0, r.stderr
        invite = json.loads(r.stdout)
        assert invite["versions_url"] == f"{cpo}/ocpi/versions"

        r = ocpi("peers", "register", "--versions-url", invite["versions_url"],
                 f"--token={invite['token']}", "--version", version, "--json", db=emsp_db)
        assert r.returncode == 0, r.stderr
        registered = json.loads(r.stdout)
        assert (registered["name"], registered["version"], registered["state"]) == \
            ("nl-cpo-cpo", version, "registered")
        token = await _token_out(emsp_db, "nl-cpo-cpo")
        assert token not in r.stdout + r.stderr  # tokens are never printed

        listed = json.loads(ocpi("peers", "list", "--json", db=cpo_db).stdout)
        assert [(p["name"], p["state"], p["version"]) for p in listed] == \
            [("de-msp-emsp", "registered", version)]

        r = ocpi("peers", "pull", "nl-cpo-cpo", "locations", "--json", db=emsp_db)
        assert r.returncode == 0, r.stderr
        result = json.loads(r.stdout)
        assert (result["received"], result["created"], result["rejected"]) == \
            (N_LOCATIONS, N_LOCATIONS, 0)
        progress = [line for line in r.stderr.splitlines() if "nl-cpo-cpo locations" in line]
        assert len(progress) == 3 and progress[-1].endswith(f"{N_LOCATIONS}/{N_LOCATIONS}")

        emsp_url = json.loads(ocpi("peers", "list", "--json", db=cpo_db).stdout)[0][
            "versions_url"].removesuffix("/ocpi/versions")
        async with httpx.AsyncClient() as http:
            got = await http.get(f"{emsp_url}/ocpi/emsp/{version}/locations/NL/CPO/LOC0259",
                                 headers=auth(OPERATOR, version))
            assert got.status_code == 200 and got.json()["data"]["id"] == "LOC0259"

            # token A is spent
            spent = await http.get(f"{cpo}/ocpi/versions", headers=auth(invite["token"],
                                                                         version))
            assert spent.status_code == 401 and spent.json()["status_code"] == 2000

            # unregister: the token the eMSP held stops working at the CPO at once
            r = ocpi("peers", "unregister", "nl-cpo-cpo", db=emsp_db)
            assert r.returncode == 0, r.stderr
            gone = await http.get(f"{cpo}/ocpi/cpo/{version}/locations",
                                  headers=auth(token, version))
            assert gone.status_code == 401 and gone.json()["status_code"] == 2000
        listed = json.loads(ocpi("peers", "list", "--json", db=cpo_db).stdout)
        assert listed[0]["state"] == "unregistered"


def test_register_with_a_dead_partner_fails_clearly_and_stores_nothing(tmp_path):
    db = f"sqlite:///{tmp_path / 'emsp.db'}"
    r = ocpi("peers", "register", "--versions-url", f"http://127.0.0.1:{free_port()}/versions",
             "--public-url", "http://127.0.0.1:8000", db=db,
             env={"OCPI_COUNTRY_CODE": "DE", "OCPI_PARTY_ID": "MSP",
                  "OCPI_REGISTRATION_TOKEN": "whatever"})
    assert r.returncode == 1
    assert "registration failed, nothing was stored" in r.stderr
    assert "cannot connect" in r.stderr and "whatever" not in r.stderr
    assert json.loads(ocpi("peers", "list", "--json", db=db).stdout) == []


def test_partner_profile_is_set_from_the_cli(tmp_path):
    db = f"sqlite:///{tmp_path / 'node.db'}"
    ocpi("peers", "add", "--country-code", "FR", "--party-id", "GIR", "--role", "HUB", db=db)
    r = ocpi("peers", "set", "fr-gir-hub", "--plain-token", "yes", "--page-limit", "20",
             "--routing-headers", "on", "--connection-close", "yes", "--timeout", "5",
             "--delivery", "every-message", "--always-put", "yes", "--json", db=db)
    assert r.returncode == 0, r.stderr
    profile = json.loads(ocpi("peers", "list", "--json", db=db).stdout)[0]["profile"]
    assert profile == {"plain_token": True, "page_limit": 20, "routing_headers": "on",
                       "connection_close": True, "timeout": 5.0, "delivery": "every-message",
                       "always_put": True, "explicit_nulls": False, "any_party": False}
    r = ocpi("peers", "set", "nobody", "--page-limit", "5", db=db)
    assert r.returncode == 1 and "no partner called nobody" in r.stderr

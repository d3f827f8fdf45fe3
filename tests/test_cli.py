"""The ``ocpi`` command as a user runs it: a real process and real HTTP."""

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ocpi.peers import handshake
from ocpi.peers.credentials import Party
from ocpi.peers.handshake import Us
from ocpi.peers.registry import Registry
from ocpi.store.database import Database

from .servers import PeerMock, ServerThread
from .test_client import BrokenLinks
from .test_pull import location

OCPI = [sys.executable, "-m", "ocpi.cli"]


def run(*args: str, db: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*OCPI, *args, "--database", db], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'node.db'}"


def test_peers_add_and_list_json(sqlite_url):
    r = run("peers", "add", "--country-code", "de", "--party-id", "abc", "--role", "emsp",
            "--json", db=sqlite_url)
    assert r.returncode == 0, r.stderr
    added = json.loads(r.stdout)
    assert added["country_code"] == "DE" and added["role"] == "EMSP" and len(added["token"]) > 20
    r = run("peers", "add", "--country-code", "NL", "--party-id", "TNM", "--role", "CPO",
            "--token", "given-token", "--json", db=sqlite_url)
    assert json.loads(r.stdout)["token"] == "given-token"
    listed = json.loads(run("peers", "list", "--json", db=sqlite_url).stdout)
    assert [(p["country_code"], p["party_id"]) for p in listed] == [("DE", "ABC"), ("NL", "TNM")]
    assert "token" not in listed[0]


def test_import_locations_validates_everything_first(sqlite_url, tmp_path):
    from ocpi.demo import sample_locations

    good = sample_locations("NL", "OCP")
    f = tmp_path / "locs.json"
    f.write_text(json.dumps(good))
    r = run("import", "locations", str(f), "--json", db=sqlite_url)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"created": 3, "updated": 0, "unchanged": 0}
    r = run("import", "locations", str(f), "--json", db=sqlite_url)
    assert json.loads(r.stdout)["unchanged"] == 3
    bad = [*good, {**good[0], "id": "BROKEN", "coordinates": None}]
    f.write_text(json.dumps(bad))
    r = run("import", "locations", str(f), db=sqlite_url)
    assert r.returncode == 1 and "coordinates" in r.stderr
    # our own Locations must be servable in every version: a 2.1.1 file (where the
    # field is optional) without a time_zone gets the one of its coordinates
    from .conftest import example

    old = example("2.1.1", "mod_locations_L432_example.json")
    assert "time_zone" not in old
    f.write_text(json.dumps([old]))
    r = run("import", "locations", str(f), "--version", "2.1.1", "--country-code", "NL",
            "--party-id", "OCP", db=sqlite_url)
    assert r.returncode == 0, r.stderr
    assert "time_zone: derived from the coordinates as Europe/Brussels" in r.stderr


def test_serve_demo_prints_a_working_curl_line(sqlite_url):
    port = free_port()
    env = {**os.environ}
    env.pop("OCPI_OPERATOR_TOKEN", None)
    proc = subprocess.Popen([*OCPI, "serve", "--demo", "--database", sqlite_url, "--port",
                             str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    try:
        lines = []
        deadline = time.time() + 30
        while time.time() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "curl" in line:
                break
        curl = next(x for x in lines if "curl" in x)
        token = re.search(r"Token ([^']+)'", curl).group(1)
        url = re.search(r"(http://\S+)", curl).group(1)
        operator = re.search(r"operator token.*: (\S+)", "".join(lines)).group(1)
        for _ in range(100):
            try:
                r = httpx.get(url, headers={"Authorization": f"Token {token}"}, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert r.status_code == 200
        data = r.json()
        assert data["status_code"] == 1000 and len(data["data"]) == 3
        r = httpx.get(f"http://127.0.0.1:{port}/ocpi/versions",
                      headers={"Authorization": f"Token {operator}"})
        assert r.json()["data"][0]["url"].startswith(f"http://127.0.0.1:{port}/ocpi/")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _registered_with(db_url: str, versions_url: str) -> None:
    """A partner registered by handshake in the node's database (as `peers register`)."""
    async def work() -> None:
        db = Database(db_url)
        try:
            await handshake.register(Registry(db), PULLER, versions_url, "token-a",
                                     version="2.2.1", role="CPO")
        finally:
            await db.dispose()

    asyncio.run(work())


PULLER = Us(versions_url="http://127.0.0.1:1/ocpi/versions",
            parties=[Party("EMSP", "DE", "MSP", {"name": "us"})])
PULL_ENV = {"OCPI_ALLOW_INSECURE_PARTNERS": "1", "OCPI_COUNTRY_CODE": "DE",
            "OCPI_PARTY_ID": "MSP", "OCPI_PUBLIC_URL": "http://127.0.0.1:1"}


def test_pull_exit_status_tells_a_script_about_rejected_objects(sqlite_url, monkeypatch):
    """0: everything stored; 2: completed, but some objects were rejected; 1: failed."""
    monkeypatch.setenv("OCPI_ALLOW_INSECURE_PARTNERS", "1")
    partner = BrokenLinks("seed")  # its Link is unusable too: the output says so
    partner.items = [location(i) for i in range(10)]
    with ServerThread(partner.app) as url:
        _registered_with(sqlite_url, f"{url}/versions")
        pull = ("peers", "pull", "nl-mck-cpo", "locations")
        r = run(*pull, db=sqlite_url, env=PULL_ENV)
        assert r.returncode == 0, r.stderr
        assert "10 received" in r.stdout and "0 rejected" in r.stdout
        assert "note: partner's Link header unusable" in r.stdout
        assert "paging by offset" in r.stdout

        broken = location(10)
        del broken["coordinates"]
        partner.items.append(broken)
        r = run(*pull, db=sqlite_url, env=PULL_ENV)
        assert r.returncode == 2, r.stderr
        assert "1 rejected" in r.stdout and "coordinates" in r.stdout
        r = run(*pull, "--json", db=sqlite_url, env=PULL_ENV)
        assert r.returncode == 2
        out = json.loads(r.stdout)
        assert out["rejected"] == 1 and "paging by offset" in out["notes"][0]

        partner.mode = {"*": "garbage"}
        r = run(*pull, db=sqlite_url, env=PULL_ENV)
        assert r.returncode == 1 and "pull stopped" in r.stderr


def test_explicit_nulls_from_invite_register_and_set(sqlite_url):
    """The quirk is set where the first message to such a partner is our credentials."""
    r = run("peers", "invite", "--country-code", "DE", "--party-id", "ELU", "--role", "EMSP",
            "--explicit-nulls", "yes", "--json", db=sqlite_url, env=PULL_ENV)
    assert r.returncode == 0, r.stderr
    [invited] = json.loads(run("peers", "list", "--json", db=sqlite_url).stdout)
    assert invited["profile"]["explicit_nulls"] is True
    r = run("peers", "set", "de-elu-emsp", "--explicit-nulls", "no", "--json", db=sqlite_url)
    assert r.returncode == 0 and json.loads(r.stdout)["profile"]["explicit_nulls"] is False

    partner = PeerMock(party=("NL", "MCK", "CPO"))
    with ServerThread(partner.app) as url:
        r = run("peers", "register", "--versions-url", f"{url}/versions", "--token", "tok-a",
                "--version", "2.2.1", "--explicit-nulls", "yes", "--json", db=sqlite_url,
                env=PULL_ENV)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["profile"]["explicit_nulls"] is True
    [post] = partner.seen("POST")
    sent = json.loads(post["body"])["roles"][0]["business_details"]
    assert sent["website"] is None and sent["logo"] is None

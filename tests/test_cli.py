"""The ``ocpi`` command as a user runs it: a real process and real HTTP."""

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

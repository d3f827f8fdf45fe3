"""Acceptance: an eMSP and a CPO, two real ``ocpi serve`` processes registered by
handshake, in each version. The eMSP's 1,000 tokens reach the CPO by push, a
block reaches it as a PATCH, the CPO authorizes in real time (and, with the
eMSP stopped, by the tokens' whitelists), and a session started after an
authorization carries its reference to the eMSP. Nothing mocked."""

import asyncio
import json
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.store.database import Database
from ocpi.store.sql_store import SqlStore

from .conftest import auth
from .test_partners_e2e import OPERATOR, locations_file, ocpi, serving

pytestmark = pytest.mark.usefixtures("local_partners")
N_TOKENS = 1000
SPECIAL = {"ALWAYS1": "ALWAYS", "OFFLINE1": "ALLOWED_OFFLINE", "NEVER1": "NEVER",
           "BLOCKME": "ALLOWED"}


def _tokens_file(path: Path) -> Path:
    names = [*SPECIAL, *(f"T{i:04d}" for i in range(N_TOKENS - len(SPECIAL)))]
    tokens = [{"country_code": "DE", "party_id": "MSP", "uid": uid, "type": "RFID",
               "contract_id": f"DE-MSP-C{uid}", "issuer": "MSP Mobility", "valid": True,
               "whitelist": SPECIAL.get(uid, "ALLOWED"),
               "last_updated": "2026-11-01T10:00:00Z"} for uid in names]
    path.write_text(json.dumps(tokens))
    return path


async def _cpo_token(db_url: str, uid: str) -> dict | None:
    db = Database(db_url)
    try:
        return await SqlStore(db).get(ModuleID.tokens, RoleEnum.cpo, uid, token_type="RFID")
    finally:
        await db.dispose()


async def _cpo_count(db_url: str) -> int:
    db = Database(db_url)
    try:
        _, total, _ = await SqlStore(db).list(ModuleID.tokens, RoleEnum.cpo, {"limit": 1})
        return total
    finally:
        await db.dispose()


async def _until(check, what: str, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while True:
        got = await check()
        if got:
            return got
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.2)


def _authorize(cpo_db: str, uid: str, *extra: str) -> dict:
    r = ocpi("tokens", "authorize", "de-msp-emsp", uid, "--json", *extra, db=cpo_db)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("version", ["2.1.1", "2.2.1", "2.3.0"])
async def test_tokens_between_two_nodes(tmp_path, version):
    cpo_db = f"sqlite:///{tmp_path / 'cpo.db'}"
    emsp_db = f"sqlite:///{tmp_path / 'emsp.db'}"
    locs = json.loads(locations_file(tmp_path / "locs.json").read_text())[:1]
    (tmp_path / "one.json").write_text(json.dumps(locs))
    assert ocpi("import", "locations", str(tmp_path / "one.json"), db=cpo_db).returncode == 0

    with ExitStack() as stack:
        cpo = stack.enter_context(serving(cpo_db, "cpo", "NL", "CPO"))
        emsp_stack = stack.enter_context(ExitStack())
        emsp = emsp_stack.enter_context(serving(emsp_db, "emsp", "DE", "MSP"))
        invite = json.loads(ocpi("peers", "invite", "--country-code", "DE", "--party-id",
                                 "MSP", "--role", "EMSP", "--json", db=cpo_db).stdout)
        r = ocpi("peers", "register", "--versions-url", invite["versions_url"],
                 f"--token={invite['token']}", "--version", version, "--json", db=emsp_db)
        assert r.returncode == 0, r.stderr

        # 1,000 tokens imported on the eMSP reach the CPO by push
        r = ocpi("import", "tokens", str(_tokens_file(tmp_path / "tokens.json")), db=emsp_db)
        assert r.returncode == 0, r.stderr

        async def all_there() -> bool:
            return await _cpo_count(cpo_db) == N_TOKENS
        await _until(all_there, "the CPO did not receive every token")
        got = await _cpo_token(cpo_db, "T0007")
        assert got is not None and got["contract_id"] == "DE-MSP-CT0007"
        assert (got["country_code"], got["party_id"]) == ("DE", "MSP")

        # a CPO may also pull them (a hub's daily pull, a partner that lost them)
        r = ocpi("peers", "pull", "de-msp-emsp", "tokens", "--json", db=cpo_db)
        assert r.returncode == 0, r.stderr
        pulled = json.loads(r.stdout)
        assert (pulled["received"], pulled["unchanged"], pulled["rejected"]) == \
            (N_TOKENS, N_TOKENS, 0)

        # blocked on the eMSP: the CPO receives the change
        url = f"{emsp}/ocpi/emsp/{version}/tokens/DE/MSP/BLOCKME"
        async with httpx.AsyncClient() as http:
            r = await http.patch(url, json={"valid": False, "last_updated":
                                            "2026-11-02T10:00:00Z"},
                                 headers=auth(OPERATOR, version))
            assert r.json()["status_code"] == 1000, r.text

        async def blocked() -> bool:
            token = await _cpo_token(cpo_db, "BLOCKME")
            return token is not None and token["valid"] is False
        await _until(blocked, "the block did not reach the CPO")

        # real-time authorization, the eMSP answering
        valid = _authorize(cpo_db, "T0001")
        assert (valid["allowed"], valid["decided_by"]) == ("ALLOWED", "emsp")
        assert valid["reference"]
        assert _authorize(cpo_db, "BLOCKME")["allowed"] == "BLOCKED"
        unknown = _authorize(cpo_db, "NOBODY")
        assert (unknown["allowed"], unknown["known"]) == ("NOT_ALLOWED", False)
        at = _authorize(cpo_db, "T0002", "--location", "LOC0000", "--evse", "E0")
        assert (at["allowed"], at["decided_by"]) == ("ALLOWED", "emsp")
        assert _authorize(cpo_db, "ALWAYS1")["decided_by"] == "local"

        # a session started after the authorization carries its reference to the eMSP
        session = {"country_code": "NL", "party_id": "CPO", "id": "S1",
                   "start_date_time": "2026-11-30T10:00:00Z", "kwh": 0,
                   "cdr_token": {"country_code": "DE", "party_id": "MSP", "uid": "T0002",
                                 "type": "RFID", "contract_id": "DE-MSP-CT0002"},
                   "auth_method": "AUTH_REQUEST", "location_id": "LOC0000",
                   "evse_uid": "E0", "connector_id": "1", "currency": "EUR",
                   "status": "ACTIVE", "last_updated": "2026-11-30T10:00:00Z"}
        async with httpx.AsyncClient() as http:
            r = await http.put(f"{cpo}/ocpi/cpo/2.2.1/sessions/NL/CPO/S1", json=session,
                               headers=auth(OPERATOR))
            assert r.json()["status_code"] == 1000, r.text

            async def carried() -> dict | None:
                got = await http.get(f"{emsp}/ocpi/emsp/2.2.1/sessions/NL/CPO/S1",
                                     headers=auth(OPERATOR))
                return got.json().get("data") if got.status_code == 200 else None
            arrived = await _until(carried, "the session did not reach the eMSP")
            assert arrived["authorization_reference"] == at["reference"]

        # the eMSP stopped: the whitelists decide
        emsp_stack.close()
        offline = {uid: _authorize(cpo_db, uid) for uid in
                   ("ALWAYS1", "T0003", "OFFLINE1", "NEVER1", "BLOCKME", "NOBODY")}
        assert {uid: (d["allowed"], d["decided_by"]) for uid, d in offline.items()} == {
            "ALWAYS1": ("ALLOWED", "local"), "T0003": ("ALLOWED", "local"),
            "OFFLINE1": ("ALLOWED", "local"), "NEVER1": ("NOT_ALLOWED", "local"),
            "BLOCKME": ("BLOCKED", "local"), "NOBODY": ("NOT_ALLOWED", "local")}

"""The Smappee connector against a local Smappee over real HTTP, on both backends."""

import asyncio
import json
import re
import time
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from ocpi.connectors.smappee import client as smappee_client
from ocpi.connectors.smappee.config import SmappeeConfig
from ocpi.connectors.smappee.mapping import session_id, to_session
from ocpi.connectors.smappee.sync import REFRESH_KEY, SmappeeSync
from ocpi.core.datetime import emitted, format_datetime, parse_datetime
from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.modules.sessions import mapper as session_mapper
from ocpi.modules.sessions.declaration import table as sessions
from ocpi.outbox import admin
from ocpi.store import settings as node_state
from ocpi.store.database import Database
from ocpi.store.sql_store import SqlStore

from .conftest import auth
from .outbox_helpers import receiving_partner
from .servers import served
from .smappee_server import CLIENT, USER, Scripted, SmappeeMock
from .test_partners_e2e import OPERATOR, ocpi, serving

T0 = int(parse_datetime("2026-03-10T00:00:00Z").timestamp() * 1000)
MIN = 60_000
PARK = "123"
SERIALS = [5820000001 + n for n in range(5)]
OWNER = ("NL", "OCP")


def config_dict(url: str) -> dict:
    return {"base_url": url, "client_id": CLIENT[0], "client_secret": CLIENT[1],
            "username": USER[0], "password": USER[1], "service_locations": [PARK],
            "stations": {str(s): {"location_id": "PARK-123", "evse_uid": f"EVSE-{s}",
                                  "connector_id": "1"} for s in SERIALS},
            "token_owners": {"04AABBCC": "DE/MSP", "*": "NL/OCP"}}


@pytest.fixture
def smappee():
    yield from served(SmappeeMock())


@pytest.fixture
async def store(database_url):
    db = Database(database_url)
    yield SqlStore(db)
    await db.dispose()


def sync_for(store: SqlStore, smappee: SmappeeMock, **changes) -> SmappeeSync:
    config = SmappeeConfig.from_dict({**config_dict(smappee.url), **changes})
    return SmappeeSync(store, config, OWNER, clock=lambda: smappee.now_ms / 1000)


async def _all(store: SqlStore) -> dict[str, dict]:
    items, _, _ = await store.list(ModuleID.sessions, RoleEnum.cpo, {"limit": 1000})
    return {s["id"]: s for s in items}


def scripted_day() -> list[Scripted]:
    """50 sessions through a day (some suspended, some without RFID) and one of 22
    hours, longer than the 6-hour active poll window the day is synced with."""
    day = []
    for i in range(50):
        start = T0 + i * 25 * MIN
        end = start + (40 + (i * 37) % 160) * MIN
        pause = (start + 20 * MIN, start + 35 * MIN) if i % 7 == 0 else None
        day.append(Scripted(i + 1, SERIALS[i % 5], start, end,
                            rfid=None if i % 10 == 9 else ("04AABBCC" if i % 2 else f"RF{i}"),
                            start_reading=1000.0 + i, kw=7.4 + (i % 3) * 3.6,
                            suspended=pause))
    day.append(Scripted(999, SERIALS[0], T0 - 2 * 60 * MIN, T0 + 20 * 60 * MIN,
                        start_reading=500.0, kw=0.5))
    return day


async def test_a_scripted_day_ends_with_exactly_the_right_sessions(store, smappee):
    smappee.parks[PARK] = script = scripted_day()
    # the eMSP behind token 04AABBCC is our partner: its sessions go out through the outbox
    await receiving_partner(store.db, "http://127.0.0.1:9", "DE", "MSP")
    sync = sync_for(store, smappee, active_window_days=0.25)
    history: dict[str, list[tuple[str, Decimal]]] = {}
    to_partner: list[tuple[str, str, Decimal, str]] = []
    smappee.now_ms = T0 - 3 * 60 * MIN
    polls: list[int] = []
    while smappee.now_ms <= T0 + 26 * 60 * MIN:
        polls.append(smappee.now_ms)
        result = await sync.run_once()
        assert result.unmapped == []
        stored = await _all(store)
        for sid, _ in result.changed:
            s = stored[sid]
            history.setdefault(sid, []).append((s["status"], s["kwh"]))
            if s["cdr_token"]["party_id"] == "MSP":
                to_partner.append((sid, s["status"], s["kwh"], s["last_updated"]))
        smappee.now_ms += 30 * MIN

    stored = await _all(store)
    assert len(stored) == 51
    for s in script:
        got = stored[session_id(PARK, s.id)]
        assert got["status"] == "COMPLETED"
        assert _ms(got["start_date_time"]) == became_active(s, polls)
        assert parse_datetime(got["end_date_time"]).timestamp() * 1000 == s.end_ms
        assert got["kwh"] == Decimal(str(s.reading(s.end_ms))) - Decimal(str(s.start_reading))
        assert (got["location_id"], got["evse_uid"], got["connector_id"]) == \
            ("PARK-123", f"EVSE-{s.serial}", "1")
        token = got["cdr_token"]
        if s.rfid == "04AABBCC":
            assert (token["country_code"], token["party_id"], token["uid"]) == \
                ("DE", "MSP", "04AABBCC")
        elif s.rfid:
            assert (token["country_code"], token["party_id"]) == ("NL", "OCP")
        assert token["type"] == ("RFID" if s.rfid else "OTHER")
        assert got["auth_method"] == "WHITELIST" and got["currency"] == "EUR"
        assert got["_source"]["smappee"]["id"] == s.id  # raw kept beside the mapping
        # what partners were told, in order: status and kWh never go backwards
        seen = history[session_id(PARK, s.id)]
        ranks = [["PENDING", "ACTIVE", "COMPLETED"].index(st) for st, _ in seen]
        assert ranks == sorted(ranks) and [k for _, k in seen] == sorted(k for _, k in seen)
        assert seen[-1][0] == "COMPLETED"

    moved = [s for s in script if became_active(s, polls) != s.start_ms]
    assert len(moved) >= 5  # the day has sessions a sync saw PENDING, then ACTIVE
    long = history[session_id(PARK, 999)]
    assert long[0][0] == "PENDING" and len(long) > 12  # followed to its end, though its
    assert became_active(script[-1], polls) > script[-1].start_ms  # start moved past `from`
    assert smappee.grants.count("password") == 1 and "refresh_token" in smappee.grants

    # the outbox holds exactly the partner's sessions' changes, in the order made
    queued = [json.loads(m.data) for _, m in
              await admin.messages(store.db, state="pending", limit=10_000)]
    assert [(q["id"], q["status"], Decimal(str(q["kwh"])), q["last_updated"])
            for q in queued] == to_partner
    theirs = {session_id(PARK, x.id) for x in script if x.rfid == "04AABBCC"}
    assert {q["id"] for q in queued} == theirs and len(theirs) > 20  # those only
    assert all(q["cdr_token"]["uid"] == "04AABBCC" for q in queued)

    before = await _rows(store)
    again = await sync.run_once()
    assert (again.created, again.updated, again.changed) == (0, 0, [])
    assert await _rows(store) == before
    assert len(await admin.messages(store.db, state="pending", limit=10_000)) == len(queued)


def _ms(text: str) -> int:
    return int(parse_datetime(text).timestamp() * 1000)


def became_active(s: Scripted, polls: list[int]) -> int:
    """The start OCPI wants, as our syncs can know it: Smappee's ``from``, unless a
    sync saw the session INITIAL (PENDING) and a later one saw it charging: then the
    time of that later sync."""
    for i, at in enumerate(polls[:-1]):
        seen = s.at(at)
        nxt = polls[i + 1]
        if seen and seen["status"] == "INITIAL" and (s.end_ms is None or nxt < s.end_ms):
            return nxt
    return s.start_ms


async def _rows(store: SqlStore) -> list[tuple]:
    async with store.db.begin() as tx:
        return [tuple(r) for r in (await tx.execute(
            select(sessions.c.id, sessions.c.last_updated, sessions.c.data)
            .order_by(sessions.c.id))).all()]


async def test_refresh_token_is_persisted_and_used_after_a_restart(store, smappee):
    smappee.parks[PARK] = [Scripted(1, SERIALS[0], T0, None)]
    smappee.now_ms = T0 + 10 * MIN
    await sync_for(store, smappee).run_once()
    assert smappee.grants == ["password"]
    saved = await node_state.get_value(store.db, REFRESH_KEY)
    assert saved in smappee.refresh

    smappee.expire_access_tokens()
    await sync_for(store, smappee).run_once()  # a new process: no access token in memory
    assert smappee.grants == ["password", "refresh_token"]
    rotated = await node_state.get_value(store.db, REFRESH_KEY)
    assert rotated != saved and rotated in smappee.refresh


async def test_refresh_before_expiry_and_once_after_a_401(store, smappee, monkeypatch):
    smappee.parks[PARK] = [Scripted(1, SERIALS[0], T0, None)]
    smappee.now_ms = T0 + 10 * MIN
    sync = sync_for(store, smappee)
    async with sync.client() as client:
        await client.sessions(PARK, T0)
        smappee.expire_access_tokens()  # Smappee ended it early: 401, refresh, retry
        assert len(await client.sessions(PARK, T0, active=True)) == 1
        monkeypatch.setattr(smappee_client, "REFRESH_MARGIN", 10 ** 9)  # "about to expire"
        await client.sessions(PARK, T0)
    assert smappee.grants == ["password", "refresh_token", "refresh_token"]


async def test_429_is_waited_out_as_retry_after_says(store, smappee):
    smappee.parks[PARK] = [Scripted(1, SERIALS[0], T0, T0 + 30 * MIN)]
    smappee.now_ms = T0 + 60 * MIN
    smappee.throttle = 1
    began = time.monotonic()
    result = await sync_for(store, smappee).run_once()
    assert time.monotonic() - began >= 0.9
    assert result.created == 1


async def test_a_single_object_answer_is_accepted(store, smappee):
    smappee.parks[PARK] = [Scripted(7, SERIALS[1], T0, T0 + 30 * MIN)]
    smappee.now_ms = T0 + 60 * MIN
    smappee.single_object = True
    result = await sync_for(store, smappee).run_once()
    assert result.created == 1 and session_id(PARK, 7) in await _all(store)


async def test_an_unmapped_station_fails_loudly_and_invents_nothing(store, smappee):
    smappee.parks[PARK] = [Scripted(1, SERIALS[0], T0, T0 + 30 * MIN),
                           Scripted(2, 9999, T0, T0 + 30 * MIN)]
    smappee.now_ms = T0 + 60 * MIN
    result = await sync_for(store, smappee).run_once()
    assert result.unmapped == ["9999"] and result.created == 1
    assert list(await _all(store)) == [session_id(PARK, 1)]


def test_mapping_carries_a_real_time_authorization():
    config = SmappeeConfig.from_dict(config_dict("http://x"))
    raw = {"id": 5, "serialNumber": SERIALS[0], "rfid": "04AABBCC", "from": T0,
           "to": T0 + MIN, "status": "STOPPED", "startReading": 1.5, "stopReading": 2.25}
    session = to_session(raw, PARK, config, OWNER, completed=True, authorization={
        "country_code": "BE", "party_id": "EMS", "authorization_reference": "AUTH-77"})
    assert session["auth_method"] == "AUTH_REQUEST"
    assert session["authorization_reference"] == "AUTH-77"
    assert (session["cdr_token"]["country_code"], session["cdr_token"]["party_id"]) == \
        ("BE", "EMS")
    assert session["kwh"] == Decimal("0.75")
    session["last_updated"] = "2026-03-10T00:01:00Z"
    wire = session_mapper.to_wire(session, "2.1.1", location={"id": "PARK-123"})
    assert wire["authorization_id"] == "AUTH-77"  # Gireve's 2.1.1 extension
    assert "_source" not in wire


def test_every_field_is_optional_and_statuses_map():
    config = SmappeeConfig.from_dict(config_dict("http://x"))
    seen = "2026-03-10T08:00:00Z"
    bare = to_session({"id": 1, "serialNumber": SERIALS[0]}, PARK, config, OWNER, seen_at=seen)
    assert bare["kwh"] == 0 and bare["status"] == "ACTIVE" and "end_date_time" not in bare
    assert bare["start_date_time"] == seen  # no 'from': the time we first saw it
    for smappee_status, ocpi_status in (("INITIAL", "PENDING"), ("STARTED", "ACTIVE"),
                                        ("CHARGING", "ACTIVE"), ("SUSPENDED", "ACTIVE"),
                                        ("STOPPING", "ACTIVE"), ("STOPPED", "ACTIVE")):
        raw = {"id": 1, "serialNumber": SERIALS[0], "status": smappee_status, "from": T0}
        assert to_session(raw, PARK, config, OWNER)["status"] == ocpi_status
    # only the completed list completes a session, whatever its status says
    done = to_session({"id": 1, "serialNumber": SERIALS[0], "from": T0}, PARK, config, OWNER,
                      completed=True, seen_at=seen)
    assert done["status"] == "COMPLETED" and done["end_date_time"] == seen
    # never backwards: a late ACTIVE after COMPLETED, a lower reading after a higher one
    previous = {"status": "COMPLETED", "kwh": Decimal("5"), "start_date_time": "x"}
    raw = {"id": 1, "serialNumber": SERIALS[0], "status": "CHARGING", "startReading": 1,
           "stopReading": 3}
    again = to_session(raw, PARK, config, OWNER, previous)
    assert again["status"] == "COMPLETED" and again["kwh"] == 5
    with pytest.raises(ValueError, match="not epoch ms"):
        to_session({"id": 1, "serialNumber": SERIALS[0], "from": "soon"}, PARK, config, OWNER)


def test_secrets_come_from_the_environment_and_never_show(monkeypatch, tmp_path):
    raw = config_dict("http://x")
    del raw["password"]
    monkeypatch.setenv("SMAPPEE_PASSWORD", "from-env-secret")
    config = SmappeeConfig.from_dict(raw)
    assert config.password == "from-env-secret"
    assert "from-env-secret" not in repr(config) and CLIENT[1] not in repr(config)
    monkeypatch.delenv("SMAPPEE_PASSWORD")
    with pytest.raises(ValueError, match="missing password"):
        SmappeeConfig.from_dict(raw)


def test_the_sync_command(smappee, tmp_path):
    smappee.parks[PARK] = [Scripted(1, SERIALS[0], T0, T0 + 30 * MIN),
                           Scripted(2, SERIALS[1], T0 + MIN, None)]
    smappee.now_ms = int(time.time() * 1000)  # the command runs on the real clock
    for s in smappee.parks[PARK]:
        s.start_ms += smappee.now_ms - T0 - 60 * MIN
        if s.end_ms:
            s.end_ms += smappee.now_ms - T0 - 60 * MIN
    path = tmp_path / "smappee.json"
    path.write_text(json.dumps(config_dict(smappee.url)))
    db = f"sqlite:///{tmp_path / 'node.db'}"
    args = ("smappee", "sync", "--config", str(path), "--country-code", "NL", "--party-id",
            "OCP", "--json")
    r = ocpi(*args, db=db)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"created": 2, "updated": 0, "unchanged": 0, "unmapped": []}
    assert USER[1] not in r.stdout + r.stderr and CLIENT[1] not in r.stdout + r.stderr
    r = ocpi(*args, db=db)
    again = json.loads(r.stdout)
    assert (again["created"], again["updated"], again["unmapped"]) == (0, 0, [])
    smappee.parks[PARK].append(Scripted(3, 1234, smappee.now_ms - MIN, None))
    r = ocpi(*args, db=db)
    assert r.returncode == 1 and "1234" in r.stdout


async def test_serve_runs_the_sync_periodically(smappee, tmp_path):
    """`ocpi serve --smappee-config` syncs on its own; the park API shows the result."""
    now = int(time.time() * 1000)
    smappee.now_ms = now
    smappee.parks[PARK] = [Scripted(1, SERIALS[0], now - 10 * MIN, None)]
    path = tmp_path / "smappee.json"
    path.write_text(json.dumps({**config_dict(smappee.url), "interval_seconds": 0.3}))
    db = f"sqlite:///{tmp_path / 'node.db'}"
    query = f"range={now - 60 * MIN},{now + 60 * MIN}"
    with serving(db, "cpo", "NL", "OCP", "--smappee-config", str(path)) as base:
        async with httpx.AsyncClient() as http:
            async def park(active: str) -> list:
                r = await http.get(f"{base}/api/v1/chargingparks/PARK-123/sessions?{query}"
                                   f"&active={active}", headers=auth(OPERATOR))
                return r.json()["data"]

            deadline = time.monotonic() + 15
            while not (live := await park("true")) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            assert [s["id"] for s in live] == [session_id(PARK, 1)]
            smappee.parks[PARK][0].end_ms = now + MIN  # it stops; the next round sees it
            smappee.now_ms = now + 2 * MIN
            while not (done := await park("false")) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            assert done[0]["status"] == "COMPLETED" and await park("true") == []


async def test_a_session_on_a_station_mapped_later_is_still_picked_up(store, smappee):
    smappee.parks[PARK] = [Scripted(1, 9999, T0, T0 + 30 * MIN)]
    smappee.now_ms = T0 + 60 * MIN
    assert (await sync_for(store, smappee).run_once()).unmapped == ["9999"]
    smappee.now_ms = T0 + 10 * 60 * MIN  # hours later, the operator maps the station
    mapped = {str(9999): {"location_id": "PARK-123", "evse_uid": "EVSE-X", "connector_id": "1"}}
    result = await sync_for(store, smappee, stations=mapped).run_once()
    assert result.created == 1 and result.ok


async def test_one_access_token_serves_many_rounds(store, smappee):
    smappee.parks[PARK] = [Scripted(1, SERIALS[0], T0, None)]
    smappee.now_ms = T0 + 10 * MIN
    sync = sync_for(store, smappee)
    for _ in range(5):
        await sync.run_once()
    assert smappee.grants == ["password"]


async def test_a_failing_park_does_not_stop_the_others(store, smappee):
    smappee.parks["456"] = [Scripted(1, SERIALS[0], T0, T0 + 30 * MIN)]
    smappee.now_ms = T0 + 60 * MIN
    smappee.throttle = 1
    smappee.retry_after = "3600"  # longer than we wait: this round gives up on park 123
    sync = sync_for(store, smappee, service_locations=["123", "456"])
    result = await sync.run_once()
    assert result.problems == [result.problems[0]] and "park 123" in result.problems[0]
    assert "asked to wait 3600s" in result.problems[0]
    assert result.created == 1  # park 456 went on
    assert (await sync.run_once()).ok


def test_retry_after_in_seconds_or_as_an_http_date():
    from email.utils import format_datetime as http_date

    from ocpi.connectors.smappee.client import _retry_after

    assert _retry_after("7") == 7.0
    assert _retry_after(None) is None and _retry_after("soon") is None
    in_30s = http_date(datetime.fromtimestamp(time.time() + 30, UTC), usegmt=True)
    assert 25 <= _retry_after(in_30s) <= 31
    assert _retry_after(http_date(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True)) == 0


async def test_a_session_seen_pending_starts_when_a_sync_first_sees_it_active(store, smappee):
    """OCPI's start_date_time is the moment the session became ACTIVE; Smappee dates
    only the creation (``from``), so the sync that sees the change dates it."""
    await receiving_partner(store.db, "http://127.0.0.1:9", "DE", "MSP")
    pending = Scripted(1, SERIALS[0], T0, None)  # INITIAL for its first minute
    charging = Scripted(2, SERIALS[1], T0, None)
    smappee.parks[PARK] = [pending]
    sync = sync_for(store, smappee)
    smappee.now_ms = T0 + 30_000
    await sync.run_once()
    first = (await _all(store))[session_id(PARK, 1)]
    assert (first["status"], _ms(first["start_date_time"])) == ("PENDING", T0)

    smappee.parks[PARK].append(charging)  # first seen when already charging
    smappee.now_ms = T0 + 5 * MIN
    await sync.run_once()
    stored = await _all(store)
    active = stored[session_id(PARK, 1)]
    assert (active["status"], _ms(active["start_date_time"])) == ("ACTIVE", T0 + 5 * MIN)
    assert _ms(stored[session_id(PARK, 2)]["start_date_time"]) == T0  # Smappee's from

    smappee.now_ms = T0 + 10 * MIN  # later rounds keep the moved start
    await sync.run_once()
    assert (await _all(store))[session_id(PARK, 1)]["start_date_time"] == \
        active["start_date_time"]
    pending.end_ms = T0 + 12 * MIN
    smappee.now_ms = T0 + 15 * MIN
    await sync.run_once()
    done = (await _all(store))[session_id(PARK, 1)]
    assert done["status"] == "COMPLETED" and _ms(done["start_date_time"]) == T0 + 5 * MIN
    assert _ms(done["end_date_time"]) == T0 + 12 * MIN

    # partners were told the same: created PENDING at `from`, then ACTIVE from the sync's time
    queued = [json.loads(m.data) for _, m in
              await admin.messages(store.db, state="pending", limit=100)
              if m.object_key.endswith(session_id(PARK, 1).lower())]
    assert [(q["status"], _ms(q["start_date_time"])) for q in queued][:2] == \
        [("PENDING", T0), ("ACTIVE", T0 + 5 * MIN)]


def test_a_session_pending_until_it_completed_keeps_smappees_start():
    """Never seen ACTIVE: there is no moment to move the start to."""
    config = SmappeeConfig.from_dict(config_dict("http://x"))
    raw = {"id": 1, "serialNumber": SERIALS[0], "status": "INITIAL", "from": T0}
    before = {**to_session(raw, PARK, config, OWNER), "last_updated": "2026-03-10T00:00:30Z"}
    raw.update(status="STOPPED", to=T0 + 20 * MIN)
    done = to_session(raw, PARK, config, OWNER, before, completed=True,
                      seen_at="2026-03-10T00:30:00Z")
    assert done["status"] == "COMPLETED" and _ms(done["start_date_time"]) == T0


async def test_smappee_datetimes_have_at_most_three_fractional_digits(store, smappee):
    smappee.parks[PARK] = [Scripted(1, SERIALS[0], T0 + 123, T0 + 30 * MIN + 456)]
    smappee.now_ms = T0 + 60 * MIN + 789
    await sync_for(store, smappee).run_once()
    got = (await _all(store))[session_id(PARK, 1)]
    assert got["start_date_time"] == "2026-03-10T00:00:00.123Z"
    assert got["end_date_time"] == "2026-03-10T00:30:00.456Z"
    assert len(got["last_updated"]) <= 24  # the sync's own clock: milliseconds at most
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z", got["last_updated"])
    for version in ("2.1.1", "2.2.1", "2.3.0"):
        wire = session_mapper.to_wire(got, version, location={"id": "PARK-123"})
        assert all(len(wire[k]) <= 25 for k in wire if "date" in k or k == "last_updated")


def test_format_datetime_cuts_to_milliseconds():
    """string(25) at most: 2023-11-14T22:13:20.123456Z (27) is what we used to send."""
    at = datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
    assert format_datetime(at) == "2023-11-14T22:13:20.123Z"
    assert format_datetime(at.replace(microsecond=999_999)) == "2023-11-14T22:13:20.999Z"
    assert format_datetime(at.replace(microsecond=1000)) == "2023-11-14T22:13:20.001Z"
    assert format_datetime(at.replace(microsecond=999)) == "2023-11-14T22:13:20Z"
    assert emitted("2023-11-14T22:13:20.123456Z") == "2023-11-14T22:13:20.123Z"
    assert emitted("2023-11-14T22:13:20.12+00:00") == "2023-11-14T22:13:20.120Z"  # 28 chars
    for kept in ("2023-11-14T22:13:20Z", "2023-11-14T22:13:20.1", "2023-11-14T22:13:20+00:00",
                 "not a date", 5):
        assert emitted(kept) == kept


async def test_a_charging_park_session_that_ends_becomes_a_cdr_with_no_operator_action(
        store, smappee):
    """The Location and its tariff are the CPO's; the Smappee session is all the rest."""
    connector = {"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET",
                 "power_type": "AC_3_PHASE", "max_voltage": 230, "max_amperage": 16,
                 "tariff_ids": ["KWH"], "last_updated": "2026-03-01T00:00:00Z"}
    await store.create(ModuleID.tariffs, RoleEnum.cpo, {
        "country_code": "NL", "party_id": "OCP", "id": "KWH", "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": Decimal("0.30"),
                                            "step_size": 1}]}],
        "tax_included": "NO", "last_updated": "2026-03-01T00:00:00Z"})
    await store.create(ModuleID.locations, RoleEnum.cpo, {
        "country_code": "NL", "party_id": "OCP", "id": "PARK-123", "publish": True,
        "address": "Street 1", "city": "Town", "country": "NLD",
        "coordinates": {"latitude": "52.0", "longitude": "5.0"},
        "time_zone": "Europe/Amsterdam", "last_updated": "2026-03-01T00:00:00Z",
        "evses": [{"uid": f"EVSE-{SERIALS[0]}", "evse_id": "NL*OCP*E5820000001",
                   "status": "AVAILABLE",
                   "connectors": [connector], "last_updated": "2026-03-01T00:00:00Z"}]})
    # 11 kW for 60 minutes: 11 kWh at 0.30 = 3.30
    smappee.parks[PARK] = [Scripted(1, SERIALS[0], T0, T0 + 60 * MIN, kw=11.0)]
    smappee.now_ms = T0 + 30 * MIN
    sync = sync_for(store, smappee)
    await sync.run_once()
    sid = session_id(PARK, 1)
    assert await store.get(ModuleID.cdrs, RoleEnum.cpo, sid, **_OWNED) is None  # running
    smappee.now_ms = T0 + 90 * MIN
    await sync.run_once()
    cdr = await store.get(ModuleID.cdrs, RoleEnum.cpo, sid, **_OWNED)
    assert cdr is not None
    assert Decimal(str(cdr["total_energy"])) == Decimal("11")
    assert Decimal(str(cdr["total_cost"]["before_taxes"])) == Decimal("3.30")
    assert cdr["cdr_location"]["evse_uid"] == f"EVSE-{SERIALS[0]}"


_OWNED = {"country_code": "NL", "party_id": "OCP"}

"""``GET /api/v1/chargingparks/{location_id}/sessions`` on both backends."""

import csv
import io
from datetime import UTC, datetime

import pytest

from ocpi.core.datetime import format_datetime
from ocpi.core.enums import ModuleID, RoleEnum

from .conftest import auth, body, op

T = 1_773_100_800_000  # an instant in epoch milliseconds


def iso(ms: int) -> str:
    return format_datetime(datetime.fromtimestamp(ms / 1000, UTC))


def session(sid: str, start_ms: int, status: str = "COMPLETED", location: str = "PARK-1"
            ) -> dict:
    s = {"country_code": "NL", "party_id": "OCP", "id": sid, "start_date_time": iso(start_ms),
         "kwh": 12.5, "cdr_token": {"country_code": "DE", "party_id": "MSP", "uid": f"U-{sid}",
                                    "type": "RFID", "contract_id": f"C-{sid}"},
         "auth_method": "WHITELIST", "location_id": location, "evse_uid": "E1",
         "connector_id": "1", "currency": "EUR", "status": status,
         "last_updated": iso(start_ms), "_source": {"secret": "internal"}}
    if status == "COMPLETED":
        s["end_date_time"] = iso(start_ms + 3_600_000)
    return s


@pytest.fixture
async def parks(node):
    store = node.node.crud
    for s in (session("before", T - 1), session("at-from", T), session("inside", T + 500),
              session("last-ms", T + 999), session("at-to", T + 1000),
              session("live", T + 10, "ACTIVE"), session("pending", T + 20, "PENDING"),
              session("elsewhere", T + 5, location="PARK-2")):
        await store.create(ModuleID.sessions, RoleEnum.cpo, s)
    return node


async def get(node, query: str, headers=None):
    return await node.client.get(f"/api/v1/chargingparks/PARK-1/sessions{query}",
                                 headers=headers or op())


async def test_range_is_start_inclusive_end_exclusive_at_the_millisecond(parks):
    r = await get(parks, f"?range={T},{T + 1000}")
    assert r.status_code == 200
    assert [s["id"] for s in body(r)["data"]] == ["at-from", "inside", "last-ms"]
    r = await get(parks, f"?range={T + 1},{T + 999}")
    assert [s["id"] for s in body(r)["data"]] == ["inside"]
    r = await get(parks, f"?range={T}")  # no end: everything from FROM on
    assert [s["id"] for s in body(r)["data"]] == ["at-from", "inside", "last-ms", "at-to"]


async def test_location_ids_match_whatever_their_case(parks):
    """Location ids are CiStrings: PARK-1 and park-1 are the same park."""
    r = await parks.client.get(f"/api/v1/chargingparks/park-1/sessions?range={T},{T + 1}",
                               headers=op())
    assert [s["id"] for s in body(r)["data"]] == ["at-from"]


async def test_active_selects_sessions_not_yet_completed(parks):
    r = await get(parks, f"?range={T},{T + 1000}&active=true")
    assert [s["id"] for s in body(r)["data"]] == ["live", "pending"]
    r = await get(parks, f"?range={T},{T + 1000}&active=false")
    assert "live" not in [s["id"] for s in body(r)["data"]]


async def test_private_fields_are_not_shown(parks):
    r = await get(parks, f"?range={T},{T + 1}")
    [only] = body(r)["data"]
    assert only["id"] == "at-from" and "_source" not in only


async def test_csv_has_one_row_per_session(parks):
    r = await get(parks, f"?range={T},{T + 1000}", headers={**op(), "Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["id", "evse", "connector", "start", "end", "kwh", "status", "token_uid"]
    assert rows[1] == ["at-from", "E1", "1", iso(T), iso(T + 3_600_000), "12.5", "COMPLETED",
                       "U-at-from"]
    assert len(rows) == 4


@pytest.mark.parametrize("query,message", [
    ("", "range: required"),
    ("?range=", "range: required"),
    ("?range=yesterday", "FROM 'yesterday' is not epoch milliseconds"),
    (f"?range={T},soon", "TO 'soon' is not epoch milliseconds"),
    (f"?range={T},{T - 1}", "TO is before FROM"),
    (f"?range={T},{T + 1},{T + 2}", "more than two values"),
    (f"?range=-{T}", "is not epoch milliseconds"),
    (f"?range={T}&active=maybe", "active: 'maybe'"),
])
async def test_malformed_queries_get_400_saying_what_is_wrong(parks, query, message):
    r = await get(parks, query)
    assert r.status_code == 200 and body(r)["status_code"] == 2001
    assert message in body(r)["status_message"]


async def test_operator_only(parks):
    partner = await parks.partner("DE", "MSP", "EMSP")
    r = await get(parks, f"?range={T}", headers=auth(partner))
    assert r.status_code == 403
    r = await get(parks, f"?range={T}", headers={"Authorization": "Token nope"})
    assert r.status_code == 401

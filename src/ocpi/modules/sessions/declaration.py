"""Sessions as the kernel knows them: table, key columns, rules, push."""

from typing import Any

from sqlalchemy import Column, DateTime, Index, String

from ...core.enums import ModuleID, RoleEnum
from ...core.status import Status
from ...store.keys import id_key, party_key, ts_key
from ...store.schema import object_table
from ..kernel import Getter, ObjectType, PushRule, declare
from ..versions.enums import is_v2_1
from . import mapper
from .schemas import SCHEMAS

table = object_table(
    "sessions",
    Column("location_id", String(64)),
    Column("start_date_time", DateTime()),
    Column("status", String(16)),
    Column("token_country_code", String(2)),
    Column("token_party_id", String(3)),
    # an eMSP lists only the sessions of its own tokens
    Index("ix_sessions_token_owner", "role", "token_country_code", "token_party_id", "seq"),
)


def _columns(data: dict[str, Any]) -> dict[str, Any]:
    token = data.get("cdr_token") or {}
    start = data.get("start_date_time")
    return {
        "location_id": id_key(data["location_id"]) if data.get("location_id") else None,
        "start_date_time": ts_key(start) if start else None,
        "status": data.get("status"),
        "token_country_code": party_key(token["country_code"]) if token.get("country_code")
        else None,
        "token_party_id": party_key(token["party_id"]) if token.get("party_id") else None,
    }


def _to_wire(data: dict[str, Any], version: str, *, strict: bool = True,
             context: dict[str, Any] | None = None) -> dict[str, Any]:
    return mapper.to_wire(data, version, strict, location=context)


def _needs_location(data: dict[str, Any], version: str) -> bool:
    return is_v2_1(version) and mapper.needs_location(data)


async def _location(get: Getter, session: dict[str, Any]) -> dict[str, Any]:
    """The 2.1.1 ``location`` of a session that came in a newer version."""
    loc = await get(ModuleID.locations, session["location_id"], session.get("country_code"),
                    session.get("party_id"))
    return mapper.embedded_location(session, loc)


SESSIONS = declare(ObjectType(
    module=ModuleID.sessions, name="Session", table=table, own_role=RoleEnum.cpo,
    schemas=SCHEMAS, to_wire=_to_wire, to_canonical=mapper.to_canonical,
    url_keys=lambda params, query, version: [(params["session_id"], {})],
    columns=_columns, push=PushRule.TO_TOKEN_OWNER,
    appended=lambda version: () if is_v2_1(version) else ("charging_periods",),
    put_when_changed=frozenset({"charging_periods", "location"}),
    # no version has an "unknown session" code: the generic client error, with a 404
    unknown_status=lambda version: Status.CLIENT_ERROR,
    needs_context=_needs_location, load_context=_location, visible_to_token_owner=True,
))

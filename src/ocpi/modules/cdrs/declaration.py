"""CDRs as the kernel knows them (OCPI 2.1.1 ``mod_cdrs.md``, 2.2.1 and 2.3.0
``mod_cdrs.asciidoc``): the CPO's own, built by the node from its completed
Sessions (``services/cdr_builder.py``) and POSTed once to the eMSP owning the
token (through the hubs that reach it, as Sessions go), never changed after;
an eMSP's received CDRs are checked against the tariff it holds.

A CDR's 2.1.1 form embeds the Location, cut to its EVSE and Connector: a CDR
that came in a newer version borrows the stored one (``load_context``)."""

from typing import Any

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Text

from ...core.enums import ModuleID, RoleEnum
from ...store.keys import party_key
from ...store.schema import metadata, object_table
from ..kernel import Getter, ObjectType, PushRule, declare
from ..versions.enums import is_v2_1
from . import mapper
from .schemas import SCHEMAS

table = object_table(
    "cdrs",
    Column("token_country_code", String(2)),
    Column("token_party_id", String(3)),
    # a received CDR checked against our tariff: agreed | disputed | unchecked
    Column("check_state", String(16)),
    # an eMSP lists only the CDRs of its own tokens
    Index("ix_cdrs_token_owner", "role", "token_country_code", "token_party_id", "seq"),
)

# our completed sessions whose CDR could not be built (no tariff, a currency
# mismatch, a tariff that cannot price them): held for the operator, never guessed
holds = Table(
    "cdr_holds",
    metadata,
    Column("country_code", String(2), primary_key=True),
    Column("party_id", String(3), primary_key=True),
    Column("session_id", String(64), primary_key=True),  # the session's key (id_key)
    Column("reason", Text, nullable=False),
    Column("held_at", DateTime(), nullable=False),
    Column("attempts", Integer, nullable=False),
)


def _columns(data: dict[str, Any]) -> dict[str, Any]:
    token = data.get("cdr_token") or {}
    check = data.get("_check")
    return {
        "token_country_code": party_key(token["country_code"]) if token.get("country_code")
        else None,
        "token_party_id": party_key(token["party_id"]) if token.get("party_id") else None,
        "check_state": check.get("state") if isinstance(check, dict) else None,
    }


def _needs_location(data: dict[str, Any], version: str) -> bool:
    return is_v2_1(version) and mapper.needs_location(data, version)


async def _location(get: Getter, cdr: dict[str, Any]) -> dict[str, Any] | None:
    """The stored Location a 2.1.1 CDR embeds (the mapper cuts it to the CDR's EVSE)."""
    where = cdr.get("cdr_location") or {}
    if not where.get("id"):
        return None
    return await get(ModuleID.locations, str(where["id"]), cdr.get("country_code"),
                     cdr.get("party_id"))


def _to_wire(data: dict[str, Any], version: str, *, strict: bool = True,
             context: dict[str, Any] | None = None) -> dict[str, Any]:
    return mapper.to_wire(data, version, strict=strict, context=context)


CDRS = declare(ObjectType(
    module=ModuleID.cdrs, name="CDR", table=table, own_role=RoleEnum.cpo,
    schemas=SCHEMAS, to_wire=_to_wire, to_canonical=mapper.to_canonical,
    url_keys=lambda params, query, version: [(params["cdr_id"], {})],
    columns=_columns, push=PushRule.TO_TOKEN_OWNER, push_methods=frozenset({"POST"}),
    needs_context=_needs_location, load_context=_location, visible_to_token_owner=True,
    readers=frozenset({"EMSP"}), generated=True,
))

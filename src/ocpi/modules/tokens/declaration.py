"""Tokens as the kernel knows them: keyed by uid and type, the eMSP's own,
pushed to every CPO partner; and the record of real-time authorizations."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Column, DateTime, Index, Integer, String, Table

from ...core.enums import ModuleID, RoleEnum
from ...core.status import Status
from ...store.schema import _Seq, metadata, object_table
from ..kernel import CallKey, ObjectType, PushRule, declare
from ..versions.enums import is_v2_1
from . import mapper
from .schemas import SCHEMAS

DEFAULT_TYPE = "RFID"  # what a URL without ?type= means

table = object_table("token_objects")

# every real-time authorization, asked (CPO) or answered (eMSP): the CPO's session
# that follows carries its reference
authorizations = Table(
    "token_authorizations",
    metadata,
    Column("seq", _Seq, primary_key=True, autoincrement=True),
    Column("role", String(8), nullable=False),  # EMSP: we answered; CPO: we asked
    Column("reference", String(36)),  # authorization_reference (2.1.1: authorization_id)
    Column("peer_id", Integer),  # the partner asked, or asking
    Column("token_country_code", String(2)),
    Column("token_party_id", String(3)),
    Column("uid", String(36), nullable=False),
    Column("type", String(16), nullable=False),
    Column("location_id", String(64)),
    Column("evse_uid", String(64)),
    Column("allowed", String(16), nullable=False),
    Column("decided_by", String(8), nullable=False),  # emsp | local
    Column("created_at", DateTime(), nullable=False),
    Column("session_id", String(64)),  # the session that carried the reference
    Index("ix_token_authorizations_uid", "role", "uid", "created_at"),
    Index("ix_token_authorizations_created", "created_at"),  # pruning (records.py)
)


def store_key(uid: str, token_type: str | None) -> str:
    """The store's one-string key of a token: its type and uid."""
    return f"{(token_type or DEFAULT_TYPE).upper()}:{uid}"


def _url_keys(params: Mapping[str, str], query: Mapping[str, str], version: str
              ) -> list[CallKey]:
    uid = params["token_uid"]
    given = query.get("type")
    if given:
        return [(uid, {"token_type": given})]
    if is_v2_1(version):  # 2.1.1 URLs name no type: the uid's RFID token, else OTHER
        return [(uid, {"token_type": DEFAULT_TYPE}), (uid, {"token_type": "OTHER"})]
    return [(uid, {"token_type": DEFAULT_TYPE})]


def _url_path(data: dict[str, Any], version: str) -> str:
    path = f"/{data['country_code']}/{data['party_id']}/{data['uid']}"
    return path if is_v2_1(version) else f"{path}?type={mapper.wire_type(data['type'], version)}"


TOKENS = declare(ObjectType(
    module=ModuleID.tokens, name="Token", table=table, own_role=RoleEnum.emsp,
    schemas=SCHEMAS, to_wire=mapper.to_wire, to_canonical=mapper.to_canonical,
    key=lambda data: store_key(str(data["uid"]), str(data["type"])),
    url_keys=_url_keys,
    call_key=lambda data: (str(data["uid"]), {"token_type": str(data["type"])}),
    key_of_call=lambda id, kwargs: store_key(id, kwargs.get("token_type")),
    id_field="uid", push=PushRule.TO_CPOS, readers=frozenset({"CPO"}),
    url_path=_url_path,
    # 2004 Unknown Token exists from 2.2 on; 2.1.1 answers an unknown token with a 404
    # and its generic client error
    unknown_status=lambda version: Status.CLIENT_ERROR if is_v2_1(version)
    else Status.UNKNOWN_TOKEN,
))


def token_call(token_type: str | None) -> dict[str, Any]:
    """The keyword extras a ``Crud`` call for one token carries."""
    return {"token_type": token_type or DEFAULT_TYPE}



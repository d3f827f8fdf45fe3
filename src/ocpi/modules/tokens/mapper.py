"""Token: wire <-> canonical (the 2.3.0 Token).

2.1.1's ``auth_id`` is the canonical ``contract_id``; a 2.1.1 token is owned
by the party in its URL. Going out, each version gets only what it carries:
2.1.1 has two token types (the others go as OTHER, the spec's catch-all) and
2.2.1 no EMAID (sent as OTHER too).
"""

from typing import Any

from ...core.datetime import emitted
from ...core.mapping import drop
from ..versions.enums import is_v2_1
from .schemas import TOKEN_TYPES_211, TOKEN_TYPES_221

_ONLY_22 = frozenset({"country_code", "party_id", "group_id", "default_profile_type",
                      "energy_contract", "contract_id"})


def to_canonical(obj: dict[str, Any], version: str, country_code: str | None = None,
                 party_id: str | None = None) -> dict[str, Any]:
    out = dict(obj)
    if is_v2_1(version):
        if "auth_id" in out:
            out["contract_id"] = out.pop("auth_id")
        if country_code is not None:
            out.setdefault("country_code", country_code)
            out.setdefault("party_id", party_id)
    return out


def wire_type(token_type: str, version: str) -> str:
    """The type a version can carry (what its URL's ``?type=`` says, too)."""
    if is_v2_1(version):
        return token_type if token_type in TOKEN_TYPES_211 else "OTHER"
    if version == "2.2.1":
        return token_type if token_type in TOKEN_TYPES_221 else "OTHER"
    return token_type


def to_wire(obj: dict[str, Any], version: str, *, strict: bool = True,
            context: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {k: v for k, v in obj.items() if not k.startswith("_")} if strict else dict(obj)
    if isinstance(out.get("type"), str):
        out["type"] = wire_type(out["type"], version)
    if is_v2_1(version):
        if "contract_id" in out:
            out["auth_id"] = out["contract_id"]
        if strict:
            out = drop(out, _ONLY_22)
    if strict and "last_updated" in out:
        out["last_updated"] = emitted(out["last_updated"])
    return out

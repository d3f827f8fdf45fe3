"""ClientInfo as the kernel knows it: a hub's report on a party it reaches.

The hub owns the data (the specification's "Data owner: Hub"): rows are
stored under HUB, whichever of our interfaces the report came in on, and the
push rule sends none. A row is stored under the party it describes and keyed
by the reporting hub (``FR*GIR``), so two hubs reaching the same party keep
two reports. The canonical object is the wire object, its party upper-cased,
plus ``_reported_by``.
"""

from typing import Any

from ...core.datetime import emitted
from ...core.enums import ModuleID, RoleEnum
from ...store.schema import object_table
from ..kernel import ObjectType, declare
from .schemas import SCHEMAS

table = object_table("client_info_objects")


def hub_key(country_code: str, party_id: str) -> str:
    """The store's key of a report: the hub that made it."""
    return f"{country_code.upper()}*{party_id.upper()}"


def to_canonical(obj: dict[str, Any], version: str, country_code: str | None = None,
                 party_id: str | None = None) -> dict[str, Any]:
    """``country_code``/``party_id`` name the hub that reported ``obj``."""
    out = dict(obj)
    for field in ("country_code", "party_id"):
        if isinstance(out.get(field), str):
            out[field] = out[field].upper()
    if country_code is not None and party_id is not None:
        out["_reported_by"] = hub_key(country_code, party_id)
    return out


def to_wire(obj: dict[str, Any], version: str, *, strict: bool = True,
            context: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {k: v for k, v in obj.items() if not k.startswith("_")} if strict else dict(obj)
    if strict and "last_updated" in out:
        out["last_updated"] = emitted(out["last_updated"])
    return out


CLIENT_INFO = declare(ObjectType(
    module=ModuleID.hub_client_info, name="ClientInfo", table=table, own_role=RoleEnum.hub,
    schemas=SCHEMAS, to_wire=to_wire, to_canonical=to_canonical,
    key=lambda data: str(data["_reported_by"]),
    call_key=lambda data: (str(data["_reported_by"]), {}),
    id_field="country_code", hub_reported=True,
))

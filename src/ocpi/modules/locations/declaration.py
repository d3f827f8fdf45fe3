"""Locations as the kernel knows them: table, rules, push. Their EVSEs and
Connectors are reached through the Location (``module.py``)."""

from typing import Any

from ...core.enums import ModuleID, RoleEnum
from ...core.status import Status
from ...store.schema import object_table
from ..kernel import ObjectType, PushRule, declare
from . import mapper
from .schemas import SCHEMAS

table = object_table("locations")


def _to_wire(data: dict[str, Any], version: str, *, strict: bool = True,
             context: dict[str, Any] | None = None, kind: str = "location") -> dict[str, Any]:
    return mapper.to_wire(data, version, kind, strict)


def _to_canonical(data: dict[str, Any], version: str, country_code: str | None = None,
                  party_id: str | None = None, kind: str = "location") -> dict[str, Any]:
    return mapper.to_canonical(data, version, kind, country_code, party_id)


def model(version: str, kind: str) -> Any:
    """The schema of a Location, EVSE or Connector in ``version``."""
    return SCHEMAS.get(version, SCHEMAS["2.3.0"])[kind]


def _tariffs(location: dict[str, Any]) -> list[tuple[ModuleID, str]]:
    """The tariffs a Location's connectors name (2.1.1 ``tariff_id`` is canonical
    ``tariff_ids``)."""
    return [(ModuleID.tariffs, str(t)) for e in location.get("evses") or ()
            for c in e.get("connectors") or () for t in c.get("tariff_ids") or ()]


LOCATIONS = declare(ObjectType(
    module=ModuleID.locations, name="Location", table=table, own_role=RoleEnum.cpo,
    schemas={v: kinds["location"] for v, kinds in SCHEMAS.items()},
    to_wire=_to_wire, to_canonical=_to_canonical,
    url_keys=lambda params, query, version: [(params["location_id"], {})],
    push=PushRule.TO_NON_CPOS, keyed_lists={"evses": "uid", "connectors": "id"},
    unknown_status=lambda version: Status.UNKNOWN_LOCATION, nested_patch=True,
    nested_model=lambda version, kind: model(version, kind), own_problem=mapper.unservable,
    references=_tariffs, complete_own=mapper.derive_time_zone,
))

"""Whole objects that reach the node outside a partner's push (a file, a pull):
validated in their version, nulls dropped, then mapped to the canonical shape,
exactly as a push would be."""

from typing import Any

from pydantic import ValidationError

from ..core.mapping import without_nulls
from ..core.transport import validation_message
from .locations import mapper as location_mapper
from .locations.schemas import SCHEMAS as LOCATION_SCHEMAS
from .sessions import mapper as session_mapper
from .sessions.schemas import SCHEMAS as SESSION_SCHEMAS

MODULES = ("locations", "sessions")


def from_wire(module: str, item: Any, version: str, country_code: str | None = None,
              party_id: str | None = None) -> dict[str, Any]:
    """The canonical object; ``ValueError`` naming the field when it is not valid.

    ``country_code``/``party_id`` own 2.1.1 objects, which carry none.
    """
    if not isinstance(item, dict):
        raise ValueError("not a JSON object")
    item = without_nulls(item)
    if module == "locations":
        model = LOCATION_SCHEMAS.get(version, LOCATION_SCHEMAS["2.3.0"])["location"]
    elif module == "sessions":
        model = SESSION_SCHEMAS.get(version, SESSION_SCHEMAS["2.3.0"])
    else:
        raise ValueError(f"no canonical form for {module!r} (only {', '.join(MODULES)})")
    try:
        model.model_validate(item, context={"warnings": []})
    except ValidationError as exc:
        raise ValueError(validation_message(exc)) from None
    if module == "locations":
        return location_mapper.to_canonical(item, version, "location", country_code, party_id)
    return session_mapper.to_canonical(item, version, country_code, party_id)

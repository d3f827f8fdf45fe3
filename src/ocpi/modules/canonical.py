"""Whole objects that reach the node outside a partner's push (a file, a pull):
validated in their version, nulls dropped, then mapped to the canonical shape,
exactly as a push would be."""

from typing import Any

from pydantic import ValidationError

from ..core.mapping import without_nulls
from ..core.objects import ahead_of_our_clock, without_internal
from ..core.transport import validation_message
from .registry import object_type, object_types


def modules() -> tuple[str, ...]:
    """The modules whose objects can be read from a file or a pull."""
    return tuple(t.module.value for t in object_types())


def from_wire(module: str, item: Any, version: str, country_code: str | None = None,
              party_id: str | None = None) -> dict[str, Any]:
    """The canonical object; ``ValueError`` naming the field when it is not valid.

    ``country_code``/``party_id`` own 2.1.1 objects, which carry none.
    """
    if not isinstance(item, dict):
        raise ValueError("not a JSON object")
    item = without_internal(without_nulls(item))
    try:
        decl = object_type(module)
    except LookupError:
        raise ValueError(f"no canonical form for {module!r} (only {', '.join(modules())})"
                         ) from None
    try:
        decl.model(version).model_validate(item, context={"warnings": []})
    except ValidationError as exc:
        raise ValueError(validation_message(exc)) from None
    problem = ahead_of_our_clock(item)  # a pulled object must not poison ours either
    if problem is not None:
        raise ValueError(problem)
    return decl.to_canonical(item, version, country_code, party_id)

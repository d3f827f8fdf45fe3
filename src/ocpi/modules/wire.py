"""Which versions a stored object can be served in straight from its text.

A list page is the hot read path of a CPO (hubs pull every Location daily).
When a version's wire form of an object equals the stored canonical object,
the page splices the stored JSON text instead of parsing and rendering it.
The store asks this once per write and keeps the answer beside the object.
"""

from collections.abc import Callable
from typing import Any

from .locations import mapper as location_mapper
from .sessions import mapper as session_mapper
from .versions.enums import SUPPORTED_VERSIONS, is_v2_1


def _session(data: dict[str, Any], version: str) -> dict[str, Any] | None:
    if is_v2_1(version) and session_mapper.needs_location(data):
        return None  # 2.1.1 embeds the Location: rendered at read time
    return session_mapper.to_wire(data, version)


_RENDER: dict[str, Callable[[dict[str, Any], str], dict[str, Any] | None]] = {
    "locations": lambda data, version: location_mapper.to_wire(data, version, "location"),
    "sessions": _session,
}


def plain_versions(module: str, data: dict[str, Any]) -> str | None:
    """Space-separated versions whose wire form is ``data`` itself, else None."""
    render = _RENDER.get(module)
    if render is None:
        return None
    same = [str(v) for v in SUPPORTED_VERSIONS if render(data, str(v)) == data]
    return " ".join(same) or None

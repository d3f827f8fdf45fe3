"""Which versions a stored object can be served in straight from its text.

A list page is the hot read path of a CPO (hubs pull every Location daily).
When a version's wire form of an object equals the stored canonical object,
the page splices the stored JSON text instead of parsing and rendering it.
The store asks this once per write and keeps the answer beside the object.
"""

import functools
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


# The mappers' revision, first word of every answer of ``plain_versions``. A mapper
# change that alters what some stored object renders to (defaults filled, times
# cut) moves it: rows flagged by an older revision are rendered again, not spliced.
# 2: 2.1.1 postal_code and #NA defaults, DateTimes cut to milliseconds (issue 12)
REVISION = "r2"


def plain_versions(module: str, data: dict[str, Any]) -> str | None:
    """``REVISION`` and the versions whose wire form is ``data`` itself, else None."""
    render = _RENDER.get(module)
    if render is None:
        return None
    same = [str(v) for v in SUPPORTED_VERSIONS if render(data, str(v)) == data]
    return " ".join([REVISION, *same]) if same else None


@functools.lru_cache(maxsize=256)  # a handful of flag strings: a page asks 50 times
def is_plain(flags: str | None, version: str) -> bool:
    """May the stored text be served as ``version``'s wire form (by this revision)?"""
    if not flags or not flags.startswith(REVISION + " "):
        return False
    return version in flags.split()

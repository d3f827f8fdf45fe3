"""What a version cannot carry of an object, found by its own converters.

An object is rendered in the target version and read back to canonical with
the declaration's mappers; every canonical field that does not come back the
same (left out, or carried as another value: a 2.3.0 EMAID token type goes to
2.2.1 as OTHER) is reported, by path, with list indices folded (``evses[].x``).
The report is the mappers' own truth, so it stays right when a mapper changes.
"""

from typing import Any

from .kernel import ObjectType


async def _nothing(*args: Any) -> None:
    return None


async def lost_in(decl: ObjectType, data: dict[str, Any], version: str) -> list[str]:
    """The paths of ``data`` (canonical) that ``version`` does not carry. What a
    version embeds (a 2.1.1 Session's Location) is embedded in its barest form:
    only whether the object's own fields survive is asked."""
    public = {k: v for k, v in data.items() if not k.startswith("_")}
    context = None
    if decl.load_context is not None and decl.needs_context(public, version):
        context = await decl.load_context(_nothing, public)
    wire = decl.to_wire(public, version, context=context)
    back = decl.to_canonical(wire, version, public.get("country_code"), public.get("party_id"))
    found: dict[str, None] = {}
    _compare(public, back, "", found)
    return list(found)


def _compare(had: Any, got: Any, path: str, found: dict[str, None]) -> None:
    if had == got:
        return
    if isinstance(had, dict) and isinstance(got, dict):
        for key, value in had.items():
            _compare(value, got.get(key), f"{path}{key}.", found)
        return
    if isinstance(had, list) and isinstance(got, list) and len(had) == len(got):
        for a, b in zip(had, got, strict=True):
            _compare(a, b, f"{path.rstrip('.')}[].", found)
        return
    found[path.rstrip(".")] = None


async def not_carried(decl: ObjectType, data: dict[str, Any], versions: list[str]
                      ) -> list[str]:
    """One line per version that loses something of ``data``, for the writer to read."""
    lines = []
    for version in versions:
        lost = await lost_in(decl, data, version)
        if lost:
            lines.append(f"not carried in {version}: {', '.join(lost[:12])}"
                         + (f" and {len(lost) - 12} more" if len(lost) > 12 else ""))
    return lines

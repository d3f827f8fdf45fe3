"""What one message becomes on the wire for one partner: a PUT or a PATCH.

The PATCH is the difference between what the partner has (the last object
it accepted from us) and the object now, in the partner's version. A whole
object goes instead when a PATCH cannot say it: a field was removed, the
partner never had the object, or a field that a PATCH appends rather than
replaces changed (2.2+ session ``charging_periods``: a retried PATCH would
add them twice). Location changes inside one EVSE or Connector go to that
EVSE's or Connector's URL, as EVSE status updates should.

A partner whose profile says ``explicit_nulls`` gets every optional field
(``modules/nulls.py``): a PUT whole, a PATCH in the objects it carries.
"""

from dataclasses import dataclass, replace
from typing import Any

from ..core.objects import later, without_internal
from ..modules.kernel import ObjectType
from ..modules.nulls import model_for
from ..modules.registry import object_type
from ..peers.nulls import complete, complete_patch


class Unrenderable(LookupError):
    """A message no declaration can render (its module is unknown to this release):
    it becomes a dead letter with this reason, never a queue held forever."""


def _decl(module: str) -> ObjectType:
    try:
        return object_type(module)
    except LookupError as exc:
        raise Unrenderable(str(exc)) from None


@dataclass(frozen=True)
class Push:
    method: str  # PUT or PATCH
    url: str
    body: dict[str, Any]
    kind: str = "location"  # what a locations URL names: location, evse or connector


# the object without the node's private ``_`` keys (raw sources, preferences); no copy
# when it has none (the worker strips them before this module's to_wire sees it)
public = without_internal


def to_wire(module: str, version: str, data: dict[str, Any],
            location: dict[str, Any] | None = None) -> dict[str, Any]:
    """``location``: what the object's 2.1.1 form embeds (a Session's Location)."""
    return _decl(module).to_wire(public(data), version, context=location)


def _diff(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Changed fields, and whether any field disappeared (which a PATCH cannot say)."""
    changed = {k: v for k, v in new.items() if old.get(k) != v}
    return changed, any(k not in new for k in old)


def _one_changed(old: list[Any], new: list[Any], key: str) -> tuple[int, dict[str, Any]] | None:
    """The index and changes of the only item that changed in a keyed list, if so."""
    if not (isinstance(old, list) and isinstance(new, list)) or len(old) != len(new):
        return None
    if [str(o.get(key)) for o in old] != [str(n.get(key)) for n in new]:
        return None
    found = None
    for i, (o, n) in enumerate(zip(old, new, strict=True)):
        if o == n:
            continue
        changed, removed = _diff(o, n)
        if found is not None or removed:
            return None
        found = (i, changed)
    return found


def _location_patch(url: str, old: dict[str, Any], new: dict[str, Any],
                    changed: dict[str, Any]) -> Push | None:
    """A PATCH for a location change, at the deepest level that holds all of it."""
    if "evses" not in changed:
        return Push("PATCH", url, {**changed, "last_updated": new["last_updated"]})
    if set(changed) - {"evses", "last_updated"}:
        return None
    evse = _one_changed(old.get("evses") or [], new.get("evses") or [], "uid")
    if evse is None:
        return None
    i, evse_changed = evse
    new_evse = new["evses"][i]
    evse_url = f"{url}/{new_evse['uid']}"
    # never older than the Location's: a source that did not stamp the EVSE must not
    # send a change the partner would ignore as old
    stamp = later(new_evse.get("last_updated"), new["last_updated"])
    if "connectors" not in evse_changed:
        return Push("PATCH", evse_url, {**evse_changed, "last_updated": stamp}, "evse")
    if set(evse_changed) - {"connectors", "last_updated"}:
        return None
    conn = _one_changed(old["evses"][i].get("connectors") or [],
                        new_evse.get("connectors") or [], "id")
    if conn is None:
        return None
    j, conn_changed = conn
    new_conn = new_evse["connectors"][j]
    return Push("PATCH", f"{evse_url}/{new_conn['id']}",
                {**conn_changed, "last_updated": later(new_conn.get("last_updated"), stamp)},
                "connector")


def _url(module: str, version: str, endpoint: str, data: dict[str, Any]) -> str:
    return endpoint.rstrip("/") + _decl(module).url_path(data, version)


def _with_nulls(module: str, version: str, push: Push) -> Push:
    """``push`` for a partner that wants every optional field present."""
    model = model_for(module, version, push.kind)
    if model is None:
        return push
    fill = complete if push.method == "PUT" else complete_patch
    return replace(push, body=fill(push.body, model))


def put(module: str, version: str, endpoint: str, new: dict[str, Any],
        location: dict[str, Any] | None = None, *, explicit_nulls: bool = False) -> Push:
    """The whole object, for a partner that does not have it (or takes no PATCH)."""
    push = Push("PUT", _url(module, version, endpoint, new),
                to_wire(module, version, new, location))
    return _with_nulls(module, version, push) if explicit_nulls else push


def render(module: str, version: str, endpoint: str, new: dict[str, Any],
           had: dict[str, Any] | None, *, always_put: bool = False,
           location: dict[str, Any] | None = None, explicit_nulls: bool = False
           ) -> Push | None:
    """The request that brings the partner from ``had`` to ``new``; ``None`` when
    the partner already has everything it can see of ``new``.

    ``location`` is the 2.1.1 Location a session embeds. The difference is
    taken before ``explicit_nulls`` fills anything in, so a null is never a change.
    """
    push = _render(module, version, endpoint, new, had, always_put, location)
    if push is None or not explicit_nulls:
        return push
    return _with_nulls(module, version, push)


def _render(module: str, version: str, endpoint: str, new: dict[str, Any],
            had: dict[str, Any] | None, always_put: bool,
            location: dict[str, Any] | None) -> Push | None:
    decl = _decl(module)
    if had is None or always_put or not decl.patchable(version):
        return put(module, version, endpoint, new, location)
    url = _url(module, version, endpoint, new)
    new_wire = to_wire(module, version, new, location)
    old_wire = to_wire(module, version, had, location)
    changed, removed = _diff(old_wire, new_wire)
    if not changed and not removed:
        return None
    push = None
    if not removed and not (set(changed) & decl.put_when_changed):
        if decl.nested_patch:
            push = _location_patch(url, old_wire, new_wire, changed)
        else:
            push = Push("PATCH", url, {**changed, "last_updated": new_wire["last_updated"]})
    return push or Push("PUT", url, new_wire)

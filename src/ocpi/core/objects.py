"""Rules every client-owned object follows, whatever the module.

Validation (hard errors -> 2001, soft problems -> warnings), PATCH merging,
the never-go-backwards ``last_updated`` rule and namespace checks.
"""

import asyncio
import functools
import os
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ..modules.versions.enums import is_v2_1
from .datetime import now_text, parse_datetime
from .envelope import envelope
from .errors import Forbidden, InvalidParameters
from .mapping import without_nulls
from .transport import OcpiRequest, validation_message
from .types import OcpiModel, ci


def require_object(body: Any, what: str) -> dict[str, Any]:
    """The body as an object without nulls: in OCPI a null means "not set",
    and a PATCH cannot remove data, so a null never reaches the store. Top-level
    keys starting with ``_`` are the node's own (``_reported_by``) and are dropped:
    no OCPI field starts so, and a caller must not set them."""
    if not isinstance(body, dict):
        raise InvalidParameters(f"body: expected a JSON object ({what})")
    return without_internal(without_nulls(body))


def keep_internal(new: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
    """A whole object replacing ``stored`` keeps the node's own keys of it (``_source``
    from a connector, ``_charging_preferences``): no caller can send them."""
    if not stored:
        return new
    kept = {k: v for k, v in stored.items() if k.startswith("_") and k not in new}
    return {**new, **kept} if kept else new


def without_internal(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without the node's own top-level keys (``_...``)."""
    if not any(k.startswith("_") for k in obj):
        return obj
    return {k: v for k, v in obj.items() if not k.startswith("_")}


_MANY_ITEMS = 500  # list items (EVSEs...) above which a merged object is validated off the loop


async def _model_validate(ctx: OcpiRequest, model: type[OcpiModel], data: dict[str, Any],
                          big: bool) -> None:
    """Inline for the usual small object; a ``big`` one in a thread, so a partner's
    4 MB Location (or a small PATCH merged into a big one) does not hold the event
    loop for every other call."""
    context: dict[str, Any] = {"warnings": ctx.warnings}
    if big or ctx.body_size > ctx.node.limits.parse_in_thread_bytes:
        await asyncio.to_thread(model.model_validate, data, context=context)
    else:
        model.model_validate(data, context=context)


async def validate(ctx: OcpiRequest, model: type[OcpiModel], data: dict[str, Any],
                   prefix: str = "") -> None:
    """Validate a full object; hard errors raise 2001 naming the field, and so does a
    ``last_updated`` far ahead of our clock."""
    try:
        await _model_validate(ctx, model, data, big=False)
    except ValidationError as exc:
        raise InvalidParameters(validation_message(exc, prefix)) from None
    refuse_future(data, prefix)


async def validate_patch(ctx: OcpiRequest, model: type[OcpiModel], merged: dict[str, Any],
                         patched: Iterable[str], prefix: str = "") -> None:
    """Validate a merged object, blaming only the fields the PATCH touched.

    A stored object may lack a field this version requires (it came in another
    version); that is no reason to refuse a PATCH of its status.
    """
    touched = set(patched)
    big = sum(len(v) for v in merged.values() if isinstance(v, list)) > _MANY_ITEMS
    try:
        await _model_validate(ctx, model, merged, big)
    except ValidationError as exc:
        errors = [e for e in exc.errors() if (e["loc"] and e["loc"][0] in touched)
                  or not e["loc"]]
        if errors:
            fake = ValidationError.from_exception_data(exc.title, errors)  # type: ignore[arg-type]
            raise InvalidParameters(validation_message(fake, prefix)) from None


def check_same(field: str, url_value: str, body: dict[str, Any], *, required: bool = False
               ) -> None:
    """An id (or owner) in the body must equal the one in the URL (2001 otherwise)."""
    value = body.get(field)
    if value is None:
        if required:
            raise InvalidParameters(f"{field}: missing (URL says {url_value!r})")
        return
    if not isinstance(value, str) or ci(value) != ci(url_value):
        raise InvalidParameters(f"{field}: {value!r} does not match the URL ({url_value!r})")


async def speaks_for(ctx: OcpiRequest, country_code: str, party_id: str) -> bool:
    """The caller's own party, or one its hub reports reaching (Hub Client Info): whose
    objects it may write, and whose sessions a hub may list on that party's behalf."""
    caller = ctx.caller
    if caller.owns(country_code, party_id):
        return True
    return caller.is_hub and await ctx.node.hub_reaches(ctx, country_code, party_id)


async def check_namespace(ctx: OcpiRequest, country_code: str, party_id: str) -> None:
    if await speaks_for(ctx, country_code, party_id):
        return
    if ctx.caller.is_hub:
        raise Forbidden(f"objects of {country_code}/{party_id}: this hub may not act for "
                        "that party (it has not reported reaching it by Hub Client Info, "
                        "or the party is ours or registered with us directly)")
    raise Forbidden(f"objects of {country_code}/{party_id} belong to another party")


def ensure_last_updated(ctx: OcpiRequest, patch: dict[str, Any]) -> None:
    """2.2+ partners must send ``last_updated`` in a PATCH; others get it stamped."""
    if patch.get("last_updated") is None:
        if is_v2_1(ctx.version) or ctx.caller.is_operator:
            patch["last_updated"] = now_text()
        else:
            raise InvalidParameters("last_updated: required in a PATCH")
    refuse_future(patch)


@functools.lru_cache(maxsize=4096)
def _parsed(value: str) -> datetime | None:
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def timestamp(value: Any) -> datetime | None:
    """A DateTime's moment, or None. Cached: one write compares the same few stamps
    of a Location's EVSEs and Connectors many times. No DateTime is longer than 35
    characters, so nothing longer is parsed (or kept in the cache)."""
    if not isinstance(value, str) or len(value) > 35:
        return None
    return _parsed(value)


# how far ahead of our clock a last_updated may be: one stamped further (a partner's
# clock set wrong, local time sent as UTC) would make every later, correct update look
# old and be dropped for ever (OCPI_MAX_CLOCK_AHEAD_SECONDS, default 300)
MAX_AHEAD_SECONDS = int(os.environ.get("OCPI_MAX_CLOCK_AHEAD_SECONDS", "300"))


def ahead_of_our_clock(data: dict[str, Any], prefix: str = "") -> str | None:
    """Why ``data``, or an object it holds in a list (a Location's EVSEs and their
    Connectors), is stamped too far in the future, naming the field; None when not.
    On every write: one clock read, the stamps' parse cached (``timestamp``)."""
    return _ahead(data, prefix, time.time() + MAX_AHEAD_SECONDS)


def _ahead(obj: dict[str, Any], path: str, limit: float) -> str | None:
    moment = timestamp(obj.get("last_updated"))
    if moment is not None and moment.timestamp() > limit:
        return (f"{path}last_updated: {obj['last_updated']} is more than "
                f"{MAX_AHEAD_SECONDS} s ahead of our clock (a clock set wrong, or local "
                "time sent as UTC?): it would make every later update look old")
    for key, value in obj.items():  # only lists of stamped objects are walked
        if type(value) is list and value and type(value[0]) is dict \
                and "last_updated" in value[0]:
            for i, item in enumerate(value):
                found = _ahead(item, f"{path}{key}.{i}.", limit) if type(item) is dict \
                    else None
                if found is not None:
                    return found
    return None


def refuse_future(data: dict[str, Any], prefix: str = "") -> None:
    """2001 for an object (or PATCH) stamped too far ahead of our clock."""
    problem = ahead_of_our_clock(data, prefix)
    if problem is not None:
        raise InvalidParameters(problem)


def is_stale(incoming: dict[str, Any], stored: dict[str, Any] | None) -> bool:
    """True when the stored object is newer: then nothing is overwritten."""
    if not stored:
        return False
    new, old = timestamp(incoming.get("last_updated")), timestamp(stored.get("last_updated"))
    return new is not None and old is not None and new < old


def later(a: Any, b: Any) -> Any:
    if a == b:
        return a
    ta, tb = timestamp(a), timestamp(b)
    if ta is None:
        return b
    if tb is None:
        return a
    return a if ta >= tb else b


def merge(base: dict[str, Any], patch: dict[str, Any],
          keyed_lists: dict[str, str] | None = None,
          appended: Iterable[str] = ()) -> dict[str, Any]:
    """Apply a PATCH: top-level fields replace, keyed lists merge item by item."""
    keyed_lists = keyed_lists or {}
    out = dict(base)
    for key, value in patch.items():
        current = out.get(key)
        if key in appended and isinstance(value, list):
            out[key] = [*(current or []), *value] if value else current
        elif key in keyed_lists and isinstance(value, list) and isinstance(current, list):
            id_field = keyed_lists[key]
            items = list(current)
            # one index of the stored items: linear in both lists, whatever a PATCH holds
            where: dict[str, int] = {}
            for i, old in enumerate(items):
                if isinstance(old, dict):
                    where.setdefault(ci(str(old.get(id_field, ""))), i)
            for item in value:
                if not isinstance(item, dict):
                    items.append(item)
                    continue
                wanted = ci(str(item.get(id_field, "")))
                i = where.get(wanted)
                if i is None:
                    where[wanted] = len(items)
                    items.append(item)
                else:
                    items[i] = merge(items[i], item, keyed_lists)
            out[key] = items
        else:
            out[key] = value
    return out


def stored_response(ctx: OcpiRequest, created: bool, applied: bool = True) -> Any:
    messages = list(dict.fromkeys(ctx.warnings))
    if not applied:
        messages.insert(0, "not applied: the stored object is newer (last_updated)")
    text = "Success" if not messages else "Success; " + "; ".join(messages)
    return envelope(status_message=text, http_status=201 if created and applied else 200)


def find_item(items: Any, field: str, value: Any) -> dict[str, Any] | None:
    """The item of ``items`` whose ``field`` is ``value`` (case-insensitively), or None."""
    i = find(items, field, str(value)) if value is not None else None
    return items[i] if i is not None else None


def find(items: list[dict[str, Any]] | None, field: str, value: str) -> int | None:
    wanted = ci(value)
    for i, item in enumerate(items or ()):
        if ci(str(item.get(field, ""))) == wanted:
            return i
    return None

"""Load the node's own objects from files (``ocpi import locations|tokens ...``)."""

from collections.abc import Iterable
from typing import Any

from .core.enums import ModuleID
from .modules.canonical import from_wire
from .modules.generic import unheld
from .modules.registry import object_type
from .store.sql_store import SqlStore


class ImportError_(ValueError):
    """An object in the file is not a valid object of the version given."""


async def import_objects(store: SqlStore, module: str, items: Iterable[Any], version: str,
                         country_code: str | None, party_id: str | None,
                         notes: list[str] | None = None) -> dict[str, int]:
    """Validate every object, then store them all as the node's own in one
    transaction: an invalid one means nothing is written. Partners receive
    them through the outbox, as their declaration's push rule says. ``notes``
    gets what the node filled in (a derived time zone) and what the objects name
    that we do not hold (a connector's tariff)."""
    notes = notes if notes is not None else []
    decl = object_type(module)
    if decl.hub_reported:
        raise ImportError_(f"{module}: a hub's reports are never the node's own "
                           "(see `ocpi peers reach`)")
    if decl.generated:
        raise ImportError_(f"{module}: the node builds its own (import the sessions)")
    canonical = []
    for n, item in enumerate(items):
        ident = item.get(decl.id_field) if isinstance(item, dict) else None
        if isinstance(item, dict):  # before validation, which may require what is filled
            item, note = decl.complete_own(item)
            if note is not None:
                notes.append(f"item {n} ({ident!r}): {note}")
            problem = decl.own_problem(item)  # why, rather than the schema's "required"
            if problem is not None:
                raise ImportError_(f"item {n} ({ident!r}): {problem}")
        try:
            obj = from_wire(module, item, version, country_code, party_id)
        except ValueError as exc:
            raise ImportError_(f"item {n} ({ident!r}): {exc}") from None
        if not obj.get("country_code") or not obj.get("party_id"):
            raise ImportError_(f"item {n}: no country_code/party_id (give --country-code "
                               "and --party-id for 2.1.1 files)")
        problem = decl.own_problem(obj)  # `ocpi serve` serves every version
        if problem is not None:
            raise ImportError_(f"item {n} ({ident!r}): {problem}")
        canonical.append(obj)
    counts = await store.upsert_many(ModuleID(module), decl.own_role, canonical)
    notes.extend(await unheld(store, decl, canonical))
    return counts


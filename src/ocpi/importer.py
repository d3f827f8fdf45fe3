"""Load the node's own objects from files (``ocpi import locations``)."""

from collections.abc import Iterable
from typing import Any

from .core.enums import ModuleID, RoleEnum
from .modules.canonical import from_wire
from .modules.locations.mapper import unservable
from .store.sql_store import SqlStore


class ImportError_(ValueError):
    """An object in the file is not a valid Location of the version given."""


async def import_locations(store: SqlStore, items: Iterable[Any], version: str,
                           country_code: str | None, party_id: str | None) -> dict[str, int]:
    """Validate every Location, then store them all as our own (CPO) objects in one
    transaction: an invalid one means nothing is written."""
    canonical = []
    for n, item in enumerate(items):
        try:
            loc = from_wire("locations", item, version, country_code, party_id)
        except ValueError as exc:
            ident = item.get("id") if isinstance(item, dict) else None
            raise ImportError_(f"item {n} ({ident!r}): {exc}") from None
        if not loc.get("country_code") or not loc.get("party_id"):
            raise ImportError_(f"item {n}: no country_code/party_id (give --country-code "
                               "and --party-id for 2.1.1 files)")
        problem = unservable(loc)  # `ocpi serve` always serves 2.2.1 and 2.3.0 too
        if problem is not None:
            raise ImportError_(f"item {n} ({loc.get('id')!r}): {problem}")
        canonical.append(loc)
    return await store.upsert_many(ModuleID.locations, RoleEnum.cpo, canonical)

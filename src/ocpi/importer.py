"""Load the node's own objects from files (``ocpi import locations``)."""

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from .core.enums import ModuleID, RoleEnum
from .core.objects import is_stale
from .core.transport import validation_message
from .modules.locations import mapper
from .modules.locations.schemas import SCHEMAS
from .store.sql_store import SqlStore


class ImportError_(ValueError):
    """An object in the file is not a valid Location of the version given."""


async def import_locations(store: SqlStore, items: Iterable[Any], version: str,
                           country_code: str | None, party_id: str | None) -> dict[str, int]:
    """Validate every Location first, then store them as our own (CPO) objects.

    Nothing is written when one of them is invalid.
    """
    model = SCHEMAS.get(version, SCHEMAS["2.3.0"])["location"]
    canonical = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise ImportError_(f"item {n}: not a JSON object")
        try:
            model.model_validate(item)
        except ValidationError as exc:
            raise ImportError_(f"item {n} ({item.get('id')!r}): "
                               f"{validation_message(exc)}") from None
        loc = mapper.to_canonical(item, version, "location", country_code, party_id)
        if not loc.get("country_code") or not loc.get("party_id"):
            raise ImportError_(f"item {n}: no country_code/party_id (give --country-code "
                               "and --party-id for 2.1.1 files)")
        canonical.append(loc)
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for loc in canonical:
        kw = {"country_code": loc["country_code"], "party_id": loc["party_id"]}
        stored = await store.get(ModuleID.locations, RoleEnum.cpo, loc["id"], **kw)
        if stored is None:
            await store.create(ModuleID.locations, RoleEnum.cpo, loc, **kw)
            counts["created"] += 1
        elif is_stale(loc, stored) or stored == loc:
            counts["unchanged"] += 1
        else:
            await store.update(ModuleID.locations, RoleEnum.cpo, loc, loc["id"], **kw)
            counts["updated"] += 1
    return counts

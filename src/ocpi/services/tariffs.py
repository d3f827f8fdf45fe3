"""A stored tariff and the time zone it prices in: what ``ocpi tariffs price`` needs
to price a planned session. The zone is the one given, else that of the Location
named, else that of one of our Locations whose connectors name the tariff (the
Locations declaration's ``references`` says which)."""

from typing import Any

from sqlalchemy import select

from ..core import jsonutil
from ..core.enums import ModuleID, RoleEnum
from ..modules.locations.declaration import LOCATIONS
from ..modules.tariffs.declaration import TARIFFS
from ..store.database import Database
from ..store.keys import id_key

_CANDIDATES = 50  # Locations whose text names the tariff id, read to find one that uses it


async def tariff_and_zone(db: Database, tariff_id: str, *, time_zone: str | None = None,
                          location_id: str | None = None
                          ) -> tuple[dict[str, Any], str | None]:
    """The tariff (ours before a partner's) and its zone; ValueError when none is
    stored under ``tariff_id``."""
    t, loc = TARIFFS.table, LOCATIONS.table
    async with db.begin() as tx:
        rows = (await tx.execute(select(t.c.data).where(t.c.id == id_key(tariff_id))
                                 .order_by(t.c.role))).all()  # CPO (ours) first
        if not rows:
            raise ValueError(f"no tariff {tariff_id!r} is stored")
        tariff = jsonutil.loads(rows[0][0])
        if time_zone:
            return tariff, time_zone
        query = select(loc.c.data).where(loc.c.role == str(RoleEnum.cpo))
        if location_id:
            query = query.where(loc.c.id == id_key(location_id))
        else:  # a cheap text filter first, then the declaration decides
            query = query.where(loc.c.data.contains(f'"{tariff["id"]}"', autoescape=True)
                                ).limit(_CANDIDATES)
        named = (ModuleID.tariffs, str(tariff["id"]))
        for (text,) in (await tx.execute(query)).all():
            location = jsonutil.loads(text)
            if location_id or named in LOCATIONS.references(location):
                return tariff, location.get("time_zone")
    return tariff, None

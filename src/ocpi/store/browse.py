"""Pages of stored objects for a person reading them: newest first, filtered.

The partners' list pages (``SqlStore.list_raw``) walk objects oldest first for a
pull; an operator wants the latest changes and a narrow search, a page at a
time. Filters use the key and indexed columns; ``contains`` looks for a piece
of the stored JSON text (which the store always writes compact, without spaces,
so ``"status":"CHARGING"`` is found as written) and the caller checks the
parsed object, since a piece of text may also match in a place it did not mean.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, true

from ..core import jsonutil
from .database import Database
from .keys import id_key, party_key
from .objects import stored

MAX_PAGE = 200  # rows on one page: what a person reads, and what one request costs


@dataclass
class Row:
    role: str  # the interface side the row belongs to
    ours: bool  # the type's own role: the node's own object
    country_code: str
    party_id: str
    id: str
    last_updated: datetime
    data: dict[str, Any]


@dataclass
class Found:
    rows: list[Row]
    total: int  # matching rows on every page
    offset: int
    limit: int

    @property
    def more(self) -> bool:
        return self.offset + len(self.rows) < self.total


def _like(text: str) -> str:
    """``text`` as a LIKE pattern's middle, its wildcards taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def objects(db: Database, module: str, *, ours: bool | None = None,
                  owner: tuple[str, str] | None = None, id_contains: str = "",
                  contains: str = "", columns: dict[str, Any] | None = None,
                  offset: int = 0, limit: int = 25) -> Found:
    """A page of ``module``'s stored objects, newest write first.

    ``ours``: only the node's own (True) or only partners' (False); ``owner``:
    one party's; ``id_contains``: a piece of the key (compared as keys are,
    case-insensitively); ``columns``: indexed columns equal to the values given."""
    kind = stored(module)
    table = kind.table
    limit = max(1, min(limit, MAX_PAGE))
    cond = []
    if ours is not None:
        cond.append(table.c.role == kind.own_role if ours else table.c.role != kind.own_role)
    if owner is not None:
        cond.append(table.c.country_code == party_key(owner[0]))
        cond.append(table.c.party_id == party_key(owner[1]))
    if id_contains:
        cond.append(table.c.id.like(f"%{_like(id_key(id_contains))}%", escape="\\"))
    if contains:
        cond.append(table.c.data.like(f"%{_like(contains)}%", escape="\\"))
    for name, value in (columns or {}).items():
        cond.append(table.c[name] == value)
    where = and_(true(), *cond)
    keys = (select(table.c.seq).where(where).order_by(table.c.seq.desc())
            .offset(offset).limit(limit))
    async with db.begin() as tx:
        total = (await tx.execute(select(func.count()).select_from(table).where(where))
                 ).scalar_one()
        rows = (await tx.execute(
            select(table.c.role, table.c.country_code, table.c.party_id, table.c.id,
                   table.c.last_updated, table.c.data)
            .where(table.c.seq.in_(keys.scalar_subquery())).order_by(table.c.seq.desc())
        )).all()
    return Found([Row(r[0], r[0] == kind.own_role, r[1], r[2], r[3], r[4],
                      jsonutil.loads(r[5])) for r in rows],
                 int(total), offset, limit)


async def one(db: Database, module: str, ours: bool, owner: tuple[str, str], key: str
              ) -> dict[str, Any] | None:
    """One stored object by its side, owner and key; None when there is none."""
    kind = stored(module)
    table = kind.table
    side = table.c.role == kind.own_role if ours else table.c.role != kind.own_role
    async with db.begin() as tx:
        row = (await tx.execute(select(table.c.data).where(
            side, table.c.country_code == party_key(owner[0]),
            table.c.party_id == party_key(owner[1]), table.c.id == id_key(key)))).first()
    return jsonutil.loads(row[0]) if row else None

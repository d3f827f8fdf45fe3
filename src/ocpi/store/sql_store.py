"""The built-in ``Crud``: every module's objects in SQL, addressed the seed's way.

``role`` is the interface side a row belongs to. Each object type's
declaration names its own role (Locations and Sessions: CPO, Tokens: EMSP):
rows stored under it are the node's own objects, listed to partners and
handed to the own-write hooks (the outbox); the others are partners'.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles

from ..core import jsonutil
from ..core.enums import ModuleID, RoleEnum
from .database import Database, Tx
from .keys import id_key, party_key, ts_key
from .objects import StoredType, run_own_write_hooks
from .objects import stored as stored_type
from .offsets import OffsetMemo
from .prepared import Prepared
from .schema import object_counts


def _columns(t: StoredType, data: dict[str, Any], role: RoleEnum) -> dict[str, Any]:
    """Columns pulled out of an object: its zero-copy versions, and keys to look it up by.

    Only our own objects are listed to partners: only they need the versions.
    """
    own = str(role) == t.own_role and t.wire_versions is not None
    return {"wire_versions": t.wire_versions(data) if own else None,  # type: ignore[misc]
            **t.columns(data)}


def _extra(table: Any, columns: dict[str, Any]) -> dict[str, Any]:
    """The pulled-out columns a replace writes besides the object (not its key)."""
    return {c.name: columns[c.name] for c in table.columns if c.name in columns
            and c.name not in _KEY_COLUMNS}


class _PageStatements(NamedTuple):
    count: Prepared
    offset: Prepared
    after: Prepared
    # our own objects' pages with the count kept for them (object_counts) as a fourth
    # column: one round trip for the page and its X-Total-Count
    offset_counted: Prepared
    after_counted: Prepared


class _AsBytes(ColumnElement[Any]):
    """A text column read as bytes on SQLite: a page's rows go into the answer
    without being decoded to ``str`` and encoded back (PostgreSQL: as is)."""

    inherit_cache = True

    def __init__(self, column: Any) -> None:
        self.column = column
        self.type = column.type


@compiles(_AsBytes)
def _as_is(element: _AsBytes, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.column, **kw))


@compiles(_AsBytes, "sqlite")
def _as_blob(element: _AsBytes, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.column, **kw)} AS BLOB)"


def _page_statements(table: Any) -> _PageStatements:
    role = table.c.role == bindparam("role")
    keys = select(table.c.seq).where(role).order_by(table.c.seq).limit(bindparam("lim"))

    kept = select(object_counts.c.n).where(object_counts.c.module == bindparam("module"),
                                           object_counts.c.role == bindparam("role"))

    def page(keys: Any, *more: Any) -> Prepared:
        return Prepared(select(table.c.seq, _AsBytes(table.c.data), table.c.wire_versions,
                               *more)
                        .where(table.c.seq.in_(keys.scalar_subquery())).order_by(table.c.seq))

    by_offset, after = keys.offset(bindparam("off")), keys.where(table.c.seq > bindparam("after"))
    return _PageStatements(
        count=Prepared(select(func.count()).select_from(table).where(role)),
        offset=page(by_offset), after=page(after),
        offset_counted=page(by_offset, kept.scalar_subquery()),
        after_counted=page(after, kept.scalar_subquery()))


def _get_owned(t: Any) -> Prepared:
    return Prepared(select(t.c.data).where(
        t.c.role == bindparam("role"), t.c.id == bindparam("id"),
        t.c.country_code == bindparam("cc"), t.c.party_id == bindparam("pid")))


# columns a replace never sets from the object's extras: its key, and what it sets itself
_KEY_COLUMNS = frozenset({"role", "country_code", "party_id", "id", "seq", "last_updated",
                          "data"})


def _update_owned(table: Any) -> Prepared:
    """Replace an object unless the stored one is newer or the same."""
    extra = {c.name: bindparam(c.name, type_=c.type) for c in table.columns
             if c.name not in _KEY_COLUMNS}
    return Prepared(update(table).where(
        table.c.role == bindparam("role"), table.c.id == bindparam("id"),
        table.c.country_code == bindparam("cc"), table.c.party_id == bindparam("pid"),
        table.c.last_updated <= bindparam("updated", type_=table.c.last_updated.type),
        table.c.data != bindparam("text"))
        .values(last_updated=bindparam("updated", type_=table.c.last_updated.type),
                data=bindparam("text"), **extra))




def _insert_new(table: Any) -> Prepared:
    """Insert an object unless its key is taken, by a concurrent first write: then
    nothing (and the writer goes on to the guarded update)."""
    values = {c.name: bindparam(c.name, type_=c.type) for c in table.columns if c.name != "seq"}

    def build(dialect: str) -> Any:
        insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
        return insert_(table).values(**values).on_conflict_do_nothing(
            index_elements=["role", "country_code", "party_id", "id"])

    return Prepared(build=build)


async def _insert_absent(tx: Tx, table: Any, rows: list[dict[str, Any]]
                         ) -> set[tuple[str, str, str]]:
    """Insert ``rows`` whose key is free, 500 at a time; the keys that were taken (by a
    concurrent first write since we looked), for the guarded update. One statement per
    500 rows, and a push racing a pull never rolls the pull's page back."""
    taken: set[tuple[str, str, str]] = set()
    if not rows:
        return taken
    insert_ = pg_insert if tx.dialect == "postgresql" else sqlite_insert
    for i in range(0, len(rows), 500):
        chunk = rows[i:i + 500]
        stmt = insert_(table).values(chunk).on_conflict_do_nothing(
            index_elements=["role", "country_code", "party_id", "id"]).returning(
            table.c.country_code, table.c.party_id, table.c.id)
        inserted = {(r[0], r[1], r[2]) for r in (await tx.execute(stmt)).all()}
        taken.update(k for k in ((r["country_code"], r["party_id"], r["id"]) for r in chunk)
                     if k not in inserted)
    return taken


class _Statements(NamedTuple):
    """An object type's prepared statements: built once, on its first use."""

    pages: _PageStatements
    get_owned: Prepared
    update_owned: Prepared
    insert_new: Prepared


_STATEMENTS: dict[str, _Statements] = {}


def _statements(table: Any) -> _Statements:
    found = _STATEMENTS.get(table.name)
    if found is None:
        found = _STATEMENTS[table.name] = _Statements(
            _page_statements(table), _get_owned(table), _update_owned(table),
            _insert_new(table))
    return found


_COUNT = Prepared(select(object_counts.c.n).where(object_counts.c.module == bindparam("module"),
                                                  object_counts.c.role == bindparam("role")))


class Page(NamedTuple):
    rows: list[tuple[str | bytes, str | None]]  # (JSON, versions it is the wire form of)
    total: int
    is_last: bool
    last_seq: int | None  # the keyset cursor of the next page


def _row(t: StoredType, role: RoleEnum, data: dict[str, Any], country_code: str | None = None,
         party_id: str | None = None) -> dict[str, Any]:
    """A new row's values: its key columns, the JSON, the indexed columns."""
    return {
        "role": str(role),
        "country_code": party_key(country_code or data["country_code"]),
        "party_id": party_key(party_id or data["party_id"]),
        "id": id_key(t.key(data)),
        "last_updated": ts_key(data["last_updated"]),
        "data": jsonutil.dumps(data).decode(),
        **_columns(t, data, role),
    }


async def _count(tx: Tx, t: StoredType, role: RoleEnum, added: int) -> None:
    if added and str(role) == t.own_role:  # only our own objects are listed
        await tx.execute(update(object_counts).where(
            object_counts.c.module == t.name, object_counts.c.role == t.own_role)
            .values(n=object_counts.c.n + added))


async def _to_hooks(tx: Tx, t: StoredType, role: RoleEnum,
                     objects: list[dict[str, Any]]) -> int:
    """The node's own objects go to the own-write hooks (the outbox), in this
    transaction: partners' objects never do."""
    if str(role) != t.own_role or not objects:
        return 0
    return await run_own_write_hooks(tx, t.name, objects)


async def get_in(tx: Tx, module: str, role: RoleEnum, id: str, country_code: str,
                 party_id: str) -> dict[str, Any] | None:
    """``SqlStore.get`` inside a transaction another write holds (what a CDR is built
    from, read in the transaction that completes its session). ``id``: the store's key."""
    rows = await tx.fetch(_statements(stored_type(module).table).get_owned, {
        "role": str(role), "id": id_key(id), "cc": party_key(country_code),
        "pid": party_key(party_id)})
    return jsonutil.loads(rows[0][0]) if rows else None


async def create_in(tx: Tx, module: str, role: RoleEnum, data: dict[str, Any]) -> int | None:
    """Insert a new object inside a transaction another write holds (a flow that writes
    one object because of another: the CDR of a Session that completed). None when its
    key is taken already; else the messages the own-write hooks queued."""
    t = stored_type(module)
    if not await tx.run(_statements(t.table).insert_new, _row(t, role, data)):
        return None
    await _count(tx, t, role, 1)
    return await _to_hooks(tx, t, role, [data])


class SqlStore:
    """Implements the ``Crud`` interface on a ``Database``."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.offsets = OffsetMemo()
        # called after a commit that queued messages (an in-process outbox worker)
        self.on_publish: list[Callable[[], None]] = []

    def _published(self, count: int) -> None:
        if count:
            for listener in self.on_publish:
                listener()

    def _where(self, table: Any, role: RoleEnum, id: str, country_code: str | None,
               party_id: str | None) -> Any:
        cond = [table.c.role == str(role), table.c.id == id_key(id)]
        if country_code:
            cond.append(table.c.country_code == party_key(country_code))
        if party_id:
            cond.append(table.c.party_id == party_key(party_id))
        return and_(*cond)

    async def get(self, module: ModuleID, role: RoleEnum, id: str, *args: Any,
                  country_code: str | None = None, party_id: str | None = None,
                  **kwargs: Any) -> dict[str, Any] | None:
        t = stored_type(module)
        table = t.table
        id = t.key_of_call(id, kwargs)
        if country_code and party_id and self.db.dialect == "postgresql":
            # every partner call, one round trip outside a transaction: a PostgreSQL read
            # sees every committed write, as a transaction begun now would
            rows = await self.db.fetch(_statements(table).get_owned, {
                "role": str(role), "id": id_key(id), "cc": party_key(country_code),
                "pid": party_key(party_id)})
            return jsonutil.loads(rows[0][0]) if rows else None
        async with self.db.begin() as tx:  # the writer's view: a write in flight included
            if country_code and party_id:  # every partner call: prepared
                rows = await tx.fetch(_statements(table).get_owned, {
                    "role": str(role), "id": id_key(id), "cc": party_key(country_code),
                    "pid": party_key(party_id)})
            else:
                rows = (await tx.execute(
                    select(table.c.data).where(
                        self._where(table, role, id, country_code, party_id))
                    .order_by(table.c.seq).limit(1))).all()
        return jsonutil.loads(rows[0][0]) if rows else None

    async def list(self, module: ModuleID, role: RoleEnum, filters: dict[str, Any],
                   *args: Any, visible_to: tuple[str, str] | None = None,
                   **kwargs: Any) -> tuple[list[dict[str, Any]], int, bool]:
        page = await self.list_raw(module, role, filters, visible_to=visible_to)
        return [jsonutil.loads(text) for text, _ in page.rows], page.total, page.is_last

    async def list_raw(self, module: ModuleID, role: RoleEnum, filters: dict[str, Any],
                       *, visible_to: tuple[str, str] | None = None) -> Page:
        """A page of stored JSON texts, each with the versions it is the wire form of.

        ``filters["after"]`` (the seq our own next link carries) turns the
        offset into a keyset lookup; without it the offset is walked in the
        (role, seq) index, never over the JSON rows.
        """
        t = stored_type(module)
        table = t.table
        offset = int(filters.get("offset") or 0)
        limit = int(filters.get("limit") or 50)
        after = filters.get("after")
        filtered = (filters.get("date_from") is not None or filters.get("date_to") is not None
                    or (visible_to is not None and t.visible_to_token_owner))
        if not filtered:  # the full list, as a hub's daily pull asks for it: prepared
            fast = _statements(table).pages
            params = {"role": str(role), "lim": limit + 1, "off": offset,
                      "after": after, "module": str(module)}
            total = None
            if after is None and offset:
                params["after"] = after = self.offsets.after(table.name, str(role), offset)
            async with self.db.reading() as fetch:
                if str(role) == t.own_role:  # the page and its kept count together
                    rows = await fetch(fast.after_counted if after is not None
                                       else fast.offset_counted, params)
                    total = rows[0][3] if rows else None
                    if not rows:  # past the end: the count alone
                        found = await fetch(_COUNT, params)
                        total = found[0][0] if found else None
                else:
                    rows = await fetch(fast.offset if after is None else fast.after, params)
                if total is None:
                    total = (await fetch(fast.count, params))[0][0]
            if rows:
                self.offsets.note(table.name, str(role), offset, rows[0][0] - 1)
                if len(rows) > limit:
                    self.offsets.note(table.name, str(role), offset + limit, rows[limit - 1][0])
        else:
            cond = [table.c.role == str(role)]
            if filters.get("date_from") is not None:
                cond.append(table.c.last_updated >= ts_key(filters["date_from"]))
            if filters.get("date_to") is not None:
                cond.append(table.c.last_updated < ts_key(filters["date_to"]))
            if visible_to is not None and t.visible_to_token_owner:
                cond.append(table.c.token_country_code == party_key(visible_to[0]))
                cond.append(table.c.token_party_id == party_key(visible_to[1]))
            where = and_(*cond)
            keys = select(table.c.seq).where(where).order_by(table.c.seq).limit(limit + 1)
            keys = keys.where(table.c.seq > after) if after is not None else keys.offset(offset)
            async with self.db.begin() as tx:
                total = (await tx.execute(select(func.count()).select_from(table).where(where))
                         ).scalar_one()
                rows = (await tx.execute(
                    select(table.c.seq, table.c.data, table.c.wire_versions)
                    .where(table.c.seq.in_(keys.scalar_subquery())).order_by(table.c.seq))
                        ).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return Page([(r[1], r[2]) for r in rows], total, not more,
                    rows[-1][0] if rows else None)

    async def create(self, module: ModuleID, role: RoleEnum, data: dict[str, Any], *args: Any,
                     country_code: str | None = None, party_id: str | None = None,
                     **kwargs: Any) -> dict[str, Any] | None:
        """Insert a new object. When a concurrent request created it first, this
        becomes the guarded update: the newer ``last_updated`` wins whichever
        commits first, and ``None`` says a newer one was already there."""
        t = stored_type(module)
        table = t.table
        values = _row(t, role, data, country_code, party_id)
        async with self.db.begin() as tx:
            if await tx.run(_statements(table).insert_new, values):
                await _count(tx, t, role, 1)
                written: bool | None = True
            else:  # created meanwhile by a concurrent request: the newer one wins
                written = await self._replace(tx, table, role, values["id"],
                                              values["country_code"], values["party_id"],
                                              values["last_updated"], values["data"], values)
                if written is None:
                    return None
            queued = await _to_hooks(tx, t, role, [data]) if written else 0
        self._published(queued)
        return data

    async def update(self, module: ModuleID, role: RoleEnum, data: dict[str, Any], id: str,
                     *args: Any, country_code: str | None = None, party_id: str | None = None,
                     **kwargs: Any) -> dict[str, Any] | None:
        """Replace the stored object, unless the stored one is newer (then ``None``).

        Writing the same object again is a success that changes nothing and
        sends nothing (a retried request must not reach partners twice).
        """
        t = stored_type(module)
        cc = country_code or data.get("country_code")
        pid = party_id or data.get("party_id")
        if str(role) != t.own_role and cc and pid:  # a partner's: nothing goes with it
            written = await self._replace_alone(t, role, t.key_of_call(id, kwargs), cc, pid,
                                                data)
            return None if written is None else data
        async with self.db.begin() as tx:
            written = await self._replace(tx, t.table, role, t.key_of_call(id, kwargs), cc, pid,
                                          ts_key(data["last_updated"]),
                                          jsonutil.dumps(data).decode(),
                                          _columns(t, data, role))
            if written is None:
                return None
            queued = await _to_hooks(tx, t, role, [data]) if written else 0
        self._published(queued)
        return data

    async def _replace_alone(self, t: StoredType, role: RoleEnum, id: str, cc: str,
                             pid: str, data: dict[str, Any]) -> bool | None:
        """``_replace`` of a partner's object, whose write queues nothing and counts
        nothing: the guarded UPDATE is its own transaction (on PostgreSQL one round trip
        instead of BEGIN, UPDATE, COMMIT); only when it changed nothing is the stored
        object read, to tell "the same" (False) from "newer" (None)."""
        text = jsonutil.dumps(data).decode()
        extra = _extra(t.table, _columns(t, data, role))
        key = {"role": str(role), "id": id_key(id), "cc": party_key(cc), "pid": party_key(pid)}
        statements = _statements(t.table)
        if await self.db.run(statements.update_owned, {
                **key, "updated": ts_key(data["last_updated"]), "text": text, **extra}):
            return True
        stored = await self.db.fetch(statements.get_owned, key)
        return False if stored and stored[0][0] == text else None

    async def _replace(self, tx: Tx, table: Any, role: RoleEnum, id: str, cc: str | None,
                       pid: str | None, updated: datetime, text: str,
                       columns: dict[str, Any]) -> bool | None:
        """The guarded replace every write of a stored object goes through: True when
        written, False when the stored object is this one already, None when it is newer."""
        extra = _extra(table, columns)
        if cc and pid:  # every partner call: prepared
            changed = await tx.run(_statements(table).update_owned, {
                "role": str(role), "id": id_key(id), "cc": party_key(cc),
                "pid": party_key(pid), "updated": updated, "text": text, **extra})
        else:
            changed = (await tx.execute(
                update(table).where(self._where(table, role, id, cc, pid))
                .where(table.c.last_updated <= updated, table.c.data != text)
                .values(last_updated=updated, data=text, **extra))).rowcount
        if changed:
            return True
        same = (await tx.execute(select(table.c.seq).where(
            self._where(table, role, id, cc, pid), table.c.data == text))).first()
        return False if same is not None else None

    async def upsert_many(self, module: ModuleID, role: RoleEnum,
                          items: list[dict[str, Any]]) -> dict[str, int]:
        """Store whole objects in one transaction; an older one never replaces a newer.

        For pulls: either the whole batch is written or none of it.
        """
        t = stored_type(module)
        table = t.table
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        written: set[tuple[str, str, str]] = set()  # keys, told to the hooks in batch order
        latest: dict[tuple[str, str, str], dict[str, Any]] = {}
        for data in items:  # the same object twice in one batch: the newer counts
            key = (party_key(data["country_code"]), party_key(data["party_id"]),
                   id_key(t.key(data)))
            before = latest.get(key)
            if before is not None:
                counts["unchanged"] += 1
                if ts_key(before["last_updated"]) > ts_key(data["last_updated"]):
                    continue
            latest[key] = data
        async with self.db.begin() as tx:
            await tx.plan_for_values()
            stored: dict[tuple[str, str, str], Any] = {}
            ids = sorted({k[2] for k in latest})
            for i in range(0, len(ids), 500):  # what is there already, 500 at a time
                rows = (await tx.execute(
                    select(table.c.country_code, table.c.party_id, table.c.id,
                           table.c.last_updated, table.c.data)
                    .where(table.c.role == str(role), table.c.id.in_(ids[i:i + 500])))).all()
                stored.update({(r[0], r[1], r[2]): r for r in rows})
            new_rows: list[dict[str, Any]] = []
            for (cc, pid, key_id), data in latest.items():
                text = jsonutil.dumps(data).decode()
                updated = ts_key(data["last_updated"])
                found = stored.get((cc, pid, key_id))
                if found is None:
                    new_rows.append({"role": str(role), "country_code": cc, "party_id": pid,
                                     "id": key_id, "last_updated": updated, "data": text,
                                     **_columns(t, data, role)})
                elif found.last_updated > updated or found.data == text:
                    counts["unchanged"] += 1
                # guarded again: a concurrent writer may have stored a newer one
                elif await tx.run(_statements(table).update_owned, {
                        "role": str(role), "id": key_id, "cc": cc, "pid": pid,
                        "updated": updated, "text": text, **_columns(t, data, role)}):
                    counts["updated"] += 1
                    written.add((cc, pid, key_id))
                else:
                    counts["unchanged"] += 1
            taken = await _insert_absent(tx, table, new_rows)
            for row in new_rows:
                key = (row["country_code"], row["party_id"], row["id"])
                if key not in taken:
                    written.add(key)
                # created meanwhile by a push: guarded, the newer one wins
                elif await tx.run(_statements(table).update_owned, {
                        "role": row["role"], "id": row["id"], "cc": key[0], "pid": key[1],
                        "updated": row["last_updated"], "text": row["data"],
                        **_columns(t, latest[key], role)}):
                    counts["updated"] += 1
                    written.add(key)
                else:
                    counts["unchanged"] += 1
            counts["created"] = len(new_rows) - len(taken)
            await _count(tx, t, role, counts["created"])
            queued = await _to_hooks(tx, t, role,
                                     [d for k, d in latest.items() if k in written])
        self._published(queued)
        return counts

    async def find_sessions(self, role: RoleEnum, *, location_id: str | None = None,
                            started_from: datetime | None = None,
                            started_before: datetime | None = None,
                            statuses: Iterable[str] | None = None,
                            not_statuses: Iterable[str] | None = None,
                            id_prefix: str | None = None,
                            owner: tuple[str, str] | None = None) -> list[dict[str, Any]]:
        """Sessions by their key columns, in order of start (charging parks, connectors)."""
        t = stored_type(ModuleID.sessions).table
        cond = [t.c.role == str(role)]
        if location_id is not None:
            cond.append(t.c.location_id == id_key(location_id))
        if started_from is not None:
            cond.append(t.c.start_date_time >= ts_key(started_from))
        if started_before is not None:
            cond.append(t.c.start_date_time < ts_key(started_before))
        if statuses is not None:
            cond.append(t.c.status.in_(tuple(statuses)))
        if not_statuses is not None:
            cond.append(t.c.status.not_in(tuple(not_statuses)))
        if id_prefix is not None:
            cond.append(t.c.id.startswith(id_key(id_prefix), autoescape=True))
        if owner is not None:
            cond.append(t.c.country_code == party_key(owner[0]))
            cond.append(t.c.party_id == party_key(owner[1]))
        stmt = select(t.c.data).where(and_(*cond)).order_by(t.c.start_date_time, t.c.seq)
        async with self.db.begin() as tx:
            return [jsonutil.loads(r[0]) for r in (await tx.execute(stmt)).all()]

    async def delete(self, module: ModuleID, role: RoleEnum, id: str, *args: Any,
                     country_code: str | None = None, party_id: str | None = None,
                     **kwargs: Any) -> None:
        t = stored_type(module)
        table = t.table
        where = self._where(table, role, t.key_of_call(id, kwargs), country_code, party_id)
        queued = 0
        async with self.db.begin() as tx:
            if str(role) == t.own_role:  # partners learn of the removal (when declared)
                removed = [jsonutil.loads(r[0]) for r in
                           (await tx.execute(select(table.c.data).where(where))).all()]
                queued = await run_own_write_hooks(tx, t.name, removed, True) if removed else 0
            gone = await tx.execute(delete(table).where(where))
            await _count(tx, t, role, -gone.rowcount)
        if gone.rowcount:
            self.offsets.forget()
        self._published(queued)

    async def restamp(self, module: ModuleID, role: RoleEnum, country_code: str,
                      party_id: str, id: str, stamp: str) -> dict[str, Any] | None:
        """Set one stored object's ``last_updated`` to ``stamp``, whatever it was: the
        repair of an object a wrong clock stamped in the future, which would otherwise
        make every later update look old. Sends nothing. The object, or None."""
        t = stored_type(module)
        where = self._where(t.table, role, id, country_code, party_id)  # the store's key
        async with self.db.begin() as tx:
            row = (await tx.execute(select(t.table.c.data).where(where))).first()
            if row is None:
                return None
            data = {**jsonutil.loads(row[0]), "last_updated": stamp}
            await tx.execute(update(t.table).where(where).values(
                last_updated=ts_key(stamp), data=jsonutil.dumps(data).decode(),
                **_columns(t, data, role)))
        return data

    async def do(self, module: ModuleID, role: RoleEnum | None, action: Any, *args: Any,
                 data: dict | None = None, **kwargs: Any) -> Any:
        raise NotImplementedError(f"the built-in store has no action {action}")

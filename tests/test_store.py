"""The built-in store directly, on SQLite and PostgreSQL."""

import pytest

from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.demo import sample_locations
from ocpi.peers.registry import Registry, hash_token
from ocpi.store.database import Database
from ocpi.store.schema import tokens
from ocpi.store.sql_store import SqlStore

LOC = ModuleID.locations


async def test_crud_round_trip_and_roles_are_separate(database_url):
    db = Database(database_url)
    store = SqlStore(db)
    loc = sample_locations("NL", "OCP")[0]
    await store.create(LOC, RoleEnum.cpo, loc)
    assert await store.get(LOC, RoleEnum.cpo, "demo-1", country_code="nl",
                           party_id="ocp") == loc
    assert await store.get(LOC, RoleEnum.emsp, "DEMO-1") is None
    newer = {**loc, "name": "New", "last_updated": "2027-01-01T00:00:00Z"}
    assert await store.update(LOC, RoleEnum.cpo, newer, "DEMO-1") == newer
    older = {**loc, "name": "Old", "last_updated": "2020-01-01T00:00:00Z"}
    assert await store.update(LOC, RoleEnum.cpo, older, "DEMO-1") is None
    assert (await store.get(LOC, RoleEnum.cpo, "DEMO-1"))["name"] == "New"
    items, total, last = await store.list(LOC, RoleEnum.cpo, {"offset": 0, "limit": 10})
    assert total == 1 and last and items[0]["name"] == "New"
    await store.delete(LOC, RoleEnum.cpo, "DEMO-1")
    assert await store.get(LOC, RoleEnum.cpo, "DEMO-1") is None
    await db.dispose()


async def test_tokens_are_stored_hashed(database_url):
    db = Database(database_url)
    registry = Registry(db)
    _, token = await registry.add_peer("DE", "ABC", "EMSP")
    async with db.begin() as tx:
        stored = [r[0] for r in (await tx.execute(tokens.select())).all()]
    assert token not in stored and hash_token(token) in stored
    caller = await registry.identify(token)
    assert caller is not None and caller.owns("de", "abc") and not caller.owns("DE", "XYZ")
    assert await registry.identify("guess") is None
    await db.dispose()


async def test_database_errors_never_show_the_values_written(database_url):
    """A token or secret written to the database must not reach a log via an error."""
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from ocpi.store.schema import settings

    db = Database(database_url)
    async with db.begin() as tx:
        await tx.execute(insert(settings).values(key="k", value="first-secret"))
    with pytest.raises(IntegrityError) as err:
        async with db.begin() as tx:
            await tx.execute(insert(settings).values(key="k", value="rotated-secret-token"))
    assert "rotated-secret-token" not in str(err.value)
    await db.dispose()


def test_a_token_we_hand_out_never_looks_like_a_command_line_option():
    from ocpi.peers.registry import new_token

    tokens = {new_token() for _ in range(2000)}
    assert len(tokens) == 2000
    assert all(t[0].isalnum() and len(t) == 43 for t in tokens)


async def test_a_pull_racing_pushes_of_the_same_new_objects_keeps_the_newest(database_url):
    """A pull's page (upsert_many) and a partner's pushes of the same new objects at
    once: no page is rolled back by the other's insert, and the newer one wins each;
    the insert that finds its key taken says so (``_insert_absent``)."""
    import asyncio

    from ocpi.store.keys import id_key, ts_key
    from ocpi.store.objects import stored
    from ocpi.store.sql_store import _insert_absent

    db = Database(database_url)
    store = SqlStore(db)
    sites = sample_locations("NL", "OCP")
    pulled = [{**s, "id": f"P{n}", "name": "pulled"} for n, s in enumerate(sites * 20)]
    pushed = [{**p, "name": "pushed", "last_updated": "2026-06-01T00:00:00Z"} for p in pulled]
    results = await asyncio.gather(
        store.upsert_many(LOC, RoleEnum.emsp, pulled),
        *(store.create(LOC, RoleEnum.emsp, p) for p in pushed), return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)], results
    for p in pulled:
        assert (await store.get(LOC, RoleEnum.emsp, p["id"], country_code="NL",
                                party_id="OCP"))["name"] == "pushed"
    counts = results[0]
    assert counts["created"] + counts["updated"] + counts["unchanged"] == len(pulled)
    table = stored(LOC.value).table
    key = ("NL", "OCP", id_key("P0"))
    async with db.begin() as tx:
        row = {"role": "EMSP", "country_code": key[0], "party_id": key[1], "id": key[2],
               "last_updated": ts_key(pulled[0]["last_updated"]), "data": "{}"}
        assert await _insert_absent(tx, table, [row]) == {key}
    await db.dispose()


async def test_a_lazy_commit_never_carries_a_durable_write(database_url):
    """Outbox settles commit without waiting for an fsync (``lazy``); every other write
    keeps its durable commit, also when it starts while a lazy batch is committing."""
    import asyncio

    from sqlalchemy import text

    from ocpi.store.prepared import Prepared
    from ocpi.store.schema import settings

    db = Database(database_url)
    async with db.begin() as tx:
        await tx.execute(settings.delete().where(settings.c.key.in_(["a", "b"])))
    if db.dialect == "sqlite":
        async def level(lazy: bool, key: str) -> int:
            async with db.begin(lazy=lazy) as tx:
                await tx.execute(settings.insert().values(key=key, value="1"))
                return int((await tx.execute(text("PRAGMA synchronous"))).scalar_one())
        # both at once: the durable one waits for the lazy batch, then commits FULL
        lazy, durable = await asyncio.gather(level(True, "a"), level(False, "b"))
        assert (lazy, durable) == (1, 2)  # NORMAL, FULL
    else:
        await db.run_lazy([Prepared(settings.insert().values(key="a", value="1"))], {})
        async with db.begin() as tx:
            assert (await tx.execute(text("SHOW synchronous_commit"))).scalar_one() == "on"
            await tx.execute(settings.insert().values(key="b", value="1"))
        # and the lazy commit really awaits no WAL fsync: PostgreSQL counts them
        # (run_lazy's one statement, and a lazy transaction of begin)
        lazy_syncs = await _wal_syncs_of(database_url, "run_lazy")
        lazy_tx_syncs = await _wal_syncs_of(database_url, "begin_lazy")
        durable_syncs = await _wal_syncs_of(database_url, "durable")
        assert durable_syncs >= 90 and lazy_syncs < 30 and lazy_tx_syncs < 30, \
            (lazy_syncs, lazy_tx_syncs, durable_syncs)
    async with db.begin() as tx:
        keys = {r[0] for r in (await tx.execute(settings.select().where(
            settings.c.key.in_(["a", "b"])))).all()}
    assert keys == {"a", "b"}
    await db.dispose()


async def _wal_syncs_of(url: str, how: str, writes: int = 100) -> int:
    """WAL fsyncs PostgreSQL counted while ``writes`` settle-like writes committed:
    ``run_lazy``, ``begin_lazy`` (``begin(lazy=True)``) or ``durable``. Its counters are
    flushed when a backend ends, so each round runs on a pool of its own, closed
    before the count is read."""
    import asyncio

    import asyncpg
    from sqlalchemy import bindparam

    from ocpi.store.prepared import Prepared
    from ocpi.store.schema import settings

    async def syncs() -> int:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            try:
                return int(await conn.fetchval("SELECT wal_sync FROM pg_stat_wal"))
            except asyncpg.UndefinedColumnError:  # PostgreSQL 18 moved it to pg_stat_io
                return int(await conn.fetchval(
                    "SELECT coalesce(sum(fsyncs), 0) FROM pg_stat_io WHERE object = 'wal'"))
        finally:
            await conn.close()

    write = Prepared(settings.insert().values(key=bindparam("key"), value="1"))
    db = Database(url)
    await db.ensure_schema()
    await db.dispose()
    await asyncio.sleep(1.5)
    before = await syncs()
    db = Database(url)
    for n in range(writes):
        params = {"key": f"wal-{how}-{n}"}
        if how == "run_lazy":
            await db.run_lazy([write], params)
        else:
            async with db.begin(lazy=how == "begin_lazy") as tx:
                await tx.run(write, params)
    await db.dispose()
    await asyncio.sleep(1.5)  # the closed backends' counters reach the statistics
    return await syncs() - before


async def test_a_bulk_write_is_planned_for_its_values(database_url, monkeypatch):
    """``upsert_many`` (imports, pulls) on a table that grew since its first batches.
    On PostgreSQL a generic plan cached while the table was small (an index scan on
    ``role`` alone, filtering ids) was kept, and each page of a 100,000-Location import
    read every row stored so far: the bench's load grew from 0.1 to 0.45 s a page over
    20,000 rows and took 182 s in all. Its statements are now planned for their values
    (``plan_cache_mode``, seen from inside the write's own transaction)."""
    from datetime import datetime

    from sqlalchemy import text

    from ocpi.store import objects as store_objects

    modes: list[str] = []

    async def plan_mode(tx, name, objects, deleted):
        if tx.dialect == "postgresql":
            modes.append((await tx.execute(text("SHOW plan_cache_mode"))).scalar_one())
        return 0

    monkeypatch.setattr(store_objects, "_OWN_WRITE", [plan_mode])
    db = Database(database_url)
    store = SqlStore(db)
    base = sample_locations("NL", "OCP")[0]

    def batch(first: int, size: int = 500, stamp: str = base["last_updated"]) -> list[dict]:
        return [{**base, "id": f"L{n}", "last_updated": stamp}
                for n in range(first, first + size)]

    for first in range(0, 3000, 500):  # small: a prepared statement's plan is cached
        await store.upsert_many(LOC, RoleEnum.cpo, batch(first))
    async with db.begin() as tx:  # the table grows (an import's earlier pages)
        await tx.execute(store_objects.stored("locations").table.insert(), [
            {"role": "cpo", "country_code": "NL", "party_id": "OCP", "id": f"X{n}",
             "last_updated": datetime(2020, 1, 1), "data": "{}"} for n in range(20_000)])
    counts = await store.upsert_many(LOC, RoleEnum.cpo, batch(2500, stamp="2030-01-01T00:00:00Z"))
    assert counts == {"created": 0, "updated": 500, "unchanged": 0}
    counts = await store.upsert_many(LOC, RoleEnum.cpo, batch(5000))
    assert counts == {"created": 500, "updated": 0, "unchanged": 0}
    assert (await store.get(LOC, RoleEnum.cpo, "L2600"))["last_updated"] == \
        "2030-01-01T00:00:00Z"
    if database_url.startswith("postgresql"):
        assert modes and set(modes) == {"force_custom_plan"}, modes
    await db.dispose()


async def test_a_partners_object_is_replaced_only_by_a_newer_one(database_url):
    """A partner's write (it queues and counts nothing) is the guarded UPDATE alone:
    newer replaces, the same again is a success that changes nothing, older is
    refused (None), and another party's object of the same id is not touched."""
    db = Database(database_url)
    store = SqlStore(db)
    loc = {**sample_locations("DE", "CPO")[0], "last_updated": "2026-01-01T00:00:00Z"}
    other = {**loc, "country_code": "BE", "party_id": "XYZ", "name": "theirs"}
    await store.create(LOC, RoleEnum.emsp, loc, country_code="DE", party_id="CPO")
    await store.create(LOC, RoleEnum.emsp, other, country_code="BE", party_id="XYZ")
    key = {"country_code": "DE", "party_id": "CPO"}
    newer = {**loc, "name": "newer", "last_updated": "2026-02-01T00:00:00Z"}
    assert await store.update(LOC, RoleEnum.emsp, newer, loc["id"], **key) == newer
    assert await store.update(LOC, RoleEnum.emsp, newer, loc["id"], **key) == newer
    older = {**loc, "name": "older", "last_updated": "2025-12-01T00:00:00Z"}
    assert await store.update(LOC, RoleEnum.emsp, older, loc["id"], **key) is None
    same_time = {**newer, "name": "same stamp, other text"}  # not older: it is written
    assert await store.update(LOC, RoleEnum.emsp, same_time, loc["id"], **key) == same_time
    assert (await store.get(LOC, RoleEnum.emsp, loc["id"], **key))["name"] == \
        "same stamp, other text"
    assert (await store.get(LOC, RoleEnum.emsp, loc["id"], country_code="BE",
                            party_id="XYZ"))["name"] == "theirs"
    await db.dispose()


async def test_a_page_of_our_own_carries_its_total_wherever_it_is(database_url):
    """Our own pages read the kept count with the page (one round trip); past the end,
    after a keyset cursor, and after a removal the total is still the true one."""
    db = Database(database_url)
    store = SqlStore(db)
    base = sample_locations("NL", "OCP")[0]
    await store.upsert_many(LOC, RoleEnum.cpo, [{**base, "id": f"P{n:02d}"} for n in range(7)])
    first = await store.list_raw(LOC, RoleEnum.cpo, {"offset": 0, "limit": 3})
    assert first.total == 7 and len(first.rows) == 3 and not first.is_last
    nxt = await store.list_raw(LOC, RoleEnum.cpo, {"offset": 3, "limit": 3,
                                                  "after": first.last_seq})
    assert nxt.total == 7 and len(nxt.rows) == 3
    past = await store.list_raw(LOC, RoleEnum.cpo, {"offset": 50, "limit": 3})
    assert past.total == 7 and past.rows == [] and past.is_last
    await store.delete(LOC, RoleEnum.cpo, "P03")
    again = await store.list_raw(LOC, RoleEnum.cpo, {"offset": 0, "limit": 10})
    assert again.total == 6 and len(again.rows) == 6
    theirs = await store.list_raw(LOC, RoleEnum.emsp, {"offset": 0, "limit": 10})
    assert theirs.total == 0 and theirs.rows == []
    await db.dispose()

"""The hot paths issue 6 made fast still answer exactly what the slow ones did:
zero-copy pages, keyset links, the offset memo, kept counts, group commit."""

import asyncio
import copy
import sqlite3
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.modules.locations import mapper as location_mapper
from ocpi.modules.locations.declaration import table as locations
from ocpi.modules.sessions.declaration import table as sessions
from ocpi.store.database import Database
from ocpi.store.keys import ts_key
from ocpi.store.schema import object_counts
from ocpi.store.sql_store import SqlStore

from .conftest import auth, body
from .outbox_helpers import session

LOC = ModuleID.locations


def site(n: int, **extra) -> dict:
    return {"country_code": "NL", "party_id": "OCP", "id": f"L{n:03d}", "publish": True,
            "address": "Laan 1", "city": "Utrecht", "country": "NLD",
            "coordinates": {"latitude": "52.1", "longitude": "5.1"},
            "time_zone": "Europe/Amsterdam", "last_updated": "2026-11-01T00:00:00Z",
            "evses": [{"uid": f"E{n}", "status": "AVAILABLE", "last_updated":
                       "2026-11-01T00:00:00Z", "connectors": [{
                           "id": "1", "standard": "IEC_62196_T2", "format": "SOCKET",
                           "power_type": "AC_3_PHASE", "max_voltage": 230,
                           "max_amperage": 16, "last_updated": "2026-11-01T00:00:00Z"}]}],
            **extra}


async def _counted(db: Database) -> tuple[int, int]:
    async with db.begin() as tx:
        kept = (await tx.execute(select(object_counts.c.n).where(
            object_counts.c.module == "locations", object_counts.c.role == "CPO"))).scalar()
        real = (await tx.execute(select(func.count()).select_from(locations).where(
            locations.c.role == "CPO"))).scalar()
    return kept, real


async def test_pages_follow_the_keyset_link_and_offsets_stay_exact(node):
    store = node.node.crud
    await store.upsert_many(LOC, RoleEnum.cpo, [site(n) for n in range(120)])
    token = await node.partner("DE", "MSP", "EMSP")
    url = "/ocpi/cpo/2.2.1/locations?limit=50"
    r = await node.client.get(url, headers=auth(token))
    assert r.headers["X-Total-Count"] == "120"
    assert [x["id"] for x in body(r)["data"]] == [f"L{n:03d}" for n in range(50)]
    link = r.headers["Link"]
    assert "offset=50" in link and "after=" in link
    nxt = link[1:link.index(">")].removeprefix("http://testserver")
    second = await node.client.get(nxt, headers=auth(token))
    assert [x["id"] for x in body(second)["data"]] == [f"L{n:03d}" for n in range(50, 100)]
    # a delete before the page shifts the offsets: the remembered start is forgotten
    await store.delete(LOC, RoleEnum.cpo, "L010", country_code="NL", party_id="OCP")
    again = await node.client.get("/ocpi/cpo/2.2.1/locations?offset=50&limit=50",
                                  headers=auth(token))
    assert again.headers["X-Total-Count"] == "119"
    assert body(again)["data"][0]["id"] == "L051"
    assert await _counted(node.node.db) == (119, 119)


@pytest.mark.parametrize("version", ["2.1.1", "2.2.1", "2.3.0"])
async def test_a_spliced_page_is_what_rendering_gives(node, version):
    """Stored text goes out as is only where it is that version's wire form."""
    store = node.node.crud
    odd = site(1, _note="internal", parking_restrictions=["EV_ONLY"])
    odd["evses"][0]["connectors"][0]["tariff_ids"] = ["T1"]
    plain = site(2)
    await store.upsert_many(LOC, RoleEnum.cpo, [odd, plain])
    token = await node.partner("DE", "MSP", "EMSP")
    r = await node.client.get(f"/ocpi/cpo/{version}/locations", headers=auth(token, version))
    got = body(r)["data"]
    stored = [await store.get(LOC, RoleEnum.cpo, i, country_code="NL", party_id="OCP")
              for i in ("L001", "L002")]
    assert got == [location_mapper.to_wire(copy.deepcopy(s), version, "location")
                   for s in stored]


async def test_counts_are_kept_by_every_write(database_url):
    db = Database(database_url)
    store = SqlStore(db)
    await store.create(LOC, RoleEnum.cpo, site(1))
    await store.upsert_many(LOC, RoleEnum.cpo, [site(1), site(2), site(3)])
    await store.create(LOC, RoleEnum.emsp, {**site(9), "party_id": "ABC"})  # not listed
    assert await _counted(db) == (3, 3)
    await store.delete(LOC, RoleEnum.cpo, "L002", country_code="NL", party_id="OCP")
    assert await _counted(db) == (2, 2)
    await db.dispose()


async def _insert_again(db: Database, n: int) -> None:
    """A write the database refuses: a row whose key is taken (the store itself
    turns a taken key into its guarded update, so this goes round it)."""
    async with db.begin() as tx:
        await tx.execute(insert(sessions).values(
            role=str(RoleEnum.emsp), country_code="NL", party_id="OCP", id=f"s{n:04d}",
            last_updated=ts_key("2026-11-20T10:00:00Z"), data="{}"))


async def test_one_failing_write_in_a_batch_leaves_the_others(database_url):
    """Concurrent writes share commits; one refused write takes nothing else with it,
    and every answered write is there for a fresh connection."""
    db = Database(database_url)
    store = SqlStore(db)
    await store.create(ModuleID.sessions, RoleEnum.emsp, session(0))

    async def write(n: int) -> None:
        if n == 0:
            await _insert_again(db, 0)
        else:
            await store.create(ModuleID.sessions, RoleEnum.emsp, session(n, kwh=n / 4))

    results = await asyncio.gather(*(write(n) for n in range(40)), return_exceptions=True)
    assert isinstance(results[0], IntegrityError)  # session 0 exists already
    assert all(r is None for r in results[1:])
    await db.dispose()
    fresh = Database(database_url)
    again = SqlStore(fresh)
    for n in range(40):
        got = await again.get(ModuleID.sessions, RoleEnum.emsp, f"S{n:04d}",
                              country_code="NL", party_id="OCP")
        assert got is not None and got["kwh"] == (0 if n == 0 else Decimal(str(n / 4)))
    await fresh.dispose()


async def test_a_failed_write_leaves_the_sqlite_file_free_for_other_processes(tmp_path):
    """Group commit holds SQLite's write lock only while a batch has writes to
    commit: after a refused write the file is free at once for another writer."""
    path = tmp_path / "node.db"
    db = Database(f"sqlite:///{path}")
    store = SqlStore(db)
    await store.create(ModuleID.sessions, RoleEnum.emsp, session(1))
    other = sqlite3.connect(path, timeout=0, isolation_level=None)

    def free() -> bool:
        try:
            other.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # "database is locked"
            return False
        other.execute("ROLLBACK")
        return True

    with pytest.raises(IntegrityError):
        await _insert_again(db, 1)
    assert free()
    assert await store.get(ModuleID.sessions, RoleEnum.emsp, "S0001", country_code="NL",
                           party_id="OCP") is not None
    assert free()  # a read alone holds nothing either
    other.close()
    await db.dispose()


async def test_one_object_twice_in_a_batch_keeps_the_newer(database_url):
    """``upsert_many`` reads a batch's stored rows at once: the same object twice
    in one batch is written once, as its newer version, whichever comes first."""
    db = Database(database_url)
    store = SqlStore(db)
    old, new = site(5), site(5, name="Newer", last_updated="2026-11-02T00:00:00Z")
    for first, second in ((old, new), (new, old)):
        counts = await store.upsert_many(LOC, RoleEnum.cpo, [first, second])
        assert counts["unchanged"] >= 1 and sum(counts.values()) == 2
        got = await store.get(LOC, RoleEnum.cpo, "L005", country_code="NL", party_id="OCP")
        assert got["name"] == "Newer"
    assert await _counted(db) == (1, 1)
    await db.dispose()


async def test_the_short_way_keeps_request_ids_and_a_users_own_routes(tmp_path):
    """OCPI routes skip FastAPI's stack (core.dispatch); routes a library user adds
    to the app still go through it, and both echo the request ids."""
    import httpx

    from ocpi import get_application

    app = get_application(database_url=f"sqlite:///{tmp_path / 'n.db'}",
                          operator_token="op", deliver=False)

    @app.get("/health")
    async def health() -> dict:
        return {"ok": True}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        ocpi = await client.get("/ocpi/cpo/2.2.1/locations", headers={
            "Authorization": "Token op", "X-Request-ID": "r-1", "X-Correlation-ID": "c-1"})
        own = await client.get("/health", headers={"X-Request-ID": "r-2"})
    assert ocpi.status_code == 200 and body(ocpi)["data"] == []
    assert (ocpi.headers["x-request-id"], ocpi.headers["x-correlation-id"]) == ("r-1", "c-1")
    assert own.json() == {"ok": True} and own.headers["x-request-id"] == "r-2"
    await app.state.node.db.dispose()


async def test_rows_flagged_by_an_older_mapper_revision_are_rendered_again(node):
    """A stored flag says which versions the text *was* the wire form of, by the
    mappers of its day: an older release flagged a Location without postal_code
    as 2.1.1's wire form, which it no longer is (2.1.1 requires the field)."""
    from sqlalchemy import update

    store = node.node.crud
    await store.create(LOC, RoleEnum.cpo, site(1))  # no postal_code
    async with node.node.db.begin() as tx:
        await tx.execute(update(locations).values(wire_versions="2.1.1 2.2.1 2.3.0"))
    token = await node.partner("DE", "MSP", "EMSP")
    r = await node.client.get("/ocpi/cpo/2.1.1/locations", headers=auth(token, "2.1.1"))
    got = body(r)["data"][0]
    assert got["postal_code"] == ""  # rendered by today's mapper, not spliced
    async with node.node.db.begin() as tx:
        flags = (await tx.execute(select(locations.c.wire_versions))).scalar()
    assert flags == "2.1.1 2.2.1 2.3.0"
    await store.update(LOC, RoleEnum.cpo, site(1, name="again",
                                           last_updated="2026-11-02T00:00:00Z"), "L001",
                       country_code="NL", party_id="OCP")
    async with node.node.db.begin() as tx:
        flags = (await tx.execute(select(locations.c.wire_versions))).scalar()
    assert flags.startswith("r2 ") and "2.1.1" not in flags.split()

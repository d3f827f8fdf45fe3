"""Who a token is, kept between requests on PostgreSQL, and forgotten as soon as the
registry changes: in this process at the commit, in another by the database's
notification (migration 0013); never used while nobody listens."""

import asyncio
import contextlib

import asyncpg
import pytest
from sqlalchemy import bindparam, update

from ocpi.peers import caller_cache
from ocpi.peers.caller_cache import WATCHED, CallerCache
from ocpi.peers.registry import Registry
from ocpi.store.database import Database
from ocpi.store.prepared import Prepared
from ocpi.store.schema import peers

from .conftest import BACKENDS, PG_URL, reset_postgres

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs PostgreSQL")]


class Counted:
    """The registry's database, counting the token reads that reach it."""

    def __init__(self, db: Database) -> None:
        self.reads = 0
        real = db.fetch

        async def fetch(prepared, params):
            self.reads += 1
            return await real(prepared, params)

        db.fetch = fetch  # type: ignore[method-assign]


@contextlib.asynccontextmanager
async def cached_registry():
    await reset_postgres()
    db = Database(PG_URL)
    cache = CallerCache()
    db.on_commit_of(WATCHED, cache.changed)
    registry = Registry(db, callers=cache)
    listening = asyncio.create_task(cache.listen(db.driver_dsn()))
    for _ in range(200):
        if cache.live:
            break
        await asyncio.sleep(0.01)
    assert cache.live
    try:
        yield db, registry, cache, listening
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening
        await db.dispose()


async def _until(check, seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.02)):
        if await check():
            return True
        await asyncio.sleep(0.02)
    return False


async def test_a_known_token_is_not_read_again_until_the_registry_changes_here():
    async with cached_registry() as (db, registry, _, _):
        peer, token = await registry.add_peer("DE", "MSP", "EMSP", name="msp")
        counted = Counted(db)
        first = await registry.identify(token)
        assert first is not None and first.peer_id == peer.id
        assert await registry.identify(token) == first
        assert counted.reads == 1  # the second came from memory
        assert await registry.identify("made-up") is None
        assert await registry.identify("made-up") is None
        assert counted.reads == 3  # unknown tokens are read every time, never kept
        await registry.unregister(peer.id)  # committed in this process: forgotten at once
        assert await registry.identify(token) is None


async def test_a_change_made_elsewhere_is_heard():
    """Another process (here: another connection, by hand) revokes the token: the
    database's notification empties the cache, well before its 30 s backstop."""
    async with cached_registry() as (_, registry, cache, _):
        _, token = await registry.add_peer("DE", "MSP", "EMSP", name="msp")
        assert await registry.identify(token) is not None
        generation = cache.generation
        other = await asyncpg.connect(PG_URL.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await other.execute("DELETE FROM tokens")
        finally:
            await other.close()

        async def refused() -> bool:
            return await registry.identify(token) is None

        assert await _until(refused, 3.0)
        assert cache.generation > generation


async def test_nothing_is_kept_while_nobody_listens(monkeypatch):
    monkeypatch.setattr(caller_cache, "PING_EVERY", 0.05)
    async with cached_registry() as (db, registry, cache, listening):
        _, token = await registry.add_peer("DE", "MSP", "EMSP", name="msp")
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening
        assert not cache.live
        counted = Counted(db)
        await registry.identify(token)
        await registry.identify(token)
        assert counted.reads == 2


async def test_a_read_overlapping_a_change_is_not_kept():
    async with cached_registry() as (_, registry, cache, _):
        _, token = await registry.add_peer("DE", "MSP", "EMSP", name="msp")
        key_reads = []
        real = registry.db.fetch

        async def slow_fetch(prepared, params):
            rows = await real(prepared, params)
            key_reads.append(1)
            cache.changed()  # the registry changed while this read was on its way
            return rows

        registry.db.fetch = slow_fetch  # type: ignore[method-assign]
        assert await registry.identify(token) is not None
        assert await registry.identify(token) is not None
        assert len(key_reads) == 2  # the first answer was not kept


async def test_a_change_committed_here_is_forgotten_before_the_writer_goes_on():
    """No waiting for the notification: the commit itself empties the cache (here the
    notification is never heard: no listener, the cache held live by hand)."""
    await reset_postgres()
    db = Database(PG_URL)
    cache = CallerCache()
    db.on_commit_of(WATCHED, cache.changed)
    registry = Registry(db, callers=cache)
    try:
        peer, token = await registry.add_peer("DE", "MSP", "EMSP", name="msp")
        cache.live = True
        assert await registry.identify(token) is not None
        counted = Counted(db)
        assert await registry.identify(token) is not None and counted.reads == 0
        await registry.update_peer(peer.id, name="msp-renamed")  # any change of the rows
        assert (await registry.identify(token)).name == "msp-renamed"
        rename = Prepared(update(peers).where(peers.c.id == bindparam("id"))
                          .values(name=bindparam("name")))
        await db.run(rename, {"id": peer.id, "name": "one statement"})  # its own transaction
        assert (await registry.identify(token)).name == "one statement"
        await registry.unregister(peer.id)
        assert await registry.identify(token) is None
    finally:
        await db.dispose()


async def test_a_listener_that_hears_nothing_keeps_nothing(monkeypatch):
    """Through a pooler in transaction mode LISTEN is accepted and nothing is ever
    heard; so before anything is kept, a notification the listener sends itself must
    come back. Here nothing comes back (its LISTENs are dropped)."""
    monkeypatch.setattr(caller_cache, "PING_EVERY", 0.2)

    async def deaf(self, channel, callback):
        return None

    monkeypatch.setattr(asyncpg.Connection, "add_listener", deaf)
    await reset_postgres()
    db = Database(PG_URL)
    cache = CallerCache()
    registry = Registry(db, callers=cache)
    listening = asyncio.create_task(cache.listen(db.driver_dsn(), retry=0.05))
    try:
        _, token = await registry.add_peer("DE", "MSP", "EMSP", name="msp")
        await asyncio.sleep(1.0)
        assert not cache.live
        counted = Counted(db)
        await registry.identify(token)
        await registry.identify(token)
        assert counted.reads == 2
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening
        await db.dispose()

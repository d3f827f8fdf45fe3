"""Acceptance: ``kill -9`` of the delivering node, several times mid-stream, loses
nothing and reorders nothing. The node is a real ``ocpi serve`` process; the
objects are written into its database by a source beside it (as a connector or
``ocpi import`` would) while it is killed and restarted."""

import asyncio
import os
import random
import signal
import subprocess
import time

import httpx
import pytest
from sqlalchemy import func, select

from ocpi.outbox.queue import Queue
from ocpi.store.database import Database
from ocpi.store.schema import outbox
from ocpi.store.sql_store import SqlStore

from .conftest import BACKENDS, PG_URL, reset_postgres
from .outbox_helpers import receiving_partner, write
from .receiver import Receiver
from .test_cli import free_port
from .test_outbox_delivery import chaos, check_every_message, check_latest_state, updates
from .test_partners_e2e import ENV, OCPI

pytestmark = pytest.mark.usefixtures("local_partners")
KILLS = 4


class Node:
    """``ocpi serve`` on a database, started again after every SIGKILL."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0
        self.progress: list[int] = []  # messages the partner had accepted at each kill
        self.receiver: Receiver | None = None
        self.env = {**ENV, "OCPI_OUTBOX_POLL": "0.1", "OCPI_OUTBOX_RETRY_BASE": "0.01",
                    "OCPI_OUTBOX_RETRY_MAX": "0.1"}

    async def start(self) -> None:
        port = free_port()
        self.proc = subprocess.Popen(
            [*OCPI, "serve", "--database", self.db_url, "--port", str(port), "--role", "cpo",
             "--country-code", "NL", "--party-id", "OCP"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env)
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as client:
            while True:
                try:
                    await client.get(f"http://127.0.0.1:{port}/ocpi/versions", timeout=1)
                    return
                except httpx.TransportError:
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("ocpi serve did not start") from None
                    await asyncio.sleep(0.05)

    async def kill_now_and_then(self, rng: random.Random) -> None:
        """Kill once the partner has taken another 30 to 150 messages from this run of
        the node: mid-stream by construction, not by timing."""
        assert self.receiver is not None
        for _ in range(KILLS):
            target = len(self.receiver.accepted) + rng.randint(30, 150)
            deadline = time.monotonic() + 60
            while len(self.receiver.accepted) < target:
                assert time.monotonic() < deadline, "delivery stalled before a kill"
                await asyncio.sleep(0.01)
            assert self.proc is not None
            self.progress.append(len(self.receiver.accepted))
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.kills += 1
            await self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


async def _run(db_url: str, delivery: str, writes: list[dict]) -> tuple[Receiver, int]:
    db = Database(db_url)
    store = SqlStore(db)
    node = Node(db_url)
    try:
        with Receiver(chaos(seed=11)) as receiver:
            await receiving_partner(db, receiver.url, "DE", "MSP", delivery=delivery,
                                    timeout=0.25)
            node.receiver = receiver
            await node.start()
            killer = asyncio.create_task(node.kill_now_and_then(random.Random(3)))
            for i, data in enumerate(writes):
                await write(store, data)
                if i % 20 == 0:
                    await asyncio.sleep(0)
                    # the writer keeps pace with delivery until the kills are done: one far
                    # ahead would leave latest-state little to send, and no kill mid-stream
                    while not killer.done() and await _pending(db) > 300:
                        await asyncio.sleep(0.01)
            await killer
            queue = Queue(db)
            deadline = time.monotonic() + 180
            while await queue.heads():
                assert time.monotonic() < deadline, "the node did not drain its outbox"
                await asyncio.sleep(0.1)
            node.stop()
    finally:
        node.stop()
        await db.dispose()
    assert node.kills == KILLS
    # killed mid-stream: after delivery had begun and before it had ended
    assert all(0 < p < len(receiver.accepted) for p in node.progress), node.progress
    return receiver, node.kills


async def _pending(db: Database) -> int:
    async with db.begin() as tx:
        return (await tx.execute(select(func.count()).select_from(outbox).where(
            outbox.c.state == "pending"))).scalar_one()


@pytest.fixture(params=BACKENDS)
async def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'node.db'}"
    await reset_postgres()
    return PG_URL


def _writes(db_url: str, seed: int) -> list[dict]:
    """10,000 updates; 3,000 on PostgreSQL, whose writes are slower (still longer
    than the four kills take)."""
    return updates(seed=seed, **({} if db_url.startswith("sqlite") else
                                 {"sessions": 60, "steps": 50}))


async def test_every_message_survives_kill_9(db_url):
    writes = _writes(db_url, 12)
    receiver, _ = await _run(db_url, "every-message", writes)
    check_every_message(receiver, writes)


async def test_latest_state_survives_kill_9(db_url):
    writes = _writes(db_url, 13)
    receiver, _ = await _run(db_url, "latest-state", writes)
    check_latest_state(receiver, writes)

"""Acceptance: every update reaches a misbehaving partner, in order, with no loss.

The partner (a raw HTTP server on 127.0.0.1) answers 500, stalls past our
timeout, resets connections and goes down for a while, by a seeded schedule.
Writes and delivery run at the same time, as in a live node.
"""

import asyncio
import itertools
import random
from typing import Any

import pytest

from ocpi.outbox.worker import Backoff, OutboxWorker
from ocpi.store.database import Database
from ocpi.store.sql_store import SqlStore

from .conftest import BACKENDS
from .outbox_helpers import CPO, receiving_partner, session, write
from .receiver import Chaos, Receiver

pytestmark = pytest.mark.usefixtures("local_partners")

SESSIONS, STEPS = 200, 50  # 10,000 writes


def updates(seed: int, sessions: int = SESSIONS, steps: int = STEPS) -> list[dict[str, Any]]:
    """Each session plugs in (PENDING), charges (ACTIVE, kWh rising) and completes;
    sessions interleave at random; ``last_updated`` rises with every write."""
    rng = random.Random(seed)
    left = {n: 0 for n in range(sessions)}
    out = []
    second = 0
    while left:
        n = rng.choice(list(left))
        step = left[n]
        second += 1
        status = "PENDING" if step == 0 else "COMPLETED" if step == steps - 1 else "ACTIVE"
        s = session(n, kwh=step * 0.5, status=status, second=second)
        if status == "COMPLETED":
            s["end_date_time"] = s["last_updated"]
        out.append(s)
        left[n] += 1
        if left[n] == steps:
            del left[n]
    return out


def chaos(seed: int) -> Chaos:
    return Chaos(seed=seed, error500=0.01, timeout=0.002, reset=0.006, down=0.0005,
                 stall=0.5, down_for=0.3)


async def run(db: Database, writes: list[dict[str, Any]], receiver: Receiver) -> OutboxWorker:
    store = SqlStore(db)
    worker = OutboxWorker(db, from_party=CPO, backoff=Backoff(base=0.01, cap=0.1),
                          poll_interval=0.2)
    store.on_publish.append(worker.wake)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    for i, data in enumerate(writes):
        await write(store, data)
        if i % 50 == 0:
            await asyncio.sleep(0)  # let delivery run beside the writes
    for _ in range(1200):  # until the queue is empty (at most 2 minutes)
        if not await worker.queue.heads():
            break
        await asyncio.sleep(0.1)
    stop.set()
    await task
    return worker


def arrived(receiver: Receiver) -> list[tuple[str, str, Any]]:
    """(session id, last_updated, kWh) of the partner's copy after each accepted request."""
    seen: dict[str, int] = {}
    out = []
    for m in receiver.accepted:
        seen[m.path] = seen.get(m.path, 0) + 1
        state = receiver.history[m.path][seen[m.path] - 1]
        out.append((state["id"], state["last_updated"], state["kwh"]))
    return out


def without_repeats(items: list[Any]) -> list[Any]:
    return [x for i, x in enumerate(items) if i == 0 or items[i - 1] != x]


def check_every_message(receiver: Receiver, writes: list[dict[str, Any]]) -> None:
    got = arrived(receiver)
    made = [(w["id"], w["last_updated"], w["kwh"]) for w in writes]
    assert without_repeats(got) == made  # all of them, exactly in the order made
    # a repeat is only ever the same message sent again (same correlation id) right
    # after a lost answer: the partner's, a timeout under load, or our own death
    ids = [m.correlation_id for m in receiver.accepted]
    repeats = [i for i in range(1, len(got)) if got[i] == got[i - 1]]
    assert all(ids[i] == ids[i - 1] for i in repeats)
    assert len(repeats) < len(made) // 50


def check_latest_state(receiver: Receiver, writes: list[dict[str, Any]]) -> None:
    final = {w["id"]: w for w in writes}
    assert len(receiver.objects) == len(final)
    for data in final.values():
        copy = receiver.objects[f"/ocpi/emsp/2.2.1/sessions/NL/OCP/{data['id']}"]
        assert (copy["status"], copy["kwh"], copy["last_updated"]) == \
            (data["status"], data["kwh"], data["last_updated"])
    for states in receiver.history.values():  # never backwards
        for before, after in itertools.pairwise(states):
            assert after["last_updated"] >= before["last_updated"]
            assert after["kwh"] >= before["kwh"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_every_message_delivers_10000_updates_in_order_through_chaos(db):
    writes = updates(seed=4)
    with Receiver(chaos(seed=7)) as receiver:
        await receiving_partner(db, receiver.url, "DE", "MSP", delivery="every-message",
                                timeout=0.25)
        worker = await run(db, writes, receiver)
    assert all(receiver.events.get(e) for e in ("error500", "timeout", "reset", "down")), \
        receiver.events
    check_every_message(receiver, writes)
    assert worker.counters.retried > 0 and worker.counters.dead == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_latest_state_delivers_every_final_state_through_chaos(db):
    writes = updates(seed=5)
    with Receiver(chaos(seed=8)) as receiver:
        await receiving_partner(db, receiver.url, "DE", "MSP", timeout=0.25)
        await run(db, writes, receiver)
    assert receiver.events.get("error500") and receiver.events.get("reset"), receiver.events
    check_latest_state(receiver, writes)
    assert len(receiver.accepted) <= len(writes)


@pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgresql"],
                         indirect=True)
@pytest.mark.parametrize("delivery", ["every-message", "latest-state"])
async def test_both_modes_on_postgresql(db, delivery):
    writes = updates(seed=6, sessions=40, steps=25)  # 1,000 writes
    with Receiver(chaos(seed=9)) as receiver:
        await receiving_partner(db, receiver.url, "DE", "MSP", delivery=delivery,
                                timeout=0.25)
        await run(db, writes, receiver)
    if delivery == "every-message":
        check_every_message(receiver, writes)
    else:
        check_latest_state(receiver, writes)


@pytest.mark.parametrize("delivery", ["every-message", "latest-state"])
async def test_a_backlog_in_latest_state_sends_each_object_once_at_its_newest(db, delivery):
    """Updates queued while the partner was away: latest-state sends each object's
    newest state once (read for a batch at a time), every-message sends them all."""
    store = SqlStore(db)
    writes = [session(n, kwh=step, second=step) for step in range(1, 5) for n in (1, 2)]
    writes.append(session(3, kwh=1.0, second=1))  # an object with one message only
    with Receiver() as receiver:
        await receiving_partner(db, receiver.url, "DE", "MSP", delivery=delivery)
        for data in writes:
            await write(store, data)
        worker = OutboxWorker(db, from_party=CPO, backoff=Backoff(base=0.01, cap=0.05))
        await worker.drain_once()
    sent = [(m.path.rsplit("/", 1)[1], receiver.history[m.path][-1]["kwh"])
            for m in receiver.accepted]
    if delivery == "latest-state":
        assert len(receiver.accepted) == 3  # one per object
    else:
        assert len(receiver.accepted) == len(writes)
    check_latest_state(receiver, writes)
    assert {path: kwh for path, kwh in sent} == {"S0001": 4.0, "S0002": 4.0, "S0003": 1.0}

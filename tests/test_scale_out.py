"""Scale-out acceptance on PostgreSQL: two API processes (``ocpi serve --workers
2``) take the writes, three ``ocpi outbox work`` processes deliver them to three
partners, and the worker holding partners is killed with SIGKILL mid-stream.
Every message still arrives, in each partner's order."""

import asyncio
import contextlib
import os
import signal
import subprocess
import time

import httpx
import pytest
from sqlalchemy import select

from ocpi.store.database import Database
from ocpi.store.schema import leases

from .conftest import BACKENDS, PG_URL, reset_postgres
from .outbox_helpers import receiving_partner, session
from .receiver import Receiver
from .test_cli import free_port
from .test_outbox_delivery import arrived, without_repeats
from .test_partners_e2e import ENV, OCPI

pytestmark = pytest.mark.usefixtures("local_partners")
PARTNERS = [("DE", "MS1"), ("DE", "MS2"), ("FR", "MS3")]
SESSIONS, STEPS = 8, 25  # per partner: 200 messages each, 600 in all
FAST = {"OCPI_OUTBOX_POLL": "0.05", "OCPI_OUTBOX_RETRY_BASE": "0.01",
        "OCPI_OUTBOX_RETRY_MAX": "0.1"}


def _writes(partner: int) -> list[dict]:
    """One partner's sessions: interleaved, kWh and ``last_updated`` rising."""
    owner = PARTNERS[partner]
    out = []
    for step in range(STEPS):
        for n in range(SESSIONS):
            number = partner * 100 + n
            out.append(session(number, kwh=step * 0.5, owner=owner,
                               second=step * SESSIONS + n + 1))
    return out


async def _wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient() as client:
        while True:
            try:
                await client.get(url, timeout=1)
                return
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "did not start"
                await asyncio.sleep(0.05)


async def _holders(db: Database) -> set[int]:
    """Pids of the outbox workers holding a partner's lease now."""
    async with db.begin() as tx:
        rows = (await tx.execute(select(leases.c.holder))).all()
    return {int(r[0].split(":")[1]) for r in rows}


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b == "postgresql"])
async def test_two_api_processes_three_workers_one_killed(backend):
    await reset_postgres()
    db = Database(PG_URL)
    procs: list[subprocess.Popen[bytes]] = []
    with contextlib.ExitStack() as stack:
        receivers = [stack.enter_context(Receiver()) for _ in PARTNERS]
        for (cc, pid), receiver in zip(PARTNERS, receivers, strict=True):
            await receiving_partner(db, receiver.url, cc, pid, delivery="every-message",
                                    timeout=2)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        try:
            api = subprocess.Popen(
                [*OCPI, "serve", "--workers", "2", "--database", PG_URL, "--port", str(port),
                 "--role", "cpo", "--country-code", "NL", "--party-id", "OCP"],
                stdout=subprocess.DEVNULL, env={**ENV, "OCPI_OUTBOX_WORKER": "0"})
            procs.append(api)
            await _wait_up(f"{base}/ocpi/versions", api)
            workers = [subprocess.Popen([*OCPI, "outbox", "work", "--database", PG_URL],
                                        stdout=subprocess.DEVNULL, env={**ENV, **FAST})
                       for _ in range(3)]
            procs += workers
            writes = [_writes(i) for i in range(len(PARTNERS))]
            total = sum(len(w) for w in writes)

            async def stream(items: list[dict]) -> None:
                token = ENV["OCPI_OPERATOR_TOKEN"]
                async with httpx.AsyncClient(headers={"Authorization": f"Token {token}"},
                                             timeout=30) as client:
                    for data in items:
                        r = await client.put(
                            f"{base}/ocpi/cpo/2.2.1/sessions/NL/OCP/{data['id']}", json=data)
                        assert r.status_code in (200, 201), r.text

            async def kill_a_holder() -> tuple[int, int]:
                """SIGKILL the worker that holds partners, once a third has arrived."""
                deadline = time.monotonic() + 60
                while True:
                    accepted = sum(len(r.accepted) for r in receivers)
                    holding = await _holders(db) & {w.pid for w in workers}
                    if accepted >= total // 3 and holding:
                        victim = next(w for w in workers if w.pid in holding)
                        os.kill(victim.pid, signal.SIGKILL)
                        victim.wait()
                        return victim.pid, accepted
                    assert time.monotonic() < deadline, "no worker took the partners"
                    await asyncio.sleep(0.01)

            killing = asyncio.create_task(kill_a_holder())
            await asyncio.gather(*(stream(w) for w in writes))
            victim, at = await killing
            deadline = time.monotonic() + 120
            while any(len(without_repeats(arrived(r))) < len(w)
                      for r, w in zip(receivers, writes, strict=True)):
                assert time.monotonic() < deadline, "the surviving workers did not drain"
                await asyncio.sleep(0.1)
            survivors = await _holders(db)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
                    proc.wait(15)
            await db.dispose()

    assert 0 < at < total  # killed mid-stream
    assert victim not in survivors  # its partners went to the other workers
    for receiver, made in zip(receivers, writes, strict=True):
        got = arrived(receiver)
        assert without_repeats(got) == [(w["id"], w["last_updated"], w["kwh"]) for w in made]
        # a repeat is the same message sent again (the one in flight at the kill)
        ids = [m.correlation_id for m in receiver.accepted]
        assert all(ids[i] == ids[i - 1] for i in range(1, len(got)) if got[i] == got[i - 1])

"""Outbox speed: drain rate of a backlog, and write-to-delivery time at low load.

    .venv/bin/python benchmarks/outbox.py [--messages 10000] [--database URL]

The receiver (``receiver_app.py``) runs in its own process and answers at once.
The reference, measured in the same run against the same receiver, is a bare
sequential sender: one httpx client PUTting the same bodies in a loop, with no
database at all. The drain rate is reported as a ratio to it, so results from
different machines compare.
"""

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
os.environ.setdefault("OCPI_ALLOW_INSECURE_PARTNERS", "1")  # the receiver is on 127.0.0.1

from ocpi.core.enums import ModuleID, RoleEnum  # noqa: E402
from ocpi.outbox.worker import OutboxWorker  # noqa: E402
from ocpi.peers.credentials import Party  # noqa: E402
from ocpi.peers.registry import Registry  # noqa: E402
from ocpi.store.database import Database  # noqa: E402
from ocpi.store.sql_store import SqlStore  # noqa: E402

CPO = ("NL", "OCP")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_receiver() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "receiver_app:app", "--port",
                             str(port), "--log-level", "warning", "--no-access-log"],
                            cwd=HERE)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{url}/arrivals", timeout=0.5)
            return proc, url
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("receiver did not start")


def session(n: int, second: int) -> dict:
    return {
        "country_code": CPO[0], "party_id": CPO[1], "id": f"S{n:06d}",
        "start_date_time": "2026-11-20T10:00:00Z", "kwh": second / 10,
        "cdr_token": {"country_code": "DE", "party_id": "MSP", "uid": f"T{n}", "type": "RFID",
                      "contract_id": f"DEMSPC{n:06d}"},
        "auth_method": "WHITELIST", "location_id": "LOC1", "evse_uid": "E1",
        "connector_id": "1", "currency": "EUR", "status": "ACTIVE",
        "last_updated": f"2026-11-20T{10 + second // 3600:02d}:{second // 60 % 60:02d}:"
                        f"{second % 60:02d}Z",
    }


async def partner(db: Database, url: str) -> None:
    registry = Registry(db)
    if await registry.list_peers():
        raise SystemExit("give an empty database: the benchmark must be its only user")
    peer, _ = await registry.add_peer("DE", "MSP", "EMSP", name="bench")
    await registry.update_peer(peer.id, state="registered", version="2.2.1",
                               token_out="bench-token", parties=[Party("EMSP", "DE", "MSP", {})],
                               endpoints=[{"identifier": "sessions", "role": "RECEIVER",
                                           "url": f"{url}/ocpi/emsp/2.2.1/sessions"}])
    await registry.set_profile("bench", delivery="every-message")


async def bare_rate(url: str, n: int) -> float:
    """The reference: sequential PUTs of the same bodies, nothing else."""
    bodies = [json.dumps(session(i, i)).encode() for i in range(n)]
    async with httpx.AsyncClient() as client:
        t = time.perf_counter()
        for i, body in enumerate(bodies):
            r = await client.put(f"{url}/ocpi/emsp/2.2.1/sessions/NL/OCP/B{i}", content=body,
                                 headers={"Authorization": "Token x",
                                          "Content-Type": "application/json"})
            r.raise_for_status()
        return n / (time.perf_counter() - t)


async def drain_rate(db: Database, n: int) -> float:
    store = SqlStore(db)
    for i in range(n):  # the backlog: n sessions written while the partner was away
        await store.create(ModuleID.sessions, RoleEnum.cpo, session(i, i))
    worker = OutboxWorker(db, from_party=CPO)
    t = time.perf_counter()
    await worker.drain_once()
    elapsed = time.perf_counter() - t
    assert worker.counters.delivered == n, worker.counters
    return n / elapsed


async def latency(db: Database, url: str, n: int, gap: float) -> list[float]:
    """Write one session every ``gap`` seconds with the worker running in-process."""
    store = SqlStore(db)
    worker = OutboxWorker(db, from_party=CPO)
    store.on_publish.append(worker.wake)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    written: dict[str, float] = {}
    for i in range(n):
        data = session(1_000_000 + i, i)
        written[data["id"]] = time.time()
        await store.create(ModuleID.sessions, RoleEnum.cpo, data)
        await asyncio.sleep(gap)
    while await worker.queue.heads():
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)
    stop.set()
    await task
    arrivals = httpx.get(f"{url}/arrivals").json()
    return [arrivals[k] - v for k, v in written.items()]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--database", help="an empty database (default: a fresh SQLite file)")
    parser.add_argument("--low-load", type=int, default=200, help="writes for the latency run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url_db = args.database or f"sqlite:///{tmp}/bench.db"
        proc, url = start_receiver()
        try:
            db = Database(url_db)
            await partner(db, url)
            bare = await bare_rate(url, min(args.messages, 3000))
            httpx.delete(f"{url}/arrivals")
            drain = await drain_rate(db, args.messages)
            httpx.delete(f"{url}/arrivals")
            lat = sorted(await latency(db, url, args.low_load, 0.02))
            await db.dispose()
        finally:
            proc.terminate()
            proc.wait(10)
    result = {
        "database": url_db.split(":")[0], "messages": args.messages,
        "bare_sequential_put_per_s": round(bare),
        "outbox_drain_per_s": round(drain),
        "drain_ratio_to_bare": round(drain / bare, 3),
        "write_to_delivery_ms": {
            "p50": round(statistics.median(lat) * 1000, 1),
            "p95": round(lat[int(len(lat) * 0.95) - 1] * 1000, 1),
            "max": round(lat[-1] * 1000, 1)},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())

"""PostgreSQL that goes away, or has no connection to spare, seen from ``ocpi serve``.

The outage is real: the node reaches PostgreSQL through a TCP relay that the test
cuts (every open connection reset, new ones refused) and restores, so nothing of
the shared server is stopped. Expected (issue 20): each request in the outage is a
503 envelope with ``Retry-After``, never a 500; the log says once that it went and
once that it came back with the count of refused requests, and holds no
traceback; ``/metrics`` shows it; every acknowledged write reaches the partner.
With a small pool per process, concurrent writers wait for a connection rather
than fail.
"""

import asyncio
import contextlib
import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from ocpi.store.database import Database

from .conftest import BACKENDS, PG_URL, reset_postgres
from .outbox_helpers import receiving_partner, session
from .receiver import Receiver
from .test_cli import free_port
from .test_partners_e2e import ENV, OCPI, OPERATOR

pytestmark = [pytest.mark.usefixtures("local_partners"), pytest.mark.postgres,
              pytest.mark.skipif("postgresql" not in BACKENDS, reason="needs PostgreSQL")]
AUTH = {"Authorization": f"Token {OPERATOR}"}


class Relay:
    """127.0.0.1:port -> PostgreSQL, byte for byte, until ``cut``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port,
                                                 reuse_address=True)

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in list(self.writers):
            w.transport.abort()  # a reset, as a server that died
        self.writers.clear()
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                      ) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.writers |= {writer, up_w}
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        try:
            await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))
        except asyncio.CancelledError:
            writer.transport.abort()
            up_w.transport.abort()
        finally:
            self.tasks.discard(task)


def _relayed(url: str, port: int) -> str:
    return re.sub(r"@([^/:]+)(:\d+)?/", f"@127.0.0.1:{port}/", url)


def _serve(url: str, port: int, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*OCPI, "serve", "--database", url, "--port", str(port), "--role", "cpo",
         "--country-code", "NL", "--party-id", "OCP", *extra],
        stdout=subprocess.DEVNULL, stderr=log.open("wb"),
        env={**ENV, "OCPI_OUTBOX_POLL": "0.05", "OCPI_OUTBOX_RETRY_BASE": "0.05",
             "OCPI_OUTBOX_RETRY_MAX": "0.5"})


async def _up(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient() as client:
        while True:
            try:
                await client.get(f"{base}/ocpi/versions", timeout=1)
                return
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.05)


async def _others(db: Database) -> int:
    """Connections to the test database other than the one asking."""
    async with db.begin() as tx:
        return int((await tx.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"))).scalar_one())


def _metric(text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    assert found, text
    return float(found.group(1))


async def test_an_outage_is_503_with_retry_after_logged_once_and_nothing_lost(tmp_path):
    await reset_postgres()
    pg_port = int(re.search(r":(\d+)/", PG_URL).group(1)) if re.search(r":(\d+)/", PG_URL) \
        else 5432
    relay = Relay(pg_port)
    await relay.start()
    url = _relayed(PG_URL, relay.port)
    db = Database(PG_URL)
    log = tmp_path / "serve.log"
    with Receiver() as receiver:
        await receiving_partner(db, receiver.url, "DE", "MSP", delivery="every-message",
                                timeout=2)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = _serve(url, port, log)
        try:
            await _up(base, proc, log)
            acknowledged: set[str] = set()
            statuses: list[int] = []
            async with httpx.AsyncClient(headers=AUTH, timeout=20) as client:
                async def put(n: int) -> httpx.Response:
                    data = session(n, second=n)
                    r = await client.put(f"{base}/ocpi/cpo/2.2.1/sessions/NL/OCP/{data['id']}",
                                         json=data)
                    statuses.append(r.status_code)
                    if r.status_code in (200, 201):
                        acknowledged.add(data["id"])
                    return r

                for n in range(5):
                    assert (await put(n)).status_code in (200, 201)
                await relay.cut()
                refused = []
                for n in range(5, 25):
                    r = await put(n)
                    assert r.status_code == 503, r.text
                    assert r.headers["retry-after"] == "5"
                    body = r.json()
                    assert body["status_code"] == 3000
                    assert "database unavailable" in body["status_message"]
                    refused.append(r)
                r = await client.get(f"{base}/ocpi/versions")  # a token lookup needs it too
                assert r.status_code in (200, 503)
                metrics = (await client.get(f"{base}/metrics")).text
                assert _metric(metrics, "ocpi_database_up") == 0
                assert _metric(metrics, "ocpi_database_refused_requests_total") >= 20
                await relay.start()
                deadline = time.monotonic() + 15
                n = 100
                while (await put(n)).status_code == 503:
                    assert time.monotonic() < deadline, "no recovery"
                    await asyncio.sleep(0.2)
                    n += 1
                for m in range(200, 205):
                    assert (await put(m)).status_code in (200, 201)
                deadline = time.monotonic() + 5
                while _metric((await client.get(f"{base}/metrics")).text,
                              "ocpi_database_up") != 1:
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.1)
                metrics = (await client.get(f"{base}/metrics")).text
                assert _metric(metrics, "ocpi_database_outages_total") == 1
            assert 500 not in statuses
            deadline = time.monotonic() + 20
            while {m.path.rsplit("/", 1)[-1] for m in receiver.accepted} < acknowledged:
                assert time.monotonic() < deadline, "an acknowledged write never arrived"
                await asyncio.sleep(0.1)
        finally:
            proc.terminate()  # its shutdown goes through the relay: keep this loop running
            await asyncio.to_thread(proc.wait, 15)
            await relay.cut()
            await db.dispose()
    text = log.read_text()
    assert "Traceback" not in text, text
    assert text.count("database unavailable (") == 1, text
    back = re.findall(r"database available again after [\d.]+ s; (\d+) requests were "
                      r"refused", text)
    assert len(back) == 1 and int(back[0]) >= 20, text


async def test_two_workers_on_small_pools_answer_every_concurrent_write(tmp_path):
    """64 concurrent writers on 2 processes of 3 connections each: they queue for a
    connection, and every write is answered 2xx (the budget, not the load, sets the
    number of connections: 6, printed at start)."""
    await reset_postgres()
    db = Database(PG_URL)
    baseline = await _others(db)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    out = tmp_path / "serve.out"
    proc = subprocess.Popen(
        [*OCPI, "serve", "--database", PG_URL, "--port", str(port), "--role", "cpo",
         "--workers", "2", "--db-pool-size", "3"],
        stdout=out.open("wb"), stderr=log.open("wb"), env={**ENV, "OCPI_OUTBOX_WORKER": "0"})
    statuses: list[int] = []
    try:
        await _up(base, proc, log)
        assert "PostgreSQL connections: up to 8" in out.read_text()  # 2 x (3 + 1)

        async def writer(w: int, client: httpx.AsyncClient) -> None:
            for k in range(8):
                data = session(w * 100 + k, second=k)
                r = await client.put(f"{base}/ocpi/cpo/2.2.1/sessions/NL/OCP/{data['id']}",
                                     json=data)
                statuses.append(r.status_code)

        peak = 0
        done = asyncio.Event()

        async def watch() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, await _others(db) - baseline)
                await asyncio.sleep(0.05)

        limits = httpx.Limits(max_connections=64)
        watcher = asyncio.create_task(watch())
        async with httpx.AsyncClient(headers=AUTH, timeout=60, limits=limits) as client:
            await asyncio.gather(*(writer(w, client) for w in range(64)))
        done.set()
        await watcher
    finally:
        proc.terminate()
        proc.wait(15)
        await db.dispose()
    assert len(statuses) == 64 * 8
    assert set(statuses) <= {200, 201}, sorted(set(statuses))
    assert 0 < peak <= 8, peak  # the two processes never held more than their budget
    assert "Traceback" not in log.read_text()

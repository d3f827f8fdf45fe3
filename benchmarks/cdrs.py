"""What a CDR costs at the end of a session: 1,000 of our sessions written COMPLETED
through the store, once with the CDR builder (each priced, stored and queued for
the token's eMSP in the same transaction) and once without it (the write as it
was before CDRs), on a fresh database each, one after the other.

    .venv/bin/python benchmarks/cdrs.py [--sessions 1000] [--databases URL URL]

Prints JSON: milliseconds per completed session with and without its CDR, and
the difference, which is what generating a CDR adds to that write.
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
os.environ.setdefault("OCPI_ALLOW_INSECURE_PARTNERS", "1")

import ocpi  # noqa: E402, F401  (the store's own-write hooks: outbox, CDR builder)
from ocpi.core.enums import ModuleID, RoleEnum  # noqa: E402
from ocpi.peers.credentials import Party  # noqa: E402
from ocpi.peers.registry import Registry  # noqa: E402
from ocpi.services import cdr_builder  # noqa: E402
from ocpi.store import objects  # noqa: E402
from ocpi.store.database import Database  # noqa: E402
from ocpi.store.sql_store import SqlStore  # noqa: E402

CPO = {"country_code": "NL", "party_id": "OCP"}
TARIFF_FILE = HERE.parent / "tests" / "data" / "ocpi-examples" / "2.3.0" / "tariff_4_complex.json"


def tariff() -> dict[str, Any]:
    from ocpi.core import jsonutil

    return {**jsonutil.loads(TARIFF_FILE.read_bytes()), **CPO, "id": "COMPLEX"}


def location() -> dict[str, Any]:
    connector = {"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET",
                 "power_type": "AC_3_PHASE", "max_voltage": 230, "max_amperage": 32,
                 "tariff_ids": ["COMPLEX"], "last_updated": "2026-01-01T00:00:00Z"}
    return {**CPO, "id": "LOC1", "publish": True, "address": "Street 1", "city": "Town",
            "postal_code": "1234AB", "country": "NLD", "time_zone": "Europe/Amsterdam",
            "coordinates": {"latitude": "52.370216", "longitude": "4.895168"},
            "last_updated": "2026-01-01T00:00:00Z",
            "evses": [{"uid": "EVSE1", "evse_id": "NL*OCP*E1", "status": "AVAILABLE",
                       "connectors": [connector],
                       "last_updated": "2026-01-01T00:00:00Z"}]}


def session(n: int) -> dict[str, Any]:
    periods = [{"start_date_time": f"2026-01-09T17:{m:02d}:00Z", "dimensions": [
        {"type": "ENERGY", "volume": Decimal("2.5")}, {"type": "MIN_CURRENT", "volume": 16},
        {"type": "MAX_CURRENT", "volume": 16}]} for m in (0, 15, 30, 45)]
    periods.append({"start_date_time": "2026-01-09T18:00:00Z",
                    "dimensions": [{"type": "PARKING_TIME", "volume": 1}]})
    return {**CPO, "id": f"S{n:05d}", "start_date_time": "2026-01-09T17:00:00Z",
            "end_date_time": "2026-01-09T19:00:00Z", "kwh": 10,
            "cdr_token": {"country_code": "DE", "party_id": "MSP", "uid": f"T{n}",
                          "type": "RFID", "contract_id": f"DE-MSP-C{n:05d}"},
            "auth_method": "WHITELIST", "location_id": "LOC1", "evse_uid": "EVSE1",
            "connector_id": "1", "currency": "EUR", "charging_periods": periods,
            "status": "COMPLETED", "last_updated": "2026-01-09T19:00:00Z"}


async def one_run(url: str, count: int, with_cdrs: bool) -> float:
    db = Database(url)
    store = SqlStore(db)
    registry = Registry(db)
    peer, _ = await registry.add_peer("DE", "MSP", "EMSP", name="de-msp")
    await registry.update_peer(peer.id, state="registered", version="2.2.1",
                               token_out="t", parties=[Party("EMSP", "DE", "MSP", {})],
                               endpoints=[{"identifier": m, "role": "RECEIVER",
                                           "url": f"http://127.0.0.1:9/{m}"}
                                          for m in ("sessions", "cdrs")])
    await store.create(ModuleID.tariffs, RoleEnum.cpo, tariff(), **CPO)
    await store.create(ModuleID.locations, RoleEnum.cpo, location(), **CPO)
    hooks = objects._PREPARED
    saved = list(hooks)
    if not with_cdrs:
        hooks.remove(cdr_builder.on_session_write)
    try:
        began = time.perf_counter()
        for n in range(count):
            await store.create(ModuleID.sessions, RoleEnum.cpo, session(n), **CPO)
        elapsed = time.perf_counter() - began
    finally:
        hooks[:] = saved
    if with_cdrs:
        held = await cdr_builder.retry(db)  # nothing may be held: every one was priced
        assert not held, held[:3]
    await db.dispose()
    return elapsed * 1000 / count


async def bench_cdrs(count: int = 1000, urls: tuple[str, str] | None = None
                     ) -> dict[str, Any]:
    """``urls``: two empty databases (without, with); SQLite files by default."""
    with tempfile.TemporaryDirectory() as tmp:
        urls = urls or tuple(f"sqlite:///{Path(tmp) / f'{n}.db'}" for n in ("a", "b"))
        runs = {}
        for (name, with_cdrs), target in zip((("without", False), ("with", True)), urls,
                                             strict=True):
            runs[name] = await one_run(target, count, with_cdrs)
    return {"sessions": count, "ms_per_session_without_cdr": round(runs["without"], 3),
            "ms_per_session_with_cdr": round(runs["with"], 3),
            "cdr_ms": round(runs["with"] - runs["without"], 3)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--databases", nargs=2, metavar="URL",
                        help="two empty databases, e.g. PostgreSQL (default: SQLite files)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(bench_cdrs(args.sessions, args.databases))))

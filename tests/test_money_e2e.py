"""Acceptance, the money path: two nodes of this package, started as a user starts
them, registered by ``invite`` + ``register`` in each version. The CPO publishes
its tariffs and Location; finished sessions are imported (one across a time-of-day
boundary, one with parking time, one free, one capped by its max price, one on a
2.3.0 tariff whose prices include taxes); each becomes a CDR priced by the engine
that reaches the eMSP, which prices it again and flags none. A CDR lost by the
eMSP is found by ``ocpi cdrs reconcile`` and sent again. Real processes, real HTTP.
"""

import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from ocpi.modules.cdrs.declaration import CDRS
from ocpi.store.database import Database

from .test_partners_e2e import ocpi, serving

OWNER = {"country_code": "NL", "party_id": "CPO"}
VAT = {"vat": Decimal("21.0")}


def _tariff(id: str, elements: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {**OWNER, "id": id, "currency": "EUR", "elements": elements,
            "tax_included": "NO", "last_updated": "2026-12-01T00:00:00Z", **extra}


TARIFFS = [
    # 0.30/kWh from 07:00 to 22:00 local, 0.15/kWh the rest of the day
    _tariff("TOD", [{"price_components": [{"type": "ENERGY", "price": Decimal("0.30"),
                                           "step_size": 1, **VAT}],
                     "restrictions": {"start_time": "07:00", "end_time": "22:00"}},
                    {"price_components": [{"type": "ENERGY", "price": Decimal("0.15"),
                                           "step_size": 1, **VAT}]}]),
    _tariff("PARK", [{"price_components": [
        {"type": "ENERGY", "price": Decimal("0.25"), "step_size": 1, **VAT},
        {"type": "PARKING_TIME", "price": Decimal("2.00"), "step_size": 60, **VAT}]}]),
    _tariff("FREE", [{"price_components": [{"type": "FLAT", "price": Decimal("0.00"),
                                            "step_size": 0}]}]),
    _tariff("CAP", [{"price_components": [{"type": "ENERGY", "price": Decimal("0.50"),
                                           "step_size": 1, **VAT}]}],
            max_price={"before_taxes": Decimal("5.00")}),
    # prices include 20 % tax: 2.40/h is 2.00/h before taxes
    _tariff("TAX", [{"price_components": [{"type": "TIME", "price": Decimal("2.40"),
                                           "vat": Decimal("20.0"), "step_size": 1}]}],
            tax_included="YES"),
]


def _location(ids: list[str]) -> dict[str, Any]:
    evses = [{"uid": f"E-{t}", "evse_id": f"NL*CPO*E{n}", "status": "AVAILABLE",
              "last_updated": "2026-12-01T00:00:00Z",
              "connectors": [{"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET",
                              "power_type": "AC_3_PHASE", "max_voltage": 230,
                              "max_amperage": 32, "tariff_ids": [t],
                              "last_updated": "2026-12-01T00:00:00Z"}]}
             for n, t in enumerate(ids)]
    return {**OWNER, "id": "LOC1", "publish": True, "address": "Damrak 1",
            "city": "Amsterdam", "postal_code": "1012LG", "country": "NLD",
            "coordinates": {"latitude": "52.375000", "longitude": "4.896000"},
            "time_zone": "Europe/Amsterdam", "evses": evses,
            "last_updated": "2026-12-01T00:00:00Z"}


def _period(start: str, **dims: Any) -> dict[str, Any]:
    return {"start_date_time": start,
            "dimensions": [{"type": k, "volume": Decimal(str(v))} for k, v in dims.items()]}


def _session(id: str, tariff: str, start: str, end: str, kwh: Any,
             periods: list[dict[str, Any]]) -> dict[str, Any]:
    return {**OWNER, "id": id, "start_date_time": start, "end_date_time": end,
            "kwh": Decimal(str(kwh)),
            "cdr_token": {"country_code": "DE", "party_id": "MSP", "uid": f"TOK-{id}",
                          "type": "RFID", "contract_id": f"DE-MSP-C{id}"},
            "auth_method": "WHITELIST", "location_id": "LOC1", "evse_uid": f"E-{tariff}",
            "connector_id": "1", "currency": "EUR", "charging_periods": periods,
            "status": "COMPLETED", "last_updated": end}


# Amsterdam in December is UTC+1. Expected totals before taxes, worked by hand:
SESSIONS = [
    # 21:00-23:00 local, 20 kWh evenly: 10 kWh before 22:00 at 0.30 and 10 after at
    # 0.15 = 3.00 + 1.50
    (_session("S-TOD", "TOD", "2026-12-02T20:00:00Z", "2026-12-02T22:00:00Z", 20,
              [_period("2026-12-02T20:00:00Z", ENERGY=20, TIME=2)]), Decimal("4.50")),
    # 1 h charging 10 kWh at 0.25 = 2.50, then 30 min parked at 2.00/h = 1.00
    (_session("S-PARK", "PARK", "2026-12-02T10:00:00Z", "2026-12-02T11:30:00Z", 10,
              [_period("2026-12-02T10:00:00Z", ENERGY=10, TIME=1),
               _period("2026-12-02T11:00:00Z", PARKING_TIME="0.5")]), Decimal("3.50")),
    # free of charge
    (_session("S-FREE", "FREE", "2026-12-02T12:00:00Z", "2026-12-02T13:00:00Z", 7,
              [_period("2026-12-02T12:00:00Z", ENERGY=7, TIME=1)]), Decimal("0")),
    # 20 kWh at 0.50 = 10.00, held to the max_price of 5.00 (2.2+: 2.1.1 has none)
    (_session("S-CAP", "CAP", "2026-12-02T14:00:00Z", "2026-12-02T15:00:00Z", 20,
              [_period("2026-12-02T14:00:00Z", ENERGY=20, TIME=1)]), Decimal("5.00")),
    # 1 h at 2.40 including 20 % tax: 2.00 before taxes, 0.40 tax (2.3.0 only)
    (_session("S-TAX", "TAX", "2026-12-02T16:00:00Z", "2026-12-02T17:00:00Z", 5,
              [_period("2026-12-02T16:00:00Z", ENERGY=5, TIME=1)]), Decimal("2.00")),
]
ONLY = {"S-CAP": ("2.2.1", "2.3.0"), "S-TAX": ("2.3.0",),
        "CAP": ("2.2.1", "2.3.0"), "TAX": ("2.3.0",)}


def _write(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data, default=str))
    return str(path)


def _cdrs(db: str) -> dict[str, dict[str, Any]]:
    r = ocpi("cdrs", "list", "--json", db=db)
    assert r.returncode == 0, r.stderr
    return {row["id"]: row for row in json.loads(r.stdout) if row["side"] == "received"}


def _wait_for(db: str, ids: set[str], seconds: float = 40) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while True:
        got = _cdrs(db)
        if ids <= set(got) or time.monotonic() > deadline:
            return got
        time.sleep(0.3)


@pytest.mark.parametrize("version", ("2.1.1", "2.2.1", "2.3.0"))
async def test_sessions_become_priced_cdrs_the_emsp_agrees_with(tmp_path, version):
    cpo_db = f"sqlite:///{tmp_path / 'cpo.db'}"
    emsp_db = f"sqlite:///{tmp_path / 'emsp.db'}"
    tariffs = [t for t in TARIFFS if version in ONLY.get(t["id"], (version,))]
    sessions = [(s, cost) for s, cost in SESSIONS if version in ONLY.get(s["id"], (version,))]
    with serving(cpo_db, "cpo", "NL", "CPO"), serving(emsp_db, "emsp", "DE", "MSP"):
        invite = json.loads(ocpi("peers", "invite", "--country-code", "DE", "--party-id",
                                 "MSP", "--role", "EMSP", "--json", db=cpo_db).stdout)
        r = ocpi("peers", "register", "--versions-url", invite["versions_url"],
                 f"--token={invite['token']}", "--version", version, db=emsp_db)
        assert r.returncode == 0, r.stderr
        # published after registration: pushed to the eMSP by the outbox
        for module, items, v in (("tariffs", tariffs, "2.3.0"),
                                 ("locations", [_location([t["id"] for t in tariffs])],
                                  "2.2.1"),
                                 ("sessions", [s for s, _ in sessions], "2.2.1")):
            r = ocpi("import", module, _write(tmp_path / f"{module}.json", items),
                     "--version", v, db=cpo_db)
            assert r.returncode == 0, r.stderr
        r = ocpi("cdrs", "list", "--held", "--json", db=cpo_db)
        assert json.loads(r.stdout) == [], r.stdout
        ids = {s["id"].lower() for s, _ in sessions}
        got = _wait_for(emsp_db, {s["id"] for s, _ in sessions})
        assert {k.lower() for k in got} == ids, (got, ocpi("outbox", "status", db=cpo_db).stdout)
        for s, cost in sessions:
            row = got[s["id"]]
            assert Decimal(str(row["total"])) == cost, (s["id"], row)
            assert row["check"] == "agreed", (s["id"], row)
        assert json.loads(ocpi("cdrs", "list", "--disputed", "--json", db=emsp_db).stdout) == []

        # the eMSP loses one: reconcile finds it missing and sends it again
        db = Database(emsp_db)
        try:
            async with db.begin() as tx:
                await tx.execute(delete(CDRS.table).where(CDRS.table.c.id == "s-park"))
        finally:
            await db.dispose()
        r = ocpi("cdrs", "reconcile", "de-msp-emsp", "--json", db=cpo_db)
        assert r.returncode == 2, r.stderr
        report = json.loads(r.stdout)
        assert [m["id"] for m in report["missing"]] == ["s-park"]
        assert len(report["agreed"]) == len(sessions) - 1, report
        assert "S-PARK" in _wait_for(emsp_db, {"S-PARK"})
        r = ocpi("cdrs", "reconcile", "de-msp-emsp", "--json", db=cpo_db)
        assert r.returncode == 0, r.stdout + r.stderr
        assert len(json.loads(r.stdout)["agreed"]) == len(sessions)

"""A simulated charger behind the operator hooks, for the demo and for partners'
testing: ``ocpi serve --demo`` or ``--simulate-chargers``, or
``get_application(simulate_chargers=True)``.

It plays the Charge Points of our own Locations as OCPP would report them: a
START_SESSION on an AVAILABLE (or, for the token that reserved it, RESERVED)
EVSE creates a Session (``SIM-...``, pushed to partners as any of ours) and
sets the EVSE CHARGING; every ``OCPI_SIMULATOR_SECONDS`` (default 5) each
running session grows at its connector's power, capped by the charging
profile a partner set (``services.charging_profiles.active_profile``), one
charging period per power level, until the car's battery is full
(``BATTERY_KWH``); STOP_SESSION completes it (so the CDR builder prices it)
and frees the EVSE. UNLOCK_CONNECTOR is refused while a session charges on
it; RESERVE_NOW sets the EVSE RESERVED until its expiry (kept in the node's
settings, so a restart keeps it), CANCEL_RESERVATION frees it.

Every request is ACCEPTED at once and its result reported a moment later,
as a charger's would, through ``services.commands.report_result`` and
``services.charging_profiles.report_result``. Nothing here is kept only in
memory: sessions grow from their stored ``last_updated``, so a restart (or a
second process) carries on where the last tick left off.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ..core.datetime import format_datetime, parse_datetime, utcnow
from ..core.enums import ModuleID, RoleEnum
from ..core.objects import find_item
from ..modules.chargingprofiles.schemas import limit_of
from ..modules.remote import Refused
from ..services import charging_profiles, commands
from ..store import settings as node_state
from ..store.database import Database
from ..store.sql_store import SqlStore

log = logging.getLogger("ocpi.simulator")

PREFIX = "SIM-"  # the sessions the simulator runs
BATTERY_KWH = Decimal(60)  # a car's battery: it stops drawing when this much went in
TIMEOUT = 30  # seconds the eMSP is told to wait for a result
RESERVATIONS = "simulator.reservations"
OUT_OF_SERVICE = frozenset({"BLOCKED", "INOPERATIVE", "OUTOFORDER", "REMOVED", "UNKNOWN"})
_KWH = Decimal("0.001")
_HOURS = Decimal("0.000001")


def connector_power_w(connector: dict[str, Any]) -> Decimal:
    """What a connector can give: its ``max_electric_power``, else volts x amperes
    (x 3 phases on AC_3_PHASE)."""
    if connector.get("max_electric_power"):
        return Decimal(str(connector["max_electric_power"]))
    phases = 3 if connector.get("power_type") == "AC_3_PHASE" else 1
    return Decimal(str(connector.get("max_voltage") or 230)) * \
        Decimal(str(connector.get("max_amperage") or 16)) * phases


def limit_w(active: dict[str, Any] | None, connector: dict[str, Any], at: datetime
            ) -> Decimal | None:
    """The watts a session's ActiveChargingProfile allows at ``at``; None: no limit."""
    if not active:
        return None
    profile = active.get("charging_profile") or {}
    start = profile.get("start_date_time") or active.get("start_date_time")
    offset = (at - parse_datetime(start)).total_seconds() if start else 0.0
    found = limit_of(profile, offset)
    if found is None:
        return None
    limit, unit = found
    if unit == "A":
        phases = 3 if connector.get("power_type") == "AC_3_PHASE" else 1
        volts = Decimal(str(connector.get("max_voltage") or 230))
        if phases == 3 and volts > 300:  # a line-to-line rating: per phase it is /sqrt(3)
            volts = Decimal(230)
        return Decimal(str(limit)) * volts * phases
    return Decimal(str(limit))



def _stamp(after: str | None = None) -> str:
    """Now, strictly after ``after`` (a write partners must see as newer)."""
    now = utcnow()
    if after is not None:
        now = max(now, parse_datetime(after) + timedelta(milliseconds=1))
    return format_datetime(now)


class Simulator:
    """The charger of every EVSE of ours; ``command`` and ``charging_profile`` are the
    node's hooks, ``advance`` its clock."""

    def __init__(self, db: Database, owner: tuple[str, str], *, delay: float = 0.3) -> None:
        self.db, self.store, self.owner, self.delay = db, SqlStore(db), owner, delay
        self._reports: set[asyncio.Task[None]] = set()
        # one charger action at a time: a tick never writes back a session a STOP
        # completed meanwhile, two reservations never overwrite each other
        self._acting = asyncio.Lock()

    # --- the hooks --------------------------------------------------------------------

    async def command(self, data: dict[str, Any]) -> dict[str, Any]:
        """ACCEPTED at once; what the charger does is reported after ``delay``."""
        work = {"START_SESSION": self._start, "STOP_SESSION": self._stop,
                "UNLOCK_CONNECTOR": self._unlock, "RESERVE_NOW": self._reserve,
                "CANCEL_RESERVATION": self._cancel}.get(data["command"])
        if work is None:
            return {"result": "NOT_SUPPORTED"}
        if data["command"] == "STOP_SESSION" and \
                not str(data["request"]["session_id"]).startswith(PREFIX):
            return {"result": "REJECTED", "message": "not a session of the simulated charger"}

        async def report() -> None:
            async with self._acting:
                result, message = await work(data)
            await commands.report_result(self.db, data["id"], result, message)

        self._later(report)
        return {"result": "ACCEPTED", "timeout": TIMEOUT}

    async def charging_profile(self, data: dict[str, Any]) -> dict[str, Any]:
        session = data.get("session") or {}
        if not str(data["session_id"]).startswith(PREFIX):
            return {"result": "NOT_SUPPORTED"}

        async def report() -> None:
            active = await charging_profiles.active_profile(self.db, data["session_id"])
            if data["request"] == "GET":
                connector = await self._connector(session)
                shown = active or {"start_date_time": format_datetime(utcnow()),
                                   "charging_profile": {
                                       "charging_rate_unit": "W", "duration": data["duration"],
                                       "charging_profile_period": [{
                                           "start_period": 0,
                                           "limit": connector_power_w(connector or {})}]}}
                await charging_profiles.report_result(self.db, data["id"], "ACCEPTED", shown)
            elif data["request"] == "CLEAR":
                await charging_profiles.report_result(self.db, data["id"],
                                                      "ACCEPTED" if active else "UNKNOWN")
            else:  # SET: applied from the next tick on
                await charging_profiles.report_result(self.db, data["id"], "ACCEPTED")

        self._later(report)
        return {"result": "ACCEPTED", "timeout": TIMEOUT}

    def _later(self, report: Callable[[], Awaitable[None]]) -> None:
        """Report once the hook's answer is recorded (the request is pending)."""
        async def run() -> None:
            await asyncio.sleep(self.delay)
            for _ in range(100):
                try:
                    await report()
                    return
                except Refused as exc:
                    if "not answered yet" not in str(exc):
                        log.warning("simulated charger: %s", exc)
                        return
                except Exception:  # the sweeper's TIMEOUT tells the partner
                    log.exception("simulated charger failed")
                    return
                await asyncio.sleep(0.1)
            log.warning("simulated charger: a result could not be reported")

        task = asyncio.create_task(run())
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    async def idle(self) -> None:
        """Until every result reported (tests, and a clean shutdown)."""
        while self._reports:
            await asyncio.gather(*self._reports, return_exceptions=True)

    # --- what the charger does ------------------------------------------------------------

    async def _location(self, location_id: str) -> dict[str, Any] | None:
        return await self.store.get(ModuleID.locations, RoleEnum.cpo, location_id,
                                    country_code=self.owner[0], party_id=self.owner[1])

    async def _connector(self, session: dict[str, Any]) -> dict[str, Any] | None:
        location = await self._location(str(session.get("location_id")))
        evse = find_item((location or {}).get("evses"), "uid", session.get("evse_uid"))
        return find_item((evse or {}).get("connectors"), "id", session.get("connector_id"))

    async def _set_status(self, location_id: str, evse_uid: str, status: str) -> None:
        location = await self._location(location_id)
        evse = find_item((location or {}).get("evses"), "uid", evse_uid)
        if location is None or evse is None or evse.get("status") == status:
            return
        stamp = _stamp(location["last_updated"])
        evse["status"], evse["last_updated"] = status, stamp
        location["last_updated"] = stamp
        await self.store.update(ModuleID.locations, RoleEnum.cpo, location, location["id"],
                                country_code=self.owner[0], party_id=self.owner[1])

    async def _reservations(self) -> dict[str, Any]:
        return dict(await node_state.get_value(self.db, RESERVATIONS) or {})

    async def _start(self, data: dict[str, Any]) -> tuple[str, str | None]:
        request = data["request"]
        token = request.get("token") or {}
        location = await self._location(str(request["location_id"]))
        if location is None:
            return "REJECTED", "unknown Location"
        held = {r["evse_uid"]: r for r in (await self._reservations()).values()
                if r["location_id"] == location["id"]}

        def usable(evse: dict[str, Any]) -> bool:
            if evse.get("status") == "RESERVED":
                return held.get(evse["uid"], {}).get("token_uid") == token.get("uid")
            return evse.get("status") == "AVAILABLE"

        if request.get("evse_uid"):
            evse = find_item(location.get("evses"), "uid", request["evse_uid"])
            if evse is None or evse.get("status") in OUT_OF_SERVICE:
                return "EVSE_INOPERATIVE", None
            if not usable(evse):
                return "EVSE_OCCUPIED", None
        else:
            evse = next((e for e in location.get("evses") or () if usable(e)), None)
            if evse is None:
                return "EVSE_OCCUPIED", "no EVSE available at this Location"
        connectors = evse.get("connectors") or []
        connector = find_item(connectors, "id", request.get("connector_id")) \
            if request.get("connector_id") else (connectors[0] if connectors else None)
        if connector is None:
            return "REJECTED", "unknown connector"
        party = data.get("from_party") or (None, None)
        now = format_datetime(utcnow())
        session = {
            "country_code": self.owner[0], "party_id": self.owner[1],
            "id": f"{PREFIX}{uuid.uuid4().hex[:16]}", "start_date_time": now, "kwh": 0,
            "cdr_token": {"country_code": token.get("country_code") or party[0],
                          "party_id": token.get("party_id") or party[1],
                          "uid": token.get("uid"), "type": token.get("type") or "RFID",
                          "contract_id": token.get("contract_id") or token.get("auth_id")
                          or token.get("uid")},
            "auth_method": "COMMAND", "location_id": location["id"], "evse_uid": evse["uid"],
            "connector_id": connector["id"], "currency": await self._currency(connector),
            "charging_periods": [], "status": "ACTIVE", "last_updated": now}
        if data.get("authorization_reference"):
            session["authorization_reference"] = data["authorization_reference"]
        await self.store.create(ModuleID.sessions, RoleEnum.cpo, session,
                                country_code=self.owner[0], party_id=self.owner[1])
        for rid, r in list(held.items()):
            if rid == evse["uid"]:
                await self._drop_reservation(r["reservation_id"])
        await self._set_status(location["id"], evse["uid"], "CHARGING")
        return "ACCEPTED", None

    async def _currency(self, connector: dict[str, Any]) -> str:
        for tariff_id in connector.get("tariff_ids") or ():
            tariff = await self.store.get(ModuleID.tariffs, RoleEnum.cpo, str(tariff_id),
                                          country_code=self.owner[0], party_id=self.owner[1])
            if tariff is not None:
                return str(tariff["currency"])
        return "EUR"

    async def _stop(self, data: dict[str, Any]) -> tuple[str, str | None]:
        sid = str(data["request"]["session_id"])
        session = await self.store.get(ModuleID.sessions, RoleEnum.cpo, sid,
                                       country_code=self.owner[0], party_id=self.owner[1])
        if session is None or session.get("status") != "ACTIVE":
            return "REJECTED", "the session is not charging"
        await self._grow(session, end=True)
        await self._set_status(session["location_id"], session["evse_uid"], "AVAILABLE")
        return "ACCEPTED", None

    async def _unlock(self, data: dict[str, Any]) -> tuple[str, str | None]:
        request = data["request"]
        charging = [s for s in await self._running()
                    if (s["location_id"], s["evse_uid"], s["connector_id"]) ==
                    (request["location_id"], request["evse_uid"], request["connector_id"])]
        if charging:
            return "REJECTED", "a session is charging on it: stop it first"
        return "ACCEPTED", None

    async def _reserve(self, data: dict[str, Any]) -> tuple[str, str | None]:
        request = data["request"]
        location = await self._location(str(request["location_id"]))
        if location is None:
            return "REJECTED", "unknown Location"
        kept = await self._reservations()
        rid = str(request["reservation_id"])
        mine = kept.get(rid)
        evses = location.get("evses") or []
        if request.get("evse_uid"):
            evse = find_item(evses, "uid", request["evse_uid"])
        else:
            evse = next((e for e in evses if e.get("status") == "AVAILABLE"), None)
        if evse is None or evse.get("status") in OUT_OF_SERVICE:
            return ("EVSE_INOPERATIVE" if evse else "EVSE_OCCUPIED"), None
        replacing = mine is not None and mine["evse_uid"] == evse["uid"]
        if evse.get("status") != "AVAILABLE" and not replacing:
            return "EVSE_OCCUPIED", None
        if mine is not None and not replacing:  # a reservation moved: its EVSE is freed
            await self._drop_reservation(rid)
            kept = await self._reservations()
        kept[rid] = {"reservation_id": rid, "location_id": location["id"],
                     "evse_uid": evse["uid"], "token_uid": (request.get("token") or {}).get("uid"),
                     "expiry_date": request["expiry_date"]}
        await node_state.set_value(self.db, RESERVATIONS, kept)
        await self._set_status(location["id"], evse["uid"], "RESERVED")
        return "ACCEPTED", None

    async def _cancel(self, data: dict[str, Any]) -> tuple[str, str | None]:
        if not await self._drop_reservation(str(data["request"]["reservation_id"])):
            return "UNKNOWN_RESERVATION", None
        return "ACCEPTED", None

    async def _drop_reservation(self, rid: str) -> bool:
        kept = await self._reservations()
        gone = kept.pop(rid, None)
        if gone is None:
            return False
        await node_state.set_value(self.db, RESERVATIONS, kept)
        location = await self._location(gone["location_id"])
        evse = find_item((location or {}).get("evses"), "uid", gone["evse_uid"])
        if evse is not None and evse.get("status") == "RESERVED":
            await self._set_status(gone["location_id"], gone["evse_uid"], "AVAILABLE")
        return True

    # --- the clock ------------------------------------------------------------------------

    async def _running(self) -> list[dict[str, Any]]:
        return await self.store.find_sessions(RoleEnum.cpo, statuses=["ACTIVE"],
                                              id_prefix=PREFIX, owner=self.owner)

    async def advance(self) -> int:
        """One tick: each running session grown to now, expired reservations freed; how
        many sessions grew."""
        grown = 0
        for listed in await self._running():
            async with self._acting:  # as stored now: a STOP may have ended it
                session = await self.store.get(
                    ModuleID.sessions, RoleEnum.cpo, listed["id"],
                    country_code=self.owner[0], party_id=self.owner[1])
                if session is not None and session.get("status") == "ACTIVE":
                    grown += await self._grow(session)
        now = utcnow()
        async with self._acting:
            for rid, r in (await self._reservations()).items():
                if parse_datetime(r["expiry_date"]) <= now:
                    await self._drop_reservation(rid)
        return grown

    async def _grow(self, session: dict[str, Any], *, end: bool = False) -> int:
        """The energy since the session's last update at the power it may draw now; a new
        charging period when that power changed; COMPLETED when ``end``."""
        connector = await self._connector(session) or {}
        now = utcnow()
        since = parse_datetime(session["last_updated"])
        hours = Decimal(max((now - since).total_seconds(), 0)) / Decimal(3600)
        power = connector_power_w(connector)
        limit = limit_w(await charging_profiles.active_profile(self.db, session["id"]),
                        connector, now)
        if limit is not None:
            power = max(min(power, limit), Decimal(0))
        kwh = Decimal(str(session.get("kwh") or 0))
        if kwh >= BATTERY_KWH:
            power = Decimal(0)
        added = min(power / 1000 * hours, BATTERY_KWH - kwh).quantize(_KWH)
        kw = (power / 1000).quantize(_KWH)
        periods = session.setdefault("charging_periods", [])
        last = periods[-1] if periods else None
        if last is None or _dimension(last, "MAX_POWER") != kw:
            last = {"start_date_time": format_datetime(since),
                    "dimensions": [{"type": "ENERGY", "volume": Decimal(0)},
                                   {"type": "MAX_POWER", "volume": kw}]}
            if kw > 0 or periods:  # no empty period opened before any charging
                periods.append(last)
        for d in last["dimensions"]:
            if d["type"] == "ENERGY":
                d["volume"] = (Decimal(str(d["volume"])) + added).quantize(_KWH)
        session["kwh"] = (kwh + added).quantize(_KWH)
        stamp = _stamp(session["last_updated"])
        session["last_updated"] = stamp
        if end:
            session["end_date_time"], session["status"] = stamp, "COMPLETED"
        await self.store.update(ModuleID.sessions, RoleEnum.cpo, session, session["id"],
                                country_code=self.owner[0], party_id=self.owner[1])
        return 1


def _dimension(period: dict[str, Any], kind: str) -> Decimal | None:
    for d in period.get("dimensions") or ():
        if d.get("type") == kind:
            return Decimal(str(d["volume"]))
    return None


def attach(app: Any) -> Simulator:
    """The simulator as the app's command and charging profile handler, ticking every
    ``OCPI_SIMULATOR_SECONDS`` (default 5) while it serves."""
    from ..core.lifespan import every, serve_alongside

    node = app.state.node
    if node.db is None or not node.country_code or not node.party_id:
        raise ValueError("the simulated charger needs the built-in store and our "
                         "country_code/party_id")
    sim = Simulator(node.db, (node.country_code.upper(), node.party_id.upper()))
    node.command_handler = sim.command
    node.charging_profile_handler = sim.charging_profile
    try:
        seconds = max(float(os.environ.get("OCPI_SIMULATOR_SECONDS", "5")), 0.1)
    except ValueError:
        seconds = 5.0

    async def tick() -> None:
        await sim.advance()

    serve_alongside(app, "charger-simulator", every(seconds, tick, log, "simulated charger",
                                                    wait_first=True))
    app.state.simulator = sim
    return sim

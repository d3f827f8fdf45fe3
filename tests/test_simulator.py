"""The simulated charger between two nodes of this package over real HTTP: an eMSP
starts a session by command, sees it grow at the connector's power and then at the
limit of the charging profile it set, stops it, and receives the priced CDR; the
EVSE goes CHARGING and back; unlocking a charging connector is refused, a
reservation holds its EVSE for its token only until cancelled; a second simulator
(a restart) carries the sessions on from what is stored."""

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from ocpi.connectors.simulator import Simulator, connector_power_w, limit_w
from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.modules.cdrs.declaration import CDRS
from ocpi.services import charging_profiles as cp
from ocpi.services import commands

from .test_commands import Side, drain, pair, send
from .test_commands import token as a_token

pytestmark = pytest.mark.usefixtures("local_partners")
STAMP = "2026-01-01T00:00:00Z"
TARIFF = {"id": "T1", "currency": "EUR", "type": "REGULAR", "last_updated": STAMP,
          "elements": [{"price_components": [
              {"type": "ENERGY", "price": Decimal("0.30"), "vat": Decimal("21.0"),
               "step_size": 1},
              {"type": "PARKING_TIME", "price": Decimal("2.00"), "step_size": 60}]}]}


async def prepare(cpo: Side, emsp: Side, version: str) -> Simulator:
    """A tariff on the connector, a second EVSE, the eMSP's session and CDR receivers,
    and the simulator as the CPO's hooks."""
    kw = {"country_code": cpo.party[0], "party_id": cpo.party[1]}
    await cpo.node.crud.create(ModuleID.tariffs, RoleEnum.cpo,
                               {**TARIFF, "country_code": cpo.party[0],
                                "party_id": cpo.party[1]}, **kw)
    location = await cpo.node.crud.get(ModuleID.locations, RoleEnum.cpo, "LOC1", **kw)
    evse = location["evses"][0]
    evse["connectors"][0]["tariff_ids"] = ["T1"]
    second = {**evse, "uid": "EVSE2", "evse_id": f"{cpo.party[0]}*{cpo.party[1]}*E2"}
    location["evses"].append(second)
    location["last_updated"] = "2026-01-01T00:00:01Z"
    await cpo.node.crud.update(ModuleID.locations, RoleEnum.cpo, location, "LOC1", **kw)
    at_cpo = await cpo.registry.get("msp")
    await cpo.registry.update_peer(at_cpo.id, endpoints=[
        *at_cpo.endpoints, *({"identifier": m, "role": "RECEIVER",
                              "url": f"{emsp.url}/ocpi/emsp/{version}/{m}"}
                             for m in ("sessions", "cdrs"))])
    sim = Simulator(cpo.db, cpo.party, delay=0.05)
    cpo.node.command_handler = sim.command
    cpo.node.charging_profile_handler = sim.charging_profile
    return sim


async def settle(cpo: Side) -> None:
    """The simulator's reports made, the CPO's outbox delivered."""
    await asyncio.sleep(0.1)
    await cpo.node.command_handler.__self__.idle()
    await drain(cpo)


async def theirs(emsp: Side, cpo: Side, module: ModuleID, id: str) -> dict[str, Any] | None:
    return await emsp.node.crud.get(module, RoleEnum.emsp, id, country_code=cpo.party[0],
                                    party_id=cpo.party[1])


async def evse_status(cpo: Side, uid: str) -> str:
    location = await cpo.node.crud.get(ModuleID.locations, RoleEnum.cpo, "LOC1",
                                       country_code=cpo.party[0], party_id=cpo.party[1])
    return next(e["status"] for e in location["evses"] if e["uid"] == uid)


async def scsp(emsp: Side, kind: str, session_id: str, **kw: Any) -> Any:
    peer = await emsp.registry.get("cpo")
    return await cp.send(emsp.db, peer, kind, session_id, base_url=emsp.url,
                         from_party=emsp.party, **kw)


@pytest.mark.parametrize("fixture_is_cpo", [True, False], ids=["cpo", "emsp"])
async def test_remote_start_to_invoice(node, tmp_path, fixture_is_cpo):
    async with pair(node, tmp_path, "2.2.1", fixture_is_cpo=fixture_is_cpo) as (cpo, emsp, _):
        sim = await prepare(cpo, emsp, "2.2.1")
        started = await send(emsp, "START_SESSION", token_uid="TOK1", location_id="LOC1",
                             evse_uid="EVSE1", connector_id="1")
        assert started.response.get("result") == "ACCEPTED", started.response
        await settle(cpo)
        assert (await commands.get(emsp.db, started.id)).result == "ACCEPTED"
        [session] = await sim._running()
        assert session["authorization_reference"] == started.authorization_reference or \
            session["authorization_reference"]
        assert session["cdr_token"]["uid"] == "TOK1" and session["auth_method"] == "COMMAND"
        assert await evse_status(cpo, "EVSE1") == "CHARGING"
        sid = session["id"]
        assert (await theirs(emsp, cpo, ModuleID.sessions, sid))["status"] == "ACTIVE"

        await asyncio.sleep(1.0)
        assert await sim.advance() == 1
        await drain(cpo)
        grown = await theirs(emsp, cpo, ModuleID.sessions, sid)
        full = Decimal(22080)  # 230 V x 32 A x 3 phases
        assert Decimal(str(grown["kwh"])) >= Decimal("0.005")  # ~1 s at 22 kW
        assert Decimal(str(grown["charging_periods"][0]["dimensions"][1]["volume"])) == \
            (full / 1000).quantize(Decimal("0.001"))

        # the eMSP limits it to 10 A: the next period charges at 6.9 kW
        limited = await scsp(emsp, "SET", sid, profile={
            "charging_rate_unit": "A",
            "charging_profile_period": [{"start_period": 0, "limit": 10}]})
        assert limited.response["result"] == "ACCEPTED"
        await settle(cpo)
        assert (await cp.get(emsp.db, limited.id)).result == "ACCEPTED"
        await asyncio.sleep(1.0)
        await sim.advance()
        again = Simulator(cpo.db, cpo.party)  # a restart carries on from the stored session
        await asyncio.sleep(0.5)
        await again.advance()
        await drain(cpo)
        grown = await theirs(emsp, cpo, ModuleID.sessions, sid)
        powers = [p["dimensions"][1]["volume"] for p in grown["charging_periods"]]
        assert [Decimal(str(p)) for p in powers] == [Decimal("22.080"), Decimal("6.900")]
        asked = await scsp(emsp, "GET", sid, duration=600)
        await settle(cpo)
        latest = await cp.latest(emsp.db, sid)
        assert latest["profile"]["charging_profile"]["charging_profile_period"][0]["limit"] \
            == 10, asked

        # unlocking a charging connector is refused
        unlock = await send(emsp, "UNLOCK_CONNECTOR", location_id="LOC1", evse_uid="EVSE1",
                            connector_id="1")
        await settle(cpo)
        assert (await commands.get(emsp.db, unlock.id)).result == "REJECTED"

        stopped = await send(emsp, "STOP_SESSION", session_id=sid)
        await settle(cpo)
        assert (await commands.get(emsp.db, stopped.id)).result == "ACCEPTED"
        assert await evse_status(cpo, "EVSE1") == "AVAILABLE"
        ended = await theirs(emsp, cpo, ModuleID.sessions, sid)
        assert ended["status"] == "COMPLETED" and ended["end_date_time"]
        cdrs = await cpo.node.crud.list(ModuleID.cdrs, RoleEnum.cpo, {"offset": 0,
                                                                       "limit": 10})
        [cdr] = cdrs[0]
        assert cdr["session_id"] == sid and Decimal(str(cdr["total_energy"])) == \
            Decimal(str(ended["kwh"]))
        # all of it charging: the energy alone, at 0.30 a kWh, no parking
        cost = cdr["total_cost"]
        before = cost.get("before_taxes", cost.get("excl_vat"))
        assert Decimal(str(before)) == (Decimal(str(ended["kwh"])) * Decimal("0.30")).quantize(
            Decimal("0.0001"))
        async with emsp.db.begin() as tx:
            got = (await tx.execute(select(CDRS.table.c.data))).all()
        assert len(got) == 1 and sid in got[0][0]
        # stopping twice: the charger says the session is not charging
        twice = await send(emsp, "STOP_SESSION", session_id=sid)
        await settle(cpo)
        assert (await commands.get(emsp.db, twice.id)).result == "REJECTED"


async def test_reservations_hold_an_evse_for_their_token(node, tmp_path):
    async with pair(node, tmp_path, "2.2.1") as (cpo, emsp, _):
        sim = await prepare(cpo, emsp, "2.2.1")
        await emsp.node.crud.create(ModuleID.tokens, RoleEnum.emsp,
                                    {**a_token(emsp.party), "uid": "TOK2"},
                                    country_code=emsp.party[0], party_id=emsp.party[1])
        reserved = await send(emsp, "RESERVE_NOW", token_uid="TOK1", location_id="LOC1",
                              evse_uid="EVSE2", reservation_id="R1",
                              expiry_date="2099-01-01T00:00:00Z")
        await settle(cpo)
        assert (await commands.get(emsp.db, reserved.id)).result == "ACCEPTED"
        assert await evse_status(cpo, "EVSE2") == "RESERVED"
        other = await send(emsp, "START_SESSION", token_uid="TOK2", location_id="LOC1",
                           evse_uid="EVSE2")
        await settle(cpo)
        assert (await commands.get(emsp.db, other.id)).result == "EVSE_OCCUPIED"
        cancel = await send(emsp, "CANCEL_RESERVATION", reservation_id="R1")
        await settle(cpo)
        assert (await commands.get(emsp.db, cancel.id)).result == "ACCEPTED"
        assert await evse_status(cpo, "EVSE2") == "AVAILABLE"
        unknown = await send(emsp, "CANCEL_RESERVATION", reservation_id="R1")
        await settle(cpo)
        assert (await commands.get(emsp.db, unknown.id)).result == "UNKNOWN_RESERVATION"
        # the reserving token starts on its reserved EVSE; an expired reservation frees it
        await send(emsp, "RESERVE_NOW", token_uid="TOK1", location_id="LOC1",
                   evse_uid="EVSE2", reservation_id="R2", expiry_date="2099-01-01T00:00:00Z")
        await settle(cpo)
        mine = await send(emsp, "START_SESSION", token_uid="TOK1", location_id="LOC1",
                          evse_uid="EVSE2")
        await settle(cpo)
        assert (await commands.get(emsp.db, mine.id)).result == "ACCEPTED"
        assert await evse_status(cpo, "EVSE2") == "CHARGING"
        await send(emsp, "RESERVE_NOW", token_uid="TOK2", location_id="LOC1",
                   evse_uid="EVSE1", reservation_id="R3", expiry_date="2020-01-01T00:00:00Z")
        await settle(cpo)
        assert await evse_status(cpo, "EVSE1") == "RESERVED"
        await sim.advance()
        assert await evse_status(cpo, "EVSE1") == "AVAILABLE"


def test_power_and_limits():
    ac = {"power_type": "AC_3_PHASE", "max_voltage": 230, "max_amperage": 16}
    assert connector_power_w(ac) == Decimal(11040)
    assert connector_power_w({**ac, "max_electric_power": 7400}) == Decimal(7400)
    from ocpi.core.datetime import parse_datetime
    at = parse_datetime("2026-01-01T10:10:00Z")
    profile = {"start_date_time": "2026-01-01T10:00:00Z", "charging_profile": {
        "charging_rate_unit": "W", "duration": 3600, "charging_profile_period": [
            {"start_period": 0, "limit": 11000}, {"start_period": 300, "limit": 4000}]}}
    assert limit_w(profile, ac, at) == Decimal(4000)
    assert limit_w(profile, ac, parse_datetime("2026-01-01T11:00:01Z")) is None
    assert limit_w(None, ac, at) is None


def test_211_renders_only_its_own_dimension_types():
    """A 2.2 dimension (MAX_POWER, as the simulator reports) is not 2.1.1's: its
    Sessions and CDRs leave it out, and a period left with nothing says zero energy."""
    from ocpi.modules.sessions.mapper import dimensions_in

    dims = [{"type": "ENERGY", "volume": 1.5}, {"type": "MAX_POWER", "volume": 22}]
    assert dimensions_in(dims, "2.1.1") == [{"type": "ENERGY", "volume": 1.5}]
    assert dimensions_in(dims, "2.2.1") == dims
    assert dimensions_in([{"type": "STATE_OF_CHARGE", "volume": 80}], "2.1.1") == [
        {"type": "ENERGY", "volume": 0}]

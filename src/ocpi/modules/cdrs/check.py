"""The eMSP's check of a received CDR: priced again by our engine against the
tariff we hold for it (else the CDR's own embedded tariff, which at least checks
the arithmetic), and compared with what the CPO charged. The verdict is kept
with the CDR (``_check``: agreed, disputed or unchecked, with the reason)."""

import asyncio
from decimal import Decimal
from typing import Any

from ...core.enums import ModuleID, RoleEnum
from ...core.transport import OcpiRequest
from . import costing

# a received CDR with more periods than this is priced off the event loop; with more
# than the cap (a 4 MiB body holds about 50,000) it is stored unchecked, saying why
PRICE_IN_THREAD = 64
MAX_CHECKED_PERIODS = 10_000
MAX_TARIFFS = 50  # distinct tariff ids of one CDR looked up


def _total(price: Any) -> Decimal | None:
    if isinstance(price, dict) and price.get("before_taxes") is not None:
        return Decimal(str(price["before_taxes"]))
    return None


def _as_session(cdr: dict[str, Any]) -> dict[str, Any]:
    """The CDR read as the ended session it bills."""
    return {"id": cdr.get("id"), "start_date_time": cdr.get("start_date_time"),
            "end_date_time": cdr.get("end_date_time"), "currency": cdr.get("currency"),
            "kwh": cdr.get("total_energy"), "cdr_token": cdr.get("cdr_token"),
            "charging_periods": cdr.get("charging_periods")}


async def _held(ctx: OcpiRequest, module: ModuleID, id: str, cc: str, pid: str
                ) -> dict[str, Any] | None:
    return await ctx.node.crud.get(module, RoleEnum.emsp, id,
                                   **ctx.node.crud_kwargs(ctx, cc, pid))


def verdict(cdr: dict[str, Any], ours: Decimal | None, tolerance: Decimal,
            basis: str, problem: str | None = None) -> dict[str, Any]:
    theirs = _total(cdr.get("total_cost"))
    if problem is not None or ours is None or theirs is None:
        return {"state": "unchecked", "reason": problem or "no total_cost to compare",
                "basis": basis}
    difference = theirs - ours
    state = "disputed" if abs(difference) > tolerance else "agreed"
    reason = (f"charged {theirs} {cdr.get('currency')}, our pricing {ours} "
              f"(difference {difference}, tolerance {tolerance}; {basis})")
    return {"state": state, "reason": reason, "ours": ours, "theirs": theirs,
            "difference": difference, "basis": basis}


async def _check_credit(ctx: OcpiRequest, cdr: dict[str, Any]) -> dict[str, Any]:
    """A credit CDR must give back exactly what the CDR it credits charged."""
    ref = str(cdr.get("credit_reference_id") or "")
    credited = await _held(ctx, ModuleID.cdrs, ref, cdr["country_code"], cdr["party_id"]) \
        if ref else None
    if credited is None:
        return verdict(cdr, None, ctx.node.cdr_tolerance, "",
                       f"credits CDR {ref!r}, which we do not hold")
    charged = _total(credited.get("total_cost"))
    return verdict(cdr, -charged if charged is not None else None, ctx.node.cdr_tolerance,
                   f"the negated total of CDR {ref!r}")


async def check_received(ctx: OcpiRequest, cdr: dict[str, Any]) -> dict[str, Any]:
    """``cdr`` with our verdict on its cost under ``_check``."""
    if cdr.get("credit"):
        return {**cdr, "_check": await _check_credit(ctx, cdr)}
    cc, pid = cdr["country_code"], cdr["party_id"]
    session = _as_session(cdr)
    ids = costing.tariff_ids(session, None) or [
        str(t["id"]) for t in cdr.get("tariffs") or () if isinstance(t, dict) and t.get("id")]
    tariff, basis = None, ""
    for tariff_id in ids[:MAX_TARIFFS]:
        tariff = await _held(ctx, ModuleID.tariffs, tariff_id, cc, pid)
        if tariff is not None:
            basis = f"our copy of tariff {tariff_id!r}"
            break
    if tariff is None:
        embedded = [t for t in cdr.get("tariffs") or () if isinstance(t, dict)]
        if not embedded:
            return {**cdr, "_check": verdict(cdr, None, ctx.node.cdr_tolerance, "",
                                             "we hold no tariff for it and it embeds none")}
        tariff, basis = embedded[0], f"the CDR's own tariff {embedded[0].get('id')!r}"
    where = cdr.get("cdr_location") or {}
    location = await _held(ctx, ModuleID.locations, str(where["id"]), cc, pid) \
        if where.get("id") else None
    periods = len(session.get("charging_periods") or ())
    if periods > MAX_CHECKED_PERIODS:
        return {**cdr, "_check": verdict(cdr, None, ctx.node.cdr_tolerance, basis,
                                         f"{periods} charging periods: more than the "
                                         f"{MAX_CHECKED_PERIODS} we price again")}
    zone = (location or {}).get("time_zone")
    try:
        if periods > PRICE_IN_THREAD:  # a partner's long CDR must not hold the event loop
            cost = await asyncio.to_thread(costing.cost, session, tariff, zone, ctx.version)
        else:
            cost = costing.cost(session, tariff, zone, ctx.version)
    except costing.Unpriceable as exc:
        return {**cdr, "_check": verdict(cdr, None, ctx.node.cdr_tolerance, basis, str(exc))}
    ours = _total(cost.cdr_fields().get("total_cost"))
    return {**cdr, "_check": verdict(cdr, ours, ctx.node.cdr_tolerance, basis)}

"""The eMSP's check of a received CDR: priced again by our engine against the
tariff we hold for it (else the CDR's own embedded tariff, which at least checks
the arithmetic), and compared with what the CPO charged. The verdict is kept
with the CDR (``_check``: agreed, disputed or unchecked, with the reason)."""

import asyncio
import os
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
# how far a received CDR's total may be from our pricing of it before it is disputed,
# in its currency (OCPI_CDR_TOLERANCE)
TOLERANCE = Decimal(os.environ.get("OCPI_CDR_TOLERANCE", "0.01"))


def _total(price: Any) -> Decimal | None:
    if isinstance(price, dict) and price.get("before_taxes") is not None:
        return Decimal(str(price["before_taxes"]))
    return None


async def _held(ctx: OcpiRequest, module: ModuleID, id: str, cc: str, pid: str
                ) -> dict[str, Any] | None:
    return await ctx.node.crud.get(module, RoleEnum.emsp, id,
                                   **ctx.node.crud_kwargs(ctx, cc, pid))


def verdict(cdr: dict[str, Any], ours: Decimal | None, basis: str,
            problem: str | None = None, tolerance: Decimal = TOLERANCE) -> dict[str, Any]:
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
        return verdict(cdr, None, "",
                       f"credits CDR {ref!r}, which we do not hold")
    charged = _total(credited.get("total_cost"))
    return verdict(cdr, -charged if charged is not None else None,
                   f"the negated total of CDR {ref!r}")


async def check_received(ctx: OcpiRequest, cdr: dict[str, Any]) -> dict[str, Any]:
    """``cdr`` with our verdict on its cost under ``_check``."""
    if cdr.get("credit"):
        return {**cdr, "_check": await _check_credit(ctx, cdr)}
    cc, pid = cdr["country_code"], cdr["party_id"]
    ids = costing.tariff_ids(cdr, None) or [
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
            return {**cdr, "_check": verdict(cdr, None, "",
                                             "we hold no tariff for it and it embeds none")}
        tariff, basis = embedded[0], f"the CDR's own tariff {embedded[0].get('id')!r}"
    where = cdr.get("cdr_location") or {}
    location = await _held(ctx, ModuleID.locations, str(where["id"]), cc, pid) \
        if where.get("id") else None
    periods = len(cdr.get("charging_periods") or ())
    if periods > MAX_CHECKED_PERIODS:
        return {**cdr, "_check": verdict(cdr, None, basis,
                                         f"{periods} charging periods: more than the "
                                         f"{MAX_CHECKED_PERIODS} we price again")}
    zone = (location or {}).get("time_zone")
    try:
        if periods > PRICE_IN_THREAD:  # a partner's long CDR must not hold the event loop
            cost = await asyncio.to_thread(costing.cost, cdr, tariff, zone, ctx.version)
        else:
            cost = costing.cost(cdr, tariff, zone, ctx.version)
    except costing.Unpriceable as exc:
        return {**cdr, "_check": verdict(cdr, None, basis, str(exc))}
    ours = cost.cdr_fields()["total_cost"]["before_taxes"]  # as a CDR states it
    return {**cdr, "_check": verdict(cdr, ours, basis)}

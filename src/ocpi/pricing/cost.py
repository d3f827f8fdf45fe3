"""What a session costs: the Cost the engine returns and its CDR fields."""

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..core.datetime import format_datetime
from .decimals import quantize
from .taxes import Amount, TaxAmount

# OCPI numbers carry 4 decimals (types "number"); the CDR fields are rounded to them
CDR_PLACES = 4


@dataclass(frozen=True, slots=True)
class CostLine:
    """One dimension priced by one tariff element within one charging period.

    ``quantity`` is kWh (ENERGY), hours (TIME, PARKING_TIME) or 1 (FLAT);
    ``step_size`` marks the quantity a step_size rounding added; ``phase`` is
    ``session`` or ``reservation``; ``period`` indexes the caller's periods."""

    phase: str
    dimension: str
    element: int
    period: int
    start: datetime
    end: datetime
    quantity: Decimal
    price: Decimal
    vat: Decimal | None
    cost: Amount
    step_size: bool = False


@dataclass(frozen=True, slots=True)
class Cost:
    """A priced session, in the tariff's currency, unrounded.

    Dimension amounts (``fixed``, ``energy``, ``time``, ``parking``,
    ``reservation``) are what the tariff's elements charge; ``total`` is their
    sum held within min_price/max_price, so it may differ from that sum when a
    limit applied. Quantities: kWh and hours; ``billed_*`` after step_size."""

    currency: str
    tariff_id: str
    version: str
    total: Amount
    fixed: Amount
    energy: Amount
    time: Amount
    parking: Amount
    reservation: Amount
    total_energy: Decimal
    total_time: Decimal
    total_charging_time: Decimal
    total_parking_time: Decimal
    total_reservation_time: Decimal
    billed_energy: Decimal
    billed_time: Decimal
    billed_parking_time: Decimal
    billed_reservation_time: Decimal
    min_price_applied: bool
    max_price_applied: bool
    lines: tuple[CostLine, ...]

    @property
    def total_excl(self) -> Decimal:
        assert self.total.before_taxes is not None  # price_session guarantees it
        return self.total.before_taxes

    @property
    def total_incl(self) -> Decimal | None:
        """None when taxes apply that the tariff does not state."""
        return self.total.after_taxes

    def cdr_fields(self) -> dict[str, Any]:
        """The 2.3.0 CDR cost fields. Optional costs that are zero are left out;
        ``taxes`` only when the tariff states them all. Each number is rounded to
        ``CDR_PLACES`` decimals (half up), as OCPI numbers go on the wire; the
        Cost itself keeps them exact."""
        result: dict[str, Any] = {"total_cost": _price(self.total)}
        optional = (("total_fixed_cost", self.fixed), ("total_energy_cost", self.energy),
                    ("total_time_cost", self.time), ("total_parking_cost", self.parking),
                    ("total_reservation_cost", self.reservation))
        for name, amount in optional:
            if not amount.is_zero:
                result[name] = _price(amount)
        result["total_energy"] = _wire(self.total_energy)
        result["total_time"] = _wire(self.total_time)
        result["total_parking_time"] = _wire(self.total_parking_time)
        return dict(sorted(result.items()))

    def as_dict(self) -> dict[str, Any]:
        """Everything, Decimals as strings and instants as OCPI DateTimes (``--json``)."""
        return _plain(self)


def _price(amount: Amount) -> dict[str, Any]:
    """A 2.3.0 Price; taxes listed only when all of them are known."""
    result: dict[str, Any] = {"before_taxes": _wire(amount.before_taxes)}
    if amount.after_taxes is not None and amount.taxes:
        result["taxes"] = [
            {"name": t.name, **({} if t.percentage is None
                                else {"percentage": _wire(t.percentage)}),
             "amount": _wire(t.amount)} for t in amount.taxes]
    return result


def _wire(value: Decimal | None) -> Decimal | None:
    """As OCPI numbers go on the wire: ``CDR_PLACES`` decimals, half up."""
    return None if value is None else quantize(value, CDR_PLACES)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, Cost | CostLine | Amount | TaxAmount):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value

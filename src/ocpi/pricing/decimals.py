"""Decimal arithmetic: one context for every computation and strict input conversion.

Amounts are never rounded here. Every operation runs at 50 significant digits, so
a result is exact whenever it terminates within them (all the specification's
examples do); a quotient that does not terminate (1 minute at 2.00 per hour is
0.0333...) is correctly rounded at the 50th digit. Rounding to what goes on the
wire happens only in ``Cost.cdr_fields``.
"""

from decimal import (
    ROUND_CEILING,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    FloatOperation,
    InvalidOperation,
    Overflow,
)

from .errors import PricingError

# FloatOperation: a binary float meeting a Decimal is a bug, and raises
CONTEXT = Context(prec=50, rounding=ROUND_HALF_EVEN,
                  traps=[InvalidOperation, DivisionByZero, Overflow, FloatOperation])
MICROS_PER_SECOND = 1_000_000
MICROS_PER_HOUR = 3_600 * MICROS_PER_SECOND
ZERO = Decimal(0)
# no tariff or meter quantity comes near 10**15; larger numbers are garbage or hostile
_MAX_ADJUSTED_EXPONENT = 15

Quantity = int | Decimal  # microseconds are exact ints; a fraction of one stays Decimal


def number(value: object, what: str) -> Decimal:
    """``value`` (Decimal, int, str or float) as a finite Decimal; a float goes
    through ``str`` so it keeps the digits it was written with."""
    if isinstance(value, bool):
        raise PricingError(f"{what}: {value!r} is not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise PricingError(f"{what}: {value!r} is not a number") from None
    else:
        raise PricingError(f"{what}: {value!r} is not a number")
    if not result.is_finite():
        raise PricingError(f"{what}: {value!r} is not a finite number")
    if result and result.adjusted() > _MAX_ADJUSTED_EXPONENT:
        raise PricingError(f"{what}: {value!r} is out of range")
    return result


def whole(value: object, what: str) -> int:
    """An OCPI ``int`` field (step_size, durations in seconds)."""
    result = number(value, what)
    if result != result.to_integral_value():
        raise PricingError(f"{what}: {value!r} is not a whole number")
    return int(result)


def ceil_to_step(amount: Quantity, step: Quantity) -> Quantity:
    """``amount`` rounded up to a multiple of ``step`` (the step_size rule)."""
    if isinstance(amount, int) and isinstance(step, int):
        return -(-amount // step) * step
    blocks = (Decimal(amount) / Decimal(step)).to_integral_value(rounding=ROUND_CEILING)
    return blocks * step


def share(total: Quantity, part: Quantity, whole_: Quantity) -> Quantity:
    """``total * part / whole_``: the linear share of a period's volume that falls
    in ``part`` of its ``whole_`` duration; exact ints whenever they divide."""
    if total == whole_:
        return part
    if not total or not part:
        return 0
    if isinstance(total, int) and isinstance(part, int) and isinstance(whole_, int):
        product = total * part
        if product % whole_ == 0:
            return product // whole_
    return Decimal(total) * part / whole_


def hours(micros: Quantity) -> Decimal:
    return Decimal(micros) / MICROS_PER_HOUR


def quantize(value: Decimal, places: int) -> Decimal:
    """``value`` to ``places`` decimals, half away from zero (commercial rounding);
    only for what goes on the wire (OCPI numbers carry 4 decimals)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=CONTEXT)

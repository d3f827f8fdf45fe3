"""Money with its taxes, as each version defines them.

- 2.1.1 has no VAT: prices are as given and the taxes are unknown.
- 2.2.1: prices exclude VAT; a component's ``vat`` percentage adds VAT; no
  ``vat`` means no VAT applies (the amount including VAT is the same).
- 2.3.0: ``tax_included`` says what prices are. NO: taxes come on top, a
  ``vat`` gives them; without one they are not known (the North American
  example tariff_19: "plus taxes according to locally applicable
  legislation"). YES: prices include taxes; a ``vat`` derives the part before
  taxes; without one it cannot be derived (tariff_20), which ``price_session``
  reports as a PricingError since a CDR's ``before_taxes`` is required. N/A: no
  taxes apply.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from .decimals import ZERO
from .tariff import Limit

VAT = "VAT"


@dataclass(frozen=True, slots=True)
class TaxAmount:
    """One tax line (2.3.0 TaxAmount)."""

    name: str
    percentage: Decimal | None
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Amount:
    """An amount before taxes, its taxes and the amount after them.

    ``after_taxes`` is None when taxes apply that the tariff does not state;
    ``before_taxes`` is None only for a tax-inclusive price without a rate."""

    before_taxes: Decimal | None
    after_taxes: Decimal | None
    taxes: tuple[TaxAmount, ...] = ()

    @property
    def is_zero(self) -> bool:
        return not self.before_taxes and not self.after_taxes


NOTHING = Amount(ZERO, ZERO)


def charge(base: Decimal, vat: Decimal | None, tax_included: str, version: str) -> Amount:
    """What ``base`` (price times quantity, as the tariff writes prices) costs;
    nothing costs nothing, taxes included."""
    if not base:
        return Amount(ZERO, ZERO)
    if version == "2.1.1":
        return Amount(base, None)
    if tax_included == "N/A":
        return Amount(base, base)
    if tax_included == "YES":
        if vat is None:
            return Amount(None, base)
        before = base * 100 / (100 + vat)
        return Amount(before, base, (TaxAmount(VAT, vat, base - before),))
    if vat is None:
        return Amount(base, base if version == "2.2.1" else None)
    tax = base * vat / 100
    return Amount(base, base + tax, (TaxAmount(VAT, vat, tax),))


def total(amounts: Iterable[Amount]) -> Amount:
    """The sum; tax lines of the same name and percentage add up."""
    before: Decimal | None = ZERO
    after: Decimal | None = ZERO
    lines: dict[tuple[str, Decimal | None], Decimal] = {}
    for amount in amounts:
        before = None if before is None or amount.before_taxes is None \
            else before + amount.before_taxes
        after = None if after is None or amount.after_taxes is None \
            else after + amount.after_taxes
        for tax in amount.taxes:
            key = (tax.name, tax.percentage)
            lines[key] = lines.get(key, ZERO) + tax.amount
    return Amount(before, after, _lines(lines))


def _lines(lines: dict[tuple[str, Decimal | None], Decimal]) -> tuple[TaxAmount, ...]:
    ordered = sorted(lines.items(), key=lambda kv: (kv[0][0], kv[0][1] is None,
                                                    kv[0][1] or ZERO))
    return tuple(TaxAmount(name, pct, value) for (name, pct), value in ordered)


def bounded(amount: Amount, low: Limit | None, high: Limit | None
            ) -> tuple[Amount, bool, bool]:
    """``amount`` held within min_price and max_price; (result, min applied, max
    applied). Both sides of a limit apply (2.2.1/2.3.0 notes on min_price and
    max_price). When the amount before taxes moves, its taxes move in
    proportion, and then the amount after taxes is held within its own limits;
    the tax lines are scaled to match."""
    before, after = amount.before_taxes, amount.after_taxes
    raised = lowered = False
    if before is not None:
        new_before = before
        if low is not None and new_before < low.before_taxes:
            new_before, raised = low.before_taxes, True
        if high is not None and new_before > high.before_taxes:
            new_before, lowered = high.before_taxes, True
        if after is not None and new_before != before:
            after = new_before + (after - before) * new_before / before if before \
                else new_before
        before = new_before
    if after is not None:
        if low is not None and low.after_taxes is not None and after < low.after_taxes:
            after, raised = low.after_taxes, True
        if high is not None and high.after_taxes is not None and after > high.after_taxes:
            after, lowered = high.after_taxes, True
    if not raised and not lowered:
        return amount, False, False
    return Amount(before, after, _scaled(amount, before, after)), raised, lowered


def _scaled(amount: Amount, before: Decimal | None, after: Decimal | None
            ) -> tuple[TaxAmount, ...]:
    if before is None or after is None:
        return amount.taxes
    owed = after - before
    stated = sum((t.amount for t in amount.taxes), ZERO)
    if stated:
        return tuple(TaxAmount(t.name, t.percentage, t.amount * owed / stated)
                     for t in amount.taxes)
    if owed:
        return (*amount.taxes, TaxAmount(VAT, None, owed))
    return amount.taxes

"""Tariff, TariffElement, PriceComponent and TariffRestrictions per version.

The specification's tables: OCPI 2.1.1 ``mod_tariffs.md`` §3.1 Tariff Object and
§4 Data types; 2.2.1 and 2.3.0 ``mod_tariffs.asciidoc`` "Object description"
(Tariff Object) and "Data types" (PriceComponent, PriceLimit, TariffElement,
TariffRestrictions, the enums).

2.1.1 has no owner, ``type``, price limits, validity period, VAT nor
current/reservation restrictions; 2.2.1 adds them (limits as a Price
``{excl_vat, incl_vat}``); 2.3.0 adds ``tax_included`` (required),
``preauthorize_amount`` and gives the limits as PriceLimit
``{before_taxes, after_taxes}``.

Values that decide what a session costs are hard rules, because a pricing
engine that met one it does not understand would price the session wrongly
rather than fail: the dimension types, the days of the week, the reservation
restriction, ``tax_included``, and the restriction times (``HH:MM``) and dates
(``YYYY-MM-DD``, a real day). ``type`` (TariffType) stays open: it only says to
which sessions a tariff is offered, and an unknown one matches none.
"""

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field

from ...core.types import CiString, ClosedEnum, DateTime, Number, OcpiModel, OpenEnum, String, Text
from ...model.shared import DisplayText
from ...pricing.tariff import (
    DAYS,
    DIMENSIONS,
    RESERVATION,
    RESERVATION_EXPIRES,
    TAX_INCLUDED,
)
from ..locations.schemas import EnergyMix, EnergyMix211
from ..sessions.schemas import Price221

# the hard-rule enums are the pricing engine's own lists, so what is accepted here is
# exactly what it prices
DIMENSION_TYPES = DIMENSIONS
DAYS_OF_WEEK = tuple(DAYS)
RESERVATION_RESTRICTIONS = (RESERVATION, RESERVATION_EXPIRES)
TARIFF_TYPES = ("AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR")

# the specification's own regexes for TariffRestrictions times and dates
TIME_OF_DAY = r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$"
DATE = r"^([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


def _real_day(value: str) -> str:
    date.fromisoformat(value)  # 2015-02-30 matches the regex but is no day
    return value


TimeOfDay = Annotated[str, Field(pattern=TIME_OF_DAY)]
Date = Annotated[str, Field(pattern=DATE), AfterValidator(_real_day)]
# a step a pricing engine rounds up to: a negative one prices nothing sensible
StepSize = Annotated[int, Field(ge=0)]


class PriceComponent211(OcpiModel):
    type: ClosedEnum(DIMENSION_TYPES)
    price: Number
    step_size: StepSize


class PriceComponent(PriceComponent211):
    """2.2.1 and 2.3.0 (2.3.0's ``price`` is incl. or excl. taxes as the Tariff says)."""

    vat: Number | None = None


class TariffRestrictions211(OcpiModel):
    start_time: TimeOfDay | None = None
    end_time: TimeOfDay | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    min_kwh: Number | None = None
    max_kwh: Number | None = None
    min_power: Number | None = None
    max_power: Number | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: list[ClosedEnum(DAYS_OF_WEEK)] | None = None


class TariffRestrictions(TariffRestrictions211):
    """2.2.1 and 2.3.0."""

    min_current: Number | None = None
    max_current: Number | None = None
    reservation: ClosedEnum(RESERVATION_RESTRICTIONS) | None = None


class TariffElement211(OcpiModel):
    price_components: Annotated[list[PriceComponent211], Field(min_length=1)]
    restrictions: TariffRestrictions211 | None = None


class TariffElement(OcpiModel):
    """2.2.1 and 2.3.0."""

    price_components: Annotated[list[PriceComponent], Field(min_length=1)]
    restrictions: TariffRestrictions | None = None


class PriceLimit(OcpiModel):
    before_taxes: Number
    after_taxes: Number | None = None


class Tariff211(OcpiModel):
    id: CiString(36)
    currency: String(3)
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: Text(255) | None = None
    elements: Annotated[list[TariffElement211], Field(min_length=1)]
    energy_mix: EnergyMix211 | None = None
    last_updated: DateTime


class Tariff221(OcpiModel):
    country_code: CiString(2)
    party_id: CiString(3)
    id: CiString(36)
    currency: String(3)
    type: OpenEnum(TARIFF_TYPES) | None = None
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: Text(255) | None = None
    min_price: Price221 | None = None
    max_price: Price221 | None = None
    elements: Annotated[list[TariffElement], Field(min_length=1)]
    start_date_time: DateTime | None = None
    end_date_time: DateTime | None = None
    energy_mix: EnergyMix | None = None
    last_updated: DateTime


class Tariff230(Tariff221):
    min_price: PriceLimit | None = None
    max_price: PriceLimit | None = None
    preauthorize_amount: Number | None = None
    tax_included: ClosedEnum(TAX_INCLUDED)


class CdrTariff230(Tariff230):
    """A Tariff as a 2.3.0 CDR embeds it: ``tax_included`` may be missing.

    The specification's own 2.3.0 CDR example embeds a tariff without it, and a
    receiver must take what the specification shows. A CDR's tariffs record what
    was applied (its costs are in the CDR's Prices); they are not an offer that
    something is priced from, so the missing field decides nothing here.
    """

    tax_included: ClosedEnum(TAX_INCLUDED) | None = None


SCHEMAS: dict[str, type[OcpiModel]] = {"2.1.1": Tariff211, "2.2.1": Tariff221, "2.3.0": Tariff230}
# the parts of a Tariff per version: what each version's output may carry at each level
PARTS: dict[str, dict[str, type[OcpiModel]]] = {
    "2.1.1": {"tariff": Tariff211, "element": TariffElement211,
              "price_component": PriceComponent211, "restrictions": TariffRestrictions211},
    "2.2.1": {"tariff": Tariff221, "element": TariffElement,
              "price_component": PriceComponent, "restrictions": TariffRestrictions},
    "2.3.0": {"tariff": Tariff230, "element": TariffElement,
              "price_component": PriceComponent, "restrictions": TariffRestrictions},
}
# the Tariff a CDR of each version embeds
CDR_TARIFFS: dict[str, type[OcpiModel]] = {
    "2.1.1": Tariff211, "2.2.1": Tariff221, "2.3.0": CdrTariff230}

"""CDR per version, with CdrLocation, SignedData and SignedValue.

The specification's tables: OCPI 2.1.1 ``mod_cdrs.md`` §3.1 CDR Object and §4
Data types; 2.2.1 and 2.3.0 ``mod_cdrs.asciidoc`` "Object description" (CDR
Object) and "Data types" (CdrLocation, CdrToken, ChargingPeriod, SignedData,
SignedValue), with Price from ``types.asciidoc``.

2.1.1 embeds a whole Location, names the token ``auth_id``, the end
``stop_date_time`` and gives ``total_cost`` as a number (excl. VAT). 2.2.1 adds
the owner, ``cdr_token``, ``cdr_location``, the cost breakdown as Prices,
signed data, credit CDRs and ``home_charging_compensation``. 2.3.0 has the same
table; its Prices are ``{before_taxes, taxes}`` and its Tariffs 2.3.0's.
CdrToken, ChargingPeriod, CdrDimension and the Prices are the Sessions module's.
"""

from typing import Annotated

from pydantic import Field, model_validator

from ...core.types import CiString, DateTime, Number, OcpiModel, OpenEnum, String, Text
from ..locations.schemas import (
    CONNECTOR_FORMATS,
    CONNECTOR_TYPES,
    POWER_TYPES,
    GeoLocation,
    Location211,
)
from ..sessions.schemas import (
    AUTH_METHODS,
    CdrToken,
    ChargingPeriod,
    ChargingPeriod211,
    Price221,
    Price230,
)
from ..tariffs.schemas import CdrTariff230, Tariff211, Tariff221


class CdrLocation(OcpiModel):
    id: CiString(36)
    name: Text(255) | None = None
    address: Text(45)
    city: Text(45)
    postal_code: Text(10) | None = None
    state: Text(20) | None = None
    country: Text(3)
    coordinates: GeoLocation
    # "#NA" allowed for a reservation that never became a session
    evse_uid: CiString(36)
    evse_id: CiString(48)
    connector_id: CiString(36)
    connector_standard: OpenEnum(CONNECTOR_TYPES)
    connector_format: OpenEnum(CONNECTOR_FORMATS)
    connector_power_type: OpenEnum(POWER_TYPES)


class SignedValue(OcpiModel):
    nature: CiString(32)
    plain_data: Text(5000)
    signed_data: Text(5000)


class SignedData(OcpiModel):
    encoding_method: CiString(36)
    encoding_method_version: int | None = None
    public_key: Text(512) | None = None
    signed_values: Annotated[list[SignedValue], Field(min_length=1)]
    url: Text(512) | None = None


class Cdr211(OcpiModel):
    id: CiString(36)
    start_date_time: DateTime
    stop_date_time: DateTime
    auth_id: String(36)
    auth_method: OpenEnum(AUTH_METHODS)
    location: Location211
    meter_id: String(255) | None = None
    currency: String(3)
    tariffs: list[Tariff211] | None = None
    charging_periods: Annotated[list[ChargingPeriod211], Field(min_length=1)]
    total_cost: Number
    total_energy: Number
    total_time: Number
    total_parking_time: Number | None = None
    remark: Text(255) | None = None
    last_updated: DateTime


class Cdr221(OcpiModel):
    country_code: CiString(2)
    party_id: CiString(3)
    # 39: a credit CDR's id is the original's with something appended
    id: CiString(39)
    start_date_time: DateTime
    end_date_time: DateTime
    session_id: CiString(36) | None = None
    cdr_token: CdrToken
    auth_method: OpenEnum(AUTH_METHODS)
    authorization_reference: CiString(36) | None = None
    cdr_location: CdrLocation
    meter_id: String(255) | None = None
    currency: String(3)
    tariffs: list[Tariff221] | None = None
    charging_periods: Annotated[list[ChargingPeriod], Field(min_length=1)]
    signed_data: SignedData | None = None
    total_cost: Price221
    total_fixed_cost: Price221 | None = None
    total_energy: Number
    total_energy_cost: Price221 | None = None
    total_time: Number
    total_time_cost: Price221 | None = None
    total_parking_time: Number | None = None
    total_parking_cost: Price221 | None = None
    total_reservation_cost: Price221 | None = None
    remark: Text(255) | None = None
    invoice_reference_id: CiString(39) | None = None
    credit: bool | None = None
    credit_reference_id: CiString(39) | None = None
    home_charging_compensation: bool | None = None
    last_updated: DateTime

    @model_validator(mode="after")
    def _credit_names_its_cdr(self) -> "Cdr221":
        if self.credit and self.credit_reference_id is None:
            raise ValueError("credit_reference_id is required for a Credit CDR (credit: true)")
        return self


class Cdr230(Cdr221):
    # a 2.3.0 CDR's tariffs may lack tax_included: see CdrTariff230
    tariffs: list[CdrTariff230] | None = None
    total_cost: Price230
    total_fixed_cost: Price230 | None = None
    total_energy_cost: Price230 | None = None
    total_time_cost: Price230 | None = None
    total_parking_cost: Price230 | None = None
    total_reservation_cost: Price230 | None = None


SCHEMAS: dict[str, type[OcpiModel]] = {"2.1.1": Cdr211, "2.2.1": Cdr221, "2.3.0": Cdr230}
COST_FIELDS = ("total_cost", "total_fixed_cost", "total_energy_cost", "total_time_cost",
               "total_parking_cost", "total_reservation_cost")
# Gireve's 2.1.1 extension, as on Sessions; on 2.2+ it travels as authorization_reference
EXTENSION_FIELDS_211 = ("authorization_id",)

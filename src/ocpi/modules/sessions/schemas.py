"""Session per version. 2.1.1 embeds a Location and names the token ``auth_id``;
2.2.1 and 2.3.0 differ only in the Price type of ``total_cost``."""

from ...core.types import (
    CiString,
    ClosedEnum,
    DateTime,
    Number,
    OcpiModel,
    OpenEnum,
    String,
    Text,
)
from ..locations.schemas import TOKEN_TYPES, Location211

SESSION_STATUS_211 = ("ACTIVE", "COMPLETED", "INVALID", "PENDING")
SESSION_STATUS = (*SESSION_STATUS_211, "RESERVATION")
AUTH_METHODS = ("AUTH_REQUEST", "COMMAND", "WHITELIST")
DIMENSIONS = ("CURRENT", "ENERGY", "ENERGY_EXPORT", "ENERGY_IMPORT", "MAX_CURRENT",
              "MIN_CURRENT", "MAX_POWER", "MIN_POWER", "PARKING_TIME", "POWER",
              "RESERVATION_TIME", "STATE_OF_CHARGE", "TIME", "FLAT", "SESSION_TIME")
PROFILE_TYPES = ("CHEAP", "FAST", "GREEN", "REGULAR")


class CdrDimension(OcpiModel):
    type: OpenEnum(DIMENSIONS)
    volume: Number


class ChargingPeriod(OcpiModel):
    start_date_time: DateTime
    dimensions: list[CdrDimension]
    tariff_id: CiString(36) | None = None


class ChargingPeriod211(OcpiModel):
    start_date_time: DateTime
    dimensions: list[CdrDimension]


class CdrToken(OcpiModel):
    country_code: CiString(2)
    party_id: CiString(3)
    uid: CiString(36)
    type: OpenEnum(TOKEN_TYPES)
    contract_id: CiString(36)


class Price221(OcpiModel):
    excl_vat: Number
    incl_vat: Number | None = None


class TaxAmount(OcpiModel):
    name: Text(255)
    account_number: Text(255) | None = None
    percentage: Number | None = None
    amount: Number


class Price230(OcpiModel):
    before_taxes: Number
    taxes: list[TaxAmount] | None = None


class Session221(OcpiModel):
    country_code: CiString(2)
    party_id: CiString(3)
    id: CiString(36)
    start_date_time: DateTime
    end_date_time: DateTime | None = None
    kwh: Number
    cdr_token: CdrToken
    auth_method: OpenEnum(AUTH_METHODS)
    authorization_reference: CiString(36) | None = None
    location_id: CiString(36)
    evse_uid: CiString(36)
    connector_id: CiString(36)
    meter_id: String(255) | None = None
    currency: String(3)
    charging_periods: list[ChargingPeriod] | None = None
    total_cost: Price221 | None = None
    status: ClosedEnum(SESSION_STATUS)
    last_updated: DateTime


class Session230(Session221):
    total_cost: Price230 | None = None


class Session211(OcpiModel):
    id: CiString(36)
    start_datetime: DateTime
    end_datetime: DateTime | None = None
    kwh: Number
    auth_id: String(36)
    auth_method: OpenEnum(AUTH_METHODS)
    location: Location211
    meter_id: String(255) | None = None
    currency: String(3)
    charging_periods: list[ChargingPeriod211] | None = None
    total_cost: Number | None = None
    status: ClosedEnum(SESSION_STATUS_211)
    last_updated: DateTime


class ChargingPreferences(OcpiModel):
    profile_type: ClosedEnum(PROFILE_TYPES)
    departure_time: DateTime | None = None
    energy_need: Number | None = None
    discharge_allowed: bool | None = None


SCHEMAS: dict[str, type[OcpiModel]] = {
    "2.1.1": Session211,
    "2.2.1": Session221,
    "2.3.0": Session230,
}
# Gireve's 2.1.1 extension; on 2.2+ it travels as authorization_reference.
EXTENSION_FIELDS_211 = ("authorization_id",)

"""Location, EVSE and Connector per version: the spec's object tables as data.

2.2.1 is the base; 2.3.0 adds fields; 2.1.1 differs in a handful of fields
(``type``, ``voltage``/``amperage``, ``tariff_id``, Hours, EnvironmentalImpact).
"""

from pydantic import ValidationInfo, model_validator

from ...core.types import (
    CiString,
    ClosedEnum,
    Coordinate,
    DateTime,
    Number,
    OcpiModel,
    OpenEnum,
    Text,
    warn,
)
from ...model.shared import BusinessDetails, DisplayText, Image

STATUS = ("AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED",
          "REMOVED", "RESERVED", "UNKNOWN")
CAPABILITIES = ("CHARGING_PROFILE_CAPABLE", "CHARGING_PREFERENCES_CAPABLE", "CHIP_CARD_SUPPORT",
                "CONTACTLESS_CARD_SUPPORT", "CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE",
                "PED_TERMINAL", "REMOTE_START_STOP_CAPABLE", "RESERVABLE", "RFID_READER",
                "START_SESSION_CONNECTOR_REQUIRED", "TOKEN_GROUP_CAPABLE", "UNLOCK_CAPABLE")
CONNECTOR_TYPES = ("CHADEMO", "CHAOJI", "DOMESTIC_A", "DOMESTIC_B", "DOMESTIC_C", "DOMESTIC_D",
                   "DOMESTIC_E", "DOMESTIC_F", "DOMESTIC_G", "DOMESTIC_H", "DOMESTIC_I",
                   "DOMESTIC_J", "DOMESTIC_K", "DOMESTIC_L", "DOMESTIC_M", "DOMESTIC_N",
                   "DOMESTIC_O", "GBT_AC", "GBT_DC", "IEC_60309_2_single_16",
                   "IEC_60309_2_three_16", "IEC_60309_2_three_32", "IEC_60309_2_three_64",
                   "IEC_62196_T1", "IEC_62196_T1_COMBO", "IEC_62196_T2", "IEC_62196_T2_COMBO",
                   "IEC_62196_T3A", "IEC_62196_T3C", "MCS", "NEMA_5_20", "NEMA_6_30",
                   "NEMA_6_50", "NEMA_10_30", "NEMA_10_50", "NEMA_14_30", "NEMA_14_50",
                   "PANTOGRAPH_BOTTOM_UP", "PANTOGRAPH_TOP_DOWN", "SAE_J3400", "TESLA_R",
                   "TESLA_S")
CONNECTOR_FORMATS = ("SOCKET", "CABLE")
POWER_TYPES = ("AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC")
FACILITIES = ("HOTEL", "RESTAURANT", "CAFE", "MALL", "SUPERMARKET", "SPORT", "RECREATION_AREA",
              "NATURE", "MUSEUM", "BIKE_SHARING", "BUS_STOP", "TAXI_STAND", "TRAM_STOP",
              "METRO_STATION", "TRAIN_STATION", "AIRPORT", "PARKING_LOT", "CARPOOL_PARKING",
              "FUEL_STATION", "WIFI")
PARKING_TYPES = ("ALONG_MOTORWAY", "PARKING_GARAGE", "PARKING_LOT", "ON_DRIVEWAY", "ON_STREET",
                 "UNDERGROUND_GARAGE")
LOCATION_TYPES_211 = ("ON_STREET", "PARKING_GARAGE", "UNDERGROUND_GARAGE", "PARKING_LOT",
                      "OTHER", "UNKNOWN")
PARKING_RESTRICTIONS = ("EV_ONLY", "PLUGGED", "DISABLED", "CUSTOMERS", "MOTORCYCLES",
                        "EMPLOYEES", "TAXIS", "TENANTS")
ENERGY_SOURCES = ("NUCLEAR", "GENERAL_FOSSIL", "COAL", "GAS", "GENERAL_GREEN", "SOLAR", "WIND",
                  "WATER")
ENVIRONMENTAL = ("NUCLEAR_WASTE", "CARBON_DIOXIDE")
TOKEN_TYPES = ("AD_HOC_USER", "APP_USER", "EMAID", "OTHER", "RFID")





class GeoLocation(OcpiModel):
    latitude: Coordinate("5,7")
    longitude: Coordinate("5,7")


class AdditionalGeoLocation(GeoLocation):
    name: DisplayText | None = None


class RegularHours(OcpiModel):
    weekday: int
    period_begin: Text(5)
    period_end: Text(5)


class ExceptionalPeriod(OcpiModel):
    period_begin: DateTime
    period_end: DateTime


class Hours(OcpiModel):
    twentyfourseven: bool
    regular_hours: list[RegularHours] | None = None
    exceptional_openings: list[ExceptionalPeriod] | None = None
    exceptional_closings: list[ExceptionalPeriod] | None = None

    @model_validator(mode="after")
    def _regular_hours_when_not_always_open(self) -> "Hours":
        if not self.twentyfourseven and not self.regular_hours:
            raise ValueError("regular_hours is required when twentyfourseven is false")
        return self


class EnergySource(OcpiModel):
    source: OpenEnum(ENERGY_SOURCES)
    percentage: Number


class EnvironmentalImpact(OcpiModel):
    category: OpenEnum(ENVIRONMENTAL)
    amount: Number


class EnergyMix(OcpiModel):
    is_green_energy: bool
    energy_sources: list[EnergySource] | None = None
    environ_impact: list[EnvironmentalImpact] | None = None
    supplier_name: Text(64) | None = None
    energy_product_name: Text(64) | None = None


class StatusSchedule(OcpiModel):
    period_begin: DateTime
    period_end: DateTime | None = None
    status: ClosedEnum(STATUS)


class PublishTokenType(OcpiModel):
    uid: CiString(36) | None = None
    type: OpenEnum(TOKEN_TYPES) | None = None
    visual_number: Text(64) | None = None
    issuer: Text(64) | None = None
    group_id: CiString(36) | None = None

    @model_validator(mode="after")
    def _rules(self) -> "PublishTokenType":
        if self.uid is None and self.visual_number is None and self.group_id is None:
            raise ValueError("one of uid, visual_number or group_id is required")
        if self.uid is not None and self.type is None:
            raise ValueError("type is required with uid")
        if self.visual_number is not None and self.issuer is None:
            raise ValueError("issuer is required with visual_number")
        return self


# --- 2.2.1 -----------------------------------------------------------------

class Connector221(OcpiModel):
    id: CiString(36)
    standard: OpenEnum(CONNECTOR_TYPES)
    format: OpenEnum(CONNECTOR_FORMATS)
    power_type: OpenEnum(POWER_TYPES)
    max_voltage: int
    max_amperage: int
    max_electric_power: int | None = None
    tariff_ids: list[CiString(36)] | None = None
    terms_and_conditions: Text(255) | None = None
    last_updated: DateTime


class EVSE221(OcpiModel):
    uid: CiString(36)
    evse_id: CiString(48) | None = None
    status: ClosedEnum(STATUS)
    status_schedule: list[StatusSchedule] | None = None
    capabilities: list[OpenEnum(CAPABILITIES)] | None = None
    connectors: list[Connector221]
    floor_level: Text(4) | None = None
    coordinates: GeoLocation | None = None
    physical_reference: Text(16) | None = None
    directions: list[DisplayText] | None = None
    parking_restrictions: list[OpenEnum(PARKING_RESTRICTIONS)] | None = None
    images: list[Image] | None = None
    last_updated: DateTime

    @model_validator(mode="after")
    def _connectors_not_empty(self) -> "EVSE221":
        if not self.connectors:
            raise ValueError("connectors must hold at least one Connector")
        return self


class Location221(OcpiModel):
    country_code: CiString(2)
    party_id: CiString(3)
    id: CiString(36)
    publish: bool
    publish_allowed_to: list[PublishTokenType] | None = None
    name: Text(255) | None = None
    address: Text(255)
    city: Text(45)
    postal_code: Text(10) | None = None
    state: Text(45) | None = None
    country: Text(3)
    coordinates: GeoLocation
    related_locations: list[AdditionalGeoLocation] | None = None
    parking_type: OpenEnum(PARKING_TYPES) | None = None
    evses: list[EVSE221] | None = None
    directions: list[DisplayText] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: list[OpenEnum(FACILITIES)] | None = None
    time_zone: Text(255)
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    images: list[Image] | None = None
    energy_mix: EnergyMix | None = None
    last_updated: DateTime


# --- 2.3.0 -----------------------------------------------------------------

class Parking230(OcpiModel):
    id: CiString(36)
    physical_reference: Text(12) | None = None
    vehicle_types: list[str] | None = None
    reservation_required: bool | None = None


class EVSEParking230(OcpiModel):
    parking_id: CiString(36)
    evse_position: str | None = None


class Connector230(Connector221):
    capabilities: list[str] | None = None


class EVSE230(EVSE221):
    connectors: list[Connector230]
    parking: list[EVSEParking230] | None = None
    accepted_service_providers: list[str] | None = None


class Location230(Location221):
    evses: list[EVSE230] | None = None
    parking_places: list[Parking230] | None = None
    help_phone: Text(25) | None = None

    @model_validator(mode="after")
    def _parking_references(self, info: ValidationInfo) -> "Location230":
        ids = [p.id for p in self.parking_places or ()]
        if len(ids) != len(set(ids)):
            raise ValueError("parking_places ids must be unique")
        for evse in self.evses or ():
            for p in evse.parking or ():
                if p.parking_id not in ids:
                    raise ValueError(f"EVSE {evse.uid}: parking_id {p.parking_id!r} is not in "
                                     "parking_places")
        return self


# --- 2.1.1 -----------------------------------------------------------------

class GeoLocation211(OcpiModel):
    latitude: Coordinate("6")
    longitude: Coordinate("6")


class AdditionalGeoLocation211(GeoLocation211):
    name: DisplayText | None = None


class Hours211(OcpiModel):
    regular_hours: list[RegularHours] | None = None
    twentyfourseven: bool | None = None
    exceptional_openings: list[ExceptionalPeriod] | None = None
    exceptional_closings: list[ExceptionalPeriod] | None = None

    @model_validator(mode="after")
    def _one_of(self, info: ValidationInfo) -> "Hours211":
        if not self.twentyfourseven and not self.regular_hours:
            raise ValueError("either regular_hours or twentyfourseven=true is required")
        if self.twentyfourseven and self.regular_hours:
            warn(info, "opening_times: both regular_hours and twentyfourseven given")
        return self


class EnvironmentalImpact211(OcpiModel):
    source: OpenEnum(ENVIRONMENTAL)
    amount: Number


class EnergyMix211(EnergyMix):
    environ_impact: list[EnvironmentalImpact211] | None = None


class Connector211(OcpiModel):
    id: CiString(36)
    standard: OpenEnum(CONNECTOR_TYPES)
    format: OpenEnum(CONNECTOR_FORMATS)
    power_type: OpenEnum(POWER_TYPES)
    voltage: int
    amperage: int
    tariff_id: CiString(36) | None = None
    terms_and_conditions: Text(255) | None = None
    last_updated: DateTime


class EVSE211(EVSE221):
    uid: CiString(39)  # string(39) in 2.1.1, CiString(36) from 2.2
    connectors: list[Connector211]
    coordinates: GeoLocation211 | None = None


class Location211(OcpiModel):
    id: CiString(39)
    type: OpenEnum(LOCATION_TYPES_211)
    name: Text(255) | None = None
    address: Text(45)
    city: Text(45)
    postal_code: Text(10)
    country: Text(3)
    coordinates: GeoLocation211
    related_locations: list[AdditionalGeoLocation211] | None = None
    evses: list[EVSE211] | None = None
    directions: list[DisplayText] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: list[OpenEnum(FACILITIES)] | None = None
    time_zone: Text(255) | None = None
    opening_times: Hours211 | None = None
    charging_when_closed: bool | None = None
    images: list[Image] | None = None
    energy_mix: EnergyMix211 | None = None
    last_updated: DateTime


SCHEMAS: dict[str, dict[str, type[OcpiModel]]] = {
    "2.1.1": {"location": Location211, "evse": EVSE211, "connector": Connector211},
    "2.2.1": {"location": Location221, "evse": EVSE221, "connector": Connector221},
    "2.3.0": {"location": Location230, "evse": EVSE230, "connector": Connector230},
}


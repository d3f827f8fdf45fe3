"""Token, AuthorizationInfo and LocationReferences per version.

2.1.1 names the contract ``auth_id`` and carries no owner; 2.2.1 adds the
owner, ``group_id``, ``default_profile_type`` and ``energy_contract``; 2.3.0
adds the token type EMAID. Gireve's 2.1.1 AuthorizationInfo carries
``authorization_id``, 2.2's ``authorization_reference``.
"""

from ...core.types import CiString, ClosedEnum, DateTime, OcpiModel, OpenEnum, String, Text
from ...model.shared import DisplayText

TOKEN_TYPES_211 = ("OTHER", "RFID")
TOKEN_TYPES_221 = ("AD_HOC_USER", "APP_USER", "OTHER", "RFID")
TOKEN_TYPES = (*TOKEN_TYPES_221, "EMAID")
WHITELIST = ("ALWAYS", "ALLOWED", "ALLOWED_OFFLINE", "NEVER")
ALLOWED = ("ALLOWED", "BLOCKED", "EXPIRED", "NO_CREDIT", "NOT_ALLOWED")
PROFILE_TYPES = ("CHEAP", "FAST", "GREEN", "REGULAR")


class Token211(OcpiModel):
    uid: String(36)
    # closed: a 2.1.1 URL names no type, so RFID then OTHER is all it can address
    type: ClosedEnum(TOKEN_TYPES_211)
    auth_id: String(36)
    visual_number: Text(64) | None = None
    issuer: Text(64)
    valid: bool
    whitelist: ClosedEnum(WHITELIST)
    language: String(2) | None = None
    last_updated: DateTime


class EnergyContract(OcpiModel):
    supplier_name: Text(64)
    contract_id: String(64) | None = None


class Token221(OcpiModel):
    country_code: CiString(2)
    party_id: CiString(3)
    uid: CiString(36)
    type: OpenEnum(TOKEN_TYPES_221)
    contract_id: CiString(36)
    visual_number: Text(64) | None = None
    issuer: Text(64)
    group_id: CiString(36) | None = None
    valid: bool
    whitelist: ClosedEnum(WHITELIST)
    language: String(2) | None = None
    default_profile_type: ClosedEnum(PROFILE_TYPES) | None = None
    energy_contract: EnergyContract | None = None
    last_updated: DateTime


class Token230(Token221):
    type: OpenEnum(TOKEN_TYPES)


SCHEMAS: dict[str, type[OcpiModel]] = {"2.1.1": Token211, "2.2.1": Token221, "2.3.0": Token230}


class LocationReferences211(OcpiModel):
    location_id: String(39)
    evse_uids: list[String(39)] | None = None
    connector_ids: list[String(36)] | None = None


class LocationReferences(OcpiModel):
    location_id: CiString(36)
    evse_uids: list[CiString(36)] | None = None


class AuthorizationInfo211(OcpiModel):
    allowed: ClosedEnum(ALLOWED)
    location: LocationReferences211 | None = None
    info: DisplayText | None = None
    authorization_id: String(36) | None = None  # Gireve's extension


class AuthorizationInfo221(OcpiModel):
    allowed: ClosedEnum(ALLOWED)
    token: Token221
    location: LocationReferences | None = None
    authorization_reference: CiString(36) | None = None
    info: DisplayText | None = None


class AuthorizationInfo230(AuthorizationInfo221):
    token: Token230


LOCATION_REFERENCES: dict[str, type[OcpiModel]] = {
    "2.1.1": LocationReferences211, "2.2.1": LocationReferences, "2.3.0": LocationReferences}
AUTHORIZATION_INFO: dict[str, type[OcpiModel]] = {
    "2.1.1": AuthorizationInfo211, "2.2.1": AuthorizationInfo221,
    "2.3.0": AuthorizationInfo230}

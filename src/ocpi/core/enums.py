"""Enums the seed tutorials import from ``ocpi.core.enums``."""

from enum import StrEnum


class RoleEnum(StrEnum):
    """A party's role in the roaming network (OCPI ``Role``)."""

    cpo = "CPO"
    emsp = "EMSP"
    hub = "HUB"
    nap = "NAP"
    nsp = "NSP"
    other = "OTHER"
    scsp = "SCSP"
    ptp = "PTP"


class ModuleID(StrEnum):
    """OCPI module identifiers as they appear in version details."""

    cdrs = "cdrs"
    charging_profile = "chargingprofiles"
    commands = "commands"
    credentials_and_registration = "credentials"
    hub_client_info = "hubclientinfo"
    client_info = "clientinfo"
    locations = "locations"
    sessions = "sessions"
    tariffs = "tariffs"
    tokens = "tokens"
    payments = "payments"
    bookings = "bookings"


# the modules that carry routing headers (2.2.1 "Message Routing"); the others
# (versions, credentials, Hub Client Info) are configuration modules, where they
# SHALL NOT be used: in our requests (peers/client.py) and answers (core/transport.py)
FUNCTIONAL_MODULES = frozenset(m.value for m in (
    ModuleID.locations, ModuleID.sessions, ModuleID.cdrs, ModuleID.tariffs, ModuleID.tokens,
    ModuleID.commands, ModuleID.charging_profile, ModuleID.payments, ModuleID.bookings))


class InterfaceRole(StrEnum):
    """Side of a module's interface (2.2+ version details)."""

    SENDER = "SENDER"
    RECEIVER = "RECEIVER"


class Action(StrEnum):
    """Non-CRUD actions passed to ``Crud.do`` (seed library compatible)."""

    send_command = "SendCommand"
    get_client_token = "GetClientToken"
    authorize_token = "AuthorizeToken"
    send_get_chargingprofile = "SendGetChargingProfile"
    send_delete_chargingprofile = "SendDeleteChargingProfile"
    send_update_charging_profile = "SendUpdateChargingProfile"

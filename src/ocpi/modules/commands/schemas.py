"""The Commands module's objects per version (OCPI 2.2.1 and 2.3.0 section 13,
"Commands module"; 2.1.1 section "Commands module").

2.1.1 has four commands (no CANCEL_RESERVATION), its ids are ``string(39)``
rather than ``CiString(36)``, its ``reservation_id`` is an int, it carries no
``authorization_reference`` nor ``connector_id`` in StartSession, and its
asynchronous result is a CommandResponse (``result`` only, whose values
include TIMEOUT). 2.2 splits the answer in two: the immediate CommandResponse
(``result``, ``timeout``, ``message``) and the later CommandResult with its
own, richer result values.
"""

from typing import Any

from pydantic import model_validator

from ...core.types import CiString, ClosedEnum, DateTime, OcpiModel, String
from ...model.shared import DisplayText
from ..tokens.schemas import Token211, Token221, Token230

COMMANDS_211 = ("RESERVE_NOW", "START_SESSION", "STOP_SESSION", "UNLOCK_CONNECTOR")
COMMANDS = ("CANCEL_RESERVATION", *COMMANDS_211)
# CommandResponseType: the CPO's immediate answer
RESPONSES_211 = ("NOT_SUPPORTED", "REJECTED", "ACCEPTED", "TIMEOUT", "UNKNOWN_SESSION")
RESPONSES = ("NOT_SUPPORTED", "REJECTED", "ACCEPTED", "UNKNOWN_SESSION")
# CommandResultType (2.2+): what the Charge Point did; the canonical result
RESULTS = ("ACCEPTED", "CANCELED_RESERVATION", "EVSE_OCCUPIED", "EVSE_INOPERATIVE", "FAILED",
           "NOT_SUPPORTED", "REJECTED", "TIMEOUT", "UNKNOWN_RESERVATION")

Url = String(255)  # the types chapter's URL: string(255)


class _Request(OcpiModel):
    response_url: Url


# --- 2.1.1 ------------------------------------------------------------------------

class ReserveNow211(_Request):
    token: Token211
    expiry_date: DateTime
    reservation_id: int
    location_id: String(39)
    evse_uid: String(39) | None = None


class StartSession211(_Request):
    token: Token211
    location_id: String(39)
    evse_uid: String(39) | None = None


class StopSession211(_Request):
    session_id: String(36)


class UnlockConnector211(_Request):
    location_id: String(39)
    evse_uid: String(39)
    connector_id: String(36)


class CommandResponse211(OcpiModel):
    result: ClosedEnum(RESPONSES_211)


# --- 2.2.1 and 2.3.0 --------------------------------------------------------------

class CancelReservation(_Request):
    reservation_id: CiString(36)


class ReserveNow221(_Request):
    token: Token221
    expiry_date: DateTime
    reservation_id: CiString(36)
    location_id: CiString(36)
    evse_uid: CiString(36) | None = None
    authorization_reference: CiString(36) | None = None


class ReserveNow230(ReserveNow221):
    token: Token230


class StartSession221(_Request):
    token: Token221
    location_id: CiString(36)
    evse_uid: CiString(36) | None = None
    connector_id: CiString(36) | None = None
    authorization_reference: CiString(36) | None = None

    @model_validator(mode="after")
    def _evse_with_connector(self) -> "StartSession221":
        if self.connector_id is not None and self.evse_uid is None:
            raise ValueError("evse_uid is required when connector_id is set")
        return self


class StartSession230(StartSession221):
    token: Token230


class StopSession(_Request):
    session_id: CiString(36)


class UnlockConnector(_Request):
    location_id: CiString(36)
    evse_uid: CiString(36)
    connector_id: CiString(36)


class CommandResponse221(OcpiModel):
    result: ClosedEnum(RESPONSES)
    timeout: int
    message: list[DisplayText] | None = None


class CommandResult(OcpiModel):
    result: ClosedEnum(RESULTS)
    message: list[DisplayText] | None = None


REQUESTS: dict[str, dict[str, type[OcpiModel]]] = {
    "2.1.1": {"RESERVE_NOW": ReserveNow211, "START_SESSION": StartSession211,
              "STOP_SESSION": StopSession211, "UNLOCK_CONNECTOR": UnlockConnector211},
    "2.2.1": {"CANCEL_RESERVATION": CancelReservation, "RESERVE_NOW": ReserveNow221,
              "START_SESSION": StartSession221, "STOP_SESSION": StopSession,
              "UNLOCK_CONNECTOR": UnlockConnector},
    "2.3.0": {"CANCEL_RESERVATION": CancelReservation, "RESERVE_NOW": ReserveNow230,
              "START_SESSION": StartSession230, "STOP_SESSION": StopSession,
              "UNLOCK_CONNECTOR": UnlockConnector},
}
RESPONSE: dict[str, type[OcpiModel]] = {
    "2.1.1": CommandResponse211, "2.2.1": CommandResponse221, "2.3.0": CommandResponse221}
# what the CPO POSTs to the response_url
RESULT: dict[str, type[OcpiModel]] = {
    "2.1.1": CommandResponse211, "2.2.1": CommandResult, "2.3.0": CommandResult}


def request_model(command: str, version: str) -> type[OcpiModel] | None:
    """The request object of ``command`` in ``version``; None: no such command there."""
    return REQUESTS.get(version, {}).get(command)


def responses(version: str) -> tuple[str, ...]:
    return RESPONSES_211 if version == "2.1.1" else RESPONSES


def display(message: Any) -> list[dict[str, Any]] | None:
    """A message as the DisplayText list OCPI carries: a hook (or the operator) may
    give plain text, one DisplayText, or the list."""
    if message is None or message == "" or message == []:
        return None
    if isinstance(message, str):
        return [{"language": "en", "text": message}]
    if isinstance(message, dict):
        return [message]
    if isinstance(message, list):
        return [m if isinstance(m, dict) else {"language": "en", "text": str(m)}
                for m in message]
    raise ValueError(f"message: {message!r} is neither text nor DisplayText")


def text_of(message: list[dict[str, Any]] | None) -> str:
    """A DisplayText list as one line (for ``status_message`` and the CLI)."""
    return "; ".join(str(m.get("text", "")) for m in message or [])


def result_as_211(result: str) -> str:
    """2.1.1 answers with its CommandResponseType: what it cannot name is REJECTED."""
    return result if result in ("ACCEPTED", "NOT_SUPPORTED", "TIMEOUT") else "REJECTED"

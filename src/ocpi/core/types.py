"""Field types shared by every module's schemas.

Hard rules (types, required fields, ids and other CiStrings, strings whose
length the specification makes part of the type, closed enums, numbers out of
range) fail validation and become a 2001 naming the field. Soft rules (lengths
of free text, open enums, coordinate precision) only add a warning to the
validation context: the object is kept and the warning goes back in
``status_message``. Free text has a hard ceiling too (``TEXT_CEILING``).
"""

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, WithJsonSchema

from .datetime import parse_datetime


def warn(info: ValidationInfo, message: str) -> None:
    if isinstance(info.context, dict):
        info.context.setdefault("warnings", []).append(message)


class OcpiModel(BaseModel):
    """Base of every OCPI object: unknown fields are kept, never refused."""

    model_config = ConfigDict(extra="allow", populate_by_name=False, validate_default=False)


def _check_datetime(value: str) -> str:
    parse_datetime(value)
    return value


# the JSON Schema hints below are what /openapi.json says of a field (ocpi.openapi):
# a check in a validator function is invisible to it otherwise
DateTime = Annotated[str, AfterValidator(_check_datetime), WithJsonSchema(
    {"type": "string", "format": "date-time",
     "description": "RFC 3339, in UTC (no zone designator means UTC)"})]


def ci(value: str) -> str:
    """A CiString's key: ASCII case-insensitive (Unicode case folding would make
    ``ß-ALIAS`` the same id as ``SS-ALIAS``)."""
    return value.lower() if value.isascii() else value.translate(_ASCII_LOWER)


_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


# printable ASCII, checked by pydantic's own (Rust) regex: no Python call per field
PRINTABLE_ASCII = r"^[ -~]*$"


def CiString(max_length: int) -> Any:
    """Identifier-like string: printable ASCII within its length, a hard rule."""
    return Annotated[str, Field(max_length=max_length, pattern=PRINTABLE_ASCII)]


def String(max_length: int) -> Any:
    """A string whose length the specification makes part of the type (``meter_id``)."""
    return Annotated[str, Field(max_length=max_length)]


# free text longer than this is refused, not kept with a warning: a hub's
# slightly long address is kept; a megabyte "name" is an attack, not data
TEXT_CEILING = 4096


_CTRL = re.compile(r"[\r\n\t]")


def Text(max_length: int) -> Any:
    """Free text: overlong or control characters are reported, not refused."""

    ceiling = max(TEXT_CEILING, 4 * max_length)

    def check(value: str, info: ValidationInfo) -> str:
        if len(value) > max_length:
            if len(value) > ceiling:
                raise ValueError(f"longer than {ceiling} characters "
                                 f"(the specification says {max_length})")
            warn(info, f"{info.field_name}: longer than {max_length} characters")
        if _CTRL.search(value):
            warn(info, f"{info.field_name}: contains control characters")
        return value

    return Annotated[str, AfterValidator(check)]


def OpenEnum(values: Iterable[str]) -> Any:
    """Enum that tolerates values a hub or a newer version adds (kept, reported)."""
    known_order = tuple(values)
    known = frozenset(known_order)

    def check(value: str, info: ValidationInfo) -> str:
        if value not in known:
            warn(info, f"{info.field_name}: unknown value {value!r} kept")
        return value

    return Annotated[str, AfterValidator(check), WithJsonSchema(
        {"type": "string", "examples": list(known_order),
         "description": "open: other values are kept, with a warning"})]


def ClosedEnum(values: Iterable[str]) -> Any:
    """Enum whose values drive behaviour (statuses): anything else is refused."""
    known = tuple(values)

    def check(value: str) -> str:
        if value not in known:
            raise ValueError(f"{value!r} is not one of {', '.join(known)}")
        return value

    return Annotated[str, AfterValidator(check),
                     WithJsonSchema({"type": "string", "enum": list(known)})]


_COORD = re.compile(r"^-?[0-9]{1,3}\.[0-9]+$|^-?[0-9]{1,3}$")


def Coordinate(decimals: str) -> Any:
    """Latitude/longitude text: must be a number; precision outside the spec is reported."""
    exact = re.compile(rf"^-?[0-9]{{1,3}}\.[0-9]{{{decimals}}}$")

    def check(value: str, info: ValidationInfo) -> str:
        if not _COORD.match(value):
            raise ValueError(f"{value!r} is not a decimal coordinate")
        if not exact.match(value):
            warn(info, f"{info.field_name}: {value!r} does not have {decimals} decimals")
        return value

    return Annotated[str, AfterValidator(check)]


# amounts and energy: finite decimals below a trillion (of kWh, of a currency)
NUMBER_MAX_DIGITS = 12


def _check_number(value: Decimal) -> Decimal:
    # adjusted(): the magnitude without arithmetic, which could overflow the context
    if not value.is_finite() or (value and value.adjusted() >= NUMBER_MAX_DIGITS):
        raise ValueError("must be a finite number below 1e12 in magnitude")
    return value


Number = Annotated[Decimal, AfterValidator(_check_number)]

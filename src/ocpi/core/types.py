"""Field types shared by every module's schemas.

Hard rules (types, required fields, id lengths, closed enums) fail validation
and become a 2001. Soft rules (lengths of free text, open enums, coordinate
precision) only add a warning to the validation context: the object is kept
and the warning goes back in ``status_message``.
"""

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

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


DateTime = Annotated[str, AfterValidator(_check_datetime)]


def CiString(max_length: int) -> Any:
    """Identifier-like string: the length limit is a hard rule."""
    return Annotated[str, Field(max_length=max_length)]


_CTRL = re.compile(r"[\r\n\t]")


def Text(max_length: int) -> Any:
    """Free text: overlong or control characters are reported, not refused."""

    def check(value: str, info: ValidationInfo) -> str:
        if len(value) > max_length:
            warn(info, f"{info.field_name}: longer than {max_length} characters")
        if _CTRL.search(value):
            warn(info, f"{info.field_name}: contains control characters")
        return value

    return Annotated[str, AfterValidator(check)]


def OpenEnum(values: Iterable[str]) -> Any:
    """Enum that tolerates values a hub or a newer version adds (kept, reported)."""
    known = frozenset(values)

    def check(value: str, info: ValidationInfo) -> str:
        if value not in known:
            warn(info, f"{info.field_name}: unknown value {value!r} kept")
        return value

    return Annotated[str, AfterValidator(check)]


def ClosedEnum(values: Iterable[str]) -> Any:
    """Enum whose values drive behaviour (statuses): anything else is refused."""
    known = tuple(values)

    def check(value: str) -> str:
        if value not in known:
            raise ValueError(f"{value!r} is not one of {', '.join(known)}")
        return value

    return Annotated[str, AfterValidator(check)]


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


Number = Decimal

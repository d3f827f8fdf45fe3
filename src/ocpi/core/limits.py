"""What one request may cost the node, and the checks that hold it to that.

The node faces the internet: anyone can reach it before authentication, and a
partner's token does not make its input safe. Every bound here is checked in
time linear in the input, before the input can cost more (a path before it is
matched, a body while it is read, its shape before it is validated).
Defaults and why: docs/security.md.
"""

import os
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import InvalidParameters, OcpiError
from .status import Status


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


@dataclass(frozen=True)
class Limits:
    # 4 MiB: a Location of about 4,000 EVSEs with two connectors each (about 1 KB
    # per EVSE, compact). The largest public sites have a few hundred charge points.
    max_body_bytes: int = 4 * 1024 * 1024
    # objects and arrays in one body: a 4,000-EVSE Location has about 28,000
    max_json_containers: int = 100_000
    # values in one body (counted as commas): a 4,000-EVSE Location has about 92,000.
    # Each costs a Python object while parsed: this bounds memory and time
    max_json_values: int = 250_000
    # bodies above this are parsed in a thread, so the event loop keeps serving
    parse_in_thread_bytes: int = 256 * 1024
    # OCPI objects nest about 6 deep (Session > charging_periods > dimensions);
    # well below orjson's 255, which we must be able to write back
    max_json_depth: int = 32
    max_path_bytes: int = 2048
    max_path_segments: int = 16  # the deepest OCPI path has 9
    max_query_bytes: int = 4096
    body_timeout: float = 30.0  # seconds for a whole body, however slowly it comes

    @classmethod
    def from_env(cls, **overrides: Any) -> "Limits":
        """Defaults, then ``OCPI_MAX_BODY_BYTES``/``OCPI_BODY_TIMEOUT``, then arguments."""
        defaults = cls()
        values: dict[str, Any] = {
            "max_body_bytes": _env_int("OCPI_MAX_BODY_BYTES", defaults.max_body_bytes),
            "body_timeout": _env_float("OCPI_BODY_TIMEOUT", defaults.body_timeout),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class PayloadTooLarge(OcpiError):
    """A body over the limit (HTTP 413), refused while it is read."""

    http_status = 413


class RequestTimeout(OcpiError):
    """A body that did not arrive in time (HTTP 408)."""

    http_status = 408


class ClientGone(OcpiError):
    """The client hung up before its body was complete: nothing to parse, nobody to
    answer (the envelope goes nowhere), nothing to log."""


class NotJson(OcpiError):
    """A body that is not JSON: the transport layer's HTTP 400 (2001)."""

    http_status = 400
    status_code = Status.INVALID_PARAMETERS


# --- numbers -------------------------------------------------------------------

INT_MAX = 2**63 - 1  # what the node can write back (orjson) and a database can hold
DECIMAL_MIN_EXPONENT = -100


class OutOfRange(Exception):
    """A number the node will not keep; raised while parsing, answered 2001."""


def parse_int(text: str) -> int:
    if len(text) < 19:  # at most 18 digits: within 64 bits, nothing to check
        return int(text)
    if len(text) > 20:
        raise OutOfRange(f"integer {text[:24]}... is out of range")
    value = int(text)
    if not -INT_MAX - 1 <= value <= INT_MAX:
        raise OutOfRange(f"integer {text} is out of range (64-bit)")
    return value


def parse_decimal(text: str) -> Decimal:
    if len(text) < 19 and "e" not in text and "E" not in text:
        return Decimal(text)  # 18 digits and no exponent: within every bound below
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover (the scanner hands us valid numbers)
        raise OutOfRange(f"number {text[:24]} is not a decimal") from None
    if not value.is_finite() or (value and value.adjusted() >= 18):  # no arithmetic: no Overflow
        raise OutOfRange(f"number {text[:24]} is out of range (|x| < 1e18)")
    exponent = value.as_tuple().exponent
    if value and isinstance(exponent, int) and exponent < DECIMAL_MIN_EXPONENT:
        raise OutOfRange(f"number {text[:24]} has more than 100 decimals")
    return value


def parse_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON number")  # NaN, Infinity: not JSON


# --- shape ---------------------------------------------------------------------

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def check_shape(value: Any, max_depth: int, containers: int) -> None:
    """Depth limit, walked without recursion; only when the body could be that deep."""
    if containers <= max_depth:
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise InvalidParameters(f"body: nested deeper than {max_depth} levels")
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))


def lone_surrogate(value: Any) -> str | None:
    """The path of a string holding half a UTF-16 pair (it cannot be written as UTF-8)."""
    stack: list[tuple[Any, str]] = [(value, "body")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return path
        elif isinstance(item, dict):
            for k, v in item.items():
                if isinstance(k, str) and not k.isascii():
                    try:
                        k.encode("utf-8")
                    except UnicodeEncodeError:
                        return f"{path} (a key)"
                stack.append((v, f"{k}" if path == "body" else f"{path}.{k}"))
        elif isinstance(item, list):
            stack.extend((v, f"{path}.{i}") for i, v in enumerate(item))
    return None


def may_hold_surrogate(body: bytes) -> bool:
    return b"\\u" in body and _SURROGATE_ESCAPE.search(body) is not None


# --- paths and ids ---------------------------------------------------------------

def check_url(path: str, raw_path: bytes | None, query: bytes, limits: Limits
              ) -> tuple[int, str] | None:
    """The HTTP status and reason a request line is refused with before it is
    matched, or None."""
    size = len(raw_path) if raw_path is not None else len(path)
    if size > limits.max_path_bytes:
        return 414, f"path longer than {limits.max_path_bytes} bytes"
    if path.count("/") > limits.max_path_segments:
        return 400, f"path has more than {limits.max_path_segments} segments"
    if len(query) > limits.max_query_bytes:
        return 414, f"query longer than {limits.max_query_bytes} bytes"
    return None


# URL parameters named by the routes: OCPI CiStrings are printable ASCII
_PARAM_MAX = {"country_code": 2, "party_id": 3}
_ID_MAX = 64  # the longest id of any version is 39 (2.1.1); keys are stored in 64


def check_params(params: dict[str, str]) -> None:
    """URL ids must be printable ASCII of a sane length before any lookup uses them."""
    for name, value in params.items():
        limit = _PARAM_MAX.get(name, _ID_MAX)
        if not value or len(value) > limit or not is_printable_ascii(value):
            shown = value[:40].encode("ascii", "backslashreplace").decode()
            raise InvalidParameters(
                f"{name}: {shown!r} is not a valid identifier (printable ASCII, "
                f"at most {limit} characters)")


def is_printable_ascii(value: str) -> bool:
    return value.isascii() and value.isprintable()

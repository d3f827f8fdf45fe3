"""Times, ages and amounts as an operator reads them (template filters).

The store keeps UTC, often as naive datetimes; the console shows UTC with a
``Z`` and ages relative to now, so a roaming desk in any zone reads the same.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from jinja2 import Undefined

from ..core.datetime import parse_datetime


def _given(value: Any) -> Any:
    """None for what a template does not have (a missing key is ``Undefined``)."""
    return None if value is None or isinstance(value, Undefined) or value == "" else value


def _aware(value: Any) -> datetime | None:
    value = _given(value)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = parse_datetime(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def when(value: Any) -> str:
    """``2026-12-07 14:03:09Z``, or ``-``."""
    at = _aware(value)
    return at.strftime("%Y-%m-%d %H:%M:%SZ") if at else "-"


def iso(value: Any) -> str:
    """For a ``<time datetime=...>`` attribute."""
    at = _aware(value)
    return at.isoformat().replace("+00:00", "Z") if at else ""


def duration(seconds: float | None) -> str:
    """``45s``, ``12m 03s``, ``3h 07m``, ``2d 04h``."""
    seconds = _given(seconds)
    if seconds is None:
        return "-"
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def age(value: Any, now: datetime | None = None) -> str:
    """How long ago: ``12m 03s ago``; in the future: ``in 30s``."""
    at = _aware(value)
    if at is None:
        return "never"
    seconds = ((now or datetime.now(UTC)) - at).total_seconds()
    return f"{duration(seconds)} ago" if seconds >= 0 else f"in {duration(-seconds)}"


def since(value: Any, now: datetime | None = None) -> float | None:
    at = _aware(value)
    return None if at is None else ((now or datetime.now(UTC)) - at).total_seconds()


def kwh(value: Any) -> str:
    value = _given(value)
    if value is None:
        return "-"
    try:
        return f"{Decimal(str(value)):.3f}"
    except ArithmeticError:
        return str(value)


FILTERS = {"when": when, "iso": iso, "duration": duration, "age": age, "kwh": kwh}

"""Bounded reading of what a browser sends: query parameters and small forms.

Every value a page reads goes through here, so a hostile query or body costs
at most these bounds, and a wrong one is a 400 page, never an exception.
"""

from collections.abc import Mapping
from urllib.parse import parse_qsl

from starlette.requests import Request

MAX_FORM_BYTES = 16 * 1024  # a console form holds a few short fields
MAX_FIELDS = 50
MAX_TEXT = 200  # any one text value


class BadInput(ValueError):
    """What the browser sent does not fit: the page answers 400 with the reason."""


def text(values: Mapping[str, str], name: str, default: str = "",
         max_length: int = MAX_TEXT) -> str:
    value = values.get(name, default)
    if len(value) > max_length:
        raise BadInput(f"{name} is longer than {max_length} characters")
    return value.strip()


def integer(values: Mapping[str, str], name: str, default: int | None = None, *,
            lo: int = 0, hi: int = 2**62) -> int:
    raw = values.get(name, "")
    if raw == "":
        if default is None:
            raise BadInput(f"{name} is missing")
        return default
    if len(raw) > 20 or not raw.lstrip("-").isdigit():
        raise BadInput(f"{name} is not a whole number")
    value = int(raw)
    if not lo <= value <= hi:
        raise BadInput(f"{name} must be between {lo} and {hi}")
    return value


def choice(values: Mapping[str, str], name: str, options: tuple[str, ...],
           default: str | None = None) -> str:
    value = values.get(name, default or "")
    if value not in options:
        raise BadInput(f"{name} must be one of {', '.join(options)}")
    return value


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body of at most ``MAX_FORM_BYTES``;
    the first value of each name."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise BadInput("expected a form (application/x-www-form-urlencoded)")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise BadInput("the form is too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=MAX_FIELDS, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadInput("the form could not be read") from exc
    out: dict[str, str] = {}
    for name, value in pairs:
        out.setdefault(name, value)
    return out


def query(request: Request) -> dict[str, str]:
    """The query's first value of each name (its size the node's URL limits bound)."""
    out: dict[str, str] = {}
    for name, value in request.query_params.multi_items()[:MAX_FIELDS]:
        out.setdefault(name, value)
    return out

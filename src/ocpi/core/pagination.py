"""Pagination of list GETs: ``offset``/``limit``/``date_from``/``date_to`` in,
``Link``/``X-Total-Count``/``X-Limit`` out."""

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from .datetime import parse_datetime
from .errors import InvalidParameters

# no list has a trillion objects; a larger offset would overflow a database's BIGINT
MAX_POSITION = 10**12


def _int(request: Request, name: str, default: Any) -> Any:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if len(raw) > 20 or not raw.isascii():
        raise InvalidParameters(f"{name}: not an integer")
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameters(f"{name}: {raw!r} is not an integer") from None
    if value < 0:
        raise InvalidParameters(f"{name}: must not be negative")
    if value > MAX_POSITION:
        raise InvalidParameters(f"{name}: larger than {MAX_POSITION}")
    return value


def _dt(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return parse_datetime(raw.replace(" ", "+"))
    except ValueError as exc:
        raise InvalidParameters(f"{name}: {exc}") from None


def filters_from(request: Request, max_limit: int) -> dict[str, Any]:
    """The seed library's ``filters`` dict; ``limit`` lowered to the server maximum."""
    limit = _int(request, "limit", max_limit)
    return {
        "offset": _int(request, "offset", 0),
        "limit": min(limit, max_limit) if limit > 0 else max_limit,
        "date_from": _dt(request, "date_from"),
        "date_to": _dt(request, "date_to"),
        # our own next links carry the last seq: the next page is a keyset lookup
        "after": _int(request, "after", None),
    }


def page_headers(request: Request, public_url: str | None, filters: dict[str, Any],
                 total: int, count: int, is_last_page: bool, after: int | None = None
                 ) -> dict[str, str]:
    headers = {"X-Total-Count": str(total), "X-Limit": str(filters["limit"])}
    if not is_last_page and count > 0:
        query = [(k, v) for k, v in request.query_params.multi_items()
                 if k not in ("offset", "limit", "after")]
        query += [("offset", str(filters["offset"] + count)), ("limit", str(filters["limit"]))]
        if after is not None:
            query.append(("after", str(after)))
        if public_url:
            base = public_url.rstrip("/")
        else:
            base = f"{request.url.scheme}://{request.url.netloc}"
        headers["Link"] = f'<{base}{request.url.path}?{urlencode(query)}>; rel="next"'
    return headers

"""The OCPI response envelope, serialised once with orjson."""

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from . import jsonutil
from .datetime import now_text
from .status import Status

_MISSING: Any = object()


class OcpiResponse(Response):
    media_type = "application/json"


def envelope(
    data: Any = _MISSING,
    *,
    status_code: int = Status.SUCCESS,
    status_message: str | None = None,
    http_status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> OcpiResponse:
    """Build an envelope response; ``data`` is left out when not given."""
    body: dict[str, Any] = {}
    if data is not _MISSING:
        body["data"] = data
    body["status_code"] = int(status_code)
    body["status_message"] = status_message or ("Success" if status_code < 2000 else "Error")
    body["timestamp"] = now_text()
    return OcpiResponse(jsonutil.dumps(body), status_code=http_status, headers=headers)


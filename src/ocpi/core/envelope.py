"""The OCPI response envelope, serialised once with orjson."""

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from . import jsonutil
from .datetime import now_text
from .status import Status

_MISSING: Any = object()


class OcpiResponse(Response):
    media_type = "application/json"
    ocpi_status: int | None = None
    ocpi_message: str | None = None  # kept for the access log when the answer is an error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["ocpi.status"] = self.ocpi_status  # the access log's, without reading the body
        if self.ocpi_message is not None:
            scope["ocpi.message"] = self.ocpi_message
        await super().__call__(scope, receive, send)


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
    response = OcpiResponse(jsonutil.dumps(body), status_code=http_status, headers=headers)
    response.ocpi_status = body["status_code"]
    if status_code >= Status.CLIENT_ERROR:
        response.ocpi_message = body["status_message"]
    return response


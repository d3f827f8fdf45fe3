"""``GET /api/v1/chargingparks/{location_id}/sessions``: Smappee's park view, served
from the node's own sessions of that location, whatever their source.

Same query semantics as Smappee's: ``range=FROM[,TO]`` in epoch milliseconds,
required, start inclusive, end exclusive, filtering on the session *start*;
``active=false`` (default) completed sessions, ``active=true`` those not yet
completed. JSON (an OCPI envelope) by default, CSV on ``Accept: text/csv``.
"""

import csv
import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from .core.enums import RoleEnum
from .core.envelope import envelope
from .core.errors import InvalidParameters, OcpiError
from .core.limits import check_params
from .core.status import Status
from .core.transport import authenticate_operator, error_response, internal_error

if TYPE_CHECKING:
    from .node import Node

CSV_COLUMNS = ("id", "evse", "connector", "start", "end", "kwh", "status", "token_uid")
DONE = ("COMPLETED", "INVALID")


def parse_range(value: str | None) -> tuple[datetime, datetime | None]:
    """``FROM[,TO]`` in epoch milliseconds -> UTC datetimes; ``InvalidParameters`` otherwise."""
    if not value:
        raise InvalidParameters("range: required, as FROM[,TO] in epoch milliseconds "
                                "(e.g. range=1635721200000,1637190000000)")
    parts = value.split(",")
    if len(parts) > 2:
        raise InvalidParameters(f"range: {value!r} has more than two values")
    bounds = []
    for name, part in zip(("FROM", "TO"), parts, strict=False):
        part = part.strip()
        if not part.isdigit():
            raise InvalidParameters(f"range: {name} {part!r} is not epoch milliseconds")
        try:
            bounds.append(datetime.fromtimestamp(int(part) / 1000, UTC))
        except (OverflowError, ValueError, OSError):
            raise InvalidParameters(f"range: {name} {part} is out of range") from None
    start, end = bounds[0], (bounds[1] if len(bounds) == 2 else None)
    if end is not None and end < start:
        raise InvalidParameters("range: TO is before FROM")
    return start, end


def _active(value: str | None) -> bool:
    if value in (None, "", "false"):
        return False
    if value == "true":
        return True
    raise InvalidParameters(f"active: {value!r} is not true or false")


def _csv(items: list[dict[str, Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in items:
        writer.writerow([s.get("id"), s.get("evse_uid"), s.get("connector_id"),
                         s.get("start_date_time"), s.get("end_date_time", ""), s.get("kwh"),
                         s.get("status"), (s.get("cdr_token") or {}).get("uid", "")])
    return Response(out.getvalue(), media_type="text/csv")


def make_endpoint(node: "Node") -> Any:
    async def park_sessions(request: Request) -> Response:
        try:
            await authenticate_operator(node, request, "the charging-park API")
            check_params(request.path_params)
            if not node.builtin_store:
                raise OcpiError("needs the built-in store", status_code=Status.SERVER_ERROR,
                                http_status=501)
            start, end = parse_range(request.query_params.get("range"))
            active = _active(request.query_params.get("active"))
            owner = (node.country_code, node.party_id) \
                if node.country_code and node.party_id else None  # our own sessions only
            items = await node.crud.find_sessions(
                RoleEnum.cpo, location_id=request.path_params["location_id"],
                started_from=start, started_before=end, owner=owner,
                **({"not_statuses": DONE} if active else {"statuses": ("COMPLETED",)}))
        except OcpiError as exc:
            return error_response(exc)
        except Exception:
            return internal_error(request)
        items = [{k: v for k, v in s.items() if not k.startswith("_")} for s in items]
        if "text/csv" in request.headers.get("accept", ""):
            return _csv(items)
        return envelope(items)

    return park_sessions

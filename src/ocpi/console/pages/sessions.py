"""Sessions: the running ones live, finished ones by day, Location or token, and each
session's CDR with its delivery to the partner.

The running list is a fragment htmx fetches every few seconds (``live``), so kWh
and durations move without a reload; everything else is plain links and forms.
"""

from datetime import UTC, date, datetime
from typing import Any

from starlette.responses import Response

from ...core.datetime import parse_datetime
from ...services import cdrs as cdr_service
from ...services import session_search
from ..forms import BadInput
from ..web import Ctx, Page, not_found

page = Page("sessions", "Sessions")

REFRESH_SECONDS = 3
RUNNING_SHOWN = 200
FINISHED_SHOWN = 100
ROLES = ("CPO", "EMSP")


def _rows(found: list[session_search.Found], now: datetime) -> list[dict[str, Any]]:
    out = []
    for f in found:
        d = f.data
        start, end = _time(d.get("start_date_time")), _time(d.get("end_date_time"))
        token = f.token
        out.append({
            "role": f.role, "ours": f.role == "CPO", "data": d,
            "duration": ((end or now) - start).total_seconds() if start else None,
            "owner": f"{token.get('country_code', '?')}*{token.get('party_id', '?')}",
            "token": token.get("uid") or "-", "contract": token.get("contract_id") or "",
            "evse": " ".join(str(x) for x in (d.get("location_id"), d.get("evse_uid"),
                                              d.get("connector_id")) if x),
        })
    return out


def _time(value: Any) -> datetime | None:
    try:
        return parse_datetime(value) if value else None
    except ValueError:
        return None


def _day(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BadInput("date must be a day, like 2026-12-07") from exc


async def _running(c: Ctx) -> list[dict[str, Any]]:
    return _rows(await session_search.running(c.db, RUNNING_SHOWN), datetime.now(UTC))


@page.view("")
async def index(c: Ctx) -> Response:
    day = _day(c.text("date", max_length=10))
    location = c.text("location", max_length=36) or None
    token = c.text("token", max_length=64) or None
    finished = await session_search.finished(c.db, day=day, location=location, token=token,
                                             limit=FINISHED_SHOWN)
    return c.render("sessions.html", running=await _running(c), seconds=REFRESH_SECONDS,
                    finished=_rows(finished, datetime.now(UTC)), day=day or "",
                    location=location or "", token=token or "", shown=FINISHED_SHOWN)


@page.view("live")
async def live(c: Ctx) -> Response:
    """The running sessions alone, for the live region."""
    return c.render("sessions_running.html", running=await _running(c))


@page.view("show")
async def show(c: Ctx) -> Response:
    role = c.choice("role", ROLES)
    cc, pid = c.text("cc", max_length=2), c.text("pid", max_length=3)
    sid = c.text("id", max_length=36)
    found = await session_search.one(c.db, role, cc, pid, sid)
    if found is None:
        raise not_found(f"The session {sid!r}")
    [row] = _rows([found], datetime.now(UTC))
    cdrs = [x for x in await cdr_service.show(c.db, sid)
            if str(x["cdr"].get("session_id", sid)).casefold() == sid.casefold()
            and x["cdr"].get("country_code", "").upper() == cc.upper()]
    held = [h for h in await cdr_service.held(c.db)
            if h["session_id"].casefold() == sid.casefold()] if role == "CPO" else []
    names = {p.id: p.name for p in await c.registry.list_peers()}
    return c.render("session.html", s=row, cdrs=cdrs, held=held, names=names)

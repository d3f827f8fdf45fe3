"""Locations: ours and the partners', each with how many EVSEs are in which status.

Filtering by status finds the Locations with at least one EVSE in it: the store
looks for the status in the stored text, and each candidate is checked here
(the same words may also stand in an EVSE's status schedule).
"""

from collections import Counter
from typing import Any

from starlette.responses import Response

from ...core.enums import ModuleID
from ...store import browse
from ..forms import BadInput
from ..listing import listing, owner
from ..web import Ctx, Page, not_found

page = Page("locations", "Locations")

STATUSES = ("AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED",
            "REMOVED", "RESERVED", "UNKNOWN")
ID_MAX = 39  # 2.1.1's Location id; 2.2+ allows 36


def status_counts(location: dict[str, Any]) -> dict[str, int]:
    """EVSEs per status, in the order of ``STATUSES`` (others after them)."""
    counts = Counter(str(e.get("status") or "UNKNOWN") for e in location.get("evses") or ())
    return {s: counts.pop(s) for s in STATUSES if s in counts} | dict(counts)


@page.view("")
async def index(c: Ctx) -> Response:
    lst = listing(c)
    status = c.choice("status", ("", *STATUSES), "")
    q = c.text("q", max_length=ID_MAX)
    found = await browse.objects(
        c.db, ModuleID.locations.value, ours=lst.ours, owner=lst.owner, id_contains=q,
        contains=f'"status":"{status}"' if status else "", offset=lst.offset, limit=lst.limit)
    rows = [(r, status_counts(r.data)) for r in found.rows]
    if status:
        rows = [(r, counts) for r, counts in rows if status in counts]
    return c.render("locations.html", found=found, rows=rows, lst=lst, status=status, q=q,
                    statuses=STATUSES, query=lst.query(status=status, q=q))


@page.view("show")
async def show(c: Ctx) -> Response:
    side = c.choice("side", ("ours", "partners"), "ours")
    party = owner(c)
    key = c.text("id", max_length=ID_MAX)
    if party is None or not key:
        raise BadInput("name the Location by its owner and id")
    found = await browse.one(c.db, ModuleID.locations.value, side == "ours", party, key)
    if found is None:
        raise not_found(f"The Location {key!r} of {'*'.join(party)}")
    return c.render("location.html", loc=found, side=side, counts=status_counts(found))

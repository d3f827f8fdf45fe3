"""Tariffs: ours (sent to every eMSP) and those CPO partners sent us, with their
price components, so an operator can see what a CDR was priced with."""

from starlette.responses import Response

from ...core.enums import ModuleID
from ...store import browse
from ..listing import listing
from ..web import Ctx, Page

page = Page("tariffs", "Tariffs")

ID_MAX = 36


@page.view("")
async def index(c: Ctx) -> Response:
    lst = listing(c)
    q = c.text("q", max_length=ID_MAX)
    found = await browse.objects(c.db, ModuleID.tariffs.value, ours=lst.ours,
                                 owner=lst.owner, id_contains=q, offset=lst.offset,
                                 limit=lst.limit)
    return c.render("tariffs.html", found=found, rows=found.rows, lst=lst, q=q,
                    query=lst.query(q=q))

"""Tokens: ours (the eMSP's, which CPO partners receive) and those partners sent us."""

from starlette.responses import Response

from ...core.enums import ModuleID
from ...store import browse
from ..listing import listing
from ..web import Ctx, Page

page = Page("tokens", "Tokens")

UID_MAX = 36


@page.view("")
async def index(c: Ctx) -> Response:
    lst = listing(c)
    q = c.text("q", max_length=UID_MAX)
    valid = c.choice("valid", ("", "yes", "no"), "")
    found = await browse.objects(
        c.db, ModuleID.tokens.value, ours=lst.ours, owner=lst.owner, id_contains=q,
        contains={"yes": '"valid":true', "no": '"valid":false'}.get(valid, ""),
        offset=lst.offset, limit=lst.limit)
    rows = found.rows
    if valid:  # the text matched; the token's own field decides
        rows = [r for r in rows if r.data.get("valid") is (valid == "yes")]
    return c.render("tokens.html", found=found, rows=rows, lst=lst, q=q, valid=valid,
                    query=lst.query(q=q, valid=valid))

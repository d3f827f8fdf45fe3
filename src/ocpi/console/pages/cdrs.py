"""CDRs: ours with their delivery, the partners' with our check of them, and the
sessions held because they could not be priced, with the reason and a retry.

A retry builds the held session's CDR again as ``ocpi cdrs retry`` does: once
the operator has fixed what the reason names (a tariff, a connector's
``tariff_ids``, an EVSE's ``evse_id``), it is priced and queued to the eMSP.
"""

from starlette.responses import Response

from ...core.enums import ModuleID
from ...services import cdr_builder, cdrs
from ...store import browse
from ..listing import listing
from ..web import Ctx, Page, not_found

page = Page("cdrs", "CDRs")

ID_MAX = 39  # a correction's id: the session's 36 and -R{n}
CHECKS = ("", "agreed", "disputed", "unchecked")
HELD_PAGE = 50


@page.view("")
async def index(c: Ctx) -> Response:
    lst = listing(c)
    q = c.text("q", max_length=ID_MAX)
    check = c.choice("check", CHECKS, "")
    held_offset = c.integer("held_offset", 0, lo=0, hi=1_000_000)
    found = await browse.objects(
        c.db, ModuleID.cdrs.value, ours=False if check else lst.ours, owner=lst.owner,
        id_contains=q, columns={"check_state": check} if check else None,
        offset=lst.offset, limit=lst.limit)
    held = await cdrs.held(c.db, offset=held_offset, limit=HELD_PAGE)
    return c.render("cdrs.html", found=found, rows=found.rows, lst=lst, q=q, check=check,
                    checks=CHECKS, held=held, held_total=await cdrs.held_count(c.db),
                    held_offset=held_offset, held_page=HELD_PAGE,
                    query=lst.query(q=q, check=check))


@page.view("show")
async def show(c: Ctx) -> Response:
    key = c.text("id", max_length=ID_MAX)
    found = await cdrs.show(c.db, key) if key else []
    if not found:
        raise not_found(f"The CDR {key!r}")
    names = {p.id: p.name for p in await c.registry.list_peers()}
    return c.render("cdr.html", key=key, found=found, names=names)


@page.action("retry")
async def retry(c: Ctx) -> Response:
    """One held session, or all of them, built again."""
    every = c.params.get("all") == "yes"
    session_id = c.text("session_id", max_length=ID_MAX)
    if not every and not session_id:
        return c.failed("Name a held session, or retry all.")
    results = await cdr_builder.retry(c.db, None if every else session_id)
    if not results:
        return c.failed(f"{session_id} is not held." if session_id else "Nothing is held.")
    built = [r["session_id"] for r in results if not r["result"].startswith("held")]
    still = [f"{r['session_id']} ({r['result'].removeprefix('held: ')})" for r in results
             if r["result"].startswith("held")]
    text = (f"Built: {', '.join(built)}. " if built else "") + \
        (f"Still held: {'; '.join(still)}." if still else "")
    return c.done(text.strip()[:400], kind="error" if still else "ok")

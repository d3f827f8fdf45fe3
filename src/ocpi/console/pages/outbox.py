"""Outbox: what waits for each partner, what partners refused, and the operator's way out.

The same functions as ``ocpi outbox status|list --dead|retry|drop`` (outbox/admin.py).
A retried message goes back to its place in its partner's queue; one older than
what the partner has since accepted is dropped by the worker, never sent.
"""

from starlette.responses import Response

from ...outbox import admin
from ..web import Ctx, Page

page = Page("outbox", "Outbox")

SHOWN = 100  # dead letters per page by default
MAX_SHOWN = 1000


async def _queues(c: Ctx) -> dict[str, object]:
    queues = await admin.status(c.db)
    return {"queues": queues, "dead_total": sum(q.dead for q in queues)}


@page.view("")
async def index(c: Ctx) -> Response:
    partner = c.text("partner", max_length=100) or None
    limit = c.integer("limit", SHOWN, lo=1, hi=MAX_SHOWN)
    dead = await admin.messages(c.db, state="dead", partner=partner, limit=limit)
    names = [p.name for p in await c.registry.list_peers()]
    return c.render("outbox.html", dead=dead, partner=partner, limit=limit, names=names,
                    **await _queues(c))


@page.view("live")
async def live(c: Ctx) -> Response:
    """The queues table alone, for its live region."""
    return c.render("outbox_queues.html", **await _queues(c))


@page.action("retry")
async def retry(c: Ctx) -> Response:
    seq = c.integer("id", lo=1)
    if await admin.retry(c.db, seq):
        return c.done(f"Message {seq} is back in its partner's queue.")
    return c.failed(f"Message {seq} is not a dead letter (any more).")


@page.action("retry-all")
async def retry_all(c: Ctx) -> Response:
    n = await admin.retry(c.db, all_dead=True)
    return c.done(f"{n} dead letter(s) back in their partners' queues.")


@page.action("drop")
async def drop(c: Ctx) -> Response:
    seq = c.integer("id", lo=1)
    if await admin.drop(c.db, seq):
        return c.done(f"Message {seq} dropped for good.")
    return c.failed(f"There is no message {seq} (any more).")


@page.action("drop-all")
async def drop_all(c: Ctx) -> Response:
    n = await admin.drop_dead(c.db)
    return c.done(f"{n} dead letter(s) dropped for good.")

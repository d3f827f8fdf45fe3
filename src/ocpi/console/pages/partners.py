"""Partners: who we are connected to, whether they answer, and the handshake's actions.

The actions are the CLI's (``ocpi peers update|unregister|set --delivery|pull``),
through the same functions. A pull can take minutes, so it runs beside the
request and the page shows how it went.
"""

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from ...modules.canonical import modules as pullable_modules
from ...outbox import admin
from ...peers import handshake
from ...peers.client import PartnerError
from ...peers.handshake import HandshakeError
from ...peers.profile import DELIVERY_MODES
from ...services import pull as pull_service
from ...services.us import us
from ...store.sql_store import SqlStore
from ..web import Ctx, Page, not_found

log = logging.getLogger("ocpi.console")

page = Page("partners", "Partners")

NAME_MAX = 100
PULL_MAX_OBJECTS = 1_000_000  # a pull nobody watches must end
_EXPECTED = (ValueError, PartnerError, HandshakeError, OSError)


@page.view("")
async def index(c: Ctx) -> Response:
    partners = await c.registry.list_peers()
    queues = {s.name: s for s in await admin.status(c.db)}
    return c.render("partners.html", partners=partners, queues=queues,
                    pulls=_pulls(c), pullable=pullable_modules(), modes=DELIVERY_MODES)


async def _partner(c: Ctx) -> Any:
    name = c.text("name", max_length=NAME_MAX)
    peer = await c.registry.get(name) if name else None
    if peer is None:
        raise not_found(f"The partner {name!r}")
    return peer


async def _us(c: Ctx) -> Any:
    return await us(c.db, c.node.public_url, c.node.country_code, c.node.party_id)


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "message", None) or exc)


@page.action("update")
async def update_credentials(c: Ctx) -> Response:
    """New tokens both ways and fresh endpoints (credentials PUT)."""
    peer = await _partner(c)
    try:
        peer = await handshake.update(c.registry, await _us(c), peer)
    except _EXPECTED as exc:
        return c.failed(f"Updating {peer.name} failed: {_reason(exc)}")
    return c.done(f"{peer.name}: credentials exchanged, OCPI {peer.version}.")


@page.action("unregister")
async def unregister(c: Ctx) -> Response:
    peer = await _partner(c)
    force = c.params.get("force") == "yes"
    try:
        await handshake.unregister(c.registry, await _us(c), peer,
                                   force=force)
    except _EXPECTED as exc:
        return c.failed(f"Unregistering {peer.name} failed: {_reason(exc)} (tick "
                        "'even if it cannot be reached' to cut it off here anyway).")
    return c.done(f"{peer.name} is unregistered: its tokens no longer work.")


@page.action("delivery")
async def delivery(c: Ctx) -> Response:
    peer = await _partner(c)
    mode = c.choice("delivery", DELIVERY_MODES)
    await c.registry.set_profile(peer.name, delivery=mode)
    return c.done(f"{peer.name}: delivery mode is now {mode}.")


@page.action("pull")
async def pull_now(c: Ctx) -> Response:
    peer = await _partner(c)
    module = c.choice("module", tuple(pullable_modules()))
    pulls = _pulls(c)
    running = pulls.get(peer.name)
    if running and running["state"] == "running":
        return c.failed(f"A pull of {running['module']} from {peer.name} is still running.")
    try:
        ours = await _us(c)
    except ValueError as exc:
        return c.failed(str(exc))
    entry: dict[str, Any] = {"module": module, "started": datetime.now(UTC),
                             "state": "running", "text": "", "task": None}
    pulls[peer.name] = entry
    entry["task"] = asyncio.create_task(_run_pull(c, ours, peer, module, entry))
    return c.done(f"Pulling {module} from {peer.name}; this page shows the result.")


async def _run_pull(c: Ctx, ours: Any, peer: Any, module: str, entry: dict[str, Any]) -> None:
    try:
        result = await pull_service.pull(c.registry, SqlStore(c.db), ours, peer, module,
                                         max_objects=PULL_MAX_OBJECTS)
        entry["state"] = "rejected" if result.rejected else "done"
        entry["text"] = (f"{result.received} received: {result.created} new, "
                         f"{result.updated} updated, {result.unchanged} unchanged, "
                         f"{len(result.rejected)} rejected")
    except Exception as exc:  # shown on the page; the pull's own pages stay stored
        entry["state"], entry["text"] = "failed", _reason(exc)
        if not isinstance(exc, _EXPECTED):
            log.exception("console pull of %s from %s", module, peer.name)
    finally:
        entry["task"] = None
        entry["finished"] = datetime.now(UTC)


def _pulls(c: Ctx) -> dict[str, dict[str, Any]]:
    pulls: dict[str, dict[str, Any]] = c.console.state.setdefault("pulls", {})
    return pulls

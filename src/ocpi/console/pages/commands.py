"""Commands: those we sent to CPO partners (eMSP) and those partners sent us (CPO),
and sending one from here, as ``ocpi commands start-session ...`` does.

A command is answered at once (the partner's CommandResponse) and finished
later by its result, POSTed to our ``response_url``; the command's own page
refreshes until that result is in (the live region stops then).
"""

from typing import Any

from starlette.responses import Response

from ...core.datetime import format_datetime, parse_datetime
from ...modules.commands.schemas import text_of
from ...services import commands, history
from ...services.us import us
from ..forms import BadInput
from ..web import Ctx, Page, not_found

page = Page("commands", "Commands")

COMMANDS = ("START_SESSION", "STOP_SESSION", "RESERVE_NOW", "CANCEL_RESERVATION",
            "UNLOCK_CONNECTOR")
TOKEN_TYPES = ("RFID", "APP_USER", "AD_HOC_USER", "OTHER", "EMAID")
SIDES = {"all": None, "sent": "EMSP", "received": "CPO"}
STATES = ("", "asking", "pending", "done")
LIMITS = ("10", "25", "50", "100")
NAME_MAX, ID_MAX = 100, 36
LIVE_SECONDS = 2
STOP_POLLING = 286  # htmx stops a polling region on this status
MAX_ID = 2**62  # command ids are BIGINT


def _receivers(partners: list[Any]) -> list[Any]:
    """Registered partners that take commands (a CPO, or a hub)."""
    return [p for p in partners if p.state == "registered"
            and p.endpoint("commands", "RECEIVER")]


@page.view("")
async def index(c: Ctx) -> Response:
    side = c.choice("side", tuple(SIDES), "all")
    state = c.choice("state", STATES, "")
    offset = c.integer("offset", 0, lo=0, hi=1_000_000)
    limit = int(c.choice("limit", LIMITS, "25"))
    found, total = await history.commands_page(c.db, side=SIDES[side], state=state or None,
                                               offset=offset, limit=limit)
    query = {"side": side, "state": state, "limit": limit}
    values = {"rows": found, "total": total, "offset": offset, "limit": limit, "query": query}
    if c.is_fragment:
        return c.render("commands_rows.html", **values)
    return c.render("commands.html", side=side, state=state, states=STATES,
                    partners=_receivers(await c.registry.list_peers()),
                    token_types=TOKEN_TYPES, **values)


async def _one(c: Ctx) -> Any:
    command_id = int(c.request.path_params["id"])
    if command_id > MAX_ID:  # never a database's integer overflow
        raise not_found("The command")
    try:
        return await commands.get(c.db, command_id)
    except ValueError:
        raise not_found("The command") from None


@page.view("{id:int}")
async def show(c: Ctx) -> Response:
    cmd = await _one(c)
    partner = await c.registry.get_by_id(cmd.peer_id) if cmd.peer_id else None
    return c.render("command.html", cmd=cmd, partner=partner, text_of=text_of,
                    live_seconds=LIVE_SECONDS)


@page.view("{id:int}/live")
async def live(c: Ctx) -> Response:
    """The command's state, answer and result: a fragment polled until it is done."""
    cmd = await _one(c)
    response = c.render("command_state.html", cmd=cmd, text_of=text_of)
    if cmd.state == "done":
        response.status_code = STOP_POLLING
    return response


def _fields(c: Ctx, command: str) -> dict[str, Any]:
    """The request's own fields, as the CLI builds them; empty ones left out."""
    def opt(name: str, max_length: int = ID_MAX) -> str | None:
        return c.text(name, max_length=max_length) or None

    def token() -> dict[str, Any]:
        return {"token_uid": opt("token_uid"),
                "token_type": c.choice("token_type", TOKEN_TYPES, "RFID"),
                "authorization_reference": opt("authorization_reference")}

    if command == "START_SESSION":
        fields = {**token(), "location_id": opt("location_id"), "evse_uid": opt("evse_uid"),
                  "connector_id": opt("connector_id")}
        if fields["connector_id"] and not fields["evse_uid"]:
            raise BadInput("a connector needs its EVSE")
        return fields
    if command == "STOP_SESSION":
        return {"session_id": opt("session_id")}
    if command == "RESERVE_NOW":
        expiry = c.text("expiry_date", max_length=40)
        try:
            at = format_datetime(parse_datetime(expiry)) if expiry else None
        except ValueError as exc:
            raise BadInput(f"expiry_date: {exc}") from None
        return {**token(), "location_id": opt("location_id"), "evse_uid": opt("evse_uid"),
                "expiry_date": at, "reservation_id": opt("reservation_id")}
    if command == "CANCEL_RESERVATION":
        return {"reservation_id": opt("reservation_id")}
    return {"location_id": opt("location_id"), "evse_uid": opt("evse_uid"),
            "connector_id": opt("connector_id")}


@page.action("send")
async def send(c: Ctx) -> Response:
    name = c.text("partner", max_length=NAME_MAX)
    command = c.choice("command", COMMANDS)
    fields = _fields(c, command)
    peer = await c.registry.get(name) if name else None
    if peer is None:
        return c.failed(f"There is no partner {name!r}.")
    try:
        ours = await us(c.db, c.node.public_url, c.node.country_code, c.node.party_id)
        sent = await commands.send(
            c.db, peer, command, fields,
            base_url=ours.versions_url.removesuffix("/ocpi/versions"),
            from_party=ours.main_party if ours.parties else None)
    except ValueError as exc:  # what the command or our data lacks: the operator fixes it
        return c.failed(f"{command} was not sent to {peer.name}: {exc}")
    said = (sent.response or {}).get("result") or (sent.response or {}).get("error") or "-"
    return c.done(f"{command} sent to {peer.name}: {said}.", to=c.url(f"commands/{sent.id}"))

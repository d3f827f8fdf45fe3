"""``ocpi commands``: send a command to a CPO partner (eMSP), report the result of
one a partner sent us (CPO), and list both sides."""

import argparse
from collections.abc import Callable
from typing import Any

from ..modules.commands.schemas import text_of
from ..store.database import Database
from .common import fail, known_errors, named_peer, show, us_from, with_db, with_registry


def _line(c: dict[str, Any]) -> str:
    response = c.get("response") or {}
    said = response.get("result") or response.get("error") or "no answer yet"
    result = c.get("result") or ("awaited" if c["state"] == "pending" else "-")
    text = (f"{c['id']:>5} {c['side']:4} {c.get('partner') or '?':12} {c['command']:18} "
            f"{c['version']}  answer: {said}  result: {result}")
    messages = text_of(c.get("message"))
    return text + (f" ({messages})" if messages else "")


def _send(args: argparse.Namespace, command: str, fields: dict[str, Any]) -> int:
    from ..services import commands

    async def work(db: Database, registry: Any) -> Any:
        peer = await named_peer(registry, args.partner)
        us = await us_from(db, args)
        base = us.versions_url.removesuffix("/ocpi/versions")
        return await commands.send(db, peer, command, fields, base_url=base,
                                   from_party=us.main_party if us.parties else None)

    try:
        sent = with_registry(args, work).as_dict()
    except known_errors() as exc:
        return fail(str(exc))
    sent["partner"] = args.partner
    show(args, sent, _line(sent))
    return 1 if "error" in (sent.get("response") or {}) else 0


def cmd_start_session(args: argparse.Namespace) -> int:
    if args.connector and not args.evse:
        return fail("--connector needs --evse")
    return _send(args, "START_SESSION", {
        "token_uid": args.token, "token_type": args.type.upper(), "location_id": args.location,
        "evse_uid": args.evse, "connector_id": args.connector,
        "authorization_reference": args.authorization_reference})


def cmd_stop_session(args: argparse.Namespace) -> int:
    return _send(args, "STOP_SESSION", {"session_id": args.session_id})


def cmd_reserve_now(args: argparse.Namespace) -> int:
    return _send(args, "RESERVE_NOW", {
        "token_uid": args.token, "token_type": args.type.upper(), "location_id": args.location,
        "evse_uid": args.evse, "expiry_date": args.expiry,
        "reservation_id": args.reservation_id,
        "authorization_reference": args.authorization_reference})


def cmd_cancel_reservation(args: argparse.Namespace) -> int:
    return _send(args, "CANCEL_RESERVATION", {"reservation_id": args.reservation_id})


def cmd_unlock_connector(args: argparse.Namespace) -> int:
    return _send(args, "UNLOCK_CONNECTOR", {"location_id": args.location,
                                            "evse_uid": args.evse,
                                            "connector_id": args.connector})


def cmd_result(args: argparse.Namespace) -> int:
    from ..services import commands

    try:
        done = with_db(args, lambda db: commands.report_result(db, args.id, args.result,
                                                            args.message))
    except known_errors() as exc:
        return fail(str(exc))
    show(args, done.as_dict(), f"command {done.id}: {done.result}, queued to the partner")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from ..services import commands

    try:
        rows = with_db(args, lambda db: commands.listing(db, args.limit))
    except known_errors() as exc:
        return fail(str(exc))
    show(args, rows, "\n".join(_line(r) for r in rows) or "no commands")
    return 0


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    cmd = sub.add_parser("commands", help="commands: send one (eMSP), report a result (CPO)")
    csub = cmd.add_subparsers(dest="commands_command", required=True)

    def sender(name: str, help: str, func: Callable[[argparse.Namespace], int]
               ) -> argparse.ArgumentParser:
        p = csub.add_parser(name, help=help)
        common(p)
        p.add_argument("partner", help="the CPO (or hub) partner's name")
        p.add_argument("--public-url", help="our base URL as partners reach it "
                       "(default: what `ocpi serve` recorded)")
        p.set_defaults(func=func)
        return p

    def token(p: argparse.ArgumentParser) -> None:
        p.add_argument("--token", required=True, help="the uid of our token to use")
        p.add_argument("--type", default="RFID", help="its type (default RFID)")
        p.add_argument("--authorization-reference", help="ours, else the CPO makes one")

    start = sender("start-session", "ask a CPO to start a session", cmd_start_session)
    token(start)
    start.add_argument("--location", required=True)
    start.add_argument("--evse")
    start.add_argument("--connector")
    stop = sender("stop-session", "ask a CPO to stop a session", cmd_stop_session)
    stop.add_argument("session_id")
    reserve = sender("reserve-now", "reserve an EVSE at a CPO", cmd_reserve_now)
    token(reserve)
    reserve.add_argument("--location", required=True)
    reserve.add_argument("--evse")
    reserve.add_argument("--expiry", required=True, help="when it ends (ISO 8601, UTC)")
    reserve.add_argument("--reservation-id", required=True)
    cancel = sender("cancel-reservation", "cancel a reservation (2.2+)", cmd_cancel_reservation)
    cancel.add_argument("reservation_id")
    unlock = sender("unlock-connector", "ask a CPO to unlock a connector", cmd_unlock_connector)
    unlock.add_argument("--location", required=True)
    unlock.add_argument("--evse", required=True)
    unlock.add_argument("--connector", required=True)

    result = csub.add_parser("result", help="the Charge Point's result of a partner's command")
    common(result)
    result.add_argument("id", type=int, help="the command's id (ocpi commands list)")
    result.add_argument("result", help="ACCEPTED, REJECTED, FAILED, EVSE_OCCUPIED, ...")
    result.add_argument("--message", help="why, for the eMSP")
    result.set_defaults(func=cmd_result)

    listing = csub.add_parser("list", help="commands sent and received, newest first")
    common(listing)
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(func=cmd_list)

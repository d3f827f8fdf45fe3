"""``ocpi chargingprofiles``: set, get and clear a session's profile at a CPO partner
(eMSP/SCSP), report the result of a partner's request or a change (CPO), and list."""

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core import jsonutil
from ..store.database import Database
from .common import fail, known_errors, named_peer, show, us_from, with_db, with_registry


def _line(c: dict[str, Any]) -> str:
    response = c.get("response") or {}
    said = response.get("result") or response.get("error") or "-"
    result = c.get("result") or ("awaited" if c["state"] == "pending" else "-")
    return (f"{c['id']:>5} {c['side']:4} {c.get('partner') or '-':12} {c['command']:6} "
            f"session {c.get('session_id')}  answer: {said}  result: {result}")


def _profile(args: argparse.Namespace) -> dict[str, Any]:
    """A ChargingProfile from ``--profile`` (JSON or @file) or ``--limit``/``--unit``."""
    if args.profile:
        text = args.profile
        if text.startswith("@"):
            text = Path(text[1:]).read_text()
        value = json.loads(text)
        if not isinstance(value, dict):
            raise ValueError("--profile: a JSON object")
        return value
    if args.limit is None:
        raise ValueError("give --limit (and --unit) or --profile")
    profile: dict[str, Any] = {"charging_rate_unit": args.unit.upper(),
                               "charging_profile_period": [{"start_period": 0,
                                                            "limit": args.limit}]}
    if args.duration:
        profile["duration"] = args.duration
    return profile


def _send(args: argparse.Namespace, kind: str, **fields: Any) -> int:
    from ..services import charging_profiles

    async def work(db: Database, registry: Any) -> Any:
        peer = await named_peer(registry, args.partner)
        us = await us_from(db, args)
        base = us.versions_url.removesuffix("/ocpi/versions")
        return await charging_profiles.send(db, peer, kind, args.session_id, base_url=base,
                                            from_party=us.main_party if us.parties else None,
                                            **fields)

    try:
        sent = with_registry(args, work).as_dict()
    except (*known_errors(), json.JSONDecodeError, OSError) as exc:
        return fail(str(exc))
    sent["partner"] = args.partner
    show(args, sent, _line(sent))
    return 1 if "error" in (sent.get("response") or {}) else 0


def cmd_set(args: argparse.Namespace) -> int:
    try:
        profile = _profile(args)
    except (ValueError, OSError) as exc:
        return fail(str(exc))
    return _send(args, "SET", profile=profile)


def cmd_get(args: argparse.Namespace) -> int:
    return _send(args, "GET", duration=args.duration)


def cmd_clear(args: argparse.Namespace) -> int:
    return _send(args, "CLEAR")


def cmd_result(args: argparse.Namespace) -> int:
    from ..services import charging_profiles

    try:
        profile = _profile(args) if args.profile or args.limit is not None else None
        done = with_db(args, lambda db: charging_profiles.report_result(
            db, args.id, args.result, profile))
    except (*known_errors(), json.JSONDecodeError, OSError) as exc:
        return fail(str(exc))
    show(args, done.as_dict(), f"request {done.id}: {done.result}, queued to the partner")
    return 0


def cmd_active(args: argparse.Namespace) -> int:
    """The session's profile: ours (CPO) as set, else the newest a CPO told us."""
    from ..services import charging_profiles

    async def work(db: Database) -> Any:
        ours = await charging_profiles.active_profile(db, args.session_id)
        if ours is not None:
            return {"session_id": args.session_id, "profile": ours, "from": "ours"}
        return await charging_profiles.latest(db, args.session_id)

    try:
        found = with_db(args, work)
    except known_errors() as exc:
        return fail(str(exc))
    if args.json or found:  # numbers as exact as they came
        print(jsonutil.dumps(found).decode())
    else:
        print(f"no profile known for {args.session_id}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from ..services import charging_profiles

    try:
        rows = with_db(args, lambda db: charging_profiles.listing(db, args.limit))
    except known_errors() as exc:
        return fail(str(exc))
    show(args, rows, "\n".join(_line(r) for r in rows) or "no charging profile requests")
    return 0


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    cmd = sub.add_parser("chargingprofiles", help="charging profiles: set/get/clear one at a "
                         "CPO (eMSP), report a result (CPO)")
    csub = cmd.add_subparsers(dest="chargingprofiles_command", required=True)

    def profile_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--limit", type=float, help="one period's limit from the start")
        p.add_argument("--unit", default="W", choices=["W", "A", "w", "a"])
        p.add_argument("--profile", help="a ChargingProfile as JSON, or @file")

    def sender(name: str, help: str, func: Callable[[argparse.Namespace], int]
               ) -> argparse.ArgumentParser:
        p = csub.add_parser(name, help=help)
        common(p)
        p.add_argument("partner", help="the CPO (or hub) partner's name")
        p.add_argument("session_id", help="the CPO's session id")
        p.add_argument("--public-url", help="our base URL as partners reach it "
                       "(default: what `ocpi serve` recorded)")
        p.set_defaults(func=func)
        return p

    setp = sender("set", "set a session's charging profile", cmd_set)
    profile_options(setp)
    setp.add_argument("--duration", type=int, help="seconds the profile lasts")
    getp = sender("get", "ask for a session's active profile", cmd_get)
    getp.add_argument("--duration", type=int, default=900,
                      help="seconds of schedule wanted (default 900)")
    sender("clear", "clear the profile we set on a session", cmd_clear)

    result = csub.add_parser("result", help="the Charge Point's result of a partner's request")
    common(result)
    result.add_argument("id", type=int, help="the request's id (ocpi chargingprofiles list)")
    result.add_argument("result", help="ACCEPTED, REJECTED or UNKNOWN")
    profile_options(result)
    result.add_argument("--duration", type=int, help=argparse.SUPPRESS)
    result.set_defaults(func=cmd_result)

    active = csub.add_parser("active", help="a session's active profile as we know it")
    common(active)
    active.add_argument("session_id")
    active.set_defaults(func=cmd_active)

    listing = csub.add_parser("list", help="requests sent and received, newest first")
    common(listing)
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(func=cmd_list)

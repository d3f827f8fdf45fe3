"""``ocpi tokens``: real-time authorization, the CPO asking."""

import argparse
from collections.abc import Callable
from typing import Any

from ..store.database import Database
from .common import fail, known_errors, named_peer, show, us_from, with_registry


def cmd_tokens_authorize(args: argparse.Namespace) -> int:
    from ..services.authorization import authorize

    if args.evse and not args.location:
        return fail("--evse needs --location")

    async def work(db: Database, registry: Any) -> Any:
        peer = await named_peer(registry, args.partner)
        try:
            us = (await us_from(db, args)).main_party
        except ValueError:
            us = None
        return await authorize(db, peer, args.uid, token_type=args.type.upper(),
                               location_id=args.location, evse_uids=args.evse, from_party=us)

    try:
        decision = with_registry(args, work)
    except known_errors() as exc:
        return fail(str(exc))
    text = f"{decision.allowed} (by {decision.decided_by}"
    text += f", reference {decision.reference})" if decision.reference else ")"
    if decision.reason:
        text += f": {decision.reason}"
    show(args, decision.as_dict(), text)
    return 0




def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    tok = sub.add_parser("tokens", help="tokens: real-time authorization (CPO)")
    tsub = tok.add_subparsers(dest="tokens_command", required=True)
    tau = tsub.add_parser("authorize", help="ask the token's eMSP, as its whitelist says")
    common(tau)
    tau.add_argument("partner", help="the eMSP (or hub) partner's name")
    tau.add_argument("uid")
    tau.add_argument("--type", default="RFID", help="token type (default RFID)")
    tau.add_argument("--location", help="LocationReferences: the Location id")
    tau.add_argument("--evse", action="append", default=[], help="an EVSE uid (repeatable)")
    tau.add_argument("--public-url")
    tau.set_defaults(func=cmd_tokens_authorize)

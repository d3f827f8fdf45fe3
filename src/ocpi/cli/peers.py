"""``ocpi peers``: roaming partners: handshake, registry, profiles, pulls."""

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from ..store.database import Database
from .common import fail, known_errors, named_peer, show, us_from, with_registry


def cmd_peers_add(args: argparse.Namespace) -> int:
    async def work(open_db: Database, registry: Any) -> tuple[Any, str]:
        return await registry.add_peer(args.country_code, args.party_id, args.role,
                                       token=args.token, name=args.name)

    try:
        peer, token = with_registry(args, work)
    except known_errors() as exc:
        return fail(str(exc))
    show(args, {**peer.as_dict(), "token": token},
           f"partner {peer.name} ({peer.country_code}/{peer.party_id} {peer.role}) may call "
           f"the node with token: {token}")
    return 0


def cmd_peers_list(args: argparse.Namespace) -> int:
    async def work(open_db: Database, registry: Any) -> list[Any]:
        return await registry.list_peers()

    found = with_registry(args, work)
    rows = [p.as_dict() for p in found]
    lines = []
    for p in found:
        parties = ",".join(f"{q.country_code}/{q.party_id} {q.role}" for q in p.all_parties())
        reached = p.last_reached_at.strftime("%Y-%m-%d %H:%M:%SZ") if p.last_reached_at \
            else "never"
        line = f"{p.name:24} {p.state:12} {p.version or '-':6} {parties}  reached: {reached}"
        if p.last_error:
            line += f"\n{'':24} last error: {p.last_error}"
        lines.append(line)
    show(args, rows, "\n".join(lines) or "no partners")
    return 0










def cmd_peers_invite(args: argparse.Namespace) -> int:
    async def work(db: Database, registry: Any) -> tuple[Any, str, str]:
        us = await us_from(db, args)
        also = []
        for item in args.also or []:
            cc, sep, pid = item.partition("/")
            if not sep or not cc or not pid:
                raise ValueError(f"--also {item!r}: expected CC/PID, e.g. NL/ABC")
            also.append((cc, pid))
        peer, token = await registry.invite(args.country_code, args.party_id, args.role,
                                            name=args.name, also=also,
                                            profile=_profile_from(args))
        return peer, token, us.versions_url

    try:
        peer, token, versions_url = with_registry(args, work)
    except known_errors() as exc:
        return fail(str(exc))
    show(args, {"token": token, "versions_url": versions_url, "name": peer.name},
           f"invited {peer.name} ({peer.country_code}/{peer.party_id} {peer.role}).\n"
           f"Give it, over a secure channel:\n  versions URL: {versions_url}\n"
           f"  token A:      {token}")
    return 0


def _profile_from(args: argparse.Namespace) -> Any:
    from ..peers.profile import Profile

    return Profile().updated(plain_token=getattr(args, "plain_token", None) or None,
                             explicit_nulls=_yes_no(getattr(args, "explicit_nulls", None)))


def cmd_peers_register(args: argparse.Namespace) -> int:
    from ..peers import handshake

    token_a = args.token or os.environ.get("OCPI_REGISTRATION_TOKEN")
    if not token_a:
        return fail("give the partner's token A with --token or OCPI_REGISTRATION_TOKEN")

    async def work(db: Database, registry: Any) -> tuple[Any, str | None]:
        us = await us_from(db, args)
        peer = await handshake.register(registry, us, args.versions_url, token_a,
                                        version=args.version, name=args.name, role=args.role,
                                        profile=_profile_from(args))
        return peer, await _reached_parties(db, registry, us, peer)

    try:
        peer, reached = with_registry(args, work)
    except known_errors() as exc:
        return fail(f"registration failed, nothing was stored: {getattr(exc, 'message', exc)}")
    show(args, {**peer.as_dict(), "reaches": reached},
         f"registered with {peer.name} on OCPI {peer.version}: "
         + ", ".join(f"{p.country_code}/{p.party_id} {p.role}" for p in peer.all_parties())
         + (f"\n{reached}" if reached else ""))
    return 0


async def _reached_parties(db: Database, registry: Any, us: Any, peer: Any) -> str | None:
    """What a hub reports reaching, pulled once it is registered. A failure leaves the
    registration as it is."""
    from ..services.pull import reached_parties
    from ..store.sql_store import SqlStore

    try:
        result = await reached_parties(registry, SqlStore(db), us, peer)
    except Exception as exc:  # the registration is stored whatever happens here
        return (f"its parties could not be pulled ({exc}): run `ocpi peers pull "
                f"{peer.name} hubclientinfo`")
    return None if result is None else \
        f"it reports {result.received} parties (hubclientinfo pulled)"




def cmd_peers_update(args: argparse.Namespace) -> int:
    from ..peers import handshake

    async def work(db: Database, registry: Any) -> Any:
        peer = await named_peer(registry, args.name)
        return await handshake.update(registry, await us_from(db, args), peer,
                                      version=args.version)

    try:
        peer = with_registry(args, work)
    except known_errors() as exc:
        return fail(f"update failed: {getattr(exc, 'message', exc)}")
    show(args, peer.as_dict(), f"updated {peer.name}: OCPI {peer.version}, new tokens "
           "exchanged")
    return 0


def cmd_peers_unregister(args: argparse.Namespace) -> int:
    from ..peers import handshake

    async def work(db: Database, registry: Any) -> None:
        peer = await named_peer(registry, args.name)
        await handshake.unregister(registry, await us_from(db, args), peer, force=args.force)

    try:
        with_registry(args, work)
    except known_errors() as exc:
        return fail(f"unregister failed (--force cuts the partner off here anyway): {exc}")
    show(args, {"name": args.name, "state": "unregistered"},
           f"unregistered {args.name}: its tokens no longer work")
    return 0


EXPLICIT_NULLS = ("send every optional field, null when unset (partners that refuse a "
                  "missing key, such as the seed tutorials' library)")


def _yes_no(value: str | None) -> bool | None:
    return None if value is None else value == "yes"


def cmd_peers_set(args: argparse.Namespace) -> int:
    async def work(db: Database, registry: Any) -> Any:
        if args.any_party == "yes" and not (await named_peer(registry, args.name)).is_hub:
            raise ValueError(f"{args.name} is not a hub: it writes only for its own parties")
        return await registry.set_profile(
            args.name, plain_token=_yes_no(args.plain_token), page_limit=args.page_limit,
            routing_headers=args.routing_headers,
            connection_close=_yes_no(args.connection_close), timeout=args.timeout,
            delivery=args.delivery, always_put=_yes_no(args.always_put),
            explicit_nulls=_yes_no(args.explicit_nulls), any_party=_yes_no(args.any_party))

    try:
        peer = with_registry(args, work)
    except known_errors() as exc:
        return fail(str(exc))
    show(args, peer.as_dict(), f"{peer.name}: {peer.profile.as_dict()}")
    return 0


def _progress(label: str) -> Any:
    tty = sys.stderr.isatty()

    def show(done: int, total: int | None) -> None:
        if total:
            filled = min(30, int(30 * done / max(total, 1)))
            text = f"{label} [{'#' * filled:<30}] {done}/{total}"
        else:
            text = f"{label} {done} objects"
        print(("\r" + text) if tty else text, end="" if tty else "\n", file=sys.stderr,
              flush=True)

    return show


def cmd_peers_reach(args: argparse.Namespace) -> int:
    """Say which parties a hub reaches (a 2.1.1 hub cannot), or show what it reported."""
    from ..modules.hubclientinfo.reach import declare, forget_party, reports
    from ..store.sql_store import SqlStore

    async def work(db: Database, registry: Any) -> Any:
        peer = await named_peer(registry, args.name)
        if not peer.is_hub:
            raise ValueError(f"{args.name} is not a hub: it reaches only its own parties")
        hub = (peer.country_code, peer.party_id)
        if args.party:
            cc, sep, pid = args.party.partition("/")
            if not sep or not cc or not pid:
                raise ValueError(f"{args.party!r}: give the party as CC/PID")
            if args.forget:
                await forget_party(SqlStore(db), hub, cc, pid)
            else:
                await declare(SqlStore(db), hub, cc, pid, args.role, args.status)
        elif args.forget:
            raise ValueError("--forget needs the party (CC/PID)")
        return await reports(db, hub)

    try:
        found = with_registry(args, work)
    except known_errors() as exc:
        return fail(str(exc))
    show(args, found, "\n".join(f"{i['country_code']}/{i['party_id']} {i['role']:5} "
                                 f"{i['status']:10} {i['last_updated']}" for i in found)
         or f"{args.name} has reported no party (it may write only for itself)")
    return 0


PULL_REJECTED = 2  # the pull completed, but some objects were rejected (1: it failed)


def cmd_peers_pull(args: argparse.Namespace) -> int:
    from ..core.datetime import parse_datetime
    from ..services.pull import pull
    from ..store.sql_store import SqlStore

    try:
        since = parse_datetime(args.since) if args.since else None
    except ValueError as exc:
        return fail(f"--since: {exc}")

    async def work(db: Database, registry: Any) -> Any:
        peer = await named_peer(registry, args.name)
        return await pull(registry, SqlStore(db), await us_from(db, args), peer, args.module,
                          since=since, progress=_progress(f"{args.name} {args.module}"))

    try:
        result = with_registry(args, work)
    except known_errors() as exc:
        if sys.stderr.isatty():
            print(file=sys.stderr)
        return fail(f"pull stopped (pages already stored are kept, whole): {exc}")
    if sys.stderr.isatty():
        print(file=sys.stderr)
    show(args, result.as_dict(),
           "".join(f"note: {n}\n" for n in result.notes)
           + f"{result.received} received: {result.created} new, {result.updated} updated, "
           f"{result.unchanged} unchanged, {len(result.rejected)} rejected"
           + "".join(f"\n  rejected {r}" for r in result.rejected[:20]))
    # a script must notice objects the partner sent that we did not store
    return PULL_REJECTED if result.rejected else 0




def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    from ..modules.hubclientinfo.schemas import ROLES
    from ..modules.registry import object_types

    peers = sub.add_parser("peers", help="roaming partners: handshake, registry, pulls")
    psub = peers.add_subparsers(dest="peers_command", required=True)
    add = psub.add_parser("add", help="register a partner and print its token")
    common(add)
    add.add_argument("--country-code", required=True)
    add.add_argument("--party-id", required=True)
    add.add_argument("--role", required=True, type=str.upper, choices=["CPO", "EMSP", "HUB"])
    add.add_argument("--token", help="the token it will use (generated when not given)")
    add.add_argument("--name", help="a name for the partner (default cc-pid-role)")
    add.set_defaults(func=cmd_peers_add)
    lst = psub.add_parser("list", help="show partners: parties, version, state, last reached")
    common(lst)
    lst.set_defaults(func=cmd_peers_list)

    inv = psub.add_parser("invite", help="create a registration token (token A) for a partner")
    common(inv)
    inv.add_argument("--country-code", required=True)
    inv.add_argument("--party-id", required=True)
    inv.add_argument("--role", required=True, type=str.upper, choices=["CPO", "EMSP", "HUB"])
    inv.add_argument("--name", help="a name for the partner (default cc-pid-role)")
    inv.add_argument("--also", action="append", metavar="CC/PID",
                     help="a further party the platform may register for (repeatable)")
    inv.add_argument("--public-url", help="our base URL partners see (default: as served)")
    inv.add_argument("--explicit-nulls", choices=["yes", "no"], help=EXPLICIT_NULLS)
    inv.set_defaults(func=cmd_peers_invite)

    reg = psub.add_parser("register", help="register with a partner that gave us a token A")
    common(reg)
    reg.add_argument("--versions-url", required=True, help="the partner's versions URL")
    reg.add_argument("--token", help="the token A it gave us (or $OCPI_REGISTRATION_TOKEN, "
                     "which keeps it out of the process list)")
    reg.add_argument("--version", choices=["2.1.1", "2.2.1", "2.3.0"],
                     help="default: the highest both sides support")
    reg.add_argument("--name", help="a name for the partner (default cc-pid-role)")
    reg.add_argument("--role", type=str.upper, choices=["CPO", "EMSP", "HUB"],
                     help="the partner's role, for 2.1.1 when its URLs do not show it")
    reg.add_argument("--plain-token", action="store_true",
                     help="send the token without base64 even on 2.2+")
    reg.add_argument("--public-url", help="our base URL partners see (default: as served)")
    reg.add_argument("--explicit-nulls", choices=["yes", "no"], help=EXPLICIT_NULLS)
    reg.set_defaults(func=cmd_peers_register)

    upd = psub.add_parser("update", help="re-exchange credentials (PUT): new tokens, "
                          "fresh endpoints")
    common(upd)
    upd.add_argument("name")
    upd.add_argument("--version", choices=["2.1.1", "2.2.1", "2.3.0"])
    upd.add_argument("--public-url")
    upd.set_defaults(func=cmd_peers_update)

    unr = psub.add_parser("unregister", help="end the registration (DELETE)")
    common(unr)
    unr.add_argument("name")
    unr.add_argument("--force", action="store_true",
                     help="cut the partner off here even if it cannot be reached")
    unr.add_argument("--public-url")
    unr.set_defaults(func=cmd_peers_unregister)

    pset = psub.add_parser("set", help="a partner's quirks, used by every call to it")
    common(pset)
    pset.add_argument("name")
    pset.add_argument("--plain-token", choices=["yes", "no"])
    pset.add_argument("--page-limit", type=int, help="objects per page to ask for (0: none)")
    pset.add_argument("--routing-headers", choices=["auto", "on", "off"])
    pset.add_argument("--connection-close", choices=["yes", "no"])
    pset.add_argument("--timeout", type=float, help="seconds per request")
    pset.add_argument("--delivery", choices=["latest-state", "every-message"],
                      help="after an outage: each changed object once, current "
                      "(latest-state, default), or every update in order (every-message)")
    pset.add_argument("--always-put", choices=["yes", "no"],
                      help="send whole objects, never PATCH")
    pset.add_argument("--explicit-nulls", choices=["yes", "no"], help=EXPLICIT_NULLS)
    pset.add_argument("--any-party", choices=["yes", "no"],
                      help="a hub that may write for any party, not only those it reports "
                      "reaching (Hub Client Info) or `peers reach` declares")
    pset.set_defaults(func=cmd_peers_set)

    rch = psub.add_parser("reach", help="the parties a hub reaches: show them, or declare "
                          "one (for a 2.1.1 hub, which cannot report them)")
    common(rch)
    rch.add_argument("name")
    rch.add_argument("party", nargs="?", metavar="CC/PID", help="a party the hub reaches")
    rch.add_argument("--role", default="EMSP", type=str.upper, choices=ROLES,
                     help="the party's role (default EMSP)")
    rch.add_argument("--forget", action="store_true",
                     help="remove what is known of the party (the hub may report it again)")
    rch.add_argument("--status", default="CONNECTED", type=str.upper,
                     choices=["CONNECTED", "OFFLINE", "PLANNED", "SUSPENDED"],
                     help="SUSPENDED or PLANNED withdraw it (default CONNECTED)")
    rch.set_defaults(func=cmd_peers_reach)

    pul = psub.add_parser("pull", help="fetch a partner's objects into our store (from a "
                          "hub, also the parties it reaches: hubclientinfo)")
    common(pul)
    pul.add_argument("name")
    pul.add_argument("module", choices=[d.module.value for d in object_types()])
    pul.add_argument("--since", help="only objects changed since (ISO 8601, date_from)")
    pul.add_argument("--public-url")
    pul.set_defaults(func=cmd_peers_pull)

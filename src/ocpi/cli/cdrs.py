"""``ocpi cdrs``: our CDRs and their delivery, the partners' with our check, the
held sessions (``--held``), building held ones again, and reconciling with an eMSP."""

import argparse
from collections.abc import Callable
from typing import Any

from ..store.database import Database
from .common import fail, known_errors, named_peer, show, us_from, with_db, with_registry


def cmd_cdrs_list(args: argparse.Namespace) -> int:
    from ..services import cdrs

    try:
        if args.held:
            rows = with_db(args, cdrs.held)
            text = "\n".join(f"{r['owner']}/{r['session_id']}: held since {r['held_at']} "
                             f"({r['attempts']} tries): {r['reason']}" for r in rows)
            show(args, rows, text or "no held sessions")
            return 0
        rows = with_db(args, lambda db: cdrs.listing(db, disputed=args.disputed,
                                                  limit=args.limit))
    except known_errors() as exc:
        return fail(str(exc))
    lines = [f"{r['side']:8} {r['owner']}/{r['id']}  {r['start']} .. {r['end']}  "
             f"{r['kwh']} kWh  {r['total']} {r['currency']}"
             + (f"  [{r['check']}: {r['reason']}]" if r["check"] else "") for r in rows]
    show(args, rows, "\n".join(lines) or "no CDRs")
    return 0


def cmd_cdrs_show(args: argparse.Namespace) -> int:
    from ..core import jsonutil
    from ..services import cdrs

    try:
        found = with_db(args, lambda db: cdrs.show(db, args.id))
    except known_errors() as exc:
        return fail(str(exc))
    if not found:
        return fail(f"no CDR {args.id!r}")
    show(args, found, jsonutil.dumps(found).decode())
    return 0


def cmd_cdrs_retry(args: argparse.Namespace) -> int:
    from ..services import cdr_builder

    if not args.all and not args.session_id:
        return fail("give a session id or --all")
    try:
        results = with_db(args, lambda db: cdr_builder.retry(
            db, None if args.all else args.session_id))
    except known_errors() as exc:
        return fail(str(exc))
    text = "\n".join(f"{r['session_id']}: {r['result']}" for r in results)
    show(args, results, text or "nothing held")
    return 1 if any(r["result"].startswith("held") for r in results) else 0


def cmd_cdrs_correct(args: argparse.Namespace) -> int:
    from ..modules.cdrs.costing import Unpriceable
    from ..services import cdr_builder

    try:
        done = with_db(args, lambda db: cdr_builder.correct(db, args.id))
    except Unpriceable as exc:
        return fail(f"nothing corrected: the session cannot be priced now: {exc}")
    except known_errors() as exc:
        return fail(str(exc))
    credit, new = done["credit"], done["new"]
    text = (f"credit CDR {credit['id']} ({credit['total_cost']['before_taxes']} "
            f"{credit['currency']}) and new CDR {new['id']} "
            f"({new['total_cost']['before_taxes']} {new['currency']}) queued")
    show(args, done, text)
    return 0


def cmd_cdrs_reconcile(args: argparse.Namespace) -> int:
    from ..core.datetime import parse_datetime
    from ..services import cdrs

    async def work(db: Database, registry: Any) -> Any:
        peer = await named_peer(registry, args.partner)
        try:
            us = (await us_from(db, args)).main_party
        except ValueError:
            us = None
        since = parse_datetime(args.since) if args.since else None
        return await cdrs.reconcile(db, peer, since=since, from_party=us)

    try:
        report = with_registry(args, work)
    except known_errors() as exc:
        return fail(str(exc))
    text = "; ".join(f"{k}: {len(v)}" for k, v in report.items())
    for item in report["missing"]:
        text += f"\nmissing {item['id']}: queued again (message {item['resent_as']})"
    for item in report["different"]:
        text += f"\ndifferent {item['id']}: {', '.join(item['fields'])}"
    for item in report["refused"] + report["unreadable"]:
        text += f"\n{item['id']}: {item['reason']}"
    show(args, report, text)
    return 2 if report["missing"] or report["different"] else 0


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    cdr = sub.add_parser("cdrs", help="charge detail records: ours, received, held")
    csub = cdr.add_subparsers(dest="cdrs_command", required=True)
    lst = csub.add_parser("list", help="the newest CDRs, ours and received")
    common(lst)
    which = lst.add_mutually_exclusive_group()
    which.add_argument("--held", action="store_true",
                       help="completed sessions whose CDR could not be priced, and why")
    which.add_argument("--disputed", action="store_true",
                       help="received CDRs whose cost differs from our pricing")
    lst.add_argument("--limit", type=int, default=100)
    lst.set_defaults(func=cmd_cdrs_list)
    one = csub.add_parser("show", help="one CDR with its deliveries")
    common(one)
    one.add_argument("id")
    one.set_defaults(func=cmd_cdrs_show)
    again = csub.add_parser("retry", help="build held sessions' CDRs again")
    common(again)
    again.add_argument("session_id", nargs="?")
    again.add_argument("--all", action="store_true")
    again.set_defaults(func=cmd_cdrs_retry)
    fix = csub.add_parser("correct", help="credit one of our CDRs and send a new one, "
                          "priced from the session and tariffs as they are now")
    common(fix)
    fix.add_argument("id")
    fix.set_defaults(func=cmd_cdrs_correct)
    rec = csub.add_parser("reconcile", help="read delivered CDRs back; re-send the missing")
    common(rec)
    rec.add_argument("partner")
    rec.add_argument("--since", help="only CDRs queued since this ISO time")
    rec.add_argument("--public-url")
    rec.set_defaults(func=cmd_cdrs_reconcile)

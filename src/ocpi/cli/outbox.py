"""``ocpi outbox``: messages to partners: status, dead letters, the worker."""

import argparse
from collections.abc import Callable
from typing import Any

from ..store import settings as settings_store
from ..store.database import Database
from .common import fail, show, with_registry


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m" if seconds < 7200 else f"{seconds / 3600:.1f}h"


def _waits(report: dict[str, Any]) -> str:
    """A party's messages a hub's report keeps back: how many, and why."""
    what = "held" if report["state"] == "held" else "set aside"
    reason = str(report["reason"]).removeprefix("held: ")
    return f"{what} {report['messages']}: {reason}"


def cmd_outbox_status(args: argparse.Namespace) -> int:
    from ..outbox import admin

    async def work(db: Database, _registry: Any) -> Any:
        return [s.as_dict() for s in await admin.status(db)]

    rows = with_registry(args, work)
    lines = []
    for r in rows:
        line = (f"{r['partner']:24} pending {r['pending']:>7}  dead {r['dead']:>5}  "
                f"oldest {_age(r['oldest_age_seconds']):>6}")
        if r["held"]:
            line += f"  held {r['held']}"
        for h in r["hub_reports"]:
            line += f"\n{'':24} {_waits(h)}"
        if r["last_error"]:
            line += (f"\n{'':24} retrying (attempt {r['attempts']}, next "
                     f"{r['next_attempt_at'] or 'now'}): {r['last_error']}")
        lines.append(line)
    show(args, rows, "\n".join(lines) or "the outbox is empty")
    return 0


def _message_dict(partner: str, m: Any) -> dict[str, Any]:
    return {"id": m.seq, "partner": partner, "module": m.module, "object": m.object_key,
            "state": m.state, "attempts": m.attempts,
            "created_at": m.created_at.isoformat() + "Z", "last_error": m.last_error}


def cmd_outbox_list(args: argparse.Namespace) -> int:
    from ..outbox import admin

    async def work(db: Database, _registry: Any) -> Any:
        state = "dead" if args.dead else "held" if args.held else "pending"
        return await admin.messages(db, state=state, partner=args.partner, limit=args.limit)

    found = [_message_dict(p, m) for p, m in with_registry(args, work)]
    lines = [f"{r['id']:>8} {r['partner']:20} {r['module']:10} {r['object']:32} "
             f"{r['state']:8} attempts {r['attempts']}"
             + (f"\n{'':9}{r['last_error']}" if r["last_error"] else "") for r in found]
    show(args, found, "\n".join(lines) or "no messages")
    return 0


def cmd_outbox_retry(args: argparse.Namespace) -> int:
    from ..outbox import admin

    if args.id is None and not args.all_dead:
        return fail("give a message ID or --all-dead")

    async def work(db: Database, _registry: Any) -> int:
        return await admin.retry(db, args.id, all_dead=args.all_dead)

    n = with_registry(args, work)
    show(args, {"requeued": n}, f"{n} message(s) back in the queue")
    return 0 if n or args.all_dead else fail(f"no dead message {args.id}")


def cmd_outbox_drop(args: argparse.Namespace) -> int:
    from ..outbox import admin

    async def work(db: Database, _registry: Any) -> int:
        return await admin.drop(db, args.id)

    n = with_registry(args, work)
    if not n:
        return fail(f"no message {args.id}")
    show(args, {"dropped": n}, f"message {args.id} dropped")
    return 0


def cmd_outbox_work(args: argparse.Namespace) -> int:
    """Deliver without serving (a separate process, or once from cron/tests)."""
    from .. import logs
    from ..outbox.worker import OutboxWorker
    from ..peers import sealing
    from ..secret_key import load

    if not args.once:  # a delivery process: its lines as ``ocpi serve`` writes them
        logs.configure_from_env()

    async def work(db: Database, _registry: Any) -> Any:
        # a wrong or missing key stops here, not at every delivery (ocpi serve does the same)
        await sealing.verify(db, load())
        node = await settings_store.load(db)
        party = (node.country_code, node.party_id) \
            if node.country_code and node.party_id else None
        worker = OutboxWorker(db, from_party=party)
        if args.once:
            await worker.drain_once()
        else:
            await worker.run()
        return worker.counters

    try:
        counters = with_registry(args, work)
    except KeyboardInterrupt:
        return 0
    show(args, vars(counters), f"{counters.delivered} delivered, {counters.retried} to "
           f"retry, {counters.dead} refused")
    return 0




def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    obx = sub.add_parser("outbox", help="messages to partners: status, dead letters, worker")
    osub = obx.add_subparsers(dest="action", required=True)
    ost = osub.add_parser("status", help="per partner: pending, oldest, last error, next try")
    common(ost)
    ost.set_defaults(func=cmd_outbox_status)
    ols = osub.add_parser("list", help="messages waiting (or, with --dead, refused)")
    common(ols)
    ols.add_argument("--dead", action="store_true", help="the refused ones, with the answer")
    ols.add_argument("--held", action="store_true",
                     help="those waiting for a party a hub reports OFFLINE")
    ols.add_argument("--partner", help="only this partner's")
    ols.add_argument("--limit", type=int, default=100)
    ols.set_defaults(func=cmd_outbox_list)
    ort = osub.add_parser("retry", help="put a dead message (or all) back in the queue")
    common(ort)
    ort.add_argument("id", type=int, nargs="?")
    ort.add_argument("--all-dead", action="store_true")
    ort.set_defaults(func=cmd_outbox_retry)
    odr = osub.add_parser("drop", help="delete a message for good")
    common(odr)
    odr.add_argument("id", type=int)
    odr.set_defaults(func=cmd_outbox_drop)
    owk = osub.add_parser("work", help="deliver messages (serve does this too)")
    common(owk)
    owk.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    owk.set_defaults(func=cmd_outbox_work)

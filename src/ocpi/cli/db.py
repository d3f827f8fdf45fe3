"""``ocpi db``: the database schema and its migrations."""

import argparse
from collections.abc import Callable
from typing import Any

from ..store import migrate
from ..store.database import Database
from .common import show, with_db


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    before, head = with_db(args, Database.upgrade_schema)
    if before.at_head:
        text = f"already at {head} (head)"
    elif before.empty:
        text = f"created at {head} (the database was empty)"
    else:
        text = f"upgraded from {before.describe()} to {head}"
    show(args, {"from": before.revision, "was": before.describe(), "to": head}, text)
    return 0


def cmd_db_current(args: argparse.Namespace) -> int:
    state = with_db(args, Database.schema_state)
    if state.at_head:
        text = f"{state.revision} (head)"
    elif state.empty:
        text = f"empty (head is {migrate.HEAD}): the node creates its tables on first use"
    else:
        text = f"{state.describe()}, behind head {migrate.HEAD}: run `ocpi db upgrade`"
    show(args, {"revision": state.revision, "state": state.describe(), "head": migrate.HEAD,
                  "at_head": state.at_head}, text)
    return 0


def cmd_db_rotate_key(args: argparse.Namespace) -> int:
    """Seal every secret again under the new key: the first of ``OCPI_SECRET_KEY``
    ("new,old"), or the key in ``--new-key-file`` (made there if missing)."""
    from pathlib import Path

    from ..peers import sealing
    from ..secret_key import SecretKeyError, load, load_file
    from .common import fail

    try:
        key = load(create=False)
        if args.new_key_file:
            key = load_file(Path(args.new_key_file)).first_of(key)
        count = with_db(args, lambda db: sealing.rotate(db, key))
    except SecretKeyError as exc:
        return fail(f"nothing changed: {exc}")
    then = (f"start the node with OCPI_SECRET_KEY_FILE={args.new_key_file}" if
            args.new_key_file else "keep the old key in OCPI_SECRET_KEY until every node "
            "runs with the new one first, then drop it")
    show(args, {"partner_tokens": count, "key": key.source},
         f"{count} partner token(s) and the key check sealed again under the first key of "
         f"{key.source}; {then}")
    return 0


def cmd_db_restamp(args: argparse.Namespace) -> int:
    from ..core.datetime import now_text, parse_datetime
    from ..core.enums import ModuleID
    from ..modules.registry import object_type
    from ..store.sql_store import SqlStore
    from .common import fail

    if args.key.count("/") < 2:
        return fail(f"{args.key!r}: the key is CC/PID/ID")
    cc, pid, id = args.key.split("/", 2)
    stamp = args.to or now_text()
    try:
        decl = object_type(args.module)
        parse_datetime(stamp)
    except (LookupError, ValueError) as exc:
        return fail(str(exc))
    role = decl.own_role if args.side == "ours" else decl.partner_role
    data = with_db(args, lambda db: SqlStore(db).restamp(ModuleID(args.module), role, cc,
                                                          pid, id, stamp))
    if data is None:
        return fail(f"no {args.module} {args.key} on {args.side} side")
    show(args, data, f"{args.module} {args.key} now last_updated {stamp}")
    return 0


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    dbp = sub.add_parser("db", help="the database schema: migrations")
    dsub = dbp.add_subparsers(dest="db_command", required=True)
    dup = dsub.add_parser("upgrade", help="bring the schema to this release's (back up first)")
    common(dup)
    dup.set_defaults(func=cmd_db_upgrade)
    dcur = dsub.add_parser("current", help="the schema's revision and whether it is at head")
    common(dcur)
    dcur.set_defaults(func=cmd_db_current)
    drk = dsub.add_parser("rotate-key", help="seal every stored secret again under a new "
                          "key (OCPI_SECRET_KEY=new,old or --new-key-file); see "
                          "docs/security.md")
    common(drk)
    drk.add_argument("--new-key-file", help="the new key's file (made, owner-only, if "
                     "missing); the old key stays where the node reads it")
    drk.set_defaults(func=cmd_db_rotate_key)
    dre = dsub.add_parser("restamp", help="repair an object a wrong clock stamped in the "
                          "future: set its last_updated (default: now); sends nothing")
    common(dre)
    dre.add_argument("module", help="locations, sessions, tokens, tariffs, ...")
    dre.add_argument("key", help="CC/PID/ID (a token: CC/PID/TYPE:UID)")
    dre.add_argument("--side", choices=["ours", "theirs"], default="theirs",
                     help="a partner's copy (default) or one of our own")
    dre.add_argument("--to", help="the ISO time to set (default: now)")
    dre.set_defaults(func=cmd_db_restamp)

"""``ocpi db``: the database schema and its migrations."""

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from ..store import migrate
from ..store.database import Database
from .common import open_db, show


def _schema(args: argparse.Namespace, action: Any) -> Any:
    async def run() -> Any:
        db = open_db(args)
        try:
            return await action(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    before, head = _schema(args, Database.upgrade_schema)
    if before.at_head:
        text = f"already at {head} (head)"
    elif before.empty:
        text = f"created at {head} (the database was empty)"
    else:
        text = f"upgraded from {before.describe()} to {head}"
    show(args, {"from": before.revision, "was": before.describe(), "to": head}, text)
    return 0


def cmd_db_current(args: argparse.Namespace) -> int:
    state = _schema(args, Database.schema_state)
    if state.at_head:
        text = f"{state.revision} (head)"
    elif state.empty:
        text = f"empty (head is {migrate.HEAD}): the node creates its tables on first use"
    else:
        text = f"{state.describe()}, behind head {migrate.HEAD}: run `ocpi db upgrade`"
    show(args, {"revision": state.revision, "state": state.describe(), "head": migrate.HEAD,
                  "at_head": state.at_head}, text)
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

"""``ocpi import <module>``: the node's own objects from a file."""

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core import jsonutil
from .common import show, with_db


def cmd_import(args: argparse.Namespace) -> int:
    from ..importer import ImportError_, import_objects
    from ..store.sql_store import SqlStore

    try:
        data = jsonutil.loads(Path(args.file).read_bytes())
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    if isinstance(data, dict) and "data" in data and "status_code" in data:
        data = data["data"]  # a saved OCPI response
    items = data if isinstance(data, list) else [data]
    notes: list[str] = []

    try:
        counts = with_db(args, lambda db: import_objects(
            SqlStore(db), args.import_command, items, args.version, args.country_code,
            args.party_id, notes))
    except ImportError_ as exc:
        print(f"nothing imported: {exc}", file=sys.stderr)
        return 1
    for note in notes:  # stderr: --json output stays the counts alone
        print(note, file=sys.stderr)
    show(args, counts, ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    from ..modules.registry import object_types

    imp = sub.add_parser("import", help="load the node's own objects from a file")
    isub = imp.add_subparsers(dest="import_command", required=True)
    for decl in object_types():  # one per declared object type the node may own
        if decl.hub_reported or decl.generated:
            continue
        what = isub.add_parser(decl.module.value,
                               help=f"an OCPI {decl.name} or a list of them (our own)")
        common(what)
        what.add_argument("file")
        what.add_argument("--version", default="2.2.1", choices=["2.1.1", "2.2.1", "2.3.0"])
        what.add_argument("--country-code", help="owner for 2.1.1 files (they carry none)")
        what.add_argument("--party-id")
        what.set_defaults(func=cmd_import)

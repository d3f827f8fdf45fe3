"""The ``ocpi`` command: run a node, manage partners, import data."""

import argparse
import asyncio
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from .core import jsonutil
from .core.enums import ModuleID, RoleEnum
from .store.database import Database, database_url_from_env


def _db(args: argparse.Namespace) -> Database:
    return Database(args.database or database_url_from_env())


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, default=str))
    else:
        print(text)


# --- serve -------------------------------------------------------------------------

async def _prepare_demo(db: Database, cc: str, pid: str) -> str:
    from .demo import sample_locations
    from .peers.registry import Registry
    from .store.sql_store import SqlStore

    store = SqlStore(db)
    for loc in sample_locations(cc, pid):
        if await store.get(ModuleID.locations, RoleEnum.cpo, loc["id"], country_code=cc,
                           party_id=pid) is None:
            await store.create(ModuleID.locations, RoleEnum.cpo, loc)
    _, token = await Registry(db).add_peer("NL", "DMO", "EMSP", name="demo")
    return token


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import get_application

    url = args.database or database_url_from_env()
    roles = [RoleEnum(r.upper()) for r in (args.role or ["cpo", "emsp"])]
    operator = os.environ.get("OCPI_OPERATOR_TOKEN")
    generated = operator is None
    operator = operator or secrets.token_urlsafe(24)
    public = args.public_url or os.environ.get("OCPI_PUBLIC_URL")
    base = (public or f"http://{args.host}:{args.port}").rstrip("/")
    app = get_application(roles=roles, database_url=url, public_url=public,
                          operator_token=operator, country_code=args.country_code,
                          party_id=args.party_id)
    db: Database = app.state.node.db
    demo_token = None
    if args.demo:
        demo_token = asyncio.run(_prepare_demo(db, args.country_code, args.party_id))
    asyncio.run(db.dispose())
    info = {"versions_url": f"{base}/ocpi/versions", "database": url,
            "roles": [r.value for r in roles]}
    lines = [f"OCPI node for {args.country_code}/{args.party_id} "
             f"({', '.join(r.value for r in roles)}) on {url}",
             f"  versions: {base}/ocpi/versions"]
    if generated:
        info["operator_token"] = operator
        lines.append(f"  operator token (set OCPI_OPERATOR_TOKEN to fix it): {operator}")
    if demo_token:
        info["demo_token"] = demo_token
        lines.append("  try it (the demo partner's token lists the sample locations):")
        lines.append(f"  curl -s -H 'Authorization: Token {demo_token}' "
                     f"{base}/ocpi/cpo/2.2.1/locations")
    _print(args, info, "\n".join(lines))
    sys.stdout.flush()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


# --- peers -------------------------------------------------------------------------

def cmd_peers_add(args: argparse.Namespace) -> int:
    from .peers.registry import Registry

    async def run() -> tuple[Any, str]:
        db = _db(args)
        try:
            return await Registry(db).add_peer(args.country_code, args.party_id, args.role,
                                               token=args.token, name=args.name)
        finally:
            await db.dispose()

    peer, token = asyncio.run(run())
    _print(args, {**peer.as_dict(), "token": token},
           f"partner {peer.name} ({peer.country_code}/{peer.party_id} {peer.role}) may call "
           f"the node with token: {token}")
    return 0


def cmd_peers_list(args: argparse.Namespace) -> int:
    from .peers.registry import Registry

    async def run() -> list[Any]:
        db = _db(args)
        try:
            return await Registry(db).list_peers()
        finally:
            await db.dispose()

    found = asyncio.run(run())
    rows = [p.as_dict() for p in found]
    text = "\n".join(f"{p.name:24} {p.country_code}/{p.party_id} {p.role:5} {p.state}"
                     for p in found) or "no partners"
    _print(args, rows, text)
    return 0


# --- import ------------------------------------------------------------------------

def cmd_import_locations(args: argparse.Namespace) -> int:
    from .importer import ImportError_, import_locations
    from .store.sql_store import SqlStore

    try:
        data = jsonutil.loads(Path(args.file).read_bytes())
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    if isinstance(data, dict) and "data" in data and "status_code" in data:
        data = data["data"]  # a saved OCPI response
    items = data if isinstance(data, list) else [data]

    async def run() -> dict[str, int]:
        db = _db(args)
        try:
            return await import_locations(SqlStore(db), items, args.version,
                                          args.country_code, args.party_id)
        finally:
            await db.dispose()

    try:
        counts = asyncio.run(run())
    except ImportError_ as exc:
        print(f"nothing imported: {exc}", file=sys.stderr)
        return 1
    _print(args, counts, ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocpi", description="An OCPI CPO/eMSP node.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--database", help="sqlite:///path or postgresql://... "
                       "(default: $OCPI_DATABASE_URL or sqlite:///./ocpi.db)")
        p.add_argument("--json", action="store_true", help="machine-readable output")

    serve = sub.add_parser("serve", help="run the node")
    common(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--country-code", default="NL")
    serve.add_argument("--party-id", default="OCP")
    serve.add_argument("--role", action="append", choices=["cpo", "emsp"],
                       help="repeat for both (default: cpo and emsp)")
    serve.add_argument("--public-url", help="base URL partners see (behind a proxy)")
    serve.add_argument("--demo", action="store_true",
                       help="add sample locations and a demo partner token")
    serve.set_defaults(func=cmd_serve)

    peers = sub.add_parser("peers", help="partners allowed to call the node")
    psub = peers.add_subparsers(dest="peers_command", required=True)
    add = psub.add_parser("add", help="register a partner and print its token")
    common(add)
    add.add_argument("--country-code", required=True)
    add.add_argument("--party-id", required=True)
    add.add_argument("--role", required=True, type=str.upper, choices=["CPO", "EMSP", "HUB"])
    add.add_argument("--token", help="the token it will use (generated when not given)")
    add.add_argument("--name", help="a name for the partner (default cc-pid-role)")
    add.set_defaults(func=cmd_peers_add)
    lst = psub.add_parser("list", help="show registered partners")
    common(lst)
    lst.set_defaults(func=cmd_peers_list)

    imp = sub.add_parser("import", help="load the node's own objects from a file")
    isub = imp.add_subparsers(dest="import_command", required=True)
    locs = isub.add_parser("locations", help="an OCPI Location or a list of them")
    common(locs)
    locs.add_argument("file")
    locs.add_argument("--version", default="2.2.1", choices=["2.1.1", "2.2.1", "2.3.0"])
    locs.add_argument("--country-code", help="owner for 2.1.1 files (they carry none)")
    locs.add_argument("--party-id")
    locs.set_defaults(func=cmd_import_locations)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())

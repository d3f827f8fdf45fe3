"""``ocpi serve``: run the node (API, outbox worker, connectors)."""

import argparse
import asyncio
import json
import os
import secrets
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from .. import logs
from ..core.enums import ModuleID, RoleEnum
from ..store import settings as settings_store
from ..store.database import Database, database_url_from_env
from ..store.settings import NodeSettings
from .common import fail, show


async def _prepare_demo(db: Database, cc: str, pid: str) -> str:
    from ..demo import sample_locations, sample_tariff
    from ..peers.registry import Registry
    from ..store.sql_store import SqlStore

    store = SqlStore(db)
    tariff = sample_tariff(cc, pid)
    if await store.get(ModuleID.tariffs, RoleEnum.cpo, tariff["id"], country_code=cc,
                       party_id=pid) is None:
        await store.create(ModuleID.tariffs, RoleEnum.cpo, tariff)
    for loc in sample_locations(cc, pid):
        if await store.get(ModuleID.locations, RoleEnum.cpo, loc["id"], country_code=cc,
                           party_id=pid) is None:
            await store.create(ModuleID.locations, RoleEnum.cpo, loc)
    _, token = await Registry(db).add_peer("NL", "DMO", "EMSP", name="demo")
    return token


async def _save_settings(db: Database, identity: "NodeSettings") -> None:
    await settings_store.save(db, identity)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ..peers import sealing
    from ..secret_key import SecretKeyError, load
    from ..serve_app import OPTIONS_ENV, build

    url = args.database or database_url_from_env()
    try:  # before the database: an upgrade of it may need the key
        key = load()
    except SecretKeyError as exc:
        return fail(str(exc))
    roles = [RoleEnum(r.upper()) for r in (args.role or ["cpo", "emsp"])]
    _limits_to_env(args)
    try:
        _logs_to_env(args)
    except ValueError as exc:
        return fail(str(exc))
    operator = os.environ.get("OCPI_OPERATOR_TOKEN")
    generated = operator is None
    if generated:  # every worker process must know the same one
        operator = os.environ["OCPI_OPERATOR_TOKEN"] = secrets.token_urlsafe(24)
    public = args.public_url or os.environ.get("OCPI_PUBLIC_URL")
    base = (public or f"http://{args.host}:{args.port}").rstrip("/")
    smappee = args.smappee_config or os.environ.get("OCPI_SMAPPEE_CONFIG")
    options = {"roles": [r.value for r in roles], "database_url": url, "public_url": public,
               "country_code": args.country_code, "party_id": args.party_id,
               "business_name": args.name, "smappee_config": smappee,
               "simulate_chargers": args.simulate_chargers or args.demo}
    try:
        app = build(options)
    except ValueError as exc:
        return fail(f"Smappee connector: {exc}")
    db: Database = app.state.node.db
    identity = NodeSettings(base_url=base, country_code=args.country_code.upper(),
                            party_id=args.party_id.upper(), roles=[r.value for r in roles],
                            business_name=args.name)

    async def prepare() -> tuple[str | None, str | None]:  # one loop: a pool never outlives it
        try:
            await _save_settings(db, identity)
            await sealing.verify(db, key)  # a wrong key stops here, not at a partner call
            budget = await _connection_budget(db, args.workers)
            if args.demo:
                return await _prepare_demo(db, args.country_code, args.party_id), budget
            return None, budget
        finally:
            await db.dispose()

    try:
        demo_token, budget = asyncio.run(prepare())
    except SecretKeyError as exc:
        return fail(str(exc))
    info = {"versions_url": f"{base}/ocpi/versions", "console_url": f"{base}/console",
            "database": url, "roles": [r.value for r in roles], "workers": args.workers}
    lines = [f"OCPI node for {args.country_code}/{args.party_id} "
             f"({', '.join(r.value for r in roles)}) on {url}",
             f"  versions: {base}/ocpi/versions",
             f"  console: {base}/console (sign in with the operator token)",
             f"  API description: {base}/docs"]
    info["secret_key"] = key.source
    lines.append(f"  secret key: {key.source}" + (" (created now: back it up, see "
                                                  "docs/security.md)" if key.created else ""))
    if args.workers > 1:
        lines.append(f"  {args.workers} worker processes")
    if budget:
        info["database_connections"] = budget
        lines.append(f"  {budget}")
    if generated:
        info["operator_token"] = operator
        lines.append(f"  operator token (set OCPI_OPERATOR_TOKEN to fix it): {operator}")
    if demo_token:
        info["demo_token"] = demo_token
        lines.append("  try it (the demo partner's token lists the sample locations):")
        lines.append(f"  curl -s -H 'Authorization: Token {demo_token}' "
                     f"{base}/ocpi/cpo/2.2.1/locations")
    if options["simulate_chargers"]:
        lines.append("  simulated chargers answer commands and charging profiles "
                     "(docs/simulator.md)")
    if smappee:
        lines.append(f"  Smappee sync every {app.state.smappee_interval:g}s from {smappee}")
    show(args, info, "\n".join(lines))
    sys.stdout.flush()
    # connection hygiene (server.py), the same in every worker process
    # uvicorn's own access log is off: ours (logs.py) says more, at less cost
    served = {"http": "ocpi.server:GuardedHttpProtocol", "host": args.host, "port": args.port,
              "log_config": logs.uvicorn_config(), "log_level": os.environ[logs.LEVEL_ENV],
              "access_log": False, "timeout_keep_alive": args.keep_alive}
    if args.workers > 1:  # each process builds its own app: nothing shared but the database
        os.environ[OPTIONS_ENV] = json.dumps(options)
        uvicorn.run("ocpi.serve_app:create_app", factory=True, workers=args.workers, **served)
    else:
        uvicorn.run(app, **served)
    return 0


async def _connection_budget(db: Database, workers: int) -> str | None:
    """PostgreSQL: how many connections this node's processes may open, against what the
    server allows (docs/deployment.md, connection budget)."""
    if db.dialect != "postgresql":
        return None
    listening = os.environ.get("OCPI_TOKEN_CACHE", "1") != "0"  # peers/caller_cache.py
    total = workers * (db.pool_size + listening)
    each = f"{db.pool_size}, --db-pool-size" + (
        ", + 1 listening for registry changes" if listening else "")
    line = (f"PostgreSQL connections: up to {total} ({workers} process(es) x ({each})), "
            f"plus {db.pool_size} per `ocpi outbox work`")
    async with db.begin() as tx:
        allowed = int((await tx.execute(text("SHOW max_connections"))).scalar_one())
        reserved = int((await tx.execute(
            text("SHOW superuser_reserved_connections"))).scalar_one())
    line += f"; the server allows {allowed - reserved}"
    if total > allowed - reserved:
        line += " - TOO MANY: lower --db-pool-size or put PgBouncer in front"
    return line


def _limits_to_env(args: argparse.Namespace) -> None:
    """``ocpi serve``'s limits, where the app and the protocol of every worker read them."""
    from ..server import HEADER_TIMEOUT_ENV, MAX_CONNECTIONS_ENV
    from ..store.database import POOL_SIZE_ENV

    for name, value in (("OCPI_MAX_BODY_BYTES", args.max_body_bytes),
                        ("OCPI_BODY_TIMEOUT", args.body_timeout),
                        (HEADER_TIMEOUT_ENV, args.header_timeout),
                        (MAX_CONNECTIONS_ENV, args.max_connections),
                        (POOL_SIZE_ENV, args.db_pool_size)):
        if value is not None:
            os.environ[name] = str(value)




def _logs_to_env(args: argparse.Namespace) -> None:
    """The log flags, where every worker process reads them (``logs.configure_from_env``)."""
    for name, value in ((logs.FORMAT_ENV, args.log_format), (logs.LEVEL_ENV, args.log_level),
                        (logs.ACCESS_ENV, None if args.access_log is None
                         else "1" if args.access_log else "0")):
        if value is not None:
            os.environ[name] = value
    os.environ.setdefault(logs.LEVEL_ENV, "info")
    logs.configure_from_env()  # also checks them, before anything is started


def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    serve = sub.add_parser("serve", help="run the node")
    common(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--country-code", default="NL")
    serve.add_argument("--party-id", default="OCP")
    serve.add_argument("--role", action="append", choices=["cpo", "emsp"],
                       help="repeat for both (default: cpo and emsp)")
    serve.add_argument("--public-url", help="base URL partners see (behind a proxy)")
    serve.add_argument("--workers", type=int, default=1,
                       help="API processes (several need PostgreSQL; see docs/deployment.md)")
    serve.add_argument("--name", help="business name in our credentials")
    serve.add_argument("--smappee-config", help="run the Smappee sync periodically "
                       "(JSON config; also $OCPI_SMAPPEE_CONFIG)")
    serve.add_argument("--max-body-bytes", type=int, help="largest request body "
                       "(default 4 MiB, or $OCPI_MAX_BODY_BYTES); larger ones get 413")
    serve.add_argument("--body-timeout", type=float, help="seconds for a whole request "
                       "body (default 30, or $OCPI_BODY_TIMEOUT); slower ones get 408")
    serve.add_argument("--header-timeout", type=float, help="seconds for a request's line "
                       "and headers (default 10, or $OCPI_HEADER_TIMEOUT)")
    serve.add_argument("--max-connections", type=int, help="open connections per process "
                       "(default 1000, or $OCPI_MAX_CONNECTIONS); more get 503")
    serve.add_argument("--db-pool-size", type=int, help="PostgreSQL connections each "
                       "process may hold (default 10, or $OCPI_DB_POOL_SIZE); a request "
                       "beyond them waits, and gets 503 after $OCPI_DB_POOL_TIMEOUT s "
                       "(docs/deployment.md)")
    serve.add_argument("--keep-alive", type=float, default=5.0,
                       help="seconds an idle keep-alive connection stays open (default 5)")
    serve.add_argument("--demo", action="store_true",
                       help="add sample locations and tariff, a demo partner token, and run "
                       "the simulated chargers")
    serve.add_argument("--simulate-chargers", action="store_true",
                       help="a built-in charger answers commands and charging profiles for "
                       "our Locations (docs/simulator.md)")
    serve.add_argument("--log-format", choices=logs.FORMATS, help="text or JSON lines on "
                       "stderr (default text, or $OCPI_LOG_FORMAT; docs/logging.md)")
    serve.add_argument("--log-level", choices=logs.LEVELS, type=str.lower,
                       help="default info, or $OCPI_LOG_LEVEL")
    serve.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=None,
                       help="a line per request (default on, or $OCPI_ACCESS_LOG=0 for off)")
    serve.set_defaults(func=cmd_serve)

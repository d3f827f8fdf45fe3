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
from .store import migrate
from .store import settings as settings_store
from .store.database import Database, database_url_from_env
from .store.settings import NodeSettings


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


async def _save_settings(db: Database, identity: "NodeSettings") -> None:
    await settings_store.save(db, identity)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .serve_app import OPTIONS_ENV, build

    url = args.database or database_url_from_env()
    roles = [RoleEnum(r.upper()) for r in (args.role or ["cpo", "emsp"])]
    _limits_to_env(args)
    operator = os.environ.get("OCPI_OPERATOR_TOKEN")
    generated = operator is None
    if generated:  # every worker process must know the same one
        operator = os.environ["OCPI_OPERATOR_TOKEN"] = secrets.token_urlsafe(24)
    public = args.public_url or os.environ.get("OCPI_PUBLIC_URL")
    base = (public or f"http://{args.host}:{args.port}").rstrip("/")
    smappee = args.smappee_config or os.environ.get("OCPI_SMAPPEE_CONFIG")
    options = {"roles": [r.value for r in roles], "database_url": url, "public_url": public,
               "country_code": args.country_code, "party_id": args.party_id,
               "business_name": args.name, "smappee_config": smappee}
    try:
        app = build(options)
    except ValueError as exc:
        return _fail(f"Smappee connector: {exc}")
    db: Database = app.state.node.db
    identity = NodeSettings(base_url=base, country_code=args.country_code.upper(),
                            party_id=args.party_id.upper(), roles=[r.value for r in roles],
                            business_name=args.name)

    async def prepare() -> str | None:  # one event loop: a pool never outlives its loop
        try:
            await _save_settings(db, identity)
            if args.demo:
                return await _prepare_demo(db, args.country_code, args.party_id)
            return None
        finally:
            await db.dispose()

    demo_token = asyncio.run(prepare())
    info = {"versions_url": f"{base}/ocpi/versions", "database": url,
            "roles": [r.value for r in roles], "workers": args.workers}
    lines = [f"OCPI node for {args.country_code}/{args.party_id} "
             f"({', '.join(r.value for r in roles)}) on {url}",
             f"  versions: {base}/ocpi/versions"]
    if args.workers > 1:
        lines.append(f"  {args.workers} worker processes")
    if generated:
        info["operator_token"] = operator
        lines.append(f"  operator token (set OCPI_OPERATOR_TOKEN to fix it): {operator}")
    if demo_token:
        info["demo_token"] = demo_token
        lines.append("  try it (the demo partner's token lists the sample locations):")
        lines.append(f"  curl -s -H 'Authorization: Token {demo_token}' "
                     f"{base}/ocpi/cpo/2.2.1/locations")
    if smappee:
        lines.append(f"  Smappee sync every {app.state.smappee_interval:g}s from {smappee}")
    _print(args, info, "\n".join(lines))
    sys.stdout.flush()
    # connection hygiene (server.py), the same in every worker process
    served = {"http": "ocpi.server:GuardedHttpProtocol", "host": args.host, "port": args.port,
              "log_level": "warning", "access_log": False,
              "timeout_keep_alive": args.keep_alive}
    if args.workers > 1:  # each process builds its own app: nothing shared but the database
        os.environ[OPTIONS_ENV] = json.dumps(options)
        uvicorn.run("ocpi.serve_app:create_app", factory=True, workers=args.workers, **served)
    else:
        uvicorn.run(app, **served)
    return 0


def _limits_to_env(args: argparse.Namespace) -> None:
    """``ocpi serve``'s limits, where the app and the protocol of every worker read them."""
    from .server import HEADER_TIMEOUT_ENV, MAX_CONNECTIONS_ENV

    for name, value in (("OCPI_MAX_BODY_BYTES", args.max_body_bytes),
                        ("OCPI_BODY_TIMEOUT", args.body_timeout),
                        (HEADER_TIMEOUT_ENV, args.header_timeout),
                        (MAX_CONNECTIONS_ENV, args.max_connections)):
        if value is not None:
            os.environ[name] = str(value)


# --- peers -------------------------------------------------------------------------

def cmd_peers_add(args: argparse.Namespace) -> int:
    async def work(_db: Database, registry: Any) -> tuple[Any, str]:
        return await registry.add_peer(args.country_code, args.party_id, args.role,
                                       token=args.token, name=args.name)

    try:
        peer, token = _with_registry(args, work)
    except _known_errors() as exc:
        return _fail(str(exc))
    _print(args, {**peer.as_dict(), "token": token},
           f"partner {peer.name} ({peer.country_code}/{peer.party_id} {peer.role}) may call "
           f"the node with token: {token}")
    return 0


def cmd_peers_list(args: argparse.Namespace) -> int:
    async def work(_db: Database, registry: Any) -> list[Any]:
        return await registry.list_peers()

    found = _with_registry(args, work)
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
    _print(args, rows, "\n".join(lines) or "no partners")
    return 0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


async def _us(db: Database, args: argparse.Namespace) -> Any:
    """Who we are towards partners: what `ocpi serve` recorded, flags first."""
    from .peers.credentials import Party
    from .peers.handshake import Us

    node = await settings_store.load(db)
    base = getattr(args, "public_url", None) or os.environ.get("OCPI_PUBLIC_URL") \
        or node.base_url
    if not base:
        raise ValueError("our versions URL is not known: run `ocpi serve` once on this "
                         "database, or pass --public-url")
    cc = node.country_code or os.environ.get("OCPI_COUNTRY_CODE")
    pid = node.party_id or os.environ.get("OCPI_PARTY_ID")
    if not cc or not pid:
        raise ValueError("our country code and party id are not known: run `ocpi serve` "
                         "once on this database, or set OCPI_COUNTRY_CODE and OCPI_PARTY_ID")
    cc, pid = cc.upper(), pid.upper()
    details = {"name": node.business_name or f"OCPI node {cc}/{pid}"}
    return Us(versions_url=f"{base.rstrip('/')}/ocpi/versions",
              parties=[Party(r, cc, pid, details) for r in node.roles])


def _with_registry(args: argparse.Namespace, work: Any) -> Any:
    """Run ``work(db, registry)`` and dispose of the database afterwards."""
    from .peers.registry import Registry

    async def run() -> Any:
        db = _db(args)
        try:
            return await work(db, Registry(db))
        finally:
            await db.dispose()

    return asyncio.run(run())


def _known_errors() -> tuple[type[Exception], ...]:
    """Failures reported as one clear line, not a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    from .peers.client import PartnerError
    from .peers.handshake import HandshakeError

    return (ValueError, PartnerError, HandshakeError, SQLAlchemyError, OSError)


def cmd_peers_invite(args: argparse.Namespace) -> int:
    async def work(db: Database, registry: Any) -> tuple[Any, str, str]:
        us = await _us(db, args)
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
        peer, token, versions_url = _with_registry(args, work)
    except _known_errors() as exc:
        return _fail(str(exc))
    _print(args, {"token": token, "versions_url": versions_url, "name": peer.name},
           f"invited {peer.name} ({peer.country_code}/{peer.party_id} {peer.role}).\n"
           f"Give it, over a secure channel:\n  versions URL: {versions_url}\n"
           f"  token A:      {token}")
    return 0


def _profile_from(args: argparse.Namespace) -> Any:
    from .peers.profile import Profile

    return Profile().updated(plain_token=getattr(args, "plain_token", None) or None,
                             explicit_nulls=_yes_no(getattr(args, "explicit_nulls", None)))


def cmd_peers_register(args: argparse.Namespace) -> int:
    from .peers import handshake

    token_a = args.token or os.environ.get("OCPI_REGISTRATION_TOKEN")
    if not token_a:
        return _fail("give the partner's token A with --token or OCPI_REGISTRATION_TOKEN")

    async def work(db: Database, registry: Any) -> Any:
        us = await _us(db, args)
        return await handshake.register(registry, us, args.versions_url, token_a,
                                        version=args.version, name=args.name, role=args.role,
                                        profile=_profile_from(args))

    try:
        peer = _with_registry(args, work)
    except _known_errors() as exc:
        return _fail(f"registration failed, nothing was stored: {getattr(exc, 'message', exc)}")
    _print(args, peer.as_dict(), f"registered with {peer.name} on OCPI {peer.version}: "
           + ", ".join(f"{p.country_code}/{p.party_id} {p.role}" for p in peer.all_parties()))
    return 0


async def _named(registry: Any, name: str) -> Any:
    peer = await registry.get(name)
    if peer is None:
        raise ValueError(f"no partner called {name} (see `ocpi peers list`)")
    return peer


def cmd_peers_update(args: argparse.Namespace) -> int:
    from .peers import handshake

    async def work(db: Database, registry: Any) -> Any:
        peer = await _named(registry, args.name)
        return await handshake.update(registry, await _us(db, args), peer,
                                      version=args.version)

    try:
        peer = _with_registry(args, work)
    except _known_errors() as exc:
        return _fail(f"update failed: {getattr(exc, 'message', exc)}")
    _print(args, peer.as_dict(), f"updated {peer.name}: OCPI {peer.version}, new tokens "
           "exchanged")
    return 0


def cmd_peers_unregister(args: argparse.Namespace) -> int:
    from .peers import handshake

    async def work(db: Database, registry: Any) -> None:
        peer = await _named(registry, args.name)
        await handshake.unregister(registry, await _us(db, args), peer, force=args.force)

    try:
        _with_registry(args, work)
    except _known_errors() as exc:
        return _fail(f"unregister failed (--force cuts the partner off here anyway): {exc}")
    _print(args, {"name": args.name, "state": "unregistered"},
           f"unregistered {args.name}: its tokens no longer work")
    return 0


EXPLICIT_NULLS = ("send every optional field, null when unset (partners that refuse a "
                  "missing key, such as the seed tutorials' library)")


def _yes_no(value: str | None) -> bool | None:
    return None if value is None else value == "yes"


def cmd_peers_set(args: argparse.Namespace) -> int:
    async def work(db: Database, registry: Any) -> Any:
        return await registry.set_profile(
            args.name, plain_token=_yes_no(args.plain_token), page_limit=args.page_limit,
            routing_headers=args.routing_headers,
            connection_close=_yes_no(args.connection_close), timeout=args.timeout,
            delivery=args.delivery, always_put=_yes_no(args.always_put),
            explicit_nulls=_yes_no(args.explicit_nulls))

    try:
        peer = _with_registry(args, work)
    except _known_errors() as exc:
        return _fail(str(exc))
    _print(args, peer.as_dict(), f"{peer.name}: {peer.profile.as_dict()}")
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


PULL_REJECTED = 2  # the pull completed, but some objects were rejected (1: it failed)


def cmd_peers_pull(args: argparse.Namespace) -> int:
    from .core.datetime import parse_datetime
    from .peers.pull import pull
    from .store.sql_store import SqlStore

    try:
        since = parse_datetime(args.since) if args.since else None
    except ValueError as exc:
        return _fail(f"--since: {exc}")

    async def work(db: Database, registry: Any) -> Any:
        peer = await _named(registry, args.name)
        return await pull(registry, SqlStore(db), await _us(db, args), peer, args.module,
                          since=since, progress=_progress(f"{args.name} {args.module}"))

    try:
        result = _with_registry(args, work)
    except _known_errors() as exc:
        if sys.stderr.isatty():
            print(file=sys.stderr)
        return _fail(f"pull stopped (pages already stored are kept, whole): {exc}")
    if sys.stderr.isatty():
        print(file=sys.stderr)
    _print(args, result.as_dict(),
           "".join(f"note: {n}\n" for n in result.notes)
           + f"{result.received} received: {result.created} new, {result.updated} updated, "
           f"{result.unchanged} unchanged, {len(result.rejected)} rejected"
           + "".join(f"\n  rejected {r}" for r in result.rejected[:20]))
    # a script must notice objects the partner sent that we did not store
    return PULL_REJECTED if result.rejected else 0


# --- smappee -----------------------------------------------------------------------

def cmd_smappee_sync(args: argparse.Namespace) -> int:
    from .connectors.smappee.client import SmappeeError
    from .connectors.smappee.config import SmappeeConfig
    from .connectors.smappee.sync import SmappeeSync
    from .services.authorization import smappee_hook
    from .store.sql_store import SqlStore

    path = args.config or os.environ.get("OCPI_SMAPPEE_CONFIG")
    if not path:
        return _fail("give the connector's config with --config or OCPI_SMAPPEE_CONFIG")

    async def work(db: Database, _registry: Any) -> Any:
        config = SmappeeConfig.load(path)
        node = await settings_store.load(db)
        cc = args.country_code or node.country_code or os.environ.get("OCPI_COUNTRY_CODE")
        pid = args.party_id or node.party_id or os.environ.get("OCPI_PARTY_ID")
        if not cc or not pid:
            raise ValueError("our country code and party id are not known: run `ocpi serve` "
                             "once on this database or pass --country-code/--party-id")
        return await SmappeeSync(SqlStore(db), config, (cc, pid),
                                 authorizations=smappee_hook(db)).run_once()

    try:
        result = _with_registry(args, work)
    except (*_known_errors(), SmappeeError) as exc:
        return _fail(f"Smappee sync failed: {exc}")
    _print(args, result.as_dict(), f"{result.created} new, {result.updated} updated, "
           f"{result.unchanged} unchanged sessions"
           + (f"; UNMAPPED stations skipped: {', '.join(result.as_dict()['unmapped'])}"
              if result.unmapped else "")
           + "".join(f"\n  problem: {p}" for p in result.problems[:20]))
    return 0 if result.ok else 1


# --- outbox ------------------------------------------------------------------------

def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m" if seconds < 7200 else f"{seconds / 3600:.1f}h"


def cmd_outbox_status(args: argparse.Namespace) -> int:
    from .outbox import admin

    async def work(db: Database, _registry: Any) -> Any:
        return [s.as_dict() for s in await admin.status(db)]

    rows = _with_registry(args, work)
    lines = []
    for r in rows:
        line = (f"{r['partner']:24} pending {r['pending']:>7}  dead {r['dead']:>5}  "
                f"oldest {_age(r['oldest_age_seconds']):>6}")
        if r["last_error"]:
            line += (f"\n{'':24} retrying (attempt {r['attempts']}, next "
                     f"{r['next_attempt_at'] or 'now'}): {r['last_error']}")
        lines.append(line)
    _print(args, rows, "\n".join(lines) or "the outbox is empty")
    return 0


def _message_dict(partner: str, m: Any) -> dict[str, Any]:
    return {"id": m.seq, "partner": partner, "module": m.module, "object": m.object_key,
            "state": m.state, "attempts": m.attempts,
            "created_at": m.created_at.isoformat() + "Z", "last_error": m.last_error}


def cmd_outbox_list(args: argparse.Namespace) -> int:
    from .outbox import admin

    async def work(db: Database, _registry: Any) -> Any:
        return await admin.messages(db, state="dead" if args.dead else "pending",
                                    partner=args.partner, limit=args.limit)

    found = [_message_dict(p, m) for p, m in _with_registry(args, work)]
    lines = [f"{r['id']:>8} {r['partner']:20} {r['module']:10} {r['object']:32} "
             f"{r['state']:8} attempts {r['attempts']}"
             + (f"\n{'':9}{r['last_error']}" if r["last_error"] else "") for r in found]
    _print(args, found, "\n".join(lines) or "no messages")
    return 0


def cmd_outbox_retry(args: argparse.Namespace) -> int:
    from .outbox import admin

    if args.id is None and not args.all_dead:
        return _fail("give a message ID or --all-dead")

    async def work(db: Database, _registry: Any) -> int:
        return await admin.retry(db, args.id, all_dead=args.all_dead)

    n = _with_registry(args, work)
    _print(args, {"requeued": n}, f"{n} message(s) back in the queue")
    return 0 if n or args.all_dead else _fail(f"no dead message {args.id}")


def cmd_outbox_drop(args: argparse.Namespace) -> int:
    from .outbox import admin

    async def work(db: Database, _registry: Any) -> int:
        return await admin.drop(db, args.id)

    n = _with_registry(args, work)
    if not n:
        return _fail(f"no message {args.id}")
    _print(args, {"dropped": n}, f"message {args.id} dropped")
    return 0


def cmd_outbox_work(args: argparse.Namespace) -> int:
    """Deliver without serving (a separate process, or once from cron/tests)."""
    from .outbox.worker import OutboxWorker

    async def work(db: Database, _registry: Any) -> Any:
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
        counters = _with_registry(args, work)
    except KeyboardInterrupt:
        return 0
    _print(args, vars(counters), f"{counters.delivered} delivered, {counters.retried} to "
           f"retry, {counters.dead} refused")
    return 0


# --- db ----------------------------------------------------------------------------

def _schema(args: argparse.Namespace, action: Any) -> Any:
    async def run() -> Any:
        db = _db(args)
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
    _print(args, {"from": before.revision, "was": before.describe(), "to": head}, text)
    return 0


def cmd_db_current(args: argparse.Namespace) -> int:
    state = _schema(args, Database.schema_state)
    if state.at_head:
        text = f"{state.revision} (head)"
    elif state.empty:
        text = f"empty (head is {migrate.HEAD}): the node creates its tables on first use"
    else:
        text = f"{state.describe()}, behind head {migrate.HEAD}: run `ocpi db upgrade`"
    _print(args, {"revision": state.revision, "state": state.describe(), "head": migrate.HEAD,
                  "at_head": state.at_head}, text)
    return 0


# --- import ------------------------------------------------------------------------

def cmd_import(args: argparse.Namespace) -> int:
    from .importer import ImportError_, import_objects
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
            return await import_objects(SqlStore(db), args.import_command, items,
                                        args.version, args.country_code, args.party_id)
        finally:
            await db.dispose()

    try:
        counts = asyncio.run(run())
    except ImportError_ as exc:
        print(f"nothing imported: {exc}", file=sys.stderr)
        return 1
    _print(args, counts, ", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


# --- tokens ------------------------------------------------------------------------

def cmd_tokens_authorize(args: argparse.Namespace) -> int:
    from .services.authorization import authorize

    if args.evse and not args.location:
        return _fail("--evse needs --location")

    async def work(db: Database, registry: Any) -> Any:
        peer = await _named(registry, args.partner)
        try:
            us = (await _us(db, args)).main_party
        except ValueError:
            us = None
        return await authorize(db, peer, args.uid, token_type=args.type.upper(),
                               location_id=args.location, evse_uids=args.evse, from_party=us)

    try:
        decision = _with_registry(args, work)
    except _known_errors() as exc:
        return _fail(str(exc))
    text = f"{decision.allowed} (by {decision.decided_by}"
    text += f", reference {decision.reference})" if decision.reference else ")"
    if decision.reason:
        text += f": {decision.reason}"
    _print(args, decision.as_dict(), text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .modules.registry import object_types

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
    serve.add_argument("--keep-alive", type=float, default=5.0,
                       help="seconds an idle keep-alive connection stays open (default 5)")
    serve.add_argument("--demo", action="store_true",
                       help="add sample locations and a demo partner token")
    serve.set_defaults(func=cmd_serve)

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
    pset.set_defaults(func=cmd_peers_set)

    pul = psub.add_parser("pull", help="fetch a partner's locations or sessions into our store")
    common(pul)
    pul.add_argument("name")
    pul.add_argument("module", choices=[d.module.value for d in object_types()])
    pul.add_argument("--since", help="only objects changed since (ISO 8601, date_from)")
    pul.add_argument("--public-url")
    pul.set_defaults(func=cmd_peers_pull)

    smp = sub.add_parser("smappee", help="the Smappee charging-park connector")
    ssub = smp.add_subparsers(dest="smappee_command", required=True)
    sync = ssub.add_parser("sync", help="bring sessions in line with Smappee once")
    common(sync)
    sync.add_argument("--config", help="JSON config (default $OCPI_SMAPPEE_CONFIG)")
    sync.add_argument("--country-code", help="our party (default: as `ocpi serve` recorded)")
    sync.add_argument("--party-id")
    sync.set_defaults(func=cmd_smappee_sync)

    obx = sub.add_parser("outbox", help="messages to partners: status, dead letters, worker")
    osub = obx.add_subparsers(dest="action", required=True)
    ost = osub.add_parser("status", help="per partner: pending, oldest, last error, next try")
    common(ost)
    ost.set_defaults(func=cmd_outbox_status)
    ols = osub.add_parser("list", help="messages waiting (or, with --dead, refused)")
    common(ols)
    ols.add_argument("--dead", action="store_true", help="the refused ones, with the answer")
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

    dbp = sub.add_parser("db", help="the database schema: migrations")
    dsub = dbp.add_subparsers(dest="db_command", required=True)
    dup = dsub.add_parser("upgrade", help="bring the schema to this release's (back up first)")
    common(dup)
    dup.set_defaults(func=cmd_db_upgrade)
    dcur = dsub.add_parser("current", help="the schema's revision and whether it is at head")
    common(dcur)
    dcur.set_defaults(func=cmd_db_current)

    imp = sub.add_parser("import", help="load the node's own objects from a file")
    isub = imp.add_subparsers(dest="import_command", required=True)
    for decl in object_types():  # one per declared object type
        what = isub.add_parser(decl.module.value,
                               help=f"an OCPI {decl.name} or a list of them (our own)")
        common(what)
        what.add_argument("file")
        what.add_argument("--version", default="2.2.1", choices=["2.1.1", "2.2.1", "2.3.0"])
        what.add_argument("--country-code", help="owner for 2.1.1 files (they carry none)")
        what.add_argument("--party-id")
        what.set_defaults(func=cmd_import)

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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except migrate.SchemaError as exc:  # e.g. PostgreSQL behind head: the node will not start
        return _fail(str(exc))


if __name__ == "__main__":
    raise SystemExit(main())

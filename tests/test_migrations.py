"""Schema migrations on SQLite and PostgreSQL: old databases upgrade without
losing a row, and the migrations make exactly the schema the code declares.

Old databases are made from frozen copies of each release's ``schema.py``
(``tests/data/schema_<commit>.py``) and the first release's rows
(``tests/data/first_release.json``), never from today's schema.
"""

import asyncio
import importlib.util
import io
import json
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, Table, insert, select, text

from ocpi import get_application
from ocpi.cli import main
from ocpi.core import jsonutil
from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.modules.registry import object_type
from ocpi.peers.registry import Registry
from ocpi.store import migrate
from ocpi.store.database import Database
from ocpi.store.migrate import HEAD, SchemaBehind, SchemaError
from ocpi.store.schema import metadata
from ocpi.store.sql_store import SqlStore

from .conftest import drop_everything

DATA = Path(__file__).parent / "data"
FIRST = "a5fbff6"
LAST_BEFORE_ALEMBIC = "8708f40"
# each release before migrations, and the revision its database is recognised as
RELEASES = {FIRST: "0001", "4918c03": "0002", "38ed1a0": "0003", LAST_BEFORE_ALEMBIC: "0004"}
ROWS = json.loads((DATA / "first_release.json").read_text())
TOKEN = "first-release-token"  # the first release's partner calls with it
LOC, SES = ModuleID.locations, ModuleID.sessions


@cache
def frozen_schema(commit: str) -> MetaData:
    spec = importlib.util.spec_from_file_location(f"schema_{commit}",
                                                  DATA / f"schema_{commit}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.metadata


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def write_first_release_rows(conn: Connection, tables: MetaData) -> None:
    """The rows through the old release's own tables (their Python defaults too)."""
    t = tables.tables
    for name in ("locations", "sessions"):
        for row in ROWS[name]:
            values = {**row, "data": json.dumps(row["data"]), "last_updated":
                      ts(row["last_updated"])}
            if row.get("start_date_time"):
                values["start_date_time"] = ts(row["start_date_time"])
            conn.execute(insert(t[name]).values(**values))
    ids = {}
    for row in ROWS["peers"]:
        ids[row["name"]] = conn.execute(insert(t["peers"]).values(
            {**row, "created_at": ts(row["created_at"])}).returning(t["peers"].c.id)).scalar_one()
    for row in ROWS["tokens"]:
        conn.execute(insert(t["tokens"]).values(
            token_hash=row["token_hash"], peer_id=ids[row["peer"]], kind=row["kind"],
            created_at=ts(row["created_at"])))


async def make_database(url: str, *commits: str, rows: bool = True) -> None:
    """An empty database, then each release's ``create_all`` in turn (a later
    release's only adds the tables it lacks, as it did on start), then the
    first release's rows through the first of those releases' tables."""
    def build(conn: Connection) -> None:
        drop_everything(conn)
        for commit in commits:
            frozen_schema(commit).create_all(conn)
        if rows:
            write_first_release_rows(conn, frozen_schema(commits[0]))

    await on_connection(url, build)


async def on_connection(url: str, fn: Any) -> Any:
    db = Database(url)
    try:
        return await db.run_schema_change(fn)
    finally:
        await db.dispose()


def snapshot(conn: Connection) -> dict[str, list[tuple]]:
    """Every first-release column of every row: what an upgrade must keep."""
    old = frozen_schema(FIRST)
    reflected = MetaData()
    out = {}
    for name, table in old.tables.items():
        now = Table(name, reflected, autoload_with=conn)
        columns = [now.c[c.name] for c in table.columns]
        out[name] = [tuple(r) for r in conn.execute(select(*columns).order_by(*columns))]
    return out


def schema_differences(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "compare_server_default": True})
    return compare_metadata(context, metadata)


def ocpi_process(*args: str, url: str) -> subprocess.CompletedProcess:
    """The real command, as an operator runs it."""
    return subprocess.run([sys.executable, "-m", "ocpi.cli", *args, "--database", url],
                          capture_output=True, text=True, timeout=120)


async def ocpi(*args: str, url: str) -> subprocess.CompletedProcess:
    """The command's ``main`` in this process (a thread: it runs its own loop)."""
    def run() -> subprocess.CompletedProcess:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main([*args, "--database", url])
        return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())

    return await asyncio.to_thread(run)


async def said(*args: str, url: str) -> str:
    return (await ocpi(*args, url=url)).stdout.strip()


async def assert_first_release_data_is_served(db: Database) -> None:
    """The rows, read and extended through the code of today."""
    store = SqlStore(db)
    by_id = {(r["role"], r["id"]): r["data"] for r in ROWS["locations"]}
    amsterdam = by_id[("CPO", "loc-amsterdam-1")]
    assert await store.get(LOC, RoleEnum.cpo, "loc-AMSTERDAM-1", country_code="nl",
                           party_id="ocp") == json.loads(json.dumps(amsterdam))
    own, total, last = await store.list(LOC, RoleEnum.cpo, {"offset": 0, "limit": 10})
    assert total == 2 and last and [o["city"] for o in own] == ["Amsterdam", "Utrecht"]
    received, total, _ = await store.list(LOC, RoleEnum.emsp, {})
    assert total == 1 and received[0]["id"] == "berlin-7"
    sessions, total, _ = await store.list(SES, RoleEnum.cpo, {}, visible_to=("DE", "MSP"))
    assert total == 2 and [s["kwh"] for s in sessions] == ["12.345", "0.5"]
    assert (await store.list(SES, RoleEnum.cpo, {}, visible_to=("NL", "XYZ")))[1] == 0

    registry = Registry(db)
    caller = await registry.identify(TOKEN)
    assert caller is not None and caller.token_kind == "C"
    assert (caller.country_code, caller.party_id) == ("DE", "MSP")
    [peer] = await registry.list_peers()
    assert (peer.name, peer.state, peer.version, peer.parties) == \
        ("de-msp-emsp", "registered", None, [])
    _, token_a = await registry.invite("BE", "NEW", "CPO")  # new columns, new rows
    assert (await registry.identify(token_a)).token_kind == "A"
    newer = {**amsterdam, "name": "Keizersgracht (new)", "last_updated": "2026-02-01T00:00:00Z"}
    assert await store.update(LOC, RoleEnum.cpo, newer, "loc-amsterdam-1") == newer


async def test_a_first_release_database_upgrades_without_losing_a_row(database_url):
    await make_database(database_url, FIRST)
    before = await on_connection(database_url, snapshot)
    db = Database(database_url)
    if db.dialect == "postgresql":  # the operator upgrades, after a backup
        with pytest.raises(SchemaBehind, match="run `ocpi db upgrade`"):
            await SqlStore(db).get(LOC, RoleEnum.cpo, "loc-amsterdam-1")
        served = ocpi_process("serve", "--port", "1", url=database_url)
        assert served.returncode == 1 and "`ocpi db upgrade`" in served.stderr
        assert await on_connection(database_url, snapshot) == before  # nothing touched
        upgraded = ocpi_process("db", "upgrade", url=database_url)
        assert upgraded.stdout.strip() == \
            f"upgraded from made before migrations, recognised as 0001 to {HEAD}", \
            upgraded.stderr
    # on SQLite the first use upgrades: the database is the node's own file
    assert await SqlStore(db).get(LOC, RoleEnum.emsp, "berlin-7") is not None
    assert await on_connection(database_url, snapshot) == before
    await assert_first_release_data_is_served(db)
    await db.dispose()
    after = await on_connection(database_url, snapshot)
    assert {k: len(v) for k, v in after.items()} == \
        {"locations": 3, "sessions": 2, "peers": 2, "tokens": 2}  # + the invitation
    assert after["sessions"] == before["sessions"]
    assert set(before["tokens"]) < set(after["tokens"])
    assert await on_connection(database_url, migrate.read_revision) == HEAD
    assert await on_connection(database_url, schema_differences) == []
    assert await on_connection(database_url, wire_versions_and_counts) == []


def wire_versions_and_counts(conn: Connection) -> list[str]:
    """0005's backfill: our own rows know their zero-copy versions (partners' rows
    are never listed and need none), and the kept counts are the real ones."""
    wrong = []
    for name in ("locations", "sessions"):
        rows = conn.execute(text(f"SELECT role, data, wire_versions FROM {name}")).all()
        for role, data, versions in rows:
            expected = (object_type(name).plain_versions(jsonutil.loads(data)) if role == "CPO"
                        else None)
            if versions != expected:
                wrong.append(f"{name} {role}: {versions!r} != {expected!r}")
        kept = conn.execute(text("SELECT n FROM object_counts WHERE module = :m AND "
                                 "role = 'CPO'"), {"m": name}).scalar()
        if kept != sum(1 for r in rows if r[0] == "CPO"):
            wrong.append(f"{name}: count {kept}")
    return wrong


async def test_the_last_database_before_migrations_is_stamped_and_upgraded(database_url):
    """Stamped 0004 by what it has; 0005 (list pages) runs on SQLite at once, on
    PostgreSQL by ``ocpi db upgrade``."""
    await make_database(database_url, LAST_BEFORE_ALEMBIC)
    before = await on_connection(database_url, snapshot)
    db = Database(database_url)
    if db.dialect == "postgresql":
        with pytest.raises(SchemaBehind, match=r"recognised as 0004, .*run `ocpi db upgrade`"):
            await db.ensure_schema()
        upgraded = await ocpi("db", "upgrade", url=database_url)
        assert upgraded.returncode == 0, upgraded.stderr
    await assert_first_release_data_is_served(db)
    await db.dispose()
    assert await on_connection(database_url, migrate.read_revision) == HEAD
    after = await on_connection(database_url, snapshot)
    assert after["sessions"] == before["sessions"] and after["peers"][0] == before["peers"][0]
    assert await on_connection(database_url, schema_differences) == []


@pytest.mark.parametrize(("commits", "recognised"), [
    *(((commit,), f"recognised as {rev}") for commit, rev in RELEASES.items()),
    # made by 4918c03 (no default on peers.rotating), outbox added by 8708f40's start
    (("4918c03", LAST_BEFORE_ALEMBIC), "recognised as 0004 without 0003"),
], ids=[*RELEASES, "4918c03-then-8708f40"])
async def test_every_release_before_migrations_is_recognised_and_upgraded(
        database_url, commits, recognised):
    await make_database(database_url, *commits)
    before = await on_connection(database_url, snapshot)
    current = await ocpi("db", "current", "--json", url=database_url)
    assert json.loads(current.stdout) == {
        "revision": None, "state": f"made before migrations, {recognised}", "head": HEAD,
        "at_head": False}
    upgraded = await ocpi("db", "upgrade", "--json", url=database_url)
    assert json.loads(upgraded.stdout)["to"] == HEAD, upgraded.stderr
    assert await said("db", "current", url=database_url) == f"{HEAD} (head)"
    assert await on_connection(database_url, snapshot) == before
    assert await on_connection(database_url, schema_differences) == []


async def test_a_database_behind_head(database_url):
    """Stamped by Alembic at 0002: upgraded on first use on SQLite only."""
    def at_0002(conn: Connection) -> None:
        drop_everything(conn)
        command.upgrade(migrate.config(conn), "0002")
        conn.execute(text("INSERT INTO settings (key, value) VALUES ('node', '{\"a\": 1}')"))

    await on_connection(database_url, at_0002)
    assert await said("db", "current", url=database_url) == \
        f"0002, behind head {HEAD}: run `ocpi db upgrade`"
    db = Database(database_url)
    if db.dialect == "postgresql":
        with pytest.raises(SchemaBehind, match=r"\(0002, .*run `ocpi db upgrade`"):
            await db.ensure_schema()
        app = get_application(database_url=database_url, deliver=False)
        with pytest.raises(SchemaBehind):  # a library user's app stops at start
            async with app.router.lifespan_context(app):
                pass
        await app.state.node.db.dispose()
        upgraded = await ocpi("db", "upgrade", url=database_url)
        assert upgraded.stdout.strip() == f"upgraded from 0002 to {HEAD}", upgraded.stderr
    async with db.begin() as tx:
        assert (await tx.execute(text("SELECT value FROM settings"))).scalar() == '{"a": 1}'
        assert (await tx.execute(text("SELECT count(*) FROM outbox"))).scalar() == 0
    await db.dispose()
    assert await said("db", "upgrade", url=database_url) == f"already at {HEAD} (head)"
    assert await said("db", "current", url=database_url) == f"{HEAD} (head)"


async def test_the_migrations_make_exactly_the_declared_schema(database_url):
    """A change to schema.py without a revision fails here; so does a revision
    that cannot be undone and redone."""
    def every_revision(conn: Connection) -> list[list[Any]]:
        drop_everything(conn)
        cfg = migrate.config(conn)
        command.upgrade(cfg, "head")
        up = schema_differences(conn)
        command.downgrade(cfg, "base")
        left = sorted(set(conn.dialect.get_table_names(conn)) - {migrate.VERSION_TABLE})
        command.upgrade(cfg, "head")
        return [up, left, schema_differences(conn)]

    assert await on_connection(database_url, every_revision) == [[], [], []]
    script = ScriptDirectory(str(migrate.SCRIPTS))
    assert script.get_heads() == [HEAD]  # one line of revisions, numbered in order
    chain = [s.revision for s in script.walk_revisions()][::-1]
    assert chain[:4] == ["0001", "0002", "0003", "0004"] and chain == sorted(chain)


async def test_a_fresh_database_is_created_at_head(database_url):
    await on_connection(database_url, drop_everything)
    assert (await said("db", "current", url=database_url)).startswith(f"empty (head is {HEAD})")
    nodes = [Database(database_url), Database(database_url)]
    await asyncio.gather(*(n.ensure_schema() for n in nodes))  # two starting at once
    for n in nodes:
        await n.dispose()
    assert await on_connection(database_url, migrate.read_revision) == HEAD
    assert await on_connection(database_url, schema_differences) == []


async def test_a_database_a_newer_release_upgraded_is_refused(database_url):
    await on_connection(database_url, drop_everything)
    db = Database(database_url)
    await db.ensure_schema()
    async with db.begin() as tx:
        await tx.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    await db.dispose()
    db = Database(database_url)
    with pytest.raises(SchemaError, match="revision 0099, which this release does not know"):
        await db.ensure_schema()
    await db.dispose()
    refused = await ocpi("db", "upgrade", url=database_url)
    assert refused.returncode == 1 and "does not know" in refused.stderr


async def test_a_schema_no_release_made_is_not_guessed(database_url):
    """The first release's tables with only part of the second's."""
    def half_upgraded(conn: Connection) -> None:
        frozen_schema("4918c03").tables["settings"].create(conn)

    await make_database(database_url, FIRST)
    await on_connection(database_url, half_upgraded)
    before = await on_connection(database_url, snapshot)
    db = Database(database_url)
    with pytest.raises(SchemaError, match="part of revision 0002"):
        await db.ensure_schema()
    await db.dispose()
    assert await on_connection(database_url, snapshot) == before


async def test_a_failed_upgrade_changes_nothing(database_url):
    """0002's index name already taken: the columns 0002 added before it go too."""
    def index_in_the_way(conn: Connection) -> None:
        conn.execute(text("CREATE INDEX ix_tokens_peer ON locations (id)"))

    await make_database(database_url, FIRST)
    await on_connection(database_url, index_in_the_way)
    before = await on_connection(database_url, snapshot)
    failed = await ocpi("db", "upgrade", url=database_url)
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: the upgrade from made before migrations, "
                                    "recognised as 0001 failed and the database is left as "
                                    "it was: ") and "ix_tokens_peer" in failed.stderr
    assert await on_connection(database_url, snapshot) == before
    state = await on_connection(database_url, migrate.state)
    assert state.describe() == "made before migrations, recognised as 0001"

"""Schema migrations: which revision a database is at, and bringing it to head.

Every function here takes a sync ``Connection`` already in a transaction
(``Database.run_schema_change`` opens it: SQLite locked and with foreign keys
off, PostgreSQL under an advisory lock), so an upgrade commits whole or not
at all. Alembic is imported only off the fast path: a database at head costs
one read of ``alembic_version``.

Databases made before Alembic carry no revision. Their tables and columns say
which release made them (``LEGACY``); they are stamped with the revisions
they already have, and only the missing ones run.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Inspector, inspect, text
from sqlalchemy.exc import DBAPIError

from .schema import metadata

if TYPE_CHECKING:
    from alembic.config import Config

HEAD = "0013"  # the newest revision in migrations/versions (a test keeps them equal)
SCRIPTS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"


class SchemaError(RuntimeError):
    """The database's schema is not one this release can use as it is."""


class SchemaBehind(SchemaError):
    """PostgreSQL is behind head: upgrades there are the operator's call."""


@dataclass(frozen=True)
class SchemaState:
    revision: str | None  # from alembic_version; None when empty or pre-Alembic
    empty: bool = False  # none of our tables
    recognised: str | None = None  # pre-Alembic: the newest revision whose tables it has
    missing: tuple[str, ...] = ()  # pre-Alembic: older revisions it lacks

    @property
    def at_head(self) -> bool:
        return self.revision == HEAD

    @property
    def complete_legacy(self) -> bool:
        """Made before migrations, with everything head has: stamping is enough."""
        return self.recognised == HEAD and not self.missing

    def describe(self) -> str:
        if self.empty:
            return "empty"
        if self.revision is None:
            lacking = f" without {', '.join(self.missing)}" if self.missing else ""
            return f"made before migrations, recognised as {self.recognised}{lacking}"
        return self.revision


def read_revision(conn: Connection) -> str | None:
    """The stamped revision, or None (no ``alembic_version``): the fast path."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def state(conn: Connection) -> SchemaState:
    revision = read_revision(conn)
    if revision is not None:
        return SchemaState(revision)
    inspector = inspect(conn)
    if not set(metadata.tables) & set(inspector.get_table_names()):
        return SchemaState(None, empty=True)
    present = legacy_revisions(inspector)
    newest = max(i for i, (_, has) in enumerate(present) if has)
    return SchemaState(None, recognised=present[newest][0],
                       missing=tuple(rev for rev, has in present[:newest] if not has))


def ensure(conn: Connection, *, upgrade_behind: bool) -> None:
    """What the node does on first use: make an empty database at head, use a
    database at head, upgrade one behind head only when ``upgrade_behind``
    (SQLite; on PostgreSQL it is ``ocpi db upgrade``'s job, see SchemaBehind).

    A pre-Alembic database whose tables are all head's is only stamped.
    """
    now = state(conn)
    if now.at_head:
        return
    if now.empty:
        create_at_head(conn)
        return
    _check_known(conn, now)
    if now.complete_legacy:
        stamp(conn, HEAD)
        return
    if not upgrade_behind:
        raise SchemaBehind(
            f"the database schema is behind this release ({now.describe()}, this release "
            f"needs {HEAD}): back the database up, then run `ocpi db upgrade`")
    upgrade(conn)


def upgrade(conn: Connection) -> tuple[SchemaState, str]:
    """Bring the database to head; returns where it was and where it is now."""
    from alembic import command

    before = state(conn)
    if before.at_head:
        return before, HEAD
    if before.empty:
        create_at_head(conn)
        return before, HEAD
    _check_known(conn, before)
    try:
        if before.revision is None:
            adopt(conn)
        command.upgrade(config(conn), "head")
        refresh_wire_versions(conn)
    except DBAPIError as exc:  # the caller's transaction rolls back: say so
        raise SchemaError(f"the upgrade from {before.describe()} failed and the database "
                          f"is left as it was: {str(exc.orig).strip()}") from exc
    return before, HEAD


def refresh_wire_versions(conn: Connection) -> int:
    """The node's own rows without zero-copy flags (written before the flags
    existed, or by a migration) learn them from this release's declarations;
    unflagged rows are rendered on every page, still correctly. Returns how many."""
    from sqlalchemy import bindparam, select

    from ..core import jsonutil
    from .objects import STORED

    done = 0
    for t in STORED.values():
        if t.wire_versions is None:
            continue
        table = t.table
        fill = table.update().where(table.c.seq == bindparam("row")).values(
            wire_versions=bindparam("versions"))
        last = 0
        while True:
            batch = conn.execute(select(table.c.seq, table.c.data).where(
                table.c.role == t.own_role, table.c.wire_versions.is_(None),
                table.c.seq > last).order_by(table.c.seq).limit(1000)).all()
            if not batch:
                break
            conn.execute(fill, [{"row": seq, "versions": t.wire_versions(jsonutil.loads(data))}
                                for seq, data in batch])
            done += len(batch)
            last = batch[-1][0]
    return done


def create_at_head(conn: Connection) -> None:
    """A fresh install has nothing to migrate: today's tables, stamped head."""
    metadata.create_all(conn)
    stamp(conn, HEAD)


def stamp(conn: Connection, revision: str) -> None:
    from alembic import command

    command.stamp(config(conn), revision)


def config(conn: Connection) -> "Config":
    """An Alembic config for the migrations that ship with the package, on ``conn``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = conn
    return cfg


def known_revisions(conn: Connection) -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(config(conn)).walk_revisions()}


def _check_known(conn: Connection, now: SchemaState) -> None:
    if now.revision is not None and now.revision not in known_revisions(conn):
        raise SchemaError(f"the database is at revision {now.revision}, which this release "
                          f"does not know (its newest is {HEAD}): a newer release upgraded it")


# --- databases made before Alembic ------------------------------------------------

def _has_tables(*names: str) -> Callable[[Inspector], list[bool]]:
    return lambda inspector: [inspector.has_table(n) for n in names]


def _has_columns(table: str, *names: str) -> Callable[[Inspector], list[bool]]:
    def check(inspector: Inspector) -> list[bool]:
        if not inspector.has_table(table):
            return [False] * len(names)
        present = {c["name"] for c in inspector.get_columns(table)}
        return [n in present for n in names]
    return check


def _rotating_has_default(inspector: Inspector) -> list[bool]:
    if not inspector.has_table("peers"):
        return [False]
    columns = {c["name"]: c for c in inspector.get_columns("peers")}
    return ["rotating" in columns and columns["rotating"].get("default") is not None]


# What each revision up to the first Alembic release adds, as an old database
# shows it. Later revisions need none: their databases carry a revision.
LEGACY: list[tuple[str, list[Callable[[Inspector], list[bool]]]]] = [
    ("0001", [_has_tables("locations", "sessions", "peers", "tokens")]),
    ("0002", [_has_tables("settings"), _has_columns("tokens", "expires_at"),
              _has_columns("peers", "version", "versions_url", "endpoints", "parties",
                           "hub_party_id", "token_out", "profile", "rotating",
                           "last_reached_at", "last_error")]),
    ("0003", [_rotating_has_default]),
    ("0004", [_has_tables("outbox", "outbox_delivered", "outbox_leases")]),
]


def legacy_revisions(inspector: Inspector) -> list[tuple[str, bool]]:
    """For each pre-Alembic revision, whether the database has all it adds.

    Part of a revision is no schema any release made: refused, not guessed.
    """
    found = []
    for revision, checks in LEGACY:
        has = [h for check in checks for h in check(inspector)]
        if any(has) and not all(has):
            raise SchemaError(f"the database has part of revision {revision}'s tables and "
                              "columns, which no release made; it cannot be upgraded "
                              "automatically")
        found.append((revision, all(has)))
    if not found[0][1]:
        raise SchemaError("the database has some of the node's tables but not the first "
                          "release's; it cannot be upgraded automatically")
    return found


def adopt(conn: Connection) -> None:
    """Give a pre-Alembic database its revision: stamp the revisions it has, run
    those it lacks, in order (a database of 4918c03's release that a later one
    gave the outbox lacks only 0003)."""
    from alembic import command

    cfg = config(conn)
    pending: str | None = None
    for revision, has in legacy_revisions(inspect(conn)):
        if has:
            pending = revision
            continue
        if pending is not None:
            command.stamp(cfg, pending)
            pending = None
        command.upgrade(cfg, revision)
    if pending is not None:
        command.stamp(cfg, pending)

"""Secrets at rest: the tokens we call partners with are sealed under the node's
secret key on SQLite and PostgreSQL; registration and delivery work through the
seal; migration 0012 seals what an older release stored plainly; ``ocpi db
rotate-key`` moves every secret to a new key; a wrong or missing key stops
``ocpi serve`` with a message naming where the key comes from."""

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Connection, MetaData, insert, select, text

from ocpi import get_application, secret_key
from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.demo import sample_locations
from ocpi.peers import handshake, sealing
from ocpi.peers.credentials import Party
from ocpi.peers.handshake import Us
from ocpi.peers.registry import Registry
from ocpi.secret_key import KEY_ENV, KEY_FILE_ENV, SecretKeyError
from ocpi.store import migrate
from ocpi.store.database import Database
from ocpi.store.schema import peers
from ocpi.store.sql_store import SqlStore

from .conftest import drop_everything
from .outbox_helpers import worker
from .servers import ServerThread, wait_serving
from .test_cli import free_port
from .test_migrations import ocpi, on_connection

OCPI = [sys.executable, "-m", "ocpi.cli"]
TOKEN = "the-token-we-call-them-with-0123456789"


def everything(conn: Connection) -> str:
    """Every row of every table, as text: what a stolen copy of the database shows."""
    tables = MetaData()
    tables.reflect(conn)
    return "\n".join(repr(tuple(row)) for t in tables.sorted_tables
                     for row in conn.execute(select(t)))


def stored_token_out(conn: Connection) -> list[str]:
    return [r[0] for r in conn.execute(text(
        "SELECT token_out FROM peers WHERE token_out IS NOT NULL ORDER BY id"))]


def key_in_file(path: str | Path) -> bytes:
    return Path(path).read_text().split()[0].encode()


def session_key() -> bytes:
    return key_in_file(os.environ[KEY_FILE_ENV])


async def test_the_token_we_call_with_is_sealed_and_the_tokens_they_call_with_hashed(
        database_url):
    db = Database(database_url)
    registry = Registry(db)
    peer, token_c = await registry.add_peer("DE", "MSP", "EMSP")
    await registry.update_peer(peer.id, token_out=TOKEN)
    await db.dispose()

    dump = await on_connection(database_url, everything)
    assert TOKEN not in dump and token_c not in dump
    [sealed] = await on_connection(database_url, stored_token_out)
    assert Fernet(session_key()).decrypt(sealed.encode()).decode() == TOKEN

    db = Database(database_url)
    registry = Registry(db)
    assert (await registry.get(peer.name)).token_out == TOKEN
    assert (await registry.identify(token_c)).country_code == "DE"  # looked up by hash
    assert TOKEN not in repr(await registry.get(peer.name))
    await registry.unregister(peer.id)
    assert await on_connection(database_url, stored_token_out) == []
    await db.dispose()


@contextmanager
def serving(database_url: str, role: RoleEnum, cc: str, pid: str) -> Iterator[str]:
    app = get_application(roles=[role], database_url=database_url, country_code=cc,
                          party_id=pid, operator_token="op", deliver=False)
    with ServerThread(app) as url:
        yield url


@pytest.mark.usefixtures("local_partners")
async def test_a_handshake_and_a_push_work_through_the_seal(database_url, tmp_path):
    """Our CPO (the backend under test) invites an eMSP of this package, which registers
    by the credentials handshake; each side stores the other's token sealed, and our
    outbox delivers a Location with the token it opens."""
    emsp_db = f"sqlite:///{tmp_path / 'emsp.db'}"
    with serving(database_url, RoleEnum.cpo, "NL", "CPO") as cpo_url, \
            serving(emsp_db, RoleEnum.emsp, "DE", "MSP") as emsp_url:
        cpo, emsp = Database(database_url), Database(emsp_db)
        _, token_a = await Registry(cpo).invite("DE", "MSP", "EMSP")
        us = Us(versions_url=f"{emsp_url}/ocpi/versions",
                parties=[Party("EMSP", "DE", "MSP", {"name": "DE MSP"})])
        theirs = await handshake.register(Registry(emsp), us, f"{cpo_url}/ocpi/versions",
                                          token_a, version="2.2.1")
        [ours] = await Registry(cpo).list_peers()
        assert ours.state == "registered" and ours.token_out and theirs.token_out
        for url, token in ((database_url, ours.token_out), (emsp_db, theirs.token_out)):
            assert token not in await on_connection(url, everything)

        location = sample_locations("NL", "CPO")[0]
        await SqlStore(cpo).create(ModuleID.locations, RoleEnum.cpo, location)
        await worker(cpo).drain_once()
        got = await SqlStore(emsp).get(ModuleID.locations, RoleEnum.emsp, location["id"],
                                       country_code="NL", party_id="CPO")
        assert got is not None and got["id"] == location["id"]
        for db in (cpo, emsp):
            await db.dispose()


def at_0011_with_a_plain_token(conn: Connection) -> None:
    from alembic import command

    drop_everything(conn)
    command.upgrade(migrate.config(conn), "0011")
    conn.execute(insert(peers).values(name="old", country_code="DE", party_id="MSP",
                                      role="EMSP", state="registered", rotating=False,
                                      created_at=datetime(2026, 1, 1), token_out=TOKEN))


def to(revision: str, down: bool = False):
    def move(conn: Connection) -> None:
        from alembic import command

        (command.downgrade if down else command.upgrade)(migrate.config(conn), revision)
    return move


async def test_the_migration_seals_a_plain_token_and_the_downgrade_opens_it(
        database_url, monkeypatch, tmp_path):
    await on_connection(database_url, at_0011_with_a_plain_token)

    # no key: the upgrade stops, names where a key goes, and changes nothing
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "absent.key"))
    with pytest.raises(SecretKeyError, match=f"revision 0012 .*{KEY_ENV}.*absent.key"):
        await on_connection(database_url, to("head"))
    refused = await ocpi("db", "upgrade", url=database_url)
    assert refused.returncode == 1 and refused.stderr.startswith(
        "error: revision 0012 seals the partners' tokens and needs the node's secret key: "
        f"no secret key: set {KEY_ENV}, or {KEY_FILE_ENV} to a key file, or create "
        f"{tmp_path / 'absent.key'}"), refused.stderr
    assert await on_connection(database_url, migrate.read_revision) == "0011"
    assert await on_connection(database_url, stored_token_out) == [TOKEN]
    assert not (tmp_path / "absent.key").exists()
    monkeypatch.undo()

    await on_connection(database_url, to("head"))
    [sealed] = await on_connection(database_url, stored_token_out)
    assert sealed != TOKEN and Fernet(session_key()).decrypt(sealed.encode()) == TOKEN.encode()
    db = Database(database_url)
    assert (await Registry(db).get("old")).token_out == TOKEN
    assert await sealing.verify(db, secret_key.current()) == 1
    await db.dispose()

    await on_connection(database_url, to("0011", down=True))
    assert await on_connection(database_url, stored_token_out) == [TOKEN]
    await on_connection(database_url, to("head"))  # and sealed again
    assert await on_connection(database_url, stored_token_out) != [TOKEN]


async def test_rotate_key_seals_every_secret_under_the_new_key(database_url, monkeypatch,
                                                               tmp_path):
    db = Database(database_url)
    registry = Registry(db)
    for n in range(3):
        peer, _ = await registry.add_peer("DE", f"MS{n}", "EMSP")
        await registry.update_peer(peer.id, token_out=f"{TOKEN}-{n}")
    await db.dispose()
    old, new = session_key(), secret_key.generate()

    async def opens_with(key: bytes | str) -> list[str]:
        return [Fernet(key).decrypt(s.encode()).decode()
                for s in await on_connection(database_url, stored_token_out)]

    expected = [f"{TOKEN}-{n}" for n in range(3)]
    assert await opens_with(old) == expected

    # a key that opens nothing: refused, nothing changed
    monkeypatch.setenv(KEY_ENV, secret_key.generate())
    refused = await ocpi("db", "rotate-key", url=database_url)
    assert refused.returncode == 1 and "nothing changed" in refused.stderr
    assert KEY_ENV in refused.stderr and TOKEN not in refused.stderr + refused.stdout
    assert await opens_with(old) == expected

    # OCPI_SECRET_KEY="new,old": sealed under new; running it again changes nothing
    monkeypatch.setenv(KEY_ENV, f"{new},{old.decode()}")
    for _ in range(2):
        done = await ocpi("db", "rotate-key", url=database_url)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("3 partner token(s) and the key check sealed again")
        assert await opens_with(new) == expected
    with pytest.raises(InvalidToken):
        await opens_with(old)

    # the node now runs on the new key alone; the old one is refused at start
    monkeypatch.setenv(KEY_ENV, new)
    db = Database(database_url)
    assert await sealing.verify(db, secret_key.current()) == 3
    assert [p.token_out for p in await Registry(db).list_peers()] == expected
    monkeypatch.setenv(KEY_ENV, old.decode())
    with pytest.raises(SecretKeyError, match=f"another key than the one from {KEY_ENV}: wrong"):
        await sealing.verify(db, secret_key.current())
    await db.dispose()

    # --new-key-file: the new key is made there, owner-only; the old one read as usual
    monkeypatch.setenv(KEY_ENV, new)
    newer = tmp_path / "keys" / "newer.key"
    done = await ocpi("db", "rotate-key", "--new-key-file", str(newer), url=database_url)
    assert done.returncode == 0, done.stderr
    assert f"OCPI_SECRET_KEY_FILE={newer}" in done.stdout
    assert stat.S_IMODE(newer.stat().st_mode) == 0o600
    assert await opens_with(key_in_file(newer)) == expected


async def test_a_command_run_with_another_key_cannot_seal_tokens_the_node_cannot_read(
        database_url, monkeypatch):
    """An operator's laptop with a key of its own, against the node's database."""
    db = Database(database_url)
    registry = Registry(db)
    peer, _ = await registry.add_peer("DE", "MSP", "EMSP")
    await registry.update_peer(peer.id, token_out=TOKEN)
    monkeypatch.setenv(KEY_ENV, secret_key.generate())
    with pytest.raises(SecretKeyError, match=f"another key than the one from {KEY_ENV}"):
        await registry.update_peer(peer.id, token_out="from-the-laptop")
    async with db.begin() as tx:  # no key check recorded (a release before it): the rows tell
        await tx.execute(text("DELETE FROM settings WHERE key = 'secret_key_check'"))
    with pytest.raises(SecretKeyError, match=f"1 of 1 partner tokens do not open .*{KEY_ENV}"):
        await registry.update_peer(peer.id, token_out="from-the-laptop")
    monkeypatch.undo()
    assert (await registry.get(peer.name)).token_out == TOKEN
    await db.dispose()


def serve(db: str, *, env: dict[str, str], port: int = 1) -> subprocess.CompletedProcess:
    """``ocpi serve`` expected to stop before it serves (port 1 could not be bound)."""
    return subprocess.run([*OCPI, "serve", "--database", db, "--port", str(port)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


async def test_a_wrong_or_unusable_key_stops_ocpi_serve(tmp_path):
    url = f"sqlite:///{tmp_path / 'node.db'}"
    db = Database(url)
    registry = Registry(db)
    peer, _ = await registry.add_peer("DE", "MSP", "EMSP")
    await registry.update_peer(peer.id, token_out=TOKEN)
    await db.dispose()

    wrong = serve(url, env={KEY_ENV: secret_key.generate()})
    assert wrong.returncode == 1 and wrong.stdout == ""
    assert KEY_ENV in wrong.stderr and "wrong key" in wrong.stderr

    malformed = serve(url, env={KEY_ENV: "not-a-fernet-key"})
    assert malformed.returncode == 1 and f"from {KEY_ENV} is not a Fernet key" in \
        malformed.stderr

    shared = tmp_path / "shared.key"
    shared.write_text(session_key().decode())
    shared.chmod(0o640)
    open_file = serve(url, env={KEY_FILE_ENV: str(shared)})
    assert open_file.returncode == 1 and str(shared) in open_file.stderr
    assert "chmod 600" in open_file.stderr

    not_a_dir = tmp_path / "not-a-dir"
    not_a_dir.write_text("")
    unusable = serve(url, env={KEY_FILE_ENV: str(not_a_dir / "secret.key")})
    assert unusable.returncode == 1 and f"{not_a_dir / 'secret.key'} cannot be" in \
        unusable.stderr
    # a delivery process refuses a wrong key at start too, not at each delivery
    env = {k: v for k, v in os.environ.items() if k not in (KEY_ENV, KEY_FILE_ENV)}
    worker = subprocess.run([*OCPI, "outbox", "work", "--once", "--database", url],
                            capture_output=True, text=True, timeout=60,
                            env={**env, KEY_ENV: secret_key.generate()})
    assert worker.returncode != 0 and "wrong key" in worker.stderr, worker.stderr
    for done in (wrong, malformed, open_file, unusable, worker):
        assert "Traceback" not in done.stderr and TOKEN not in done.stderr


def test_the_key_file_made_at_first_start_is_named_and_owner_only(tmp_path):
    key_file = tmp_path / "config" / "ocpi" / "secret.key"
    env = {**os.environ, KEY_FILE_ENV: str(key_file)}
    env.pop(KEY_ENV, None)
    url = f"sqlite:///{tmp_path / 'node.db'}"
    outputs = []
    for _ in range(2):
        port = free_port()
        proc = subprocess.Popen([*OCPI, "serve", "--database", url, "--port", str(port)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)
        try:
            wait_serving(f"http://127.0.0.1:{port}", proc,
                         lambda p=proc: p.stderr.read() if p.stderr else "")
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=10)
        outputs.append([line for line in out.splitlines() if "secret key" in line])
    assert outputs == [[f"  secret key: {key_file} (created now: back it up, see "
                        "docs/security.md)"], [f"  secret key: {key_file}"]]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700


def test_the_key_file_is_made_owner_only_and_refused_when_others_can_read_it(tmp_path):
    path = tmp_path / "k" / "secret.key"
    made = secret_key.load_file(path)
    assert made.created and stat.S_IMODE(path.stat().st_mode) == 0o600
    again = secret_key.load_file(path)
    assert not again.created and again.decrypt(made.encrypt("x")) == "x"
    for mode in (0o640, 0o604, 0o620):
        path.chmod(mode)
        with pytest.raises(SecretKeyError, match=r"open to its group or others.*chmod 600"):
            secret_key.load_file(path)
    path.chmod(0o600)
    with pytest.raises(SecretKeyError, match=f"{KEY_ENV}.*{KEY_FILE_ENV}"):
        secret_key.load_file(tmp_path / "none.key", create=False)
    empty = tmp_path / "empty.key"
    empty.write_text("\n")
    empty.chmod(0o600)
    with pytest.raises(SecretKeyError, match="no secret key in"):
        secret_key.load_file(empty)


def test_several_keys_the_first_seals_and_all_open(monkeypatch):
    old, new = secret_key.generate(), secret_key.generate()
    monkeypatch.setenv(KEY_ENV, old)
    sealed_old = secret_key.load().encrypt(TOKEN)
    monkeypatch.setenv(KEY_ENV, f"{new}, {old}")
    both = secret_key.load()
    assert both.decrypt(sealed_old) == TOKEN
    assert Fernet(new.encode()).decrypt(both.encrypt(TOKEN).encode()) == TOKEN.encode()
    assert Fernet(new.encode()).decrypt(both.rotate(sealed_old).encode()) == TOKEN.encode()
    monkeypatch.setenv(KEY_ENV, new)
    with pytest.raises(SecretKeyError, match=f"does not open with the key from {KEY_ENV}"):
        secret_key.load().decrypt(sealed_old)

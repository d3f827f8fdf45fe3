"""Fixtures: every API and storage test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``OCPI_TEST_POSTGRES_URL`` (default: the CI machine's
``postgresql://postgres@127.0.0.1:5432/test``); an unreachable one fails the
run. Only ``OCPI_TEST_NO_POSTGRES=1`` leaves the PostgreSQL half out, and it
is ignored under ``CI=true``: nothing is ever skipped silently.
"""

import base64
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, MetaData

from ocpi import get_application, secret_key
from ocpi.core import jsonutil
from ocpi.core.mapping import without_nulls
from ocpi.store import migrate
from ocpi.store.database import Database

OPERATOR = "operator-secret-token"
PG_URL = os.environ.get("OCPI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
EXAMPLES = Path(__file__).resolve().parent / "data" / "ocpi-examples"  # the spec's, see README
BACKENDS = ["sqlite"]
if os.environ.get("CI") == "true" or os.environ.get("OCPI_TEST_NO_POSTGRES") != "1":
    BACKENDS.append("postgresql")


def _session_key_file() -> Path:
    """The node's secret key for the whole run, in a key file of its own: no test writes
    to the home directory. Set at import, before any test module copies ``os.environ``
    for the ``ocpi`` processes it starts."""
    path = Path(tempfile.mkdtemp(prefix="ocpi-test-key-")) / "secret.key"
    secret_key.load_file(path)  # made before any subprocess could race to make it
    os.environ.pop(secret_key.KEY_ENV, None)
    os.environ[secret_key.KEY_FILE_ENV] = str(path)
    return path


SESSION_KEY_FILE = _session_key_file()


@pytest.fixture(scope="session", autouse=True)
def node_secret_key() -> Iterator[Path]:
    """Every test runs with the session's key file; it goes with the run."""
    yield SESSION_KEY_FILE
    shutil.rmtree(SESSION_KEY_FILE.parent, ignore_errors=True)


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ocpi.db'}"
        return
    await reset_postgres()
    yield PG_URL


async def reset_postgres() -> None:
    """The shared PostgreSQL test database made anew by the migrations, so every
    test runs on the schema an upgraded production database has."""
    db = Database(PG_URL)
    await db.run_schema_change(migrate_from_nothing)
    await db.dispose()


def drop_everything(conn: Connection) -> None:
    """Every table, ``alembic_version`` included."""
    tables = MetaData()
    tables.reflect(conn)
    tables.drop_all(conn)


def migrate_from_nothing(conn: Connection) -> None:
    from alembic import command

    drop_everything(conn)
    command.upgrade(migrate.config(conn), "head")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A ``Database`` on the backend under test (store and outbox tests)."""
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def local_partners(monkeypatch: pytest.MonkeyPatch) -> None:
    """Partners on 127.0.0.1 over http, as in every test with real partner servers."""
    monkeypatch.setenv("OCPI_ALLOW_INSECURE_PARTNERS", "1")


class Node:
    """A node under test and an HTTP client to it."""

    def __init__(self, app: Any, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client
        self.node = app.state.node

    async def partner(self, country_code: str, party_id: str, role: str = "CPO") -> str:
        _, token = await self.node.registry.add_peer(country_code, party_id, role)
        return token


@pytest.fixture
async def node(database_url: str) -> AsyncIterator[Node]:
    app = get_application(database_url=database_url, operator_token=OPERATOR,
                          country_code="NL", party_id="OCP", max_page_size=50)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Node(app, client)
    await app.state.node.db.dispose()


def auth(token: str, version: str = "2.2.1") -> dict[str, str]:
    """The header as the version says: base64 on 2.2+, plain on 2.1.1."""
    if version.startswith("2.1"):
        return {"Authorization": f"Token {token}"}
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


def op(version: str = "2.2.1") -> dict[str, str]:
    return auth(OPERATOR, version)


def dumps(obj: Any) -> bytes:
    """Request bodies with exact decimals, as a partner's serialiser would send them."""
    return jsonutil.dumps(obj)


def body(response: httpx.Response) -> Any:
    """Parse a response the way the node does (exact decimals)."""
    return jsonutil.loads(response.content)


def example(version: str, name: str) -> Any:
    text = (EXAMPLES / version / name).read_text()
    try:
        return jsonutil.loads(text)
    except ValueError:
        return jsonutil.loads("{" + text + "}")  # 2.1.1 fragments like `"energy_mix": {...}`


drop_nulls = without_nulls

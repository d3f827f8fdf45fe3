"""The node's identity, written by ``ocpi serve`` and read by the other commands.

``ocpi peers invite`` must print our versions URL and ``ocpi peers register``
must send our parties and roles; both run beside the server, often without
its flags, so the server records what it runs as.
"""

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select

from ..core import jsonutil
from .database import Database
from .schema import settings

KEY = "node"


@dataclass
class NodeSettings:
    base_url: str | None = None  # what partners call; versions at {base_url}/ocpi/versions
    country_code: str | None = None
    party_id: str | None = None
    roles: list[str] = field(default_factory=lambda: ["CPO", "EMSP"])
    business_name: str | None = None

    @property
    def versions_url(self) -> str | None:
        return f"{self.base_url.rstrip('/')}/ocpi/versions" if self.base_url else None


async def load(db: Database) -> NodeSettings:
    async with db.begin() as tx:
        row = (await tx.execute(select(settings.c.value).where(settings.c.key == KEY))).first()
    if row is None:
        return NodeSettings()
    raw: dict[str, Any] = jsonutil.loads(row[0])
    known = NodeSettings.__dataclass_fields__
    return NodeSettings(**{k: v for k, v in raw.items() if k in known})


async def save(db: Database, node: NodeSettings) -> None:
    async with db.begin() as tx:
        await tx.execute(delete(settings).where(settings.c.key == KEY))
        await tx.execute(insert(settings).values(key=KEY,
                                                 value=jsonutil.dumps(asdict(node)).decode()))


async def get_value(db: Database, key: str) -> Any:
    """A small piece of node state (e.g. a connector's cursor), or ``None``."""
    async with db.begin() as tx:
        row = (await tx.execute(select(settings.c.value).where(settings.c.key == key))).first()
    return jsonutil.loads(row[0]) if row else None


async def set_value(db: Database, key: str, value: Any) -> None:
    async with db.begin() as tx:
        await tx.execute(delete(settings).where(settings.c.key == key))
        await tx.execute(insert(settings).values(key=key, value=jsonutil.dumps(value).decode()))

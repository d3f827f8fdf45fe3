"""What every command group shares: the database, output, partners, us."""

import argparse
import asyncio
import json
import sys
from typing import Any

from ..store.database import Database, database_url_from_env


def open_db(args: argparse.Namespace) -> Database:
    return Database(args.database or database_url_from_env())


def show(args: argparse.Namespace, data: Any, text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, default=str))
    else:
        print(text)



def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


async def us_from(db: Database, args: argparse.Namespace) -> Any:
    """Who we are towards partners: what `ocpi serve` recorded, flags first."""
    from ..services.us import us

    return await us(db, getattr(args, "public_url", None))


def with_db(args: argparse.Namespace, work: Any) -> Any:
    """Run ``work(db)`` on the command's database and dispose of it afterwards."""
    async def run() -> Any:
        db = open_db(args)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def with_registry(args: argparse.Namespace, work: Any) -> Any:
    """Run ``work(db, registry)`` and dispose of the database afterwards."""
    from ..peers.registry import Registry

    return with_db(args, lambda db: work(db, Registry(db)))


def known_errors() -> tuple[type[Exception], ...]:
    """Failures reported as one clear line, not a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..peers.client import PartnerError
    from ..peers.handshake import HandshakeError

    return (ValueError, PartnerError, HandshakeError, SQLAlchemyError, OSError)


async def named_peer(registry: Any, name: str) -> Any:
    peer = await registry.get(name)
    if peer is None:
        raise ValueError(f"no partner called {name} (see `ocpi peers list`)")
    return peer

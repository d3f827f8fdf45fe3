"""The ``ocpi`` command: run a node, manage partners, import data.

One file per command group; each adds its subcommands in ``register``.
"""

import argparse

from ..secret_key import SecretKeyError
from ..store import migrate
from . import (
    cdrs,
    chargingprofiles,
    commands,
    db,
    imports,
    outbox,
    peers,
    serve,
    smappee,
    tariffs,
    tokens,
)
from .common import fail


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocpi", description="An OCPI CPO/eMSP node.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--database", help="sqlite:///path or postgresql://... "
                       "(default: $OCPI_DATABASE_URL or sqlite:///./ocpi.db)")
        p.add_argument("--json", action="store_true", help="machine-readable output")

    for group in (serve, peers, smappee, outbox, db, imports, tokens, tariffs, cdrs, commands,
                  chargingprofiles):
        group.register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except migrate.SchemaError as exc:  # e.g. PostgreSQL behind head: the node will not start
        return fail(str(exc))
    except SecretKeyError as exc:  # no key, or not the one the stored secrets need
        return fail(str(exc))


"""``ocpi smappee``: the Smappee charging-park connector."""

import argparse
import os
from collections.abc import Callable
from typing import Any

from ..store import settings as settings_store
from ..store.database import Database
from .common import fail, known_errors, show, with_registry


def cmd_smappee_sync(args: argparse.Namespace) -> int:
    from ..connectors.smappee.client import SmappeeError
    from ..connectors.smappee.config import SmappeeConfig
    from ..connectors.smappee.sync import SmappeeSync
    from ..services.authorization import smappee_hook
    from ..store.sql_store import SqlStore

    path = args.config or os.environ.get("OCPI_SMAPPEE_CONFIG")
    if not path:
        return fail("give the connector's config with --config or OCPI_SMAPPEE_CONFIG")

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
        result = with_registry(args, work)
    except (*known_errors(), SmappeeError) as exc:
        return fail(f"Smappee sync failed: {exc}")
    show(args, result.as_dict(), f"{result.created} new, {result.updated} updated, "
           f"{result.unchanged} unchanged sessions"
           + (f"; UNMAPPED stations skipped: {', '.join(result.as_dict()['unmapped'])}"
              if result.unmapped else "")
           + "".join(f"\n  problem: {p}" for p in result.problems[:20]))
    return 0 if result.ok else 1




def register(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    smp = sub.add_parser("smappee", help="the Smappee charging-park connector")
    ssub = smp.add_subparsers(dest="smappee_command", required=True)
    sync = ssub.add_parser("sync", help="bring sessions in line with Smappee once")
    common(sync)
    sync.add_argument("--config", help="JSON config (default $OCPI_SMAPPEE_CONFIG)")
    sync.add_argument("--country-code", help="our party (default: as `ocpi serve` recorded)")
    sync.add_argument("--party-id")
    sync.set_defaults(func=cmd_smappee_sync)

"""Who we are towards partners, for a handshake or a pull started by the operator.

``ocpi serve`` records the node's URL, parties and roles (store/settings.py);
the CLI and the console act beside the server, often without its flags, and
read them here.
"""

import os

from ..peers.credentials import Party
from ..peers.handshake import Us
from ..store import settings as settings_store
from ..store.database import Database


async def us(db: Database, public_url: str | None = None, country_code: str | None = None,
             party_id: str | None = None) -> Us:
    """Our versions URL and parties: what is given first (flags, or the running
    node's settings), then the environment, then what ``ocpi serve`` recorded."""
    node = await settings_store.load(db)
    base = public_url or os.environ.get("OCPI_PUBLIC_URL") or node.base_url
    if not base:
        raise ValueError("our versions URL is not known: run `ocpi serve` once on this "
                         "database, or pass --public-url")
    cc = country_code or node.country_code or os.environ.get("OCPI_COUNTRY_CODE")
    pid = party_id or node.party_id or os.environ.get("OCPI_PARTY_ID")
    if not cc or not pid:
        raise ValueError("our country code and party id are not known: run `ocpi serve` "
                         "once on this database, or set OCPI_COUNTRY_CODE and OCPI_PARTY_ID")
    cc, pid = cc.upper(), pid.upper()
    details = {"name": node.business_name or f"OCPI node {cc}/{pid}"}
    return Us(versions_url=f"{base.rstrip('/')}/ocpi/versions",
              parties=[Party(r, cc, pid, details) for r in node.roles])

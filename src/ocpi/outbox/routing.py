"""Who receives what: the subscription rules of the outbox.

Locations (and later Tariffs) go to every partner that is not a CPO. A
Session (and later a CDR) goes only to the party that owns its token: to
that eMSP directly when it is our partner, else to the hubs, with routing
headers naming the eMSP. It never goes to another eMSP.
"""

from collections.abc import Iterable
from typing import Any

from ..peers.peer import Peer
from ..store.keys import id_key, party_key

BROADCAST = frozenset({"locations", "tariffs"})
TO_TOKEN_OWNER = frozenset({"sessions", "cdrs"})
ROUTED = BROADCAST | TO_TOKEN_OWNER

Recipient = tuple[Peer, tuple[str, str] | None]  # the peer, and OCPI-to when not its own


def object_key(data: dict[str, Any]) -> str:
    return (f"{party_key(data['country_code'])}/{party_key(data['party_id'])}/"
            f"{id_key(data['id'])}")


def _receives(peer: Peer, module: str) -> bool:
    return (peer.state == "registered" and bool(peer.token_out) and bool(peer.version)
            and peer.endpoint(module, "RECEIVER") is not None)


def _token_owner(data: dict[str, Any]) -> tuple[str, str] | None:
    token = data.get("cdr_token")
    if not isinstance(token, dict) or not token.get("country_code") or not token.get("party_id"):
        return None
    return party_key(token["country_code"]), party_key(token["party_id"])


def recipients(peers: Iterable[Peer], module: str, data: dict[str, Any]) -> list[Recipient]:
    candidates = [p for p in peers if _receives(p, module)]
    if module in BROADCAST:
        return [(p, None) for p in candidates
                if p.is_hub or any(party.role != "CPO" for party in p.all_parties())]
    owner = _token_owner(data)
    if owner is None:
        return []
    direct = [p for p in candidates if not p.is_hub and any(
        (party_key(party.country_code), party_key(party.party_id)) == owner
        and party.role != "CPO" for party in p.all_parties())]
    if direct:
        return [(p, None) for p in direct]
    return [(p, owner) for p in candidates if p.is_hub]

"""Who receives what: the push rules of the object declarations, applied.

Locations go to every partner that is not only a CPO (and to hubs). Tokens
go to every partner that is a CPO (and to hubs). A Session goes only to the
party that owns its token: to that eMSP directly when it is our partner,
else to the hubs that report reaching it (Hub Client Info), or to every hub
when none does, with routing headers naming the eMSP; never to another eMSP.
"""

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import Any

from ..modules.kernel import ObjectType, PushRule
from ..peers.peer import Peer
from ..store.keys import id_key, party_key

Recipient = tuple[Peer, tuple[str, str] | None]  # the peer, and OCPI-to when not its own


def object_key(decl: ObjectType, data: dict[str, Any]) -> str:
    return (f"{party_key(data['country_code'])}/{party_key(data['party_id'])}/"
            f"{id_key(decl.key(data))}")


def _receives(peer: Peer, module: str) -> bool:
    return (peer.state == "registered" and bool(peer.token_out) and bool(peer.version)
            and peer.endpoint(module, "RECEIVER") is not None)


def _token_owner(data: dict[str, Any]) -> tuple[str, str] | None:
    token = data.get("cdr_token")
    if not isinstance(token, dict) or not token.get("country_code") or not token.get("party_id"):
        return None
    return party_key(token["country_code"]), party_key(token["party_id"])


def recipients(peers: Iterable[Peer], decl: ObjectType, data: dict[str, Any]
               ) -> list[Recipient]:
    if decl.push == PushRule.NONE:
        return []
    candidates = [p for p in peers if _receives(p, decl.module.value)]
    if decl.push == PushRule.TO_NON_CPOS:
        return [(p, None) for p in candidates
                if p.is_hub or any(party.role != "CPO" for party in p.all_parties())]
    if decl.push == PushRule.TO_CPOS:
        return [(p, None) for p in candidates
                if p.is_hub or any(party.role == "CPO" for party in p.all_parties())]
    owner = _token_owner(data)
    if owner is None:
        return []
    direct = [p for p in candidates if not p.is_hub and any(
        (party_key(party.country_code), party_key(party.party_id)) == owner
        and party.role != "CPO" for party in p.all_parties())]
    if direct:
        return [(p, None) for p in direct]
    return [(p, owner) for p in candidates if p.is_hub]


def via_hubs(targets: list[Recipient]) -> tuple[str, str] | None:
    """The party several hubs would carry an object to, when that is the choice
    (the object then goes only to the hubs that report reaching it)."""
    if len(targets) < 2 or not all(p.is_hub and to is not None for p, to in targets):
        return None
    return targets[0][1]


def narrowed(targets: list[Recipient], reaching: AbstractSet[tuple[str, str]],
             carrying: AbstractSet[int] = frozenset()) -> list[Recipient]:
    """The hubs among ``targets`` that report reaching the party (CONNECTED or
    OFFLINE), and those that already carry the object (no stale copies); all of them
    when none reports it. A party every hub reports SUSPENDED still goes to all: the
    hubs refuse it, visibly, into dead letters, rather than the node dropping it."""
    if not reaching:
        return targets
    return [t for t in targets if t[0].id in carrying
            or (party_key(t[0].country_code), party_key(t[0].party_id)) in reaching] or targets

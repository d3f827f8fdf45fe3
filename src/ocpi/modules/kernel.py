"""The module kernel: one declaration per stored OCPI object type.

A declaration says once what every layer needs to know of an object type:
its schema per version, how its key is read (from an object, from a URL),
which rows are the node's own, its indexed columns, its PATCH rules, how it
is rendered per version and to whom the node's own objects are pushed. The
store, the outbox, list pages, pulls, imports and the CLI read declarations
from ``modules.registry``; none of them names a module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Table

from ..core.enums import ModuleID, RoleEnum
from ..core.status import Status
from ..core.types import OcpiModel
from ..store.objects import StoredType
from ..store.objects import register as register_stored
from .versions.enums import SUPPORTED_VERSIONS

# (module, id, country_code, party_id) -> the stored object of the same side: what a
# renderer may read besides the object itself (a 2.1.1 Session embeds its Location)
Getter = Callable[[ModuleID, str, str | None, str | None], Awaitable[dict[str, Any] | None]]
CallKey = tuple[str, dict[str, Any]]  # a Crud call's id and keyword extras


class PushRule(StrEnum):
    """To whom the node's own objects of a type go, through the outbox."""

    NONE = "none"
    TO_NON_CPOS = "to-non-cpos"  # every partner with a non-CPO party, and hubs (Locations)
    TO_CPOS = "to-cpos"  # every partner with a CPO party, and hubs (Tokens)
    TO_TOKEN_OWNER = "to-token-owner"  # the eMSP owning cdr_token, else hubs routed to it


def _default_key(data: dict[str, Any]) -> str:
    return str(data["id"])


def _id_of(data: dict[str, Any]) -> CallKey:
    return str(data["id"]), {}


def _no_context(data: dict[str, Any], version: str) -> bool:
    return False


@dataclass(frozen=True)
class ObjectType:
    module: ModuleID
    name: str  # as messages name it: "Session"
    table: Table
    own_role: RoleEnum  # the side whose rows are the node's own (the sender)
    schemas: Mapping[str, type[OcpiModel]]  # version -> the object's model
    # canonical -> wire (kind: a nested object's kind; context: see ``needs_context``)
    to_wire: Callable[..., dict[str, Any]]
    # wire -> canonical: (wire, version, country_code, party_id)
    to_canonical: Callable[..., dict[str, Any]]
    key: Callable[[dict[str, Any]], str] = _default_key  # the store's one-string key
    # the keys a URL may mean, first the likeliest: (params, query, version) -> keys
    url_keys: Callable[[Mapping[str, str], Mapping[str, str], str], list[CallKey]] = field(
        default=lambda params, query, version: [(params["object_id"], {})])
    call_key: Callable[[dict[str, Any]], CallKey] = _id_of  # an object's key, as a call's
    key_of_call: Callable[[str, dict[str, Any]], str] = field(  # a call's key, as the store's
        default=lambda id, kwargs: id)
    id_field: str = "id"  # the body field named when the URL and the body disagree
    columns: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda data: {})
    push: PushRule = PushRule.NONE
    # what the push may send: PUT/PATCH replicate state; DELETE also sends removals;
    # POST alone: each object is sent once, whole, to the receiver's endpoint (a CDR),
    # a one-off call whose answer and Location header are kept
    push_methods: frozenset[str] = frozenset({"PUT", "PATCH"})
    # the versions whose receivers take a PATCH (None: all); the others get a PUT
    # (Tariffs: only 2.1.1 has PATCH)
    patch_versions: frozenset[str] | None = None
    # the object's path below a partner's endpoint URL: /CC/PID/id[?type=]
    url_path: Callable[[dict[str, Any], str], str] = field(
        default=lambda data, version:
        f"/{data['country_code']}/{data['party_id']}/{data['id']}")
    appended: Callable[[str], tuple[str, ...]] = field(default=lambda version: ())
    keyed_lists: Mapping[str, str] = field(default_factory=dict)
    # fields a PATCH cannot say (appended or embedded whole): a change sends a PUT
    put_when_changed: frozenset[str] = frozenset()
    unknown_status: Callable[[str], Status] = field(
        default=lambda version: Status.CLIENT_ERROR)
    # a 2.1.1 rendering needing another stored object: (data, version) -> bool
    needs_context: Callable[[dict[str, Any], str], bool] = _no_context
    load_context: Callable[[Getter, dict[str, Any]], Awaitable[dict[str, Any] | None]] | None \
        = None
    # the partner roles that may read our own objects (None: every partner; a hub always)
    readers: frozenset[str] | None = None
    # list pages of the sender interface show a partner only its own tokens' objects
    visible_to_token_owner: bool = False
    nested_patch: bool = False  # changes inside one EVSE/Connector go to its own URL
    # why one of the node's own objects could not be served in every version, or None
    own_problem: Callable[[dict[str, Any]], str | None] = field(default=lambda data: None)
    # (version, kind) -> the model of a nested kind ("evse", "connector"), if any
    nested_model: Callable[[str, str], type[OcpiModel] | None] | None = None
    # a hub's report about other parties (ClientInfo): none is ours or imported; a row
    # is stored under the party it describes, keyed by the hub that reported it, under
    # HUB whichever of our interfaces it came in on
    hub_reported: bool = False
    # what the node fills in one of its own objects before it is validated, and the note
    # that says so (a Location's time_zone from its coordinates); (data, None): nothing
    complete_own: Callable[[dict[str, Any]], tuple[dict[str, Any], str | None]] = field(
        default=lambda data: (data, None))
    # the objects of ours one of ours names, as (module, id): a Location's connectors'
    # tariffs. One we do not hold is a warning for the operator, never a refusal
    references: Callable[[dict[str, Any]], list[tuple[ModuleID, str]]] = field(
        default=lambda data: [])
    # the node builds its own objects of this type itself (a CDR from a completed
    # Session): none is imported or written by the operator, who may only read them
    generated: bool = False

    @property
    def posted(self) -> bool:
        """Our own objects go once, as a POST (CDRs), not as replicated state."""
        return self.push_methods == frozenset({"POST"})

    def patchable(self, version: str) -> bool:
        return self.patch_versions is None or version in self.patch_versions

    @property
    def partner_role(self) -> RoleEnum:
        """The side partners' objects of this type are stored under (the receiver's)."""
        if self.hub_reported:
            return RoleEnum.hub
        return RoleEnum.emsp if self.own_role == RoleEnum.cpo else RoleEnum.cpo

    def row_role(self, interface: RoleEnum) -> RoleEnum:
        """The side an object written on ``interface`` is stored under."""
        return RoleEnum.hub if self.hub_reported else interface

    def model(self, version: str, kind: str | None = None) -> type[OcpiModel]:
        if kind is not None and self.nested_model is not None:
            nested = self.nested_model(version, kind)
            if nested is not None:
                return nested
        return self.schemas.get(version, self.schemas["2.3.0"])

    def plain_versions(self, data: dict[str, Any]) -> str | None:
        """``REVISION`` and the versions whose wire form is ``data`` itself."""
        same = [str(v) for v in SUPPORTED_VERSIONS
                if not self.needs_context(data, str(v)) and self.to_wire(data, str(v)) == data]
        return " ".join([REVISION, *same]) if same else None

    def stored_type(self) -> StoredType:
        return StoredType(name=self.module.value, table=self.table,
                          own_role=str(self.own_role), key=self.key,
                          key_of_call=self.key_of_call, columns=self.columns,
                          visible_to_token_owner=self.visible_to_token_owner,
                          # a hub's reports are never listed by us: no zero-copy flags
                          wire_versions=None if self.hub_reported else self.plain_versions)


# The converters' revision, first word of every zero-copy flag. A converter change
# that alters what some stored object renders to (defaults filled, times cut) moves
# it: rows flagged by an older revision are rendered again, not spliced.
# 2: 2.1.1 postal_code and #NA defaults, DateTimes cut to milliseconds (issue 12)
REVISION = "r2"


def declare(decl: ObjectType) -> ObjectType:
    """Make ``decl`` known to the store (its table, key and own rows)."""
    register_stored(decl.stored_type())
    return decl

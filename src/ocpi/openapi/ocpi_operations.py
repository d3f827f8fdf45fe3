"""The operation of each declared OCPI endpoint, from the module's declarations.

An object module's shared endpoints (``generic.Handlers``: the sender's list, the
receiver's GET/PUT/PATCH/DELETE by key, the operator's management writes) follow
from its ``ObjectType``: the object's model in the version, a nested one where the
path names an EVSE or a Connector. A module's own endpoints (``OWN``) name the
models their handlers validate and answer, from the module's ``schemas.py``.
"""

from collections.abc import Callable
from typing import Any

from ..core.enums import FUNCTIONAL_MODULES, ModuleID, RoleEnum
from ..modules.chargingprofiles import schemas as profiles
from ..modules.commands import schemas as commands
from ..modules.kernel import ObjectType
from ..modules.registry import MODULES
from ..modules.sessions.schemas import PROFILE_TYPES, ChargingPreferences
from ..modules.tokens.schemas import AUTHORIZATION_INFO, LOCATION_REFERENCES, TOKEN_TYPES
from ..modules.versions.enums import is_v2_1
from ..peers.credentials import SCHEMAS as CREDENTIALS
from .operation import OPERATOR, Operation, query
from .routes import Declared
from .schemas import SchemaSet

PAGE_QUERY = [
    query("offset", {"type": "integer", "minimum": 0, "default": 0},
          "The first object's position in the whole list."),
    query("limit", {"type": "integer", "minimum": 0},
          "How many objects at most; lowered to the node's page size (X-Limit)."),
    query("date_from", {"type": "string", "format": "date-time"},
          "Only objects last updated at or after this time."),
    query("date_to", {"type": "string", "format": "date-time"},
          "Only objects last updated before this time."),
]
IDS = ["X-Request-ID", "X-Correlation-ID"]
ROUTING = ["OCPI-from-country-code", "OCPI-from-party-id", "OCPI-to-country-code",
           "OCPI-to-party-id"]


def describe(found: Declared, schemas: SchemaSet) -> Operation:
    """The operation of one declared endpoint in its version and role."""
    d, ep = found.definition, found.endpoint
    interface = d.interfaces[found.our_role][0]
    own = OWN.get((d.id, found.role, ep.method, ep.path)) or OWN.get(
        (d.id, None, ep.method, ep.path))
    decl = MODULES[d.id].objects if d.id in MODULES else None
    if own is not None:
        op = own(found, schemas)
    elif decl is not None and ep.method in _BY_KEY:
        op = _object_operation(found, decl, schemas)
    else:
        op = Operation(summary=f"{ep.method} (not described)", tag="",
                       described=False)
    op.tag = _tag(found)
    side = "management write of the operator" if ep.operator_only and ep.method != "GET" \
        else "read by the operator" if ep.operator_only else f"{interface.value} interface"
    op.summary = f"{d.id.value}: {op.summary}"
    op.description = "\n\n".join(p for p in (
        f"OCPI {found.version}, {_our(found)} {side}.", op.description,
        "Token A (registration) is accepted." if ep.allow_token_a else "") if p)
    if ep.operator_only:
        op.who = OPERATOR
    op.headers = IDS + (ROUTING if not is_v2_1(found.version)
                        and d.id.value in FUNCTIONAL_MODULES else [])
    return op


def _tag(found: Declared) -> str:
    return f"OCPI {found.version}" + (f" {found.role.value}" if found.role else "")


def _our(found: Declared) -> str:
    return f"our {found.role.value}" if found.role else "the node's"


_BY_KEY = {"GET", "PUT", "PATCH", "DELETE"}
_KINDS = (("connector_id", "connector", "Connector"), ("evse_uid", "evse", "EVSE"))


def _kind(decl: ObjectType, path: str) -> tuple[str | None, str]:
    """The nested kind a path addresses (a Location's EVSE or Connector) and its name."""
    if decl.nested_model is not None:
        for param, kind, name in _KINDS:
            if "{" + param + "}" in path:
                return kind, name
    return None, decl.name


def _object_operation(found: Declared, decl: ObjectType, schemas: SchemaSet) -> Operation:
    ep, version = found.endpoint, found.version
    kind, name = _kind(decl, ep.path)
    model = decl.model(version, kind)
    by_type = _token_type_query(found) if decl.module == ModuleID.tokens else []
    if ep.method == "GET" and not ep.path:
        return Operation(summary=f"list of {decl.name}s (paginated)", tag="",
                         data={"type": "array", "items": schemas.ref(model)}, paginated=True,
                         query=list(PAGE_QUERY))
    if ep.method == "GET":
        return Operation(summary=f"one {name}", tag="", data=schemas.ref(model), query=by_type)
    if ep.method == "PUT":
        return Operation(summary=f"store a whole {name}", tag="", body=schemas.ref(model),
                         created=True, query=by_type,
                         description="Answers 201 when it was new.")
    if ep.method == "PATCH":
        stamped = () if is_v2_1(version) or ep.operator_only else ("last_updated",)
        return Operation(summary=f"update fields of a {name}", tag="",
                         body=schemas.patch_ref(model, stamped), query=by_type,
                         description="The fields sent replace the stored ones; a list "
                         "keyed by id (a Location's EVSEs, their Connectors) is merged "
                         "item by item.")
    return Operation(summary=f"remove a {name}", tag="", query=by_type)


# --- the modules' own endpoints --------------------------------------------------------

Describer = Callable[[Declared, SchemaSet], Operation]


def _any_of(schemas: SchemaSet, models: Any) -> dict[str, Any]:
    refs = [schemas.ref(m) for m in dict.fromkeys(models)]
    return refs[0] if len(refs) == 1 else {"anyOf": refs}


def _token_type_query(found: Declared) -> list[dict[str, Any]]:
    if is_v2_1(found.version):
        return []
    return [query("type", {"type": "string", "enum": list(TOKEN_TYPES), "default": "RFID"},
                  "The token's type.")]


def _authorize(found: Declared, schemas: SchemaSet) -> Operation:
    v = found.version
    return Operation(summary="real-time authorization of one of our tokens", tag="",
                     body=schemas.ref(LOCATION_REFERENCES[v]), body_required=False,
                     data=schemas.ref(AUTHORIZATION_INFO[v]), query=_token_type_query(found))


def _charging_preferences(found: Declared, schemas: SchemaSet) -> Operation:
    return Operation(summary="set the driver's charging preferences of a session", tag="",
                     body=schemas.ref(ChargingPreferences),
                     data={"type": "string", "description": "ChargingPreferencesResponse"},
                     description="Profile types: " + ", ".join(PROFILE_TYPES) + ".")


def _cdr_post(found: Declared, schemas: SchemaSet) -> Operation:
    decl = MODULES[ModuleID.cdrs].objects
    assert decl is not None
    return Operation(summary="receive a CDR", tag="", body=schemas.ref(decl.model(found.version)),
                     created=True, description="Answers 201 with the CDR's URL in `Location`; "
                     "the same CDR again is answered alike, a changed one refused.")


def _command(found: Declared, schemas: SchemaSet) -> Operation:
    v = found.version
    requests = commands.REQUESTS[v]
    return Operation(summary="a command to a Charge Point", tag="",
                     body=_any_of(schemas, requests.values()),
                     data=schemas.ref(commands.RESPONSE[v]),
                     path_values={"command": list(requests)},
                     description="The body is the command's object: " + ", ".join(
                         f"{c}: {m.__name__}" for c, m in requests.items()) + ".")


def _command_result(found: Declared, schemas: SchemaSet) -> Operation:
    return Operation(summary="the result of a command we sent (our response_url)", tag="",
                     body=schemas.ref(commands.RESULT[found.version]),
                     path_notes={"uid": "The id in the response_url we gave."})


_RESPONSE_URL = query("response_url", {"type": "string", "maxLength": 255},
                      "Where the CPO POSTs the result.", required=True)


def _profile_get(found: Declared, schemas: SchemaSet) -> Operation:
    return Operation(summary="ask for a session's active charging profile", tag="",
                     data=schemas.ref(profiles.ChargingProfileResponse),
                     query=[query("duration", {"type": "integer", "minimum": 1},
                                  "Seconds of schedule wanted.", required=True),
                            _RESPONSE_URL])


def _profile_put(found: Declared, schemas: SchemaSet) -> Operation:
    return Operation(summary="set a session's charging profile", tag="",
                     body=schemas.ref(profiles.SetChargingProfile),
                     data=schemas.ref(profiles.ChargingProfileResponse))


def _profile_delete(found: Declared, schemas: SchemaSet) -> Operation:
    return Operation(summary="clear a session's charging profile", tag="",
                     data=schemas.ref(profiles.ChargingProfileResponse), query=[_RESPONSE_URL])


def _profile_result(found: Declared, schemas: SchemaSet) -> Operation:
    kinds = profiles.REQUEST_OF_PATH
    return Operation(summary="the result of a charging profile request (our response_url)",
                     tag="", body=_any_of(schemas, (profiles.RESULT_MODEL[k]
                                                    for k in kinds.values())),
                     path_values={"kind": list(kinds)},
                     path_notes={"kind": ", ".join(
                         f"{p} takes {profiles.RESULT_MODEL[k].__name__}"
                         for p, k in kinds.items()) + "."})


def _profile_update(found: Declared, schemas: SchemaSet) -> Operation:
    return Operation(summary="the CPO's new active charging profile of a session", tag="",
                     body=schemas.ref(profiles.ActiveChargingProfile))


def _location_three(found: Declared, schemas: SchemaSet) -> Operation:
    decl = MODULES[ModuleID.locations].objects
    assert decl is not None
    v = found.version
    return Operation(summary="one Connector (partners) or Location (the operator)", tag="",
                     data=_any_of(schemas, (decl.model(v, "connector"), decl.model(v))),
                     description="For a partner the three segments are "
                     "`{location_id}/{evse_uid}/{connector_id}`: a Connector. For the "
                     "operator they are first read as `{country_code}/{party_id}/"
                     "{location_id}`: a Location by its owner, else a Connector.")


def _credentials(method: str) -> Describer:
    def describe(found: Declared, schemas: SchemaSet) -> Operation:
        ours = schemas.ref(CREDENTIALS[found.version])
        if method == "GET":
            return Operation(summary="our credentials", tag="", data=ours)
        if method == "DELETE":
            return Operation(summary="unregister", tag="")
        what = "register (with token A)" if method == "POST" else "update the registration"
        return Operation(summary=what, tag="", body=ours, data=ours,
                         description="The body is the partner's credentials; the answer "
                         "ours, with the token the partner calls us with from now on.")
    return describe


# (module, our role or None for any, method, path below the module) -> its operation
OWN: dict[tuple[ModuleID, RoleEnum | None, str, str], Describer] = {
    (ModuleID.tokens, None, "POST", "/{token_uid}/authorize"): _authorize,
    (ModuleID.sessions, None, "PUT", "/{session_id}/charging_preferences"):
        _charging_preferences,
    (ModuleID.cdrs, None, "POST", ""): _cdr_post,
    (ModuleID.commands, None, "POST", "/{command}"): _command,
    (ModuleID.commands, None, "POST", "/{command}/{uid}"): _command_result,
    (ModuleID.charging_profile, RoleEnum.cpo, "GET", "/{session_id}"): _profile_get,
    (ModuleID.charging_profile, RoleEnum.cpo, "PUT", "/{session_id}"): _profile_put,
    (ModuleID.charging_profile, RoleEnum.cpo, "DELETE", "/{session_id}"): _profile_delete,
    (ModuleID.charging_profile, RoleEnum.emsp, "POST", "/{kind}/{uid}"): _profile_result,
    (ModuleID.charging_profile, RoleEnum.emsp, "PUT", "/{session_id}"): _profile_update,
    (ModuleID.locations, None, "GET", "/{a}/{b}/{c}"): _location_three,
    **{(ModuleID.credentials_and_registration, None, m, ""): _credentials(m)
       for m in ("GET", "POST", "PUT", "DELETE")},
}

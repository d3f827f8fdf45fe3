"""The OpenAPI 3.1 document of one app, written from the routes it serves."""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from starlette.routing import BaseRoute

from ..core.enums import RoleEnum
from ..core.interface import ModuleDefinition
from .node_operations import NODE, NODE_ROUTES
from .ocpi_operations import describe
from .operation import OPERATOR, PUBLIC, Operation
from .routes import Served, declared, served
from .schemas import REF, SchemaSet

ENVELOPE = "OcpiEnvelope"
_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")

PATH_PARAMS = {
    "country_code": "The object owner's country (ISO 3166-1 alpha-2).",
    "party_id": "The object owner's party id (ISO 15118).",
    "version": "An OCPI version served here.",
}


@dataclass(frozen=True)
class NodeFacts:
    """What the document says of the node itself."""

    title: str
    version: str
    versions: list[str]
    roles: list[RoleEnum]
    public_url: str | None = None


def build(routes: Iterable[BaseRoute], definitions: Iterable[ModuleDefinition], node: NodeFacts
          ) -> dict[str, Any]:
    """The document: every served (path, method) once, described by its declaration."""
    schemas = SchemaSet()
    index = declared(definitions, node.versions, node.roles)
    operations: list[tuple[Served, Operation]] = []
    for one in served(routes):
        own = NODE_ROUTES.get((one.path, one.method))
        if own is not None:
            op = own(schemas, node.versions)
        elif one in index:
            op = describe(index[one], schemas)
        else:
            op = Operation(summary=f"{one.method} {one.path} (not described)", tag=NODE,
                           described=False)
        operations.append((one, op))
    paths = _paths(operations)
    components_schemas = schemas.components()
    components_schemas[ENVELOPE] = _envelope()
    tags = sorted({op.tag for _, op in operations}, key=lambda t: (t != NODE, t))
    return {
        "openapi": "3.1.0",
        "info": {"title": node.title, "version": node.version,
                 "description": _info(node)},
        **({"servers": [{"url": node.public_url.rstrip("/")}]} if node.public_url else {}),
        "tags": [{"name": t} for t in tags],
        "paths": paths,
        "components": {"schemas": components_schemas, "securitySchemes": _security(),
                       "parameters": _header_parameters(), "headers": _page_headers(),
                       "responses": _error_responses()},
    }


def _info(node: NodeFacts) -> str:
    return (f"OCPI {', '.join(node.versions)} as {' and '.join(r.value for r in node.roles)}."
            "\n\nEvery answer is an OCPI envelope (`data`, `status_code`, `status_message`, "
            "`timestamp`); an OCPI-level refusal (status_code 2xxx) may come with HTTP 200. "
            "Authenticate with the header `Authorization: Token <token>` (base64-encoded on "
            "2.2+, plain on 2.1.1; both are accepted). Paths also answer with a trailing "
            "slash.")


def _paths(operations: list[tuple[Served, Operation]]) -> dict[str, Any]:
    """Path items; routes that differ only in their parameters' names (Locations'
    ``/{a}/{b}/{c}`` beside ``/{country_code}/{party_id}/{location_id}``) are one
    path to OpenAPI, written with the names most of its operations use."""
    by_shape: dict[str, list[tuple[Served, Operation]]] = {}
    for one, op in operations:
        by_shape.setdefault(_PARAM.sub("{}", one.path), []).append((one, op))
    paths: dict[str, Any] = {}
    for group in by_shape.values():
        templates = [one.path for one, _ in group]
        template = max(dict.fromkeys(templates), key=templates.count)
        names = _PARAM.findall(template)
        item: dict[str, Any] = {}
        for one, op in group:
            own_names = _PARAM.findall(one.path)
            notes, values = dict(op.path_notes), dict(op.path_values)
            if own_names != names:
                renamed = dict(zip(own_names, names, strict=True))
                notes = {renamed[old]: notes.get(old, f"Read as `{old}` by this operation.")
                         for old in own_names}
                values = {renamed[old]: v for old, v in values.items()}
            item[one.method.lower()] = _operation(one, op, names, notes, values)
        paths[_PARAM.sub(lambda m: "{" + m.group(1) + "}", template)] = item
    return dict(sorted(paths.items()))


def _operation(one: Served, op: Operation, names: list[str], notes: dict[str, str],
               values: dict[str, list[str]]) -> dict[str, Any]:
    params = [{"name": n, "in": "path", "required": True,
               "schema": {"type": "string", **({"enum": values[n]} if n in values else {})},
               **({"description": d} if (d := notes.get(n) or PATH_PARAMS.get(n)) else {})}
              for n in names]
    params += op.query
    params += [{"$ref": f"#/components/parameters/{h}"} for h in op.headers]
    out: dict[str, Any] = {
        "tags": [op.tag], "summary": op.summary,
        "operationId": re.sub(r"[^A-Za-z0-9]+", "_", f"{one.method} {one.path}").strip("_"),
    }
    if op.description:
        out["description"] = op.description
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {"required": op.body_required,
                              "content": {"application/json": {"schema": op.body}}}
    out["responses"] = _responses(op)
    out["security"] = [] if op.who == PUBLIC else [{"operatorToken": []}] \
        if op.who == OPERATOR else [{"partnerToken": []}, {"operatorToken": []}]
    if not op.described:
        out["x-ocpi-undescribed"] = True
    return out


def _responses(op: Operation) -> dict[str, Any]:
    if op.raw is not None:
        ok: dict[str, Any] = {"description": "OK", "content": op.raw}
    else:
        envelope: dict[str, Any] = {"$ref": REF.format(model=ENVELOPE)}
        if op.data is not None:  # not required: a refusal (2xxx) may come with HTTP 200
            envelope = {"allOf": [envelope, {"properties": {"data": op.data}}]}
        ok = {"description": "An OCPI envelope" + (
            " with the answer in `data` (none in an OCPI-level refusal, status_code 2xxx)"
            if op.data is not None else " without data"),
              "content": {"application/json": {"schema": envelope}, **op.alternatives}}
    if op.paginated:
        ok["headers"] = {h: {"$ref": f"#/components/headers/{h}"}
                         for h in ("Link", "X-Total-Count", "X-Limit")}
    out: dict[str, Any] = {"200": ok}
    if op.created:
        out["201"] = {**ok, "description": "Stored, and it was new"}
    if op.who != PUBLIC:
        out["401"] = {"$ref": "#/components/responses/Unauthorized"}
    out["default"] = {"$ref": "#/components/responses/Error"}
    return out


def _envelope() -> dict[str, Any]:
    return {
        "type": "object", "required": ["status_code", "timestamp"],
        "properties": {
            "data": {"description": "The answer, where there is one."},
            "status_code": {"type": "integer", "description":
                            "1xxx success, 2xxx client error, 3xxx server error, "
                            "4xxx hub error."},
            "status_message": {"type": "string"},
            "timestamp": {"type": "string", "format": "date-time"},
        },
    }


def _security() -> dict[str, Any]:
    how = ("The header `Authorization: Token <token>`: the token base64-encoded on 2.2+, "
           "as issued on 2.1.1 (both forms are accepted).")
    return {
        "partnerToken": {"type": "apiKey", "in": "header", "name": "Authorization",
                         "description": "A registered partner's token. " + how},
        "operatorToken": {"type": "apiKey", "in": "header", "name": "Authorization",
                          "description": "The node operator's token (`OCPI_OPERATOR_TOKEN`),"
                          " which may also call every partner endpoint. " + how},
    }


def _header_parameters() -> dict[str, Any]:
    def header(name: str, description: str) -> dict[str, Any]:
        return {"name": name, "in": "header", "required": False,
                "schema": {"type": "string", "maxLength": 255}, "description": description}
    out = {"X-Request-ID": header("X-Request-ID", "Echoed; a new one when absent."),
           "X-Correlation-ID": header("X-Correlation-ID",
                                      "Echoed; the same across a message's retries.")}
    for side in ("from", "to"):
        for what, size in (("country-code", 2), ("party-id", 3)):
            name = f"OCPI-{side}-{what}"
            out[name] = header(name, f"Hub routing (2.2+): the {side} party's {what} "
                               f"({size} characters).")
    return out


def _page_headers() -> dict[str, Any]:
    return {
        "Link": {"description": 'The next page: `<url>; rel="next"` (absent on the last).',
                 "schema": {"type": "string"}},
        "X-Total-Count": {"description": "Objects in the whole list.",
                          "schema": {"type": "integer"}},
        "X-Limit": {"description": "The most objects one page holds here.",
                    "schema": {"type": "integer"}},
    }


def _error_responses() -> dict[str, Any]:
    envelope = {"application/json": {"schema": {"$ref": REF.format(model=ENVELOPE)}}}
    return {
        "Unauthorized": {"description": "No token, or one this endpoint does not take "
                         "(an OCPI envelope without data).", "content": envelope},
        "Error": {"description": "An OCPI envelope without data: 400 the body is not JSON, "
                  "403 not the caller's objects, 404 unknown object or route, 405, 413 too "
                  "large, 503 database unavailable (with Retry-After).", "content": envelope},
    }

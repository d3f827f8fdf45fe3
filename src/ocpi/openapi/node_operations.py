"""The operations of the node's routes that no module declares: version information
and details (OCPI's own, generated in ``modules/versions``), the charging-park API,
``/metrics``, the root page and this document."""

from collections.abc import Callable

from pydantic import BaseModel

from ..chargingparks import CSV_COLUMNS
from ..core.enums import InterfaceRole
from ..core.types import OcpiModel
from ..modules.sessions.schemas import SCHEMAS as SESSIONS
from .operation import OPERATOR, PUBLIC, Operation, query
from .schemas import SchemaSet


class Version(OcpiModel):
    """One entry of ``GET /ocpi/versions``."""

    version: str
    url: str


class VersionEndpoint(OcpiModel):
    """One module of a version's details (``role``: 2.2+ only)."""

    identifier: str
    role: InterfaceRole | None = None
    url: str


class VersionDetails(OcpiModel):
    version: str
    endpoints: list[VersionEndpoint]


class RootLinks(BaseModel):
    """Where to go from the node's root URL."""

    versions: str
    docs: str | None = None
    openapi: str | None = None
    console: str | None = None


class Root(BaseModel):
    """The node's root URL: its name and party, and the links (nothing else)."""

    name: str | None = None
    party: str | None = None
    links: RootLinks


NODE = "Node"
Describer = Callable[[SchemaSet, list[str]], Operation]


def _versions(schemas: SchemaSet, versions: list[str]) -> Operation:
    return Operation(summary="the OCPI versions served, with their details' URLs", tag=NODE,
                     data={"type": "array", "items": schemas.ref(Version)},
                     description="Any token of a partner, token A included.",
                     headers=["X-Request-ID", "X-Correlation-ID"])


def _details(schemas: SchemaSet, versions: list[str]) -> Operation:
    return Operation(summary="the modules of one version, with their URLs and roles",
                     tag=NODE, data=schemas.ref(VersionDetails),
                     description="Any token of a partner, token A included. A 2.1.1 "
                     "partner sees the side it talks to.",
                     path_values={"version": list(versions)},
                     headers=["X-Request-ID", "X-Correlation-ID"])


def _parks(schemas: SchemaSet, versions: list[str]) -> Operation:
    return Operation(
        summary="sessions of one of our Locations (Smappee's charging-park view)", tag=NODE,
        who=OPERATOR, data={"type": "array", "items": schemas.ref(SESSIONS["2.3.0"])},
        query=[query("range", {"type": "string", "pattern": r"^[0-9]+(,[0-9]+)?$"},
                     "FROM[,TO] in epoch milliseconds, on the session's start: from "
                     "inclusive, to exclusive.", required=True),
               query("active", {"type": "boolean", "default": False},
                     "true: sessions not yet completed; false: completed ones.")],
        alternatives={"text/csv": {"schema": {
            "type": "string", "description": "On `Accept: text/csv`, columns: "
            + ", ".join(CSV_COLUMNS)}}},
        description="Sessions in their canonical (OCPI 2.3.0) form.")


def _metrics(schemas: SchemaSet, versions: list[str]) -> Operation:
    return Operation(summary="the node's figures for Prometheus", tag=NODE, who=OPERATOR,
                     raw={"text/plain": {"schema": {"type": "string"}}},
                     description="Prometheus text format (0.0.4).")


def _root(schemas: SchemaSet, versions: list[str]) -> Operation:
    return Operation(summary="where to go: versions, console, documentation", tag=NODE,
                     who=PUBLIC, data=schemas.ref(Root),
                     alternatives={"text/html": {"schema": {
                         "type": "string", "description": "For a browser (Accept: text/html)"}}},
                     description="No token needed: it shows only these links and the "
                     "node's name and party.")


def _document(schemas: SchemaSet, versions: list[str]) -> Operation:
    return Operation(summary="this description (OpenAPI 3.1)", tag=NODE, who=PUBLIC,
                     raw={"application/json": {"schema": {"type": "object"}}},
                     description="No token needed (docs/openapi.md says why); "
                     "`OCPI_OPENAPI=0` turns it and /docs off.")


NODE_ROUTES: dict[tuple[str, str], Describer] = {
    ("/ocpi/versions", "GET"): _versions,
    ("/ocpi/{version}/details", "GET"): _details,
    ("/api/v1/chargingparks/{location_id}/sessions", "GET"): _parks,
    ("/metrics", "GET"): _metrics,
    ("/", "GET"): _root,
    ("/openapi.json", "GET"): _document,
}

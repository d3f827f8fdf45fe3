"""How a module declares what a partner may call, once for all versions.

The router generator turns each ``Endpoint`` into routes under
``/ocpi/{cpo|emsp}/{version}/{module}`` for every version it applies to.
"""

from dataclasses import dataclass, field

from .enums import InterfaceRole, ModuleID, RoleEnum
from .transport import Handler


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # relative to the module URL, e.g. "/{country_code}/{party_id}/{location_id}"
    handler: Handler
    versions: frozenset[str] | None = None  # None: every version the module has
    operator_only: bool = False
    allow_token_a: bool = False  # registration endpoints only


@dataclass(frozen=True)
class ModuleDefinition:
    id: ModuleID
    # role of *our* side -> (interface role in 2.2+ version details, endpoints)
    interfaces: dict[RoleEnum, tuple[InterfaceRole, tuple[Endpoint, ...]]]
    versions: frozenset[str] = field(default=frozenset({"2.1.1", "2.2.1", "2.3.0"}))
    # served once per version at /ocpi/{version}/{module}, not per role (credentials)
    shared: bool = False



def module_path(module: ModuleID, version: str, role: RoleEnum | None) -> str:
    """The URL layout, in one place for routes and version details: shared modules
    at ``/ocpi/{version}/{module}``, the others at ``/ocpi/{cpo|emsp}/{version}/{module}``."""
    if role is None:
        return f"/ocpi/{version}/{module.value}"
    return f"/ocpi/{role.value.lower()}/{version}/{module.value}"

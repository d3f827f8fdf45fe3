"""The one list of modules. Routes, version details, store tables, the outbox,
pulls, imports and the CLI all read it; adding a module is one line here."""

from dataclasses import dataclass
from types import ModuleType

from ..core.enums import ModuleID
from ..core.interface import ModuleDefinition
from .cdrs import module as cdrs
from .chargingprofiles import module as chargingprofiles
from .commands import module as commands
from .credentials import module as credentials
from .hubclientinfo import module as hubclientinfo
from .kernel import ObjectType
from .locations import module as locations
from .sessions import module as sessions
from .tariffs import module as tariffs
from .tokens import module as tokens


@dataclass(frozen=True)
class Module:
    definition: ModuleDefinition  # what partners may call, per role and version
    objects: ObjectType | None  # the object type it stores, if any


def _module(code: ModuleType) -> Module:
    """A module package's ``definition()`` and its declared object type (``OBJECTS``)."""
    return Module(code.definition(), getattr(code, "OBJECTS", None))


MODULES: dict[ModuleID, Module] = {m.definition.id: m for m in (
    _module(credentials),
    _module(locations),
    _module(sessions),
    _module(tokens),
    _module(hubclientinfo),
    _module(tariffs),
    _module(cdrs),
    _module(commands),
    _module(chargingprofiles),
)}


def object_type(module: str) -> ObjectType:
    """The declaration of ``module``'s objects; LookupError when it stores none."""
    found = MODULES.get(ModuleID(module)) if module in ModuleID._value2member_map_ else None
    if found is None or found.objects is None:
        raise LookupError(f"no stored objects in module {module!r}")
    return found.objects


def object_types() -> list[ObjectType]:
    return [m.objects for m in MODULES.values() if m.objects is not None]

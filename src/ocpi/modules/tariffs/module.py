"""Tariffs: CPO sender (the paginated list, ``date_from``/``date_to``), eMSP
receiver (GET, PUT, DELETE; PATCH on 2.1.1), and the operator's management
writes of our own tariffs, DELETE included. Everything is the kernel's shared
handlers; what a tariff costs is ``ocpi.pricing``'s."""

from ...core.enums import ModuleID
from ...core.interface import ModuleDefinition
from ..generic import Handlers
from .declaration import TARIFFS

MODULE = ModuleID.tariffs
OBJECTS = TARIFFS
HANDLERS = Handlers(TARIFFS)

_OWNED = "/{country_code}/{party_id}/{tariff_id}"


def definition() -> ModuleDefinition:
    return ModuleDefinition(id=MODULE, interfaces=HANDLERS.interfaces(
        _OWNED, receiver_methods=("GET", "PUT", "PATCH", "DELETE")))

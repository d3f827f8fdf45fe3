"""The storage interface of the seed library, at the path its users import.

Subclass ``Crud`` with async classmethods; the node calls them with the module,
the role whose endpoint was called, and keyword extras (``version``,
``auth_token``, ``country_code``, ``party_id``). ``list`` returns
``(items, total, is_last_page)``. Objects are dicts in the canonical shape
(the OCPI 2.3.0 objects; see ``docs/architecture.md``).
"""

from abc import ABC, abstractmethod
from typing import Any

from .enums import Action, ModuleID, RoleEnum


class Crud(ABC):
    @classmethod
    @abstractmethod
    async def get(cls, module: ModuleID, role: RoleEnum, id: Any, *args: Any,
                  **kwargs: Any) -> Any: ...

    @classmethod
    @abstractmethod
    async def list(cls, module: ModuleID, role: RoleEnum, filters: dict, *args: Any,
                   **kwargs: Any) -> tuple[list, int, bool]: ...

    @classmethod
    @abstractmethod
    async def create(cls, module: ModuleID, role: RoleEnum, data: dict, *args: Any,
                     **kwargs: Any) -> Any: ...

    @classmethod
    @abstractmethod
    async def update(cls, module: ModuleID, role: RoleEnum, data: dict, id: Any, *args: Any,
                     **kwargs: Any) -> Any: ...

    @classmethod
    @abstractmethod
    async def delete(cls, module: ModuleID, role: RoleEnum, id: Any, *args: Any,
                     **kwargs: Any) -> Any: ...

    @classmethod
    async def do(cls, module: ModuleID, role: RoleEnum | None, action: Action, *args: Any,
                 data: dict | None = None, **kwargs: Any) -> Any:
        """Non-CRUD actions (commands, authorisation); optional for users."""
        raise NotImplementedError(f"{cls.__name__}.do does not handle {action}")

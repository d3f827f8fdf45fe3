"""What a handler may ask of the running node, as core sees it.

The node (``ocpi.node.Node``) sits above every module; core must not import
it. This protocol names what handlers use of it, so ``OcpiRequest.node`` is
typed without an arrow running back up.
"""

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.responses import Response

from .authentication.authenticator import Caller
from .enums import ModuleID, RoleEnum
from .limits import Limits


class NodeContext(Protocol):
    crud: Any  # the store: the built-in one or a library user's ``Crud``
    public_url: str | None  # our base URL as partners see it (else as served)
    country_code: str | None  # who we are
    party_id: str | None
    business_name: str | None
    registry: Any  # the built-in partner registry, or None
    db: Any  # the built-in database, or None
    versions: list[str]
    roles: list[RoleEnum]
    modules: list[ModuleID]
    limits: Limits
    authorizer: Callable[[dict[str, Any]], Any] | None
    command_handler: Callable[[dict[str, Any]], Any] | None
    own_write_filters: dict[str, list[Callable[[dict[str, Any]],
                                               Awaitable[dict[str, Any]]]]]
    reach: Any  # which parties each hub reaches (modules/hubclientinfo/reach.py)

    @property
    def builtin_store(self) -> bool: ...

    async def identify(self, token: str) -> Caller | None: ...

    def crud_kwargs(self, ctx: Any, country_code: str | None, party_id: str | None
                    ) -> dict[str, Any]: ...

    def for_caller(self, ctx: Any, module: ModuleID, data: Any,
                   kind: str = "location") -> Any: ...

    async def list_page(self, ctx: Any, module: ModuleID,
                        render: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
                        *, visible_to_caller: bool = False) -> Response: ...

    async def hub_reaches(self, ctx: Any, country_code: str, party_id: str) -> bool: ...

    async def registered(self, peer_id: int, us: Any) -> None: ...

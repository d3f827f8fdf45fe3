"""Version information and version details, built from the modules served."""

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from ...core.context import NodeContext
from ...core.enums import InterfaceRole, RoleEnum
from ...core.envelope import envelope
from ...core.errors import NotFound, OcpiError
from ...core.interface import ModuleDefinition, module_path
from ...core.transport import authenticate, error_response
from .enums import is_v2_1


def base_url(node: NodeContext, request: Request) -> str:
    if node.public_url:
        return node.public_url.rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}"


Endpoint = Callable[[Request], Awaitable[Response]]


def make_versions_endpoint(node: NodeContext, definitions: list[ModuleDefinition]
                           ) -> tuple[Endpoint, Endpoint]:
    async def versions(request: Request) -> Response:
        try:
            await authenticate(node, request, "2.2.1", allow_token_a=True)
        except OcpiError as exc:
            return error_response(exc)
        base = base_url(node, request)
        return envelope([{"version": v, "url": f"{base}/ocpi/{v}/details"}
                         for v in node.versions])

    async def details(request: Request) -> Response:
        version = request.path_params["version"]
        try:
            if version not in node.versions:
                raise NotFound(f"version {version} is not served here", status_code=3002)
            caller, _ = await authenticate(node, request, version, allow_token_a=True)
        except OcpiError as exc:
            return error_response(exc)
        base = base_url(node, request)
        endpoints = []
        roles = list(node.roles)
        if is_v2_1(version) and len(roles) > 1:
            # 2.1.1 endpoints carry no role: show the side the caller talks to
            roles = [RoleEnum.emsp] if caller.role == RoleEnum.cpo else [RoleEnum.cpo]
        for definition in definitions:
            if version not in definition.versions:
                continue
            if definition.shared:  # listed once; its role means nothing: SENDER
                shown = [(None, InterfaceRole.SENDER)]
            else:
                shown = [(role, definition.interfaces[role][0])
                         for role in roles if role in definition.interfaces]
            for role, interface_role in shown:
                entry = {"identifier": definition.id.value,
                         "url": base + module_path(definition.id, version, role)}
                if not is_v2_1(version):
                    entry["role"] = InterfaceRole(interface_role).value
                endpoints.append(entry)
        return envelope({"version": version, "endpoints": endpoints})

    return versions, details

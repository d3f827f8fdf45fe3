"""The handshake on a library user's own Crud and Authenticator, called as the
seed library calls them, against a partner platform served for real."""

import httpx
import pytest

from ocpi import get_application
from ocpi.core.authentication.authenticator import Authenticator
from ocpi.core.crud import Crud
from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.modules.versions.enums import VersionNumber

from .conftest import auth, body
from .servers import PeerMock, served

pytestmark = pytest.mark.usefixtures("local_partners")
TOKENS_A = ["token-a"]
REGISTERED: dict[str, dict] = {}  # token C -> what the user stored
CALLS: list[tuple] = []


class UserAuthenticator(Authenticator):
    @classmethod
    async def get_valid_token_c(cls) -> list[str]:
        return list(REGISTERED)

    @classmethod
    async def get_valid_token_a(cls) -> list[str]:
        return list(TOKENS_A)


def _ours(token: str) -> dict:
    return {"token": token, "url": "https://us.example/ocpi/versions",
            "roles": [{"role": "CPO", "country_code": "NL", "party_id": "USR",
                       "business_details": {"name": "User CPO"}}]}


class UserCrud(Crud):
    @classmethod
    async def create(cls, module, role, data, *args, **kwargs):
        CALLS.append(("create", module, role, data, kwargs))
        token_c = f"token-c-{len(REGISTERED) + 1}"
        REGISTERED[token_c] = data
        TOKENS_A.remove(kwargs["auth_token"])
        return _ours(token_c)

    @classmethod
    async def update(cls, module, role, data, id, *args, **kwargs):
        CALLS.append(("update", module, role, data, id, kwargs))
        REGISTERED[id] = data
        return _ours(id)

    @classmethod
    async def get(cls, module, role, id, *args, **kwargs):
        CALLS.append(("get", module, role, id, kwargs))
        return _ours(id) if id in REGISTERED else None

    @classmethod
    async def list(cls, module, role, filters, *args, **kwargs):
        return [], 0, True

    @classmethod
    async def delete(cls, module, role, id, *args, **kwargs):
        CALLS.append(("delete", module, role, id, kwargs))
        REGISTERED.pop(id, None)


@pytest.fixture
def partner():
    yield from served(PeerMock())


async def test_a_user_crud_registers_a_partner_as_the_seed_library_does(partner):
    TOKENS_A[:] = ["token-a"]
    REGISTERED.clear()
    CALLS.clear()
    app = get_application(version_numbers=[VersionNumber.v_2_2_1], roles=[RoleEnum.cpo],
                          crud=UserCrud, authenticator=UserAuthenticator,
                          modules=[ModuleID.locations, ModuleID.credentials_and_registration])
    transport = httpx.ASGITransport(app=app)
    url = "/ocpi/2.2.1/credentials"
    theirs = partner.credentials("2.2.1", partner.url)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        details = body(await client.get("/ocpi/2.2.1/details", headers=auth("token-a")))
        assert "credentials" in [e["identifier"] for e in details["data"]["endpoints"]]
        r = await client.post(url, json=theirs, headers=auth("token-a"))
        assert body(r)["status_code"] == 1000, r.text
        assert body(r)["data"]["token"] == "token-c-1"
        kind, module, role, data, kwargs = CALLS[0]
        assert (kind, module, role) == ("create", ModuleID.credentials_and_registration,
                                        RoleEnum.cpo)
        assert data["credentials"]["token"] == theirs["token"]
        assert data["endpoints"]["version"] == "2.2.1"
        assert {e["identifier"] for e in data["endpoints"]["endpoints"]} >= {"locations"}
        assert kwargs == {"auth_token": "token-a", "version": VersionNumber.v_2_2_1}
        assert partner.seen("GET", "/versions")  # fetched with the partner's token
        # token A is spent; token C reads, updates, and ends the registration
        r = await client.post(url, json=theirs, headers=auth("token-a"))
        assert r.status_code == 401 and body(r)["status_code"] == 2000
        r = await client.post(url, json=theirs, headers=auth("token-c-1"))
        assert r.status_code == 405 and "status_code" in body(r)
        got = body(await client.get(url, headers=auth("token-c-1")))
        assert got["data"]["token"] == "token-c-1"
        r = await client.put(url, json=theirs, headers=auth("token-c-1"))
        assert body(r)["status_code"] == 1000
        assert next(c for c in CALLS if c[0] == "update")[4] == "token-c-1"
        r = await client.delete(url, headers=auth("token-c-1"))
        assert body(r)["status_code"] == 1000
        assert [c[3] for c in CALLS if c[0] == "delete"] == ["token-c-1"]
        r = await client.get(url, headers=auth("token-c-1"))
        assert r.status_code == 401

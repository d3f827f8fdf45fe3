"""The seed tutorials' code runs unchanged on our package, with a user Crud
and Authenticator, and without them on the built-in store."""

import httpx

from ocpi import get_application
from ocpi.core.authentication.authenticator import Authenticator
from ocpi.core.crud import Crud
from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.modules.versions.enums import VersionNumber

from .conftest import body

DB: dict = {}
CALLS: list = []


class YourAuthenticator(Authenticator):
    @classmethod
    async def get_valid_token_c(cls) -> list[str]:
        return ["your-token"]

    @classmethod
    async def get_valid_token_a(cls) -> list[str]:
        return []


class YourCrud(Crud):
    @classmethod
    async def create(cls, module: ModuleID, role: RoleEnum, data: dict, *args, **kwargs) -> dict:
        CALLS.append(("create", module, role, kwargs.get("version")))
        DB[(module, data["id"])] = data
        return data

    @classmethod
    async def update(cls, module: ModuleID, role: RoleEnum, data: dict, id: str, *args,
                     **kwargs) -> dict:
        CALLS.append(("update", module, role, kwargs.get("version")))
        DB[(module, id)] = data
        return data

    @classmethod
    async def get(cls, module: ModuleID, role: RoleEnum, id: str, *args, **kwargs) -> dict | None:
        return DB.get((module, id))

    @classmethod
    async def list(cls, module: ModuleID, role: RoleEnum, filters: dict, *args,
                   **kwargs) -> tuple[list[dict], int, bool]:
        offset = filters.get("offset", 0)
        limit = filters.get("limit", 100)
        items = [v for (m, _), v in DB.items() if m == module]
        return items[offset:offset + limit], len(items), offset + limit >= len(items)

    @classmethod
    async def delete(cls, module: ModuleID, role: RoleEnum, id: str, *args, **kwargs) -> None:
        DB.pop((module, id), None)


async def test_tutorial_app_with_user_crud_and_authenticator():
    DB.clear()
    app = get_application(
        version_numbers=[VersionNumber.v_2_3_0],
        roles=[RoleEnum.cpo, RoleEnum.emsp],
        modules=[ModuleID.sessions, ModuleID.locations],
        authenticator=YourAuthenticator,
        crud=YourCrud,
    )
    session = {
        "country_code": "ES", "party_id": "ABC", "id": "SESS001",
        "start_date_time": "2024-01-01T10:00:00Z", "location_id": "LOC001",
        "evse_uid": "EVSE001", "connector_id": "CONN001", "kwh": 0.0, "currency": "EUR",
        "cdr_token": {"country_code": "ES", "party_id": "EMS", "uid": "U1", "type": "RFID",
                      "contract_id": "ES-EMS-1"},
        "auth_method": "WHITELIST", "status": "ACTIVE", "last_updated": "2024-01-01T10:00:00Z",
    }
    h = {"Authorization": "Token your-token"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://127.0.0.1:8000") as c:
        r = await c.put("/ocpi/emsp/2.3.0/sessions/ES/ABC/SESS001", json=session, headers=h)
        assert r.status_code == 201, r.text
        r = await c.patch("/ocpi/emsp/2.3.0/sessions/ES/ABC/SESS001",
                          json={"kwh": 15.5, "status": "ACTIVE",
                                "last_updated": "2024-01-01T10:30:00Z"}, headers=h)
        assert body(r)["status_code"] == 1000
        assert str(DB[(ModuleID.sessions, "SESS001")]["kwh"]) == "15.5"
        r = await c.get("/ocpi/cpo/2.3.0/sessions/?date_from=2024-01-01T00:00:00Z", headers=h)
        assert [s["id"] for s in body(r)["data"]] == ["SESS001"]
        r = await c.get("/ocpi/cpo/2.3.0/sessions", headers={"Authorization": "Token wrong"})
        assert r.status_code == 401
    assert ("create", ModuleID.sessions, RoleEnum.emsp, VersionNumber.v_2_3_0) in CALLS


async def test_tutorial_app_without_crud_uses_builtin_store(tmp_path):
    app = get_application(version_numbers=[VersionNumber.v_2_3_0], roles=[RoleEnum.cpo],
                          modules=[ModuleID.locations],
                          database_url=f"sqlite:///{tmp_path / 'x.db'}",
                          operator_token="your-token")
    location = {
        "country_code": "DE", "party_id": "ABC", "id": "LOC001", "publish": True,
        "name": "Berlin Central Charging Station", "address": "Unter den Linden 1",
        "city": "Berlin", "postal_code": "10117", "country": "DEU",
        "coordinates": {"latitude": "52.5200", "longitude": "13.4050"}, "evses": [],
        "time_zone": "Europe/Berlin", "last_updated": "2024-01-01T00:00:00Z",
    }
    h = {"Authorization": "Token your-token"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://127.0.0.1:8000") as c:
        r = await c.put("/ocpi/cpo/2.3.0/locations/DE/ABC/LOC001", json=location, headers=h)
        assert r.status_code == 201, r.text
        assert "latitude" in body(r)["status_message"]  # 4 decimals: kept, reported
        r = await c.get("/ocpi/cpo/2.3.0/locations/DE/ABC/LOC001", headers=h)
        assert body(r)["data"]["name"] == "Berlin Central Charging Station"
        r = await c.patch("/ocpi/cpo/2.3.0/locations/DE/ABC/LOC001",
                          json={"name": "Updated Location Name"}, headers=h)
        assert body(r)["status_code"] == 1000
        r = await c.get("/ocpi/cpo/2.3.0/locations/?offset=0&limit=100", headers=h)
        assert [x["name"] for x in body(r)["data"]] == ["Updated Location Name"]
    await app.state.node.db.dispose()


class BadTokenCrud(Crud):
    """A user's Crud whose stored token has a ``last_updated`` no DateTime."""

    @classmethod
    async def get(cls, module: ModuleID, role: RoleEnum, id: str, *args, **kwargs) -> dict:
        return {"country_code": "ES", "party_id": "EMS", "uid": id, "type": "RFID",
                "contract_id": "ES-EMS-1", "issuer": "EMS", "valid": True,
                "whitelist": "ALLOWED", "last_updated": "yesterday"}

    @classmethod
    async def do(cls, *args, **kwargs):
        raise NotImplementedError


async def test_an_invalid_object_from_the_users_crud_is_our_error_not_the_callers(caplog):
    """A bad ``last_updated`` from the user's own Crud is a server error (3000) and the
    operator's log names the field; never a 2001 that blames the CPO asking."""
    app = get_application(version_numbers=[VersionNumber.v_2_2_1], roles=[RoleEnum.emsp],
                          modules=[ModuleID.tokens], authenticator=YourAuthenticator,
                          crud=BadTokenCrud)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://127.0.0.1:8000") as c:
        r = await c.post("/ocpi/emsp/2.2.1/tokens/U1/authorize",
                         headers={"Authorization": "Token your-token"})
    assert r.status_code == 500 and body(r)["status_code"] == 3000, r.text
    assert "token.last_updated" in caplog.text and "your-token" not in caplog.text

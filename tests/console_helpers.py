"""Shared set-up for console tests: a node with a secret key, a logged-in browser-like client."""

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from ocpi import get_application

from .conftest import OPERATOR

BASE = "http://testserver"


@pytest.fixture
def secret_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("OCPI_SECRET_KEY", key)
    return key


class ConsoleNode:
    """A node, its console reached through ASGI, and the client's cookie jar."""

    def __init__(self, app: Any, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client
        self.node = app.state.node

    async def login(self, token: str = OPERATOR) -> httpx.Response:
        return await self.client.post("/console/login", data={"token": token})

    async def csrf(self, path: str = "/console/partners") -> str:
        page = await self.client.get(path)
        assert page.status_code == 200, page.text
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        assert found, "no CSRF token on the page"
        return found.group(1)

    async def act(self, path: str, page: str = "/console/partners", **fields: str
                  ) -> httpx.Response:
        """Post a console form as the browser would, with the page's CSRF token."""
        return await self.client.post(path, data={"csrf": await self.csrf(page), **fields},
                                      headers={"Origin": BASE})


async def console_node(database_url: str, **kwargs: Any) -> AsyncIterator[ConsoleNode]:
    app = get_application(database_url=database_url, operator_token=OPERATOR,
                          country_code="NL", party_id="OCP", deliver=False, **kwargs)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        yield ConsoleNode(app, client)
    await app.state.node.db.dispose()

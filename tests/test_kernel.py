"""The module kernel: one registry, declarations that drive routing and
rendering, a message no declaration can render set aside, layers one way."""

import ast
import uuid
from pathlib import Path

from sqlalchemy import insert

from ocpi.core.datetime import utcnow
from ocpi.core.enums import ModuleID
from ocpi.modules.registry import MODULES, object_type, object_types
from ocpi.outbox import admin
from ocpi.outbox.render import render
from ocpi.outbox.routing import recipients
from ocpi.peers.credentials import Party
from ocpi.peers.peer import Peer
from ocpi.peers.registry import Registry
from ocpi.store.objects import STORED
from ocpi.store.schema import outbox

from .outbox_helpers import receiving_partner, worker
from .receiver import Receiver

SRC = Path(__file__).resolve().parent.parent / "src" / "ocpi"


def test_every_layer_reads_the_one_registry():
    declared = {t.module.value for t in object_types()}
    assert declared == {"locations", "sessions", "tokens", "hubclientinfo", "tariffs", "cdrs"}
    assert set(STORED) == declared  # the store holds exactly what is declared
    assert {m.value for m in MODULES} == declared | {"credentials", "commands",
                                                     "chargingprofiles"}
    assert object_type("tokens").own_role == "EMSP"
    assert object_type("locations").own_role == "CPO"
    assert object_type("hubclientinfo").hub_reported  # a hub's, never ours
    assert object_type("cdrs").generated and object_type("cdrs").posted  # built, sent once
    assert object_type("tariffs").patch_versions == {"2.1.1"}


def _peer(n: int, role: str, *, hub: bool = False) -> Peer:
    endpoints = [{"identifier": m, "role": "RECEIVER", "url": f"https://p{n}/{m}"}
                 for m in ("locations", "sessions", "tokens")]
    return Peer(n, f"p{n}", "DE", f"P{n}", "HUB" if hub else role, "registered", "2.2.1",
                endpoints=endpoints, parties=[Party("HUB" if hub else role, "DE", f"P{n}", {})],
                token_out="t")


def _token(**extra: object) -> dict:
    return {"country_code": "NL", "party_id": "OCP", "uid": "AA11", "type": "RFID",
            "contract_id": "NL-OCP-AA11", "issuer": "OCP", "valid": True,
            "whitelist": "ALLOWED", "last_updated": "2026-11-01T10:00:00Z", **extra}


def test_tokens_go_to_cpos_and_hubs_and_locations_to_the_others():
    peers = [_peer(1, "CPO"), _peer(2, "EMSP"), _peer(3, "", hub=True)]
    tokens = recipients(peers, object_type("tokens"), _token())
    assert [p.name for p, _ in tokens] == ["p1", "p3"]
    locations = recipients(peers, object_type("locations"), {})
    assert [p.name for p, _ in locations] == ["p2", "p3"]


def test_a_token_change_is_a_patch_at_its_typed_url():
    had, now = _token(), _token(valid=False, last_updated="2026-11-02T10:00:00Z")
    push = render("tokens", "2.2.1", "https://cpo/tokens/", now, had)
    assert (push.method, push.url) == ("PATCH", "https://cpo/tokens/NL/OCP/AA11?type=RFID")
    assert push.body == {"valid": False, "last_updated": "2026-11-02T10:00:00Z"}
    old = render("tokens", "2.1.1", "https://cpo/tokens", now, None)
    assert (old.method, old.url) == ("PUT", "https://cpo/tokens/NL/OCP/AA11")
    assert old.body["auth_id"] == "NL-OCP-AA11" and "country_code" not in old.body
    emaid = render("tokens", "2.2.1", "https://cpo/tokens", _token(type="EMAID"), None)
    assert emaid.url.endswith("?type=OTHER") and emaid.body["type"] == "OTHER"


async def test_a_message_no_declaration_renders_is_set_aside_not_held(db):
    with Receiver() as r:
        peer_id = await receiving_partner(db, r.url, "DE", "MSP")
        await Registry(db).update_peer(peer_id, endpoints=[  # it takes tariffs; we cannot say any
            {"identifier": "tariffs", "role": "RECEIVER", "url": f"{r.url}/tariffs"}])
        now = utcnow().replace(tzinfo=None)
        async with db.begin() as tx:
            await tx.execute(insert(outbox).values(
                peer_id=peer_id, module="tariffs", object_key="NL/OCP/T1", last_updated=now,
                data="{}", state="pending", created_at=now, attempts=0,
                correlation_id=uuid.uuid4().hex))
        await worker(db).drain_once()
        dead = await admin.messages(db, state="dead")
        assert len(dead) == 1 and "cannot be rendered" in (dead[0][1].last_error or "")
        assert r.accepted == []


def _imports(path: Path) -> set[str]:
    """The ``ocpi`` modules a file imports (relative imports resolved)."""
    package = path.relative_to(SRC.parent).with_suffix("").parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = list(package[:len(package) - node.level + 1]) if node.level else []
            name = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found |= {name} if node.module else {f"{name}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {n for n in found if n.startswith("ocpi.")}


def test_layers_point_one_way():
    for path in (SRC / "core").rglob("*.py"):
        wrong = {n for n in _imports(path) if (n.startswith("ocpi.modules")
                 and n != "ocpi.modules.versions.enums")  # the seed's import path for versions
                 or n.split(".")[1] in ("node", "app", "peers", "store", "outbox", "services")}
        assert not wrong, (path, wrong)
    for path in (SRC / "store").rglob("*.py"):
        wrong = {n for n in _imports(path) if n.split(".")[1] in
                 ("modules", "outbox", "peers", "services", "app", "node")}
        assert not wrong, (path, wrong)
    for path in (SRC / "peers").rglob("*.py"):
        wrong = {n for n in _imports(path) if n.split(".")[1] in ("modules", "outbox", "services")
                 and n != "ocpi.modules.versions.enums"}
        assert not wrong, (path, wrong)
    for path in (SRC / "modules").rglob("*.py"):
        wrong = {n for n in _imports(path)
                 if n.split(".")[1] in ("outbox", "services", "app", "node", "cli")}
        assert not wrong, (path, wrong)
    for path in (SRC / "pricing").rglob("*.py"):  # pure: tested and benchmarked alone
        wrong = {n for n in _imports(path) if n.split(".")[1] not in ("pricing", "core")}
        assert not wrong, (path, wrong)


def test_modules_are_listed_once():
    assert ModuleID.tokens in MODULES and MODULES[ModuleID.tokens].objects is object_type("tokens")


async def test_the_shared_delete_removes_by_key_in_the_callers_namespace(database_url,
                                                                         monkeypatch):
    """A module that lets objects go (Tariffs) asks ``by_key`` for DELETE: shown here on
    the Tokens receiver, keyed by uid and type, served by a real application."""
    import httpx

    from ocpi import get_application
    from ocpi.core.enums import InterfaceRole, RoleEnum
    from ocpi.core.interface import ModuleDefinition
    from ocpi.modules import registry
    from ocpi.modules.tokens import module as tokens

    from .conftest import auth, body, dumps

    path = "/{country_code}/{party_id}/{token_uid}"
    definition = ModuleDefinition(ModuleID.tokens, {RoleEnum.cpo: (
        InterfaceRole.RECEIVER, tokens.HANDLERS.by_key(path, methods=("GET", "PUT", "DELETE")))})
    monkeypatch.setitem(registry.MODULES, ModuleID.tokens,
                        registry.Module(definition, tokens.OBJECTS))
    app = get_application(database_url=database_url, country_code="NL", party_id="OCP")
    node = app.state.node
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as client:
            _, mine = await node.registry.add_peer("DE", "MSP", "EMSP")
            _, other = await node.registry.add_peer("DE", "OTH", "EMSP")
            url = "/ocpi/cpo/{v}/tokens/DE/MSP/T1"
            for kind in ("RFID", "OTHER"):
                token = _token(country_code="DE", party_id="MSP", uid="T1", type=kind)
                r = await client.put(url.format(v="2.2.1") + f"?type={kind}",
                                     content=dumps(token), headers=auth(mine))
                assert r.status_code == 201, body(r)
            other_url = url.format(v="2.2.1") + "?type=OTHER"
            r = await client.delete(other_url, headers=auth(other))
            assert r.status_code == 403  # not its namespace
            r = await client.delete(other_url, headers=auth(mine))
            assert (r.status_code, body(r)["status_code"]) == (200, 1000)
            assert "data" not in body(r)
            r = await client.get(other_url, headers=auth(mine))
            assert (r.status_code, body(r)["status_code"]) == (404, 2004)
            r = await client.delete(other_url, headers=auth(mine))
            assert (r.status_code, body(r)["status_code"]) == (404, 2004)
            # 2.1.1 names no type: the uid's RFID token is the one meant
            r = await client.delete(url.format(v="2.1.1"), headers=auth(mine, "2.1.1"))
            assert body(r)["status_code"] == 1000
            r = await client.get(url.format(v="2.2.1") + "?type=RFID", headers=auth(mine))
            assert r.status_code == 404
    finally:
        await node.db.dispose()

"""Every source of the node's own objects feeds the outbox, and operators drive it
from the command line: the management API, ``ocpi import``, ``ocpi outbox ...``."""

import asyncio
import json

import pytest

from ocpi.outbox import admin
from ocpi.store.database import Database

from .conftest import dumps, op
from .outbox_helpers import receiving_partner, session
from .receiver import Receiver
from .test_partners_e2e import ocpi

pytestmark = pytest.mark.usefixtures("local_partners")


async def test_management_writes_queue_messages_with_the_write(node):
    db = node.node.db
    with Receiver() as r:
        await receiving_partner(db, r.url, "DE", "MSP")
        s = session(1, status="PENDING")
        resp = await node.client.put("/ocpi/cpo/2.2.1/sessions/NL/OCP/S0001",
                                     content=dumps(s), headers=op())
        assert resp.status_code == 201
        resp = await node.client.patch("/ocpi/cpo/2.2.1/sessions/NL/OCP/S0001",
                                       json={"kwh": 3, "status": "ACTIVE"}, headers=op())
        assert resp.json()["status_code"] == 1000
        pending = await admin.messages(db, state="pending")
        assert [(p, m.module, m.object_key) for p, m in pending] == \
            [("de-msp", "sessions", "NL/OCP/s0001")] * 2
        assert json.loads(pending[1][1].data)["kwh"] == 3
        # a rejected write stores nothing and queues nothing
        resp = await node.client.put("/ocpi/cpo/2.2.1/sessions/NL/OCP/S0002",
                                     content=dumps({**session(2), "kwh": "lots"}), headers=op())
        assert resp.status_code == 200
        assert len(await admin.messages(db, state="pending")) == 2


def _locations(n: int) -> list[dict]:
    return [{"country_code": "NL", "party_id": "OCP", "id": f"LOC{i}", "publish": True,
             "address": "Main 1", "city": "Utrecht", "country": "NLD",
             "coordinates": {"latitude": "52.090", "longitude": "5.120"},
             "time_zone": "Europe/Amsterdam", "last_updated": "2026-11-20T09:00:00Z"}
            for i in range(1, n + 1)]


def test_outbox_commands_show_refusals_and_put_them_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'node.db'}"
    refusing = {"on": True}
    with Receiver(refuse=lambda m, path, b: refusing["on"] and path.endswith("/LOC2")) as r:
        async def setup() -> None:
            db = Database(url)
            await receiving_partner(db, r.url, "DE", "MSP")
            await db.dispose()

        asyncio.run(setup())
        (tmp_path / "locs.json").write_text(json.dumps(_locations(3)))
        assert ocpi("import", "locations", str(tmp_path / "locs.json"), db=url).returncode == 0

        status = json.loads(ocpi("outbox", "status", "--json", db=url).stdout)
        assert [(s["partner"], s["pending"], s["dead"]) for s in status] == [("de-msp", 3, 0)]
        assert "de-msp" in ocpi("outbox", "status", db=url).stdout

        done = ocpi("outbox", "work", "--once", "--json", db=url)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"delivered": 2, "retried": 0, "dead": 1}
        assert [m.path.rsplit("/", 1)[1] for m in r.accepted] == ["LOC1", "LOC3"]

        dead = json.loads(ocpi("outbox", "list", "--dead", "--json", db=url).stdout)
        assert len(dead) == 1 and dead[0]["object"] == "NL/OCP/loc2"
        assert "2001" in dead[0]["last_error"] and "refused by the test" in dead[0]["last_error"]
        text = ocpi("outbox", "list", "--dead", db=url).stdout
        assert "refused by the test" in text

        refusing["on"] = False
        back = ocpi("outbox", "retry", str(dead[0]["id"]), db=url)
        assert back.returncode == 0 and "1 message(s)" in back.stdout
        assert ocpi("outbox", "work", "--once", db=url).returncode == 0
        assert [m.path.rsplit("/", 1)[1] for m in r.accepted] == ["LOC1", "LOC3", "LOC2"]
        assert json.loads(ocpi("outbox", "status", "--json", db=url).stdout) == []

        # drop: an operator removes a message for good
        (tmp_path / "one.json").write_text(json.dumps(
            {**_locations(1)[0], "name": "renamed", "last_updated": "2026-11-20T10:00:00Z"}))
        assert ocpi("import", "locations", str(tmp_path / "one.json"), db=url).returncode == 0
        [pending] = json.loads(ocpi("outbox", "list", "--json", db=url).stdout)
        assert ocpi("outbox", "drop", str(pending["id"]), db=url).returncode == 0
        assert json.loads(ocpi("outbox", "list", "--json", db=url).stdout) == []
        missing = ocpi("outbox", "drop", str(pending["id"]), db=url)
        assert missing.returncode == 1 and "no message" in missing.stderr
        assert ocpi("outbox", "retry", db=url).returncode == 1  # neither ID nor --all-dead

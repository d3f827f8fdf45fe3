"""Transport rules: tokens, envelopes, request ids, slashes, invalid input."""

import base64

import pytest

from .conftest import OPERATOR, auth, body, dumps, example, op

LOC_URL = "/ocpi/emsp/2.2.1/locations/BE/BEC/LOC1"


def _is_envelope(data: dict) -> bool:
    return isinstance(data.get("status_code"), int) and "timestamp" in data \
        and "status_message" in data


async def test_no_token_is_401_with_envelope(node):
    r = await node.client.get("/ocpi/cpo/2.2.1/locations")
    assert r.status_code == 401
    assert _is_envelope(body(r))
    assert "detail" not in body(r)


async def test_unknown_token_is_401(node):
    r = await node.client.get("/ocpi/versions", headers=auth("nope"))
    assert r.status_code == 401 and _is_envelope(body(r))


@pytest.mark.parametrize("version", ["2.1.1", "2.2.1", "2.3.0"])
@pytest.mark.parametrize("encoding", ["plain", "base64"])
async def test_plain_and_base64_tokens_accepted_on_every_version(node, version, encoding):
    token = await node.partner("NL", "TNM", "EMSP")
    value = token if encoding == "plain" else base64.b64encode(token.encode()).decode()
    r = await node.client.get(f"/ocpi/cpo/{version}/locations",
                              headers={"authorization": f"Token {value}"})
    assert r.status_code == 200, r.text
    assert body(r)["status_code"] == 1000


async def test_unknown_route_and_method_answer_with_envelope(node):
    r = await node.client.get("/ocpi/cpo/2.2.1/nothing", headers=op())
    assert r.status_code == 404 and _is_envelope(body(r))
    r = await node.client.delete(LOC_URL, headers=op())
    assert r.status_code in (404, 405) and _is_envelope(body(r))


async def test_request_and_correlation_ids_are_echoed_or_made(node):
    r = await node.client.get("/ocpi/versions", headers={
        **op(), "X-Request-ID": "req-1", "X-Correlation-ID": "corr-1"})
    assert r.headers["x-request-id"] == "req-1"
    assert r.headers["x-correlation-id"] == "corr-1"
    r = await node.client.get("/ocpi/cpo/2.2.1/locations")  # even on a 401
    assert r.headers["x-request-id"] and r.headers["x-correlation-id"]


async def test_trailing_slash_answers_without_redirect(node):
    for url in ("/ocpi/versions/", "/ocpi/cpo/2.2.1/locations/", "/ocpi/2.2.1/details/"):
        r = await node.client.get(url, headers=op())
        assert r.status_code == 200, url


async def test_invalid_json_is_400_2001_and_stores_nothing(node):
    token = await node.partner("BE", "BEC")
    r = await node.client.put(LOC_URL, content=b"{", headers=auth(token))
    assert r.status_code == 400
    assert body(r)["status_code"] == 2001
    r = await node.client.get(LOC_URL, headers=auth(token))
    assert r.status_code == 404


async def test_missing_field_is_named(node):
    token = await node.partner("BE", "BEC")
    loc = example("2.2.1", "location_example.json")
    del loc["time_zone"]
    del loc["evses"][0]["connectors"][0]["max_voltage"]
    r = await node.client.put(LOC_URL, content=dumps(loc), headers=auth(token))
    assert r.status_code == 200
    data = body(r)
    assert data["status_code"] == 2001
    assert "time_zone" in data["status_message"]
    assert "evses.0.connectors.0.max_voltage" in data["status_message"]
    assert (await node.client.get(LOC_URL, headers=auth(token))).status_code == 404


async def test_versions_and_details(node):
    r = await node.client.get("/ocpi/versions", headers=op())
    versions = {v["version"]: v["url"] for v in body(r)["data"]}
    assert set(versions) == {"2.1.1", "2.2.1", "2.3.0"}
    for version, url in versions.items():
        d = body(await node.client.get(url.replace("http://testserver", ""), headers=op()))
        assert d["data"]["version"] == version
        eps = d["data"]["endpoints"]
        ids = {e["identifier"] for e in eps}
        assert {"locations", "sessions"} <= ids
        if version == "2.1.1":
            assert all("role" not in e for e in eps)
        else:
            roles = {(e["identifier"], e["role"]) for e in eps}
            assert ("locations", "SENDER") in roles and ("locations", "RECEIVER") in roles


async def test_public_url_is_advertised(database_url):
    import httpx

    from ocpi import get_application

    app = get_application(database_url=database_url, operator_token=OPERATOR,
                          public_url="https://ocpi.example.com/node")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://internal") as c:
        r = await c.get("/ocpi/versions", headers=op())
        assert body(r)["data"][0]["url"].startswith("https://ocpi.example.com/node/ocpi/")
    await app.state.node.db.dispose()



async def test_2_1_1_details_show_the_side_the_caller_talks_to(node):
    """2.1.1 endpoints carry no role: a CPO partner sees our eMSP side, an eMSP our CPO side."""
    cpo = await node.partner("NL", "TNM", "CPO")
    emsp = await node.partner("DE", "ABC", "EMSP")
    for token, side in ((cpo, "/ocpi/emsp/"), (emsp, "/ocpi/cpo/")):
        r = await node.client.get("/ocpi/2.1.1/details", headers=auth(token, "2.1.1"))
        urls = [e["url"] for e in body(r)["data"]["endpoints"]
                if e["identifier"] != "credentials"]
        assert urls and all(side in u for u in urls), urls


async def test_the_default_body_limit_takes_a_location_of_4000_evses(node):
    """4 MiB is chosen to fit the largest real Location with room (docs/security.md)."""
    token = await node.partner("BE", "BEC")
    loc = example("2.2.1", "location_example.json")
    evse = loc["evses"][0]
    loc["evses"] = [{**evse, "uid": f"E{i}", "evse_id": f"BE*BEC*E{i}"} for i in range(4000)]
    text = dumps(loc)
    assert 2_000_000 < len(text) < node.node.limits.max_body_bytes
    r = await node.client.put(LOC_URL, content=text, headers=auth(token))
    assert r.status_code == 201, r.text[:300]
    got = body(await node.client.get(LOC_URL, headers=auth(token)))["data"]
    assert len(got["evses"]) == 4000


async def test_limits_are_settings_of_get_application(database_url):
    import httpx

    from ocpi import get_application

    app = get_application(database_url=database_url, operator_token=OPERATOR,
                          max_body_bytes=1000)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        loc = example("2.2.1", "location_example.json")
        r = await client.put("/ocpi/cpo/2.2.1/locations/BE/BEC/LOC1", content=dumps(loc),
                             headers=op())
        assert r.status_code == 413 and body(r)["status_code"] == 2000
        assert "1000 bytes" in body(r)["status_message"]
    await app.state.node.db.dispose()


async def test_a_client_gone_mid_body_is_no_error_of_ours(node, caplog):
    """wrk and impatient partners hang up mid-body: nothing is parsed, stored or logged."""
    token = await node.partner("BE", "BEC")
    header = auth(token)["Authorization"].encode()
    messages = [{"type": "http.request", "body": b'{"id": "LOC1", ', "more_body": True},
                {"type": "http.disconnect"}]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "PUT", "scheme": "http", "path": LOC_URL, "raw_path": LOC_URL.encode(),
             "query_string": b"", "root_path": "", "server": ("t", 80), "client": ("c", 1),
             "headers": [(b"authorization", header), (b"content-length", b"100")]}
    await node.app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert "went away" in body_of(sent)
    assert "Traceback" not in caplog.text and "unhandled" not in caplog.text
    r = await node.client.get(LOC_URL, headers=auth(token))
    assert r.status_code == 404


def body_of(sent: list[dict]) -> str:
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"
                    ).decode()


async def test_routing_headers_are_echoed_swapped_on_functional_modules_only(node):
    token = await node.partner("DE", "MSP", role="EMSP")
    h = {**auth(token), "OCPI-from-country-code": "DE", "OCPI-from-party-id": "MSP",
         "OCPI-to-country-code": "NL", "OCPI-to-party-id": "OCP"}
    r = await node.client.get("/ocpi/cpo/2.2.1/locations", headers=h)
    assert (r.headers["ocpi-to-country-code"], r.headers["ocpi-to-party-id"]) == ("DE", "MSP")
    assert (r.headers["ocpi-from-country-code"], r.headers["ocpi-from-party-id"]) == \
        ("NL", "OCP")
    # configuration modules SHALL NOT use them (2.2.1 transport and format, routing)
    for path in ("/ocpi/versions", "/ocpi/2.2.1/details", "/ocpi/2.2.1/credentials",
                 "/ocpi/emsp/2.2.1/hubclientinfo/DE/MSP"):
        r = await node.client.get(path, headers=h)
        assert "ocpi-to-country-code" not in r.headers and \
            "ocpi-from-party-id" not in r.headers, path
    # an error answer carries them too; a value OCPI does not allow is not reflected
    bad = {**h, "OCPI-to-party-id": "TOO-LONG"}
    r = await node.client.get("/ocpi/cpo/2.2.1/locations/NOPE", headers=bad)
    assert r.headers["ocpi-to-party-id"] == "MSP" and "ocpi-from-party-id" not in r.headers
    plain = await node.client.get("/ocpi/versions", headers=auth(token))
    assert "ocpi-to-country-code" not in plain.headers


def test_a_handler_reads_the_routing_parties_from_its_request():
    from starlette.datastructures import Headers

    from ocpi.core.transport import routing_parties

    h = Headers({"ocpi-from-country-code": "de", "ocpi-from-party-id": "msp",
                 "ocpi-to-country-code": "NL", "ocpi-to-party-id": "TOOLONG"})
    assert routing_parties(h) == (("DE", "MSP"), None)

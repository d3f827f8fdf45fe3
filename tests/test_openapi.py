"""``/openapi.json``, ``/docs`` and the root page.

The document is valid OpenAPI 3.1; it describes every route the app serves and no
other; its schemas are the modules' declarations (required where a version requires,
optional where it does not); the specification's examples validate against its
request schemas, and the node's real answers against its response schemas; /docs
and its Swagger UI come from the package, under a Content-Security-Policy.
"""

import fnmatch
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from pydantic import BaseModel
from starlette.routing import BaseRoute, Mount, Route

from ocpi import get_application
from ocpi.core import jsonutil
from ocpi.core.enums import ModuleID, RoleEnum
from ocpi.modules.registry import MODULES
from ocpi.openapi import pages

from .conftest import OPERATOR, auth, example, op
from .servers import ServerThread
from .test_examples import LOCATION_PATCHES, LOCATIONS, SESSION_PATCHES, SESSIONS

VERSIONS = ("2.1.1", "2.2.1", "2.3.0")
_PARAM = re.compile(r"{[^}]*}")


def _app(tmp_path: Path, **kwargs: Any) -> Any:
    return get_application(database_url=f"sqlite:///{tmp_path / 'ocpi.db'}",
                           operator_token=OPERATOR, country_code="NL", party_id="OCP",
                           business_name="Test Node", deliver=False, **kwargs)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A node on a real port (uvicorn), and its document as it serves it."""
    app = _app(tmp_path_factory.mktemp("openapi"))
    with ServerThread(app) as url:
        doc = httpx.get(f"{url}/openapi.json").json()
        yield app, url, doc


def _shapes_served(routes: list[BaseRoute], prefix: str = "") -> set[tuple[str, str]]:
    """(path with its parameters unnamed, method) of every route, Mounts walked; the
    browser pages (/docs, /console) are no API. Written apart from the package's own walker."""
    out: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Mount):
            out |= _shapes_served(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            path = prefix + route.path
            if any(path == page or path.startswith(page + "/") for page in ("/docs", "/console")):
                continue
            path = path.rstrip("/") or "/"
            out |= {(_PARAM.sub("{}", path), m) for m in route.methods or () if m != "HEAD"}
    return out


def _shapes_documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(_PARAM.sub("{}", path), method.upper()) for path, item in doc["paths"].items()
            for method in item}


def _operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for item in doc["paths"].values() for o in item.values()]


def _validator(doc: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({**schema, "components": doc["components"]})


def _request_schema(doc: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]


def _answer_schema(doc: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    return doc["paths"][path][method]["responses"]["200"]["content"]["application/json"][
        "schema"]


def _errors(doc: dict[str, Any], schema: dict[str, Any], instance: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:200]}"
            for e in _validator(doc, schema).iter_errors(_as_json(instance))]


def _as_json(value: Any) -> Any:
    """Decimals (how the node reads numbers) as the JSON numbers they were."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if type(value).__name__ == "Decimal":
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# --- the document ------------------------------------------------------------------

def test_the_document_is_valid_openapi_3_1(served: Any) -> None:
    _, _, doc = served
    assert doc["openapi"] == "3.1.0"
    validate_openapi(doc)  # raises, naming the place, when it is not
    assert doc["info"]["title"] == "Test Node"
    schemes = doc["components"]["securitySchemes"]
    assert schemes["partnerToken"] == {**schemes["partnerToken"], "type": "apiKey",
                                       "in": "header", "name": "Authorization"}


def test_every_served_route_is_documented_and_nothing_else(served: Any) -> None:
    app, _, doc = served
    served_shapes = _shapes_served(list(app.router.routes))
    assert served_shapes == _shapes_documented(doc)
    assert ("/ocpi/cpo/2.2.1/locations", "GET") in served_shapes  # the walk saw the Mounts
    assert {("/metrics", "GET"), ("/ocpi/versions", "GET"), ("/", "GET"),
            ("/api/v1/chargingparks/{}/sessions", "GET")} <= served_shapes
    undescribed = [o["operationId"] for o in _operations(doc) if o.get("x-ocpi-undescribed")]
    assert undescribed == []


def test_only_the_versions_and_roles_served_are_described(tmp_path: Path) -> None:
    app = _app(tmp_path, version_numbers=["2.2.1"], roles=[RoleEnum.cpo])
    with ServerThread(app) as url:
        doc = httpx.get(f"{url}/openapi.json").json()
    validate_openapi(doc)
    assert _shapes_served(list(app.router.routes)) == _shapes_documented(doc)
    ocpi_paths = [p for p in doc["paths"] if p.startswith("/ocpi/") and "{version}" not in p
                  and p != "/ocpi/versions"]
    assert ocpi_paths and all("/2.2.1/" in p or p.endswith("/2.2.1/credentials")
                              for p in ocpi_paths)
    assert not any(p.startswith("/ocpi/emsp/") for p in doc["paths"])
    assert {t["name"] for t in doc["tags"]} == {"Node", "OCPI 2.2.1", "OCPI 2.2.1 CPO"}


def _declared_models() -> list[type[BaseModel]]:
    out: list[type[BaseModel]] = []
    for module in MODULES.values():
        if module.objects is None:
            continue
        for version, model in module.objects.schemas.items():
            out.append(model)
            for kind in ("evse", "connector"):
                out.append(module.objects.model(version, kind))
    return list(dict.fromkeys(out))


def test_required_fields_are_the_declarations(served: Any) -> None:
    _, _, doc = served
    schemas = doc["components"]["schemas"]
    models = _declared_models()
    assert len(models) >= 15
    for model in models:
        required = {n for n, f in model.model_fields.items() if f.is_required()}
        assert set(schemas[model.__name__].get("required", [])) == required, model.__name__
    # what a version requires, and what it does not
    assert "time_zone" in schemas["Location221"]["required"]
    assert "time_zone" not in schemas["Location211"].get("required", [])
    assert "name" not in schemas["Location221"]["required"]
    assert "name" in schemas["Location221"]["properties"]
    # a closed enum is one; an open one only suggests its values
    status = schemas["EVSE221"]["properties"]["status"]
    assert status["enum"][:2] == ["AVAILABLE", "BLOCKED"]
    standard = schemas["Connector221"]["properties"]["standard"]
    assert "enum" not in standard and "IEC_62196_T2" in standard["examples"]


def test_paginated_lists_and_the_envelope(served: Any) -> None:
    _, _, doc = served
    listing = doc["paths"]["/ocpi/cpo/2.2.1/sessions"]["get"]
    assert {p["name"] for p in listing["parameters"] if "name" in p} >= {
        "offset", "limit", "date_from", "date_to"}
    assert set(listing["responses"]["200"]["headers"]) == {"Link", "X-Total-Count", "X-Limit"}
    data = listing["responses"]["200"]["content"]["application/json"]["schema"]["allOf"][1]
    assert data["properties"]["data"]["items"] == {"$ref": "#/components/schemas/Session221"}
    envelope = doc["components"]["schemas"]["OcpiEnvelope"]
    assert set(envelope["properties"]) == {"data", "status_code", "status_message", "timestamp"}
    management = doc["paths"]["/ocpi/cpo/2.2.1/sessions/{country_code}/{party_id}/{session_id}"]
    assert management["put"]["security"] == [{"operatorToken": []}]
    receiver = doc["paths"]["/ocpi/emsp/2.2.1/sessions/{country_code}/{party_id}/{session_id}"]
    assert {"partnerToken": []} in receiver["put"]["security"]
    assert receiver["patch"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Session221-patch-stamped"}
    assert doc["paths"]["/"]["get"]["security"] == []


# --- the specification's examples -------------------------------------------------

def _object_cases() -> list[tuple[str, str, str, str]]:
    """(version, example, path, method) of every whole object and PATCH fragment."""
    loc = "/ocpi/emsp/{v}/locations/{{country_code}}/{{party_id}}/{{location_id}}"
    levels = {"location": "", "evse": "/{evse_uid}", "connector": "/{evse_uid}/{connector_id}"}
    ses = "/ocpi/emsp/{v}/sessions/{{country_code}}/{{party_id}}/{{session_id}}"
    tok = "/ocpi/cpo/{v}/tokens/{{country_code}}/{{party_id}}/{{token_uid}}"
    tar = "/ocpi/emsp/{v}/tariffs/{{country_code}}/{{party_id}}/{{tariff_id}}"
    cases = []
    for v in VERSIONS:
        cases += [(v, n, loc.format(v=v), "put") for n in LOCATIONS[v]]
        cases += [(v, n, ses.format(v=v), "put") for n in SESSIONS[v]]
        cases += [(v, n, loc.format(v=v) + levels[level], "patch")
                  for n, level in LOCATION_PATCHES[v] if level in levels]
        cases += [(v, n, ses.format(v=v), "patch") for n in SESSION_PATCHES[v]]
    cases += [
        ("2.1.1", "mod_tokens_L129_example_put_a_new_token.json", tok.format(v="2.1.1"), "put"),
        ("2.1.1", "mod_tokens_L169_example_invalidate_a_token.json", tok.format(v="2.1.1"),
         "patch"),
        ("2.1.1", "mod_tariffs_L294_simple_tariff_example_2_euro_per_hour.json",
         tar.format(v="2.1.1"), "put"),
        ("2.1.1", "mod_tariffs_L209_example_change_tariff_to_2_50.json", tar.format(v="2.1.1"),
         "patch"),
        ("2.1.1", "mod_cdrs_L250_example_of_a_cdr.json", "/ocpi/emsp/2.1.1/cdrs", "post"),
        ("2.1.1", "credentials_L95_example.json", "/ocpi/2.1.1/credentials", "post"),
    ]
    for v in ("2.2.1", "2.3.0"):
        cases += [
            (v, "token_put_example.json", tok.format(v=v), "put"),
            (v, "token_example_1_app_user.json", tok.format(v=v), "put"),
            (v, "token_example_2_full_rfid.json", tok.format(v=v), "put"),
            (v, "token_patch_example.json", tok.format(v=v), "patch"),
            (v, "tariff_1_simple_2hour.json", tar.format(v=v), "put"),
            (v, "tariff_4_complex.json", tar.format(v=v), "put"),
            (v, "cdr_example.json", f"/ocpi/emsp/{v}/cdrs", "post"),
            (v, "credentials_example.json", f"/ocpi/{v}/credentials", "post"),
        ]
    return cases


@pytest.mark.parametrize(("version", "name", "path", "method"), _object_cases())
def test_specification_examples_validate_against_the_request_schemas(
        served: Any, version: str, name: str, path: str, method: str) -> None:
    _, _, doc = served
    body = example(version, name)
    if method == "patch" and version != "2.1.1":  # a partner's PATCH carries its stamp (the
        body.setdefault("last_updated", "2025-01-01T00:00:00Z")  # spec's fragments omit it)
    assert _errors(doc, _request_schema(doc, path, method), body) == []


def test_a_stamp_is_required_in_a_partners_patch(served: Any) -> None:
    _, _, doc = served
    path = "/ocpi/emsp/{}/sessions/{{country_code}}/{{party_id}}/{{session_id}}"
    fragment = {"kwh": 15}
    assert _errors(doc, _request_schema(doc, path.format("2.2.1"), "patch"), fragment) == [
        "[]: 'last_updated' is a required property"]
    assert _errors(doc, _request_schema(doc, path.format("2.1.1"), "patch"), fragment) == []
    management = "/ocpi/cpo/2.2.1/sessions/{country_code}/{party_id}/{session_id}"
    assert _errors(doc, _request_schema(doc, management, "patch"), fragment) == []


def test_an_incomplete_example_fails_as_the_node_refuses_it(served: Any) -> None:
    """The 2.2.1 tariff PUT example lacks last_updated; the node answers 2001 for it
    (test_tariff_cdr_schemas), and the schema says the same field."""
    _, _, doc = served
    path = "/ocpi/emsp/2.2.1/tariffs/{country_code}/{party_id}/{tariff_id}"
    errors = _errors(doc, _request_schema(doc, path, "put"),
                     example("2.2.1", "tariff_put_example.json"))
    assert errors == ["[]: 'last_updated' is a required property"]
    location = {**example("2.2.1", "location_example.json"), "evses": [{"uid": "x"}]}
    errors = _errors(doc, _request_schema(
        doc, "/ocpi/emsp/2.2.1/locations/{country_code}/{party_id}/{location_id}", "put"),
        location)
    assert errors and all(e.startswith("['evses']") for e in errors), errors


def test_response_examples_of_the_specification(served: Any) -> None:
    _, _, doc = served
    def data(path: str) -> dict[str, Any]:
        return _answer_schema(doc, path)["allOf"][1]["properties"]["data"]

    versions = example("2.2.1", "versions_info_example.json")
    assert _errors(doc, data("/ocpi/versions"), versions) == []
    details = example("2.2.1", "version_details_example.json")
    assert _errors(doc, data("/ocpi/{version}/details"), details) == []
    assert _errors(doc, data("/ocpi/{version}/details"), {"version": "2.2.1"}) == [
        "[]: 'endpoints' is a required property"]
    tokens = example("2.2.1", "transport_and_format_get_token_list_example.json")
    assert _errors(doc, _answer_schema(doc, "/ocpi/emsp/2.2.1/tokens"), tokens) == []


# --- the node's real answers ------------------------------------------------------

async def test_the_nodes_answers_fit_the_documented_schemas(node: Any) -> None:
    c = node.client
    doc = (await c.get("/openapi.json")).json()
    location = example("2.2.1", "location_example.json")
    cc, pid = location["country_code"], location["party_id"]
    r = await c.put(f"/ocpi/cpo/2.2.1/locations/{cc}/{pid}/{location['id']}", headers=op(),
                    content=jsonutil.dumps(location))
    assert r.status_code == 201, r.text
    assert _errors(doc, doc["paths"]["/ocpi/cpo/2.2.1/locations/{country_code}/{party_id}/"
                                     "{location_id}"]["put"]["responses"]["201"]["content"][
        "application/json"]["schema"], r.json()) == []
    token = await node.partner("DE", "EMS", "EMSP")
    for version in VERSIONS:
        r = await c.get(f"/ocpi/cpo/{version}/locations", headers=auth(token, version))
        assert r.status_code == 200 and r.json()["data"], r.text
        assert {"X-Total-Count", "X-Limit"} <= set(r.headers.keys()) | {
            h.title() for h in r.headers}
        assert _errors(doc, _answer_schema(doc, f"/ocpi/cpo/{version}/locations"),
                       jsonutil.loads(r.content)) == [], version
        evse = location["evses"][0]["uid"]
        r = await c.get(f"/ocpi/cpo/{version}/locations/{location['id']}/{evse}",
                        headers=auth(token, version))
        assert _errors(doc, _answer_schema(
            doc, f"/ocpi/cpo/{version}/locations/{{location_id}}/{{evse_uid}}"),
            jsonutil.loads(r.content)) == [], version
    # an OCPI-level refusal comes with HTTP 200 and no data: the 200 schema takes it
    r = await c.get("/ocpi/cpo/2.2.1/locations?offset=-1", headers=auth(token))
    assert r.status_code == 200 and r.json()["status_code"] == 2001 and "data" not in r.json()
    assert _errors(doc, _answer_schema(doc, "/ocpi/cpo/2.2.1/locations"), r.json()) == []
    for path in ("/ocpi/versions", "/ocpi/2.2.1/details"):
        r = await c.get(path, headers=auth(token))
        documented = "/ocpi/{version}/details" if "details" in path else path
        assert _errors(doc, _answer_schema(doc, documented), r.json()) == []
    r = await c.get("/ocpi/cpo/2.2.1/locations", headers={})
    assert r.status_code == 401  # a served route, unknown ones 404: no token is needed to tell
    assert (await c.get("/ocpi/cpo/2.2.1/nothing", headers={})).status_code == 404
    error = doc["components"]["responses"]["Unauthorized"]["content"]["application/json"]
    assert _errors(doc, error["schema"], r.json()) == []


# --- /docs, its assets, the root page ---------------------------------------------

def test_docs_page_and_its_assets_come_from_the_package(served: Any) -> None:
    _, url, _ = served
    r = httpx.get(f"{url}/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "http" not in csp and "unsafe" not in csp
    assert httpx.get(f"{url}/docs/").status_code == 200
    referenced = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert set(referenced) == {"/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js",
                               "/docs/swagger-init.js"}
    static = resources.files("ocpi.openapi") / "static"
    for path in referenced:
        name, media = pages.ASSETS[path.removeprefix("/docs/")]
        plain = httpx.get(url + path, headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200 and plain.headers["content-type"].startswith(
            media.split(";")[0])
        assert plain.content == (static / name).read_bytes()
        zipped = httpx.get(url + path, headers={"Accept-Encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.content == plain.content  # httpx undid the gzip
        assert "/openapi.json" in plain.text or path != "/docs/swagger-init.js"
    assert "Apache License" in (static / "swagger-ui" / "LICENSE").read_text()


def test_the_package_data_ships_the_static_files() -> None:
    """A wheel carries what pyproject's package-data names: every file of static/."""
    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["ocpi"]
    package = root / "src" / "ocpi"
    files = [p.relative_to(package).as_posix()
             for p in (package / "openapi" / "static").rglob("*") if p.is_file()]
    assert len(files) >= 5
    for f in files:
        assert any(fnmatch.fnmatch(f, pat) for pat in patterns), f


def test_the_root_answers_a_browser_and_a_client(served: Any) -> None:
    _, url, _ = served
    r = httpx.get(url + "/", headers={"Accept": "application/json"})
    assert r.status_code == 200
    body = r.json()
    assert body["status_code"] == 1000 and set(body) == {
        "data", "status_code", "status_message", "timestamp"}
    assert body["data"] == {"name": "Test Node", "party": "NL/OCP", "links": {
        "versions": f"{url}/ocpi/versions", "console": f"{url}/console",
        "docs": f"{url}/docs", "openapi": f"{url}/openapi.json"}}
    page = httpx.get(url + "/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    for link in ("/ocpi/versions", "/console", "/docs", "/openapi.json"):
        assert f'href="{url}{link}"' in page.text
    assert "<script" not in page.text


def test_docs_and_document_can_be_turned_off(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCPI_OPENAPI", "0")
    app = _app(tmp_path)
    with ServerThread(app) as url:
        for path in ("/openapi.json", "/docs", "/docs/swagger-ui-bundle.js"):
            r = httpx.get(url + path)
            assert r.status_code == 404 and r.json()["status_code"] == 2000, path
        assert set(httpx.get(url + "/").json()["data"]["links"]) == {"versions", "console"}


def test_hostile_requests_to_these_routes(served: Any) -> None:
    _, url, _ = served
    r = httpx.get(f"{url}/openapi.json?" + "x=" + "a" * 20_000)
    assert r.status_code in (400, 414) and r.json()["status_code"] == 2000
    r = httpx.get(f"{url}/docs/" + "a" * 5000)
    assert r.status_code in (404, 414) and "status_code" in r.json()
    r = httpx.post(f"{url}/openapi.json", content=b"x")
    assert r.status_code == 405 and r.json()["status_code"] == 2000
    r = httpx.get(f"{url}/docs/..%2f..%2fpyproject.toml")
    assert r.status_code == 404 and r.json()["status_code"] == 2000
    r = httpx.head(f"{url}/openapi.json")
    assert r.status_code == 200 and r.content == b""


async def test_the_document_is_built_once() -> None:
    built: list[int] = []

    def build() -> dict[str, Any]:
        built.append(1)
        return {"openapi": "3.1.0"}

    endpoint = pages.document_endpoint(build)
    scope = {"type": "http", "method": "GET", "path": "/openapi.json", "headers": [],
             "query_string": b""}
    from starlette.requests import Request

    first = await endpoint(Request(scope))
    second = await endpoint(Request(scope))
    assert first.body == second.body == b'{"openapi":"3.1.0"}' and built == [1]


def test_a_modules_own_endpoints_name_their_models(served: Any) -> None:
    """Commands: the command in the path is one the version has, the body its object."""
    _, _, doc = served

    def command(version: str) -> dict[str, Any]:
        return doc["paths"][f"/ocpi/cpo/{version}/commands/{{command}}"]["post"]

    values = {v: command(v)["parameters"][0]["schema"]["enum"] for v in VERSIONS}
    assert "CANCEL_RESERVATION" not in values["2.1.1"]
    assert "CANCEL_RESERVATION" in values["2.2.1"] and "START_SESSION" in values["2.1.1"]
    body = command("2.2.1")["requestBody"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/StartSession221"} in body["anyOf"]
    start = {"response_url": "https://emsp.example.com/r/1", "location_id": "LOC1",
             "token": example("2.2.1", "token_put_example.json")}
    assert _errors(doc, body, start) == []
    authorize = doc["paths"]["/ocpi/emsp/2.2.1/tokens/{token_uid}/authorize"]["post"]
    assert authorize["requestBody"]["required"] is False
    assert [p["name"] for p in authorize["parameters"] if "name" in p] == ["token_uid", "type"]


async def test_an_app_on_the_users_crud_is_described_too() -> None:
    """The seed tutorials' app (user Crud and Authenticator, a few modules): its
    credentials come from the seed's definition, and only its modules are listed."""
    from .test_seed_compat import YourAuthenticator, YourCrud

    app = get_application(version_numbers=["2.3.0"], roles=[RoleEnum.cpo],
                          modules=[ModuleID.sessions, ModuleID.credentials_and_registration],
                          authenticator=YourAuthenticator, crud=YourCrud)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://127.0.0.1:8000") as c:
        doc = (await c.get("/openapi.json")).json()
    validate_openapi(doc)
    assert _shapes_served(list(app.router.routes)) == _shapes_documented(doc)
    assert "/ocpi/2.3.0/credentials" in doc["paths"]
    assert not any("/locations" in p for p in doc["paths"])
    assert not any(o.get("x-ocpi-undescribed") for o in _operations(doc))

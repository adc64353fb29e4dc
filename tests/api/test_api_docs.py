"""The API's own documentation over real HTTP: the OpenAPI document declares how to authenticate (and every
authenticated operation says so), describes the app and its tags, and /docs and /redoc load only assets
that the api itself serves. Plus the authentication behaviour those declarations must not change."""

from __future__ import annotations

import asyncio
import base64
import importlib
import json
import pkgutil
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from fastapi import APIRouter

import api.routes
from api.errors import error_body
from storage.bootstrap import Credentials

PUBLIC_OPERATIONS = {
    ("get", "/healthz"),
    ("post", "/flex-api/v2/WebChats"),
    ("post", "/flex-api/v2/WebChats/Tokens/Refresh"),
    # What the widget shows before a chat starts: the address's pre-chat form and whether anyone can answer.
    ("get", "/flex-api/v2/WebChats/Settings"),
    # Providers call these with no Parley credentials: the request's signature is what authenticates it.
    ("get", "/parley/v1/ChannelProviders/{Sid}/Webhook"),
    ("post", "/parley/v1/ChannelProviders/{Sid}/Webhook"),
    # A temporary link's own signature authorizes it (what a provider fetches an attachment from).
    ("get", "/mcs/v1/Services/{ChatServiceSid}/Media/{sid}/Content/Temporary"),
}
SCHEMES = {"AccountCredentials", "AccessToken", "TwilioTokenHeader"}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
}


@pytest.fixture
async def openapi(parley: Any) -> dict[str, Any]:
    # Anonymous on purpose: the document itself is public, like Twilio's published specs.
    async with httpx.AsyncClient(base_url=parley.base_url) as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def router_tags() -> set[str]:
    """Every tag a router in api/routes declares, found by importing the modules (they move; the tags stay)."""
    tags: set[str] = set()
    for module_info in pkgutil.walk_packages(api.routes.__path__, prefix="api.routes."):
        router = getattr(importlib.import_module(module_info.name), "router", None)
        if isinstance(router, APIRouter):
            tags.update(str(tag) for tag in router.tags)
    return tags


async def test_openapi_declares_the_three_ways_to_authenticate(openapi: dict[str, Any]) -> None:
    schemes = openapi["components"]["securitySchemes"]
    assert set(schemes) == SCHEMES
    assert schemes["AccountCredentials"]["type"] == "http"
    assert schemes["AccountCredentials"]["scheme"] == "basic"
    assert schemes["AccessToken"]["type"] == "http"
    assert schemes["AccessToken"]["scheme"] == "bearer"
    assert schemes["AccessToken"]["bearerFormat"] == "JWT"
    assert schemes["TwilioTokenHeader"]["type"] == "apiKey"
    assert schemes["TwilioTokenHeader"]["in"] == "header"
    assert schemes["TwilioTokenHeader"]["name"] == "X-Twilio-Token"
    assert all(scheme.get("description") for scheme in schemes.values())


async def test_authenticated_operations_reference_the_schemes_and_public_ones_do_not(
    openapi: dict[str, Any],
) -> None:
    found = operations(openapi)
    assert PUBLIC_OPERATIONS <= {(method, path) for method, path, _ in found}
    assert len(found) > 30  # the whole API is documented, not just a corner of it
    for method, path, operation in found:
        if (method, path) in PUBLIC_OPERATIONS:
            assert not operation.get("security"), f"{method} {path} is public but documents credentials"
            continue
        # One alternative per scheme: any one of them is enough (OpenAPI's OR of requirement objects).
        requirements = operation.get("security")
        assert requirements, f"{method} {path} documents no security requirement"
        assert sorted(requirements, key=str) == sorted(({name: []} for name in SCHEMES), key=str), (method, path)


async def test_the_document_describes_parley_and_every_router_tag(openapi: dict[str, Any]) -> None:
    description = openapi["info"]["description"]
    for needle in ("Conversations v1", "Flex Interactions v1", "TaskRouter v1", "X-Twilio-Token", "HTTP Basic"):
        assert needle in description, needle
    described = {tag["name"]: tag.get("description", "") for tag in openapi["tags"]}
    used = router_tags()
    assert used, "no router found in api/routes"
    missing = sorted(tag for tag in used if not described.get(tag))
    assert not missing, f"router tags without a description: {missing}"
    # A tag an operation uses but the list lacks would be shown undocumented.
    for method, path, operation in operations(openapi):
        for tag in operation.get("tags", []):
            assert tag in described, f"{method} {path}: tag {tag!r} is not described"


class _Assets(HTMLParser):
    """The URLs a page makes the browser load: script src, link href, img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src", "redoc": "spec-url"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_only_same_origin_assets(parley: Any, page: str) -> None:
    async with httpx.AsyncClient(base_url=parley.base_url) as client:
        response = await client.get(page)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
        html = response.text
        # No absolute URL at all: a CDN (or Google Fonts) is the very thing an offline machine cannot reach.
        assert not re.findall(r"https?://[^\s\"'<>]+", html), html
        parser = _Assets()
        parser.feed(html)
        page_url = f"{parley.base_url}{page}"
        assets = [urljoin(page_url, url) for url in parser.urls]
        assert any(url.endswith(".js") for url in assets), assets
        for url in assets:
            assert urlsplit(url).netloc == urlsplit(parley.base_url).netloc, url
            fetched = await client.get(url)
            assert fetched.status_code == 200, f"{url}: {fetched.status_code}"
            content_type = fetched.headers["content-type"].split(";")[0].strip()
            if url.endswith("/openapi.json"):
                assert content_type == "application/json", url
            else:
                suffix = "." + url.rsplit(".", 1)[-1]
                assert content_type in CONTENT_TYPES[suffix], f"{url}: {content_type}"
        # Swagger UI names the document in its init script rather than in an attribute.
        if page == "/docs":
            spec = re.search(r"url: '([^']+)'", html)
            assert spec and spec.group(1) == "/openapi.json", html
            assert (await client.get(urljoin(page_url, spec.group(1)))).status_code == 200


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        ("Basic not-base64!", "Malformed Basic authorization header"),
        ("Basic " + base64.b64encode(b"no-colon").decode(), "Malformed Basic authorization header"),
        ("Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "Malformed Basic authorization header"),
        (basic("AC" + "0" * 32, "wrong"), "invalid username or password"),
        ("Bearer not-a-jwt", "Malformed access token"),
        ("Basic", "Authentication required"),
        ("Digest whatever", "Authentication required"),
    ],
)
async def test_bad_credentials_get_twilios_20003_whatever_the_scheme(
    parley: Any, authorization: str, message: str
) -> None:
    """The security classes only document the schemes: refusals still come from Parley's Authenticator."""
    async with httpx.AsyncClient(base_url=parley.base_url) as client:
        response = await client.get("/taskrouter/v1/Workspaces", headers={"Authorization": authorization})
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["code"] == 20003 and body["status"] == 401, body
    assert message in body["message"], body
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_each_documented_scheme_authenticates(
    parley: Any, account: Credentials, agent_token: Any, admin: httpx.AsyncClient
) -> None:
    created = await admin.post("/taskrouter/v1/Workspaces", data={"FriendlyName": "docs-schemes"})
    assert created.status_code == 201, created.text
    workspace_sid = created.json()["sid"]
    token = agent_token(workspace_sid, None, identity="supervisor", role="supervisor")
    try:
        for headers in (
            {"Authorization": basic(account.account_sid, account.auth_token)},
            {"Authorization": basic(account.api_key_sid, account.api_key_secret)},
            {"Authorization": f"Bearer {token}"},
            {"X-Twilio-Token": token},
        ):
            async with httpx.AsyncClient(base_url=parley.base_url, headers=headers) as client:
                response = await client.get(f"/taskrouter/v1/Workspaces/{workspace_sid}")
            assert response.status_code == 200, (headers, response.text)
    finally:
        assert (await admin.delete(f"/taskrouter/v1/Workspaces/{workspace_sid}")).status_code == 204


async def test_an_empty_bearer_token_is_malformed_even_beside_a_twilio_token(parley: Any, agent_token: Any) -> None:
    """`Authorization: Bearer ` names the bearer scheme with no token: refused, as before the schemes were
    documented (HTTPBearer itself would ignore it and fall through to X-Twilio-Token). httpx will not send a
    header value with trailing whitespace, so this one is written by hand."""
    token = agent_token("WS" + "0" * 32, None, role="supervisor")
    parts = urlsplit(parley.base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(
            (
                f"GET /taskrouter/v1/Workspaces HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer \r\n"
                f"X-Twilio-Token: {token}\r\nConnection: close\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401"), response
    assert b'"code":20003' in body and b"Malformed access token" in body, response


# --- query parameters and error responses --------------------------------------------------------------------

# Twilio's published specs, distilled (scripts/twilio_surface.py): each operation's query parameters and their
# types and enum values.
SURFACE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "twilio-surface.json"
_WS = "/taskrouter/v1/Workspaces/{workspace_sid}"
# Twilio's filters Parley does not implement: not declared, and ignored if sent (as Twilio ignores unknown ones).
NOT_IMPLEMENTED = {
    ("get", "/conversations/v1/Conversations"): {"StartDate", "EndDate"},
    ("get", "/conversations/v1/Services/{ChatServiceSid}/Conversations"): {"StartDate", "EndDate"},
}
# Query parameters Parley reads that Twilio's spec does not have on that operation.
EXTENSIONS = {("post", f"{_WS}/TaskQueues/RealTimeStatistics"): {"TaskChannel"}}


def _template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def query_parameters(operation: dict[str, Any], components: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An operation's query parameters by name, each schema with its `$ref`s (Twilio's enums) resolved."""

    def resolved(schema: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in schema:
            schema = components[schema["$ref"].rsplit("/", 1)[-1]]
        if "items" in schema:
            schema = {**schema, "items": resolved(schema["items"])}
        return schema

    return {p["name"]: resolved(p.get("schema", {})) for p in operation.get("parameters", []) if p.get("in") == "query"}


def list_operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The GET operations that answer a page: their 200 is a model with Twilio's `meta`."""
    models = document["components"]["schemas"]
    found = []
    for path, item in document["paths"].items():
        get = item.get("get")
        if get is None:
            continue
        body = get["responses"].get("200", {}).get("content", {}).get("application/json", {})
        model = models.get(body.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1], {})
        if "meta" in model.get("properties", {}):
            found.append((path, get))
    return found


async def test_every_list_declares_twilios_paging_parameters(openapi: dict[str, Any]) -> None:
    lists = list_operations(openapi)
    assert len(lists) >= 40, [path for path, _ in lists]
    for path, operation in lists:
        declared = query_parameters(operation, openapi["components"]["schemas"])
        size, page, token = (declared.get(name) for name in ("PageSize", "Page", "PageToken"))
        assert size and page and token, f"{path} declares {sorted(declared)}"
        assert size["type"] == "integer" and size["minimum"] == 1 and size["maximum"] >= 5, (path, size)
        assert page["type"] == "integer" and page["minimum"] == 0, (path, page)
        assert token["type"] == "string", (path, token)


async def test_query_parameters_are_twilios_for_each_twilio_operation(openapi: dict[str, Any]) -> None:
    """Names, types and enum values of every query parameter, against Twilio's own spec of the operation;
    the differences are the ones listed above, and those are still differences."""
    surface = json.loads(SURFACE.read_text())
    twilio = {
        (op["method"].lower(), _template(op["path"])): op["query_types"] for ops in surface.values() for op in ops
    }
    components = openapi["components"]["schemas"]
    compared = 0
    for method, path, operation in operations(openapi):
        theirs = twilio.get((method, _template(path)))
        if theirs is None:
            continue
        compared += 1
        ours = query_parameters(operation, components)
        key = (method, path)
        assert set(theirs) - set(ours) == NOT_IMPLEMENTED.get(key, set()), f"{key}: Twilio's are {sorted(theirs)}"
        assert set(ours) - set(theirs) == EXTENSIONS.get(key, set()), f"{key}: Twilio's are {sorted(theirs)}"
        for name in set(ours) & set(theirs):
            mine, its = ours[name], theirs[name]
            assert mine.get("type") == its["type"], (key, name, mine, its)
            if "enum" in its:
                assert set(mine.get("enum", ())) == set(its["enum"]), (key, name, mine, its)
            if "enum" in its.get("items", {}):
                assert set(mine.get("items", {}).get("enum", ())) == set(its["items"]["enum"]), (key, name, mine, its)
    assert compared >= 180, f"only {compared} operations compared with Twilio's specs"


async def test_every_operation_documents_its_errors_with_twilios_body(openapi: dict[str, Any]) -> None:
    error = openapi["components"]["schemas"]["TwilioError"]
    assert set(error["required"]) == set(error_body(20001, "x", 400)) == set(error["properties"])
    assert "HTTPValidationError" not in openapi["components"]["schemas"]
    for method, path, operation in operations(openapi):
        responses = operation["responses"]
        assert "422" not in responses, f"{method} {path}: Parley answers a validation error with a 400"
        expected = {"400"} | ({"401", "403", "429"} if operation.get("security") else set())
        if "requestBody" in operation:
            expected |= {"413"}
        if method != "get":
            expected |= {"409"}
        assert expected <= set(responses), f"{method} {path} documents {sorted(responses)}"
        for status, response in responses.items():
            if status.startswith(("4", "5")) and (method, path) != ("get", "/healthz"):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/TwilioError"}, (method, path, status)

"""The API's own documentation over real HTTP: the OpenAPI document declares how to authenticate (and every
authenticated operation says so), describes the app and its tags, and /docs and /redoc load only assets
that the api itself serves. Plus the authentication behaviour those declarations must not change."""

from __future__ import annotations

import asyncio
import base64
import importlib
import pkgutil
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from fastapi import APIRouter

import api.routes
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

"""The API's own documentation: the OpenAPI description and tag texts, the error responses every operation
documents (Twilio's error body, on the statuses Parley answers with), and /docs (Swagger UI) and /redoc (ReDoc)
served from packaged assets, so both work on a machine with no internet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

# The PyPI package fastapi-offline (MIT, pinned in pyproject.toml) ships Swagger UI's and ReDoc's standalone
# bundles (1.7.7: swagger-ui-dist 5.32.6, Apache-2.0; redoc 2.5.3, MIT) and FastAPI's favicon. We use only its
# files, not its FastAPI wrapper, so the app keeps its one constructor in api/app.py.
ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_PATH = "/docs/assets"

DESCRIPTION = """\
Parley is a self-hosted, open-source contact-center conversations platform — what Twilio Flex Conversations
describes (Conversations, Interactions and TaskRouter, an agent desktop and a web chat widget) — rebuilt on
Temporal and PostgreSQL.

**Wire-compatible with Twilio.** Parley speaks Twilio's
[Conversations v1](https://www.twilio.com/docs/conversations/api) (`/conversations/v1/…`),
[Flex Interactions v1](https://www.twilio.com/docs/flex/developer/conversations/interactions-api)
(`/flex-api/v1/…`) and [TaskRouter v1](https://www.twilio.com/docs/taskrouter/api) (`/taskrouter/v1/…`):
form-encoded PascalCase parameters in, snake_case JSON out, the `meta` paging envelope, Twilio's SID and date
formats and Twilio error bodies (`code`, `message`, `more_info`, `status`). The official `twilio` helper
libraries work unchanged once their `base_url` points here. Parley's own extensions are the public
`POST /flex-api/v2/WebChats`, `POST /parley/v1/Tokens`, `AutoCreation.Routing` on address configurations,
`routing_decision` on reservations and `routing_status` on pending tasks.

**Authentication.** Every endpoint except `GET /healthz`, `POST /flex-api/v2/WebChats` (and the widget's
`GET /flex-api/v2/WebChats/Settings` and token refresh), the provider webhooks
(`/parley/v1/ChannelProviders/{Sid}/Webhook`, authenticated by the provider's signature) and temporary media
links (signed) needs one of:

- *HTTP Basic* with an Account SID (`AC…`) and its auth token, or an API key SID (`SK…`) and its secret:
  full access to the account, as servers and admins use it.
- An *access token* (Twilio's JWT layout, HS256, signed with an API key secret; `iss` is the key SID, `sub`
  the Account SID), sent as `Authorization: Bearer <token>` or in the `X-Twilio-Token` header as Twilio's
  client SDKs do. An agent reaches only its own worker, reservations and conversations, a supervisor
  its workspace, and a web chat customer only its own conversation. Mint agent and supervisor tokens with
  `POST /parley/v1/Tokens`.

Use **Authorize** to try the operations here. Failed authentication answers `401` with Twilio error `20003`;
a token that does not grant access to a resource answers `403`, also `20003`. Too many requests (per
credential, per web chat visitor, or after repeated failed authentication) answer `429` (`20429`) with a
`Retry-After` in seconds, and a body over its size limit `413` (`20413`): see `docs/security/abuse-limits.md`.

Real-time events (messages, reservations) reach agents and customers over the WebSocket `/v1/Realtime`,
which OpenAPI cannot describe: its protocol is in the repository's `docs/realtime.md`.
"""

OPENAPI_TAGS: list[dict[str, Any]] = [
    {
        "name": "Channel webhooks",
        "description": "Where SMS/MMS, WhatsApp and Messenger providers post inbound messages, delivery statuses "
        "and read events, signed with the connection's secret (docs/channels.md, docs/channel-protocols.md).",
    },
    {
        "name": "Parley: channel providers",
        "description": "Parley extension: connections to messaging providers (Twilio Programmable Messaging, "
        "WhatsApp Cloud API, Messenger) with their credentials, and the business addresses each carries.",
    },
    {
        "name": "Messaging: services",
        "description": "Messaging v1 Services: sender pools with a sticky sender per customer, their PhoneNumbers "
        "and ChannelSenders (docs/messaging-services.md).",
    },
    {
        "name": "Media",
        "description": "The Media Content Service: upload a file for a message (`MediaSid`) and download it "
        "(docs/media.md).",
    },
    {
        "name": "Conversations",
        "description": "Twilio Conversations v1 on the account's default conversation service: conversations, "
        "their participants and messages, and the address configurations (a `chat` address is what the web "
        "chat starts from; `AutoCreation.Routing` sends the conversations it creates to TaskRouter).",
    },
    {
        "name": "Flex Interactions",
        "description": "Twilio Flex Interactions v1: an interaction and its channels (a channel outlives the "
        "tasks routed on it), their participants, closing a channel, and moving an agent participant to "
        "`wrapup` (its task wraps up) or `closed` (its task completes).",
    },
    {
        "name": "Web chat",
        "description": "Parley extension, public: `POST /flex-api/v2/WebChats` starts a web chat from a `chat` "
        "address configuration and returns the conversation SID, an anonymous customer identity and an access "
        "token that reaches only that conversation (or resumes an identified customer's open chat, or leaves a "
        "message when nobody can answer); `GET /flex-api/v2/WebChats/Settings` is what the widget shows first.",
    },
    {
        "name": "Parley: agent desktop",
        "description": "Parley extension: private notes on a conversation and a customer's earlier conversations "
        "(for its agents and supervisors, never its customer) and a workspace's canned responses "
        "(docs/agent-desktop.md).",
    },
    {
        "name": "Parley: web chat settings",
        "description": "Parley extension: a `chat` address's business hours, pre-chat form, offline form and the "
        "secret its site signs identity tokens with (docs/webchat.md).",
    },
    {
        "name": "TaskRouter: Workspaces",
        "description": "TaskRouter v1 workspaces: the container of activities, task channels, queues, workflows, "
        "workers and tasks. A new workspace gets Twilio's default activities and task channels.",
    },
    {
        "name": "TaskRouter: Activities",
        "description": "The states a worker can be in, and whether each makes the worker available. An activity "
        "still in use cannot be deleted.",
    },
    {
        "name": "TaskRouter: TaskChannels",
        "description": "The kinds of work (voice, chat, …), addressed by SID or unique name. Every worker gets a "
        "worker channel for each.",
    },
    {
        "name": "TaskRouter: TaskQueues",
        "description": "Where tasks wait, and which workers may take them (`TargetWorkers` expression).",
    },
    {
        "name": "TaskRouter: Workflows",
        "description": "Routing configurations that send tasks to task queues (Twilio's `Configuration` JSON), "
        "with an optional assignment callback.",
    },
    {
        "name": "TaskRouter: Workers",
        "description": "Agents: their attributes and current activity. Versioned by `ETag` (`If-Match`); an "
        "agent token may read and change only its own worker's activity.",
    },
    {
        "name": "TaskRouter: WorkerChannels",
        "description": "A worker's capacity and availability per task channel.",
    },
    {
        "name": "TaskRouter: Events",
        "description": "The workspace's event log, newest first, filtered by type, resource and time window. "
        "Not readable with an agent token.",
    },
    {
        "name": "TaskRouter: Statistics",
        "description": "Real-time figures (live tasks, workers by activity, longest wait) and cumulative ones "
        "(counted from the event log over `Minutes` or `StartDate`..`EndDate`) for the workspace, queues, "
        "workflows and workers. Admins and supervisors; an agent reads only its own worker's.",
    },
    {
        "name": "TaskRouter: Tasks",
        "description": "Units of work: create, read, update (cancel, wrap up, complete, attributes, priority) "
        "and delete. Pending tasks carry `routing_status`, why they are still waiting.",
    },
    {
        "name": "TaskRouter: Reservations",
        "description": "Offers of a task to a worker, reachable from the task and from the worker. Updating "
        "`ReservationStatus` is how an agent accepts, rejects, wraps up or completes. Each carries "
        "`routing_decision`: the candidates considered and why the winner won.",
    },
    {
        "name": "Parley: access tokens",
        "description": "Parley extension: an admin mints an agent or supervisor access token, the job a Flex "
        "deployment's SSO backend does.",
    },
    {
        "name": "Parley: single sign-on",
        "description": "Parley extension, public browser pages (not listed here): `/parley/v1/Sso/Login` and "
        "`/parley/v1/Sso/Callback` sign an agent or supervisor in to the desktop through OpenID Connect "
        "(authorization code + PKCE) and hand it an access token; `/parley/v1/Sso/Config` says whether single "
        "sign-on is on (docs/security/sso.md).",
    },
    {
        "name": "Parley: outbox",
        "description": "Parley extension: side effects waiting to be handed to Temporal, and the dead letters "
        "that gave up after their retries, with the error that stopped them; a dead letter can be re-queued.",
    },
    {
        "name": "Parley: Temporal codec",
        "description": "Parley extension: Temporal's remote codec protocol (JSON payloads, base64). Workflow "
        "payloads and memos are sealed with AES-GCM; the Temporal UI and CLI call these to show them "
        "(docs/security/temporal-codec.md). Account credentials required, except from the local UI of `make dev`.",
    },
    {
        "name": "Parley: audit log",
        "description": "Parley extension, account credentials only: what the account's admins and supervisors "
        "changed (every POST, PUT and DELETE they made, refused ones too), by whom, on which resource, when and "
        "from where; filtered by time, actor and resource (docs/security/audit-log.md).",
    },
    {
        "name": "Realtime",
        "description": "The WebSocket `/v1/Realtime` (not an OpenAPI operation): agents and chat customers "
        "authenticate with an access token (`?token=`), subscribe to a conversation or their own worker from "
        "a sequence number and receive what they missed, then live events. Protocol: `docs/realtime.md`.",
    },
    {
        "name": "Health",
        "description": "`GET /healthz`, public: 200 once PostgreSQL and Temporal both answer, 503 otherwise.",
    },
]


# Twilio's error body, as api/errors.error_body writes it for every 4xx and 5xx.
TWILIO_ERROR_SCHEMA: dict[str, Any] = {
    "title": "TwilioError",
    "type": "object",
    "required": ["code", "message", "more_info", "status"],
    "properties": {
        "code": {"type": "integer", "description": "Twilio's error code (20001, 20003, 20404, …)."},
        "message": {"type": "string", "description": "What is wrong, naming the parameter when one is."},
        "more_info": {"type": "string", "format": "uri", "description": "Twilio's page about the code."},
        "status": {"type": "integer", "description": "The HTTP status, repeated."},
    },
}
_ERROR_REF = "#/components/schemas/TwilioError"
_METHODS = ("get", "put", "post", "delete", "patch")
# Which operations can get a status, from what the OpenAPI says of them: (path, method, operation) -> bool.
_Applies = Callable[[str, str, dict[str, Any]], bool]


def _any(path: str, method: str, operation: dict[str, Any]) -> bool:
    return True


def _authenticated(path: str, method: str, operation: dict[str, Any]) -> bool:
    return bool(operation.get("security"))


def _names_something(path: str, method: str, operation: dict[str, Any]) -> bool:
    """A resource in its path, or a parameter or a body that may name one."""
    return "{" in path or bool(operation.get("parameters")) or "requestBody" in operation


def _changes_something(path: str, method: str, operation: dict[str, Any]) -> bool:
    return method != "get"


def _preconditioned(path: str, method: str, operation: dict[str, Any]) -> bool:
    return any(p.get("in") == "header" and p.get("name") == "If-Match" for p in operation.get("parameters", []))


def _takes_a_body(path: str, method: str, operation: dict[str, Any]) -> bool:
    return "requestBody" in operation


# The error statuses Parley answers with (api/errors.py, api/hardening.py, api/body_limit.py, api/throttle.py,
# api/deps.py), each documented on the operations that can get it. An operation that can get another one, or
# one of these where the rule does not give it (a media upload's 415, a public operation's 401), declares it
# with `responses=` on its route; it gets the same body.
ERROR_RESPONSES: tuple[tuple[int, str, _Applies], ...] = (
    (
        400,
        "Bad input: a missing, malformed or out-of-range parameter, a NUL character, a body that is not UTF-8 "
        "(error 20001 and the resource's own codes).",
        _any,
    ),
    (401, "No credentials, or credentials that do not authenticate (20003).", _authenticated),
    (
        403,
        "The credentials may not do this: a token that does not reach the resource, or an action that needs "
        "account credentials (20003).",
        _authenticated,
    ),
    (
        404,
        "The resource, or one the request names, does not exist in the account (20404 and the resource's own codes).",
        _names_something,
    ),
    (
        409,
        "The resource's current state forbids the change (a closed conversation, a name already taken, a "
        "resource still in use; 20409 and the resource's own codes).",
        _changes_something,
    ),
    (412, "`If-Match` names another version than the resource's current `ETag`; nothing changed.", _preconditioned),
    (413, "The request body is over its size limit (20413).", _takes_a_body),
    (
        429,
        "Too many requests for the credential, or failed authentications from the client; `Retry-After` says "
        "in how many seconds to try again (20429).",
        _authenticated,
    ),
)


def document_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Every operation's error responses, with Twilio's error body; FastAPI's 422 goes: Parley answers a
    validation error with a 400 (api/errors.py), never a 422."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["TwilioError"] = TWILIO_ERROR_SCHEMA
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status, description, applies in ERROR_RESPONSES:
                if applies(path, method, operation):
                    responses.setdefault(str(status), {"description": description})
            for status, response in responses.items():
                if status[0] not in "45":
                    continue
                body = response.setdefault("content", {}).setdefault("application/json", {})
                if not body.get("schema"):
                    body["schema"] = {"$ref": _ERROR_REF}
            operation["responses"] = dict(sorted(responses.items()))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install(app: FastAPI) -> None:
    """Serve /docs and /redoc with our copy of the assets; the app must be built with docs_url=redoc_url=None.
    The OpenAPI document gets its error responses (`document_errors`) the first time it is built."""
    openapi_url = app.openapi_url or "/openapi.json"
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    # root_path: behind a proxy that mounts Parley under a prefix, the page must still find its assets.
    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} — API reference",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            # No OAuth2 scheme is declared, so Swagger UI needs no oauth2-redirect page.
            oauth2_redirect_url=None,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} — API reference",
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            # Google Fonts is another CDN; ReDoc falls back to the system fonts.
            with_google_fonts=False,
        )

"""`python -m scripts.supported_endpoints`: write docs/supported-endpoints.md, every operation of Twilio's
Conversations v1, Flex Interactions v1 and TaskRouter v1 (docs/reference/twilio-surface.json) with whether
Parley serves it, and Parley's own extensions. A test keeps the page in step with the routes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from api.app import create_app
from core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SURFACE = ROOT / "docs" / "reference" / "twilio-surface.json"
PAGE = ROOT / "docs" / "supported-endpoints.md"
# What Parley deliberately does not do inside an endpoint it serves, and why (shown under the API's table).
LEFT_OUT: dict[str, list[str]] = {
    "Conversations v1": [
        "Studio: `AutoCreation.Type=studio` on addresses and `Target=studio` on conversation webhooks are a 400 "
        "(50364) that says so; Parley has no Studio (use `webhook`, or the `AutoCreation.Routing` extension to "
        "route to an agent).",
        "Push notifications: Credentials, service Notifications settings and Bindings are stored and served as "
        "Twilio stores them, but Parley sends no APNs/FCM pushes, and nothing creates Bindings (Twilio's mobile "
        "SDKs register them over twilsock). Agents and customers are notified over the WebSocket instead.",
        "Email: `Bindings.Email.*` on conversations and `Subject` on messages are not taken (no email channel).",
        "Content templates: `ContentSid`/`ContentVariables` are not taken (no Content API); `content_sid` is null.",
        "`links.export` and `links.channel_metadata` are returned as Twilio does; those URLs answer 404 (they "
        "are not in Twilio's public spec either).",
        "Pre-event webhooks fire for what a token holder can do in Parley: `onMessageAdd`; REST actions never "
        "call pre-events (Twilio's rule). See docs/webhooks.md.",
    ],
    "Messaging v1 (Services)": [
        "AlphaSenders, ShortCodes, DestinationAlphaSenders, US A2P 10DLC compliance and the pre-registered "
        "A2P import are carrier registrations Parley has no use for (senders come from provider connections, "
        "`/parley/v1/ChannelProviders`); those paths answer 404.",
        "A Messaging Service's settings are stored and served; Parley's own delivery uses its pool and "
        "`StickySender` (docs/messaging-services.md). `InboundRequestUrl`, `FallbackUrl`, `StatusCallback`, "
        "`ValidityPeriod` and the content settings are not acted on: inbound messages go to Conversations.",
    ],
    "Flex Interactions v1": [
        "`Channel.type` `voice` and `gbm`: Parley carries messaging only (web chat, sms, whatsapp, messenger, "
        "email); a voice or Google Business Messages channel is a 400.",
        "`Channel.sid` (binding a new interaction to an existing channel): a 400 that says to create an Invite on "
        "the channel instead, which is what binding is for.",
        "Transfer `type` `external` (to a phone number): voice only; a 400.",
        "Transfers' JSON body is Parley's (Twilio publishes none): `{type, from, to, queue_sid, note, timeout}` "
        "to create, `{status: failed}` to take back; see docs/interactions.md.",
        "`instance_sid`, `execution_sid` and `summary_sid` of a transfer are always null (Flex instances, Studio "
        "executions and AI summaries do not exist here); `note_sid` names the transfer's note, whose text is "
        "in the Parley field `note`.",
    ],
}
NON_REST = {"/healthz", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"}


def shape(path: str) -> str:
    """A path with its parameters blanked, so `{WorkspaceSid}` and `{workspace_sid}` compare equal."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def parley_document() -> dict[str, Any]:
    document: dict[str, Any] = create_app(Settings(_env_file=None)).openapi()  # type: ignore[call-arg]
    return document


def parley_operations(document: dict[str, Any] | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    document = document or parley_document()
    operations = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "delete"):
                operations[(method.upper(), shape(path))] = {"path": path, **operation}
    return operations


def _not_taken(names: list[str]) -> str:
    if not names:
        return ""
    shown = ", ".join(f"`{n}`" for n in names[:6])
    return shown + (f" and {len(names) - 6} more" if len(names) > 6 else "")


def form_parameters(document: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    """The form parameters an operation of Parley's OpenAPI document takes."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/x-www-form-urlencoded")
    if body is None:
        return set()
    schema = body["schema"]
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return set(schema.get("properties", {}))


def twilio_surface() -> dict[str, list[dict[str, Any]]]:
    surface: dict[str, list[dict[str, Any]]] = json.loads(SURFACE.read_text())
    return surface


def render() -> str:
    document = parley_document()
    ours = parley_operations(document)
    surface = twilio_surface()
    known = {(op["method"], shape(op["path"])) for ops in surface.values() for op in ops}
    lines = [
        "# Supported endpoints",
        "",
        "Every operation of the Twilio APIs Parley speaks, from Twilio's own OpenAPI specs",
        "(`docs/reference/twilio-surface.json`, distilled by `scripts/twilio_surface.py`), and whether Parley serves",
        "it. Paths are Parley's: Twilio's hosts become prefixes (`conversations.twilio.com/v1/…` →",
        "`/conversations/v1/…`). Regenerate with `python -m scripts.supported_endpoints`; a test fails when this",
        "page and the routes disagree. For a served operation, the last column lists the form parameters of",
        "Twilio's that Parley does not take yet (they are ignored, as unknown parameters are).",
        "",
        "| API | supported | of |",
        "|---|---:|---:|",
    ]
    for api, operations in surface.items():
        served = sum((op["method"], shape(op["path"])) in ours for op in operations)
        lines.append(f"| {api} | {served} | {len(operations)} |")
    for api, operations in surface.items():
        lines += ["", f"## {api}", "", "| method | path | Parley | parameters not taken yet |", "|---|---|---|---|"]
        for op in operations:
            mine = ours.get((op["method"], shape(op["path"])))
            missing = sorted(set(op["form"]) - form_parameters(document, mine)) if mine else []
            lines.append(f"| {op['method']} | `{op['path']}` | {'yes' if mine else '—'} | {_not_taken(missing)} |")
        if api in LEFT_OUT:
            lines += ["", "Deliberately left out:", ""] + [f"- {item}" for item in LEFT_OUT[api]]
    extensions = sorted(
        (op["path"], method)
        for (method, path), op in ours.items()
        if (method, path) not in known and op["path"] not in NON_REST
    )
    lines += [
        "",
        "## Channel protocols",
        "",
        "Providers Parley carries messages through, in their own wire protocols (docs/channel-protocols.md):",
        "",
        "| adapter (`Kind`) | channels | inbound | outbound | statuses |",
        "|---|---|---|---|---|",
        "| `twilio` | SMS, MMS, WhatsApp | webhook form, `X-Twilio-Signature`, media URLs | "
        "`POST /2010-04-01/Accounts/{AC}/Messages.json` with `StatusCallback` | status callbacks |",
        "| `whatsapp_cloud` | WhatsApp | `hub.challenge` handshake, JSON webhook, `X-Hub-Signature-256`, "
        "media ids | `POST /{phone_number_id}/messages` (text, image, template) | `statuses` webhooks |",
        "| `messenger` | Messenger | `hub.challenge` handshake, JSON webhook, `X-Hub-Signature-256` | "
        "`POST /me/messages` (Send API) | `delivery` and `read` events |",
    ]
    lines += [
        "",
        "## Parley extensions",
        "",
        "Operations Twilio does not have (see the README's *Parley extensions*).",
        "",
        "| method | path | what |",
        "|---|---|---|",
    ]
    for path, method in extensions:
        description = " ".join((ours[(method, shape(path))].get("description") or "").split())
        summary = description.split(". ")[0].split(": ")[0].rstrip(".")
        lines.append(f"| {method} | `{path}` | {summary} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    PAGE.write_text(render())
    print(f"wrote {PAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""`python -m scripts.twilio_surface [SPEC_DIR]`: distil Twilio's published OpenAPI specs (MIT; the team keeps
them in ../shared/reference/openapi) into docs/reference/twilio-surface.json: for every operation of the APIs
Parley speaks, its method, path, form and query parameter names (and each query parameter's type and enum
values), success status and response fields. The wire contract tests, the API documentation tests and the
supported-endpoints page read that file, so they need no copy of the full specs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "reference" / "twilio-surface.json"
DEFAULT_SPECS = ROOT.parent / "shared" / "reference" / "openapi"
# API: (spec file, Parley's path prefix, which of its paths Parley speaks)
APIS = {
    "Conversations v1": ("twilio_conversations_v1.json", "/conversations", "/v1/"),
    "Flex Interactions v1": ("twilio_flex_v1.json", "/flex-api", "/v1/Interactions"),
    "TaskRouter v1": ("twilio_taskrouter_v1.json", "/taskrouter", "/v1/"),
    "Messaging v1 (Services)": ("twilio_messaging_v1.json", "/messaging", "/v1/Services"),
}
METHODS = ("get", "post", "delete")


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = spec["components"]["schemas"][name]
    return node


def _kind(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's type, with its enum values and, for an array, its items' kind."""
    schema = _resolve(spec, schema)
    kind: dict[str, Any] = {"type": schema.get("type")}
    if "enum" in schema:
        kind["enum"] = schema["enum"]
    if "items" in schema:
        kind["items"] = _kind(spec, schema["items"])
    return kind


def _response(spec: dict[str, Any], operation: dict[str, Any]) -> tuple[int, list[str], str | None]:
    # In the order the spec lists them: its first success status is the one Twilio answers.
    for code, response in operation.get("responses", {}).items():
        if not code.startswith("2"):
            continue
        content = response.get("content", {}).get("application/json")
        if content is None:
            return int(code), [], None
        schema = _resolve(spec, content["schema"])
        properties = schema.get("properties", {})
        arrays = [k for k, v in properties.items() if v.get("type") == "array" and k != "meta"]
        if "meta" in properties and len(arrays) == 1:
            item = _resolve(spec, properties[arrays[0]]["items"])
            return int(code), sorted(item.get("properties", {})), arrays[0]
        return int(code), sorted(properties), None
    return 200, [], None


def distil(spec_dir: Path) -> dict[str, Any]:
    surface: dict[str, Any] = {}
    for api, (filename, prefix, scope) in APIS.items():
        spec = json.loads((spec_dir / filename).read_text())
        operations = []
        for path, item in sorted(spec["paths"].items()):
            if not path.startswith(scope):
                continue
            for method in METHODS:
                operation = item.get(method)
                if operation is None:
                    continue
                body = operation.get("requestBody", {}).get("content", {}).get("application/x-www-form-urlencoded")
                form = sorted(_resolve(spec, body["schema"]).get("properties", {})) if body else []
                parameters = sorted(
                    (p for p in operation.get("parameters", []) if p.get("in") == "query"), key=lambda p: p["name"]
                )
                query = [p["name"] for p in parameters]
                status, fields, list_key = _response(spec, operation)
                operations.append(
                    {
                        "method": method.upper(),
                        "path": prefix + path,
                        "form": form,
                        "query": query,
                        "query_types": {p["name"]: _kind(spec, p.get("schema", {})) for p in parameters},
                        "status": status,
                        "response": fields,
                        "list_key": list_key,
                    }
                )
        surface[api] = operations
    return surface


def main() -> None:
    spec_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SPECS
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(distil(spec_dir), indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""The wire contract, checked against Twilio's own OpenAPI specs (distilled in docs/reference/): every served
operation answers with Twilio's success status and every field of Twilio's resource, takes no form parameter
Twilio does not have (but for documented Parley extensions), and docs/supported-endpoints.md says all this."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.supported_endpoints import PAGE, form_parameters, parley_document, parley_operations, render, shape
from scripts.supported_endpoints import twilio_surface as load_surface

# Parameters Parley takes that Twilio's operation does not (README, "Parley extensions").
EXTENSIONS = {
    ("POST", "/conversations/v1/Configuration/Addresses"): {"AutoCreation.Routing"},
    ("POST", "/conversations/v1/Configuration/Addresses/{Sid}"): {"AutoCreation.Routing"},
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return parley_document()


def served(document: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    ours = parley_operations(document)
    return [
        (twilio, ours[(twilio["method"], shape(twilio["path"]))])
        for operations in load_surface().values()
        for twilio in operations
        if (twilio["method"], shape(twilio["path"])) in ours
    ]


def response_fields(document: dict[str, Any], operation: dict[str, Any], list_key: str | None) -> tuple[int, set[str]]:
    schemas = document["components"]["schemas"]
    code = next(c for c in operation["responses"] if c.startswith("2"))
    content = operation["responses"][code].get("content", {}).get("application/json")
    if content is None:
        return int(code), set()
    schema = schemas[content["schema"]["$ref"].rsplit("/", 1)[-1]]
    if list_key is not None:
        schema = schemas[schema["properties"][list_key]["items"]["$ref"].rsplit("/", 1)[-1]]
    return int(code), set(schema["properties"])


def test_the_supported_endpoints_page_is_current() -> None:
    assert PAGE.read_text() == render(), "run `python -m scripts.supported_endpoints` and commit the page"


def test_served_operations_answer_with_twilios_status_and_every_field(document: dict[str, Any]) -> None:
    pairs = served(document)
    assert len(pairs) >= 66  # what the first slice served; it only grows
    for twilio, ours in pairs:
        status, fields = response_fields(document, ours, twilio["list_key"])
        where = f"{twilio['method']} {twilio['path']}"
        assert status == twilio["status"], where
        assert set(twilio["response"]) <= fields, (where, sorted(set(twilio["response"]) - fields))


def test_served_operations_take_only_twilios_parameters(document: dict[str, Any]) -> None:
    for twilio, ours in served(document):
        key = (twilio["method"], shape(twilio["path"]))
        allowed = set(twilio["form"]) | next((v for k, v in EXTENSIONS.items() if shape(k[1]) == key[1]), set())
        extra = form_parameters(document, ours) - allowed
        assert not extra, f"{twilio['method']} {twilio['path']} takes {sorted(extra)}, which Twilio does not"

"""Schemathesis over Parley's own OpenAPI, as /openapi.json serves it: generated requests, valid and invalid, to
every documented operation; none may answer a 5xx, or a status the operation does not document (each documents
its errors: api/docs.py). It runs in `make test` on a small seeded budget;
docs/security/fuzzing.md says how to run a longer campaign.

The fuzzer works in an account of its own, so whatever it creates, changes or deletes stays out of the shared
session's other tests, and its path parameters are pinned to real resources of that account
(tests/support/fuzz_world.py): requests get past the lookup to form parsing and the handler instead of stopping
at a 404. Operations that change things run first, deletions last, leaves before the containers that hold them.

Cases come from `APIOperation.as_strategy` (positive and negative generation) under a plain Hypothesis `@given`:
schemathesis's own pytest runner (`schemathesis.pytest.from_fixture`) sets `Function._nodeid`, which pytest 9.2
no longer has."""

from __future__ import annotations

import os
import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import status_code_conformance

from storage.accounts.service import Credentials, create_account
from storage.db import Database
from tests.support.fuzz_world import World, build_world, created

# Reproducible: the same seed and budget send the same requests. Raise both for a longer campaign.
SEED = int(os.environ.get("PARLEY_FUZZ_SEED", "20260509"))
MAX_EXAMPLES = int(os.environ.get("PARLEY_FUZZ_MAX_EXAMPLES", "10"))
# A run below these proved nothing: too few operations called, got past their lookup, or accepted a request.
MIN_OPERATIONS = 180
MIN_REACHED = 160
MIN_ACCEPTED = 100
# About 7 s per example of every operation on a 2-core machine, with room for a loaded one.
TIMEOUT = 300 + 20 * MAX_EXAMPLES
# No 5xx, and no status the operation does not document (each documents its errors: api/docs.py).
CHECKS = [not_a_server_error, status_code_conformance]


@dataclass
class Exercised:
    """What the fuzzer actually sent: per operation, the status codes it got back."""

    statuses: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))

    def record(self, label: str, status: int) -> None:
        self.statuses[label].add(status)

    def reached(self) -> set[str]:
        """Operations that answered something other than a 404 at least once: they got past the lookup."""
        return {label for label, codes in self.statuses.items() if codes - {404}}

    def accepted(self) -> set[str]:
        return {label for label, codes in self.statuses.items() if any(200 <= code < 300 for code in codes)}


@pytest.fixture(scope="module")
async def fuzz_account(db: Database) -> Credentials:
    async with db.unit() as uow:
        return await create_account(uow, friendly_name="Fuzzing")


@pytest.fixture(scope="module")
def fuzz_target(parley, fuzz_account: Credentials) -> Iterator[tuple[dict[str, Any], World]]:
    """Parley's OpenAPI as served, and the fuzz account's resources that path parameters are pinned to."""
    auth = (fuzz_account.account_sid, fuzz_account.auth_token)
    with httpx.Client(base_url=parley.base_url, auth=auth, timeout=30) as client:
        yield created(client.get("/openapi.json")), build_world(client)


def in_order(operations: list[schemathesis.APIOperation]) -> list[schemathesis.APIOperation]:
    """Changes first, in the schema's order; then deletions, leaves before the containers that hold them."""
    changes = [op for op in operations if op.method.lower() != "delete"]
    deletions = [op for op in operations if op.method.lower() == "delete"]
    return changes + deletions[::-1]


def fuzz_operation(
    operation: schemathesis.APIOperation, *, world: World, base_url: str, auth: tuple[str, str], seen: Exercised
) -> None:
    """MAX_EXAMPLES cases of one operation, valid and invalid; a 5xx fails with the (shrunk) request."""
    pinned = world.pinned(operation.path)
    cases = operation.as_strategy(GenerationMode.POSITIVE, path_parameters=pinned) | operation.as_strategy(
        GenerationMode.NEGATIVE, path_parameters=pinned
    )

    # A seed per operation (crc32, not hash(): that changes per process), so each one's cases are reproducible.
    @seed(SEED ^ zlib.crc32(operation.label.encode()))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=cases)
    def fuzz(case: schemathesis.Case) -> None:
        response = case.call(base_url=base_url, auth=auth, timeout=30)
        seen.record(operation.label, response.status_code)
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            # Plain AssertionError so that Hypothesis shrinks the case and reports the smallest one.
            found = "; ".join(failure.title for failure in group.exceptions)
            raise AssertionError(
                f"{found}: {response.status_code} from {case.as_curl_command()}\n{response.text[:400]}"
            ) from None

    fuzz()


# The fuzz takes a minute or two (docs/security/fuzzing.md), past the suite's per-test timeout of 120 s.
@pytest.mark.timeout(TIMEOUT)
def test_no_operation_answers_a_server_error_or_an_undocumented_status(
    parley, fuzz_account: Credentials, fuzz_target
) -> None:
    openapi, world = fuzz_target
    schema = schemathesis.openapi.from_dict(openapi)
    results = list(schema.get_all_operations())
    invalid = [str(result.err()) for result in results if not isinstance(result, Ok)]
    assert not invalid, f"schemathesis cannot read these operations: {invalid}"
    seen = Exercised()
    failures: list[str] = []
    for operation in in_order([result.ok() for result in results if isinstance(result, Ok)]):
        try:
            fuzz_operation(
                operation,
                world=world,
                base_url=parley.base_url,
                auth=(fuzz_account.account_sid, fuzz_account.auth_token),
                seen=seen,
            )
        except AssertionError as exc:
            failures.append(f"{operation.label}: {exc}")
    assert not failures, f"{len(failures)} operations failed a check:\n\n" + "\n\n".join(failures)

    called, reached, accepted = set(seen.statuses), seen.reached(), seen.accepted()
    assert len(called) >= MIN_OPERATIONS, f"only {len(called)} operations called"
    assert len(reached) >= MIN_REACHED, f"only {len(reached)} got past their lookup; not: {sorted(called - reached)}"
    assert len(accepted) >= MIN_ACCEPTED, f"only {len(accepted)} accepted a request; not: {sorted(called - accepted)}"

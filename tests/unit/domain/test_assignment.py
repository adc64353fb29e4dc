"""Reading an assignment callback's answer: accept and reject (with an activity) act, everything else leaves
the reservation pending, voice instructions with a reason."""

from __future__ import annotations

import json

import pytest

from domain.assignment import CallbackAnswer, Instruction, parse_answer

WA = "WA" + "a" * 32


def answer(value: object) -> CallbackAnswer:
    return parse_answer(json.dumps(value).encode())


def test_accept_and_reject_are_instructions() -> None:
    assert answer({"instruction": "accept"}) == CallbackAnswer(instruction=Instruction.ACCEPT)
    assert answer({"instruction": " Reject "}) == CallbackAnswer(instruction=Instruction.REJECT)
    assert answer({"instruction": "reject", "activity_sid": WA}) == CallbackAnswer(
        instruction=Instruction.REJECT, activity_sid=WA
    )
    # An activity is only for a rejection.
    assert answer({"instruction": "accept", "activity_sid": WA}) == CallbackAnswer(instruction=Instruction.ACCEPT)


@pytest.mark.parametrize("body", [b"", b"   ", b"{}", b"[]", b'{"status": "ok"}', b"null"])
def test_no_instruction_leaves_it_pending_silently(body: bytes) -> None:
    assert parse_answer(body) == CallbackAnswer()


@pytest.mark.parametrize("instruction", ["dequeue", "call", "redirect", "conference"])
def test_voice_instructions_are_refused_with_a_reason(instruction: str) -> None:
    decided = answer({"instruction": instruction, "to": "client:ann"})
    assert decided.instruction is None
    assert decided.refused is not None and instruction in decided.refused and "voice" in decided.refused


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"not json", "not JSON"),
        (json.dumps({"instruction": "teleport"}).encode(), "unknown instruction"),
        (json.dumps({"instruction": "reject", "activity_sid": "WK" + "0" * 32}).encode(), "Activity SID"),
        (json.dumps({"instruction": "reject", "activity_sid": 7}).encode(), "Activity SID"),
    ],
)
def test_bad_answers_are_refused_and_change_nothing(body: bytes, fragment: str) -> None:
    decided = parse_answer(body)
    assert decided.instruction is None and decided.refused is not None and fragment in decided.refused

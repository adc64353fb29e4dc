"""The answer to a TaskRouter assignment callback (reference/twilio-api.md §4.7): an empty 200 means "the agent
answers through the API", a JSON object with an `instruction` acts on the reservation at once. Parley routes
messaging, so the voice instructions are refused with a reason rather than half-done."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.sids import SidPrefix, is_sid


class Instruction(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    DEQUEUE = "dequeue"
    CALL = "call"
    REDIRECT = "redirect"
    CONFERENCE = "conference"


VOICE_INSTRUCTIONS = frozenset({Instruction.DEQUEUE, Instruction.CALL, Instruction.REDIRECT, Instruction.CONFERENCE})


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """What to do with the reservation: `instruction` None leaves it pending (for the agent or the API);
    `refused` says why an instruction was not carried out."""

    instruction: Instruction | None = None
    activity_sid: str | None = None
    refused: str | None = None


def parse_answer(body: bytes) -> CallbackAnswer:
    """An assignment callback's 200 body as what to do; anything that is not an instruction leaves it pending."""
    if not body.strip():
        return CallbackAnswer()
    try:
        value: Any = json.loads(body)
    except ValueError:
        return CallbackAnswer(refused="the answer is not JSON: the reservation stays pending")
    if not isinstance(value, dict) or "instruction" not in value:
        return CallbackAnswer()
    raw = value.get("instruction")
    try:
        instruction = Instruction(str(raw).strip().lower())
    except ValueError:
        return CallbackAnswer(refused=f"unknown instruction {raw!r}: the reservation stays pending")
    if instruction in VOICE_INSTRUCTIONS:
        return CallbackAnswer(
            refused=f"instruction '{instruction.value}' is for voice tasks; Parley routes messaging, so the "
            "reservation stays pending (answer 'accept' or 'reject', or accept it through the API)"
        )
    activity = value.get("activity_sid")
    if instruction is Instruction.REJECT and activity is not None:
        if not isinstance(activity, str) or not is_sid(activity, SidPrefix.ACTIVITY):
            return CallbackAnswer(refused=f"activity_sid {activity!r} is not an Activity SID (WA…)")
        return CallbackAnswer(instruction=instruction, activity_sid=activity)
    return CallbackAnswer(instruction=instruction)

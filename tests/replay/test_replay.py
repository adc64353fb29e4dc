"""Replays histories recorded from real runs (tests/replay/histories/) against today's workflow code.
A change that makes a workflow non-deterministic for existing executions fails here: guard it with
`workflow.patched` or record new histories (PARLEY_RECORD_HISTORIES=1, see tests/support/histories.py).

The histories are recorded sealed under the development key (the one derived from the default secret), so they
are replayed under it whatever PARLEY_ENCRYPTION_KEYS or PARLEY_SECRET_KEY this run has."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from core.keys import keyring_for
from core.settings import DEVELOPMENT_SECRET, Settings
from core.temporal import data_converter
from workers.build import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))
RECORDING_CONVERTER = data_converter(keyring_for(Settings(secret_key=DEVELOPMENT_SECRET, encryption_keys=None)))


def _workflow_type(path: Path) -> str:
    return path.name.split("--", 1)[0]


def test_every_long_lived_workflow_type_has_recorded_histories():
    recorded = {_workflow_type(p) for p in HISTORIES}
    assert {"InteractionChannel", "Task", "ChannelDelivery", "WebhookDelivery"} <= recorded, recorded


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays_deterministically(path: Path):
    raw = json.loads(path.read_text())
    history = WorkflowHistory.from_json(path.stem, raw)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=RECORDING_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None

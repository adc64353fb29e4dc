"""Recording workflow histories from real end-to-end runs for the replay tests.

Set PARLEY_RECORD_HISTORIES=1 and run the end-to-end tests; each recorded run is written to
tests/replay/histories/<WorkflowType>--<label>.json (the same JSON `temporal workflow show -o json` prints)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from temporalio.client import Client, WorkflowHandle

HISTORIES = Path(__file__).resolve().parents[1] / "replay" / "histories"


def recording() -> bool:
    if os.environ.get("PARLEY_RECORD_HISTORIES") != "1":
        return False
    # The replay tests open histories with the development key (tests/replay/test_replay.py).
    if os.environ.get("PARLEY_ENCRYPTION_KEYS") or os.environ.get("PARLEY_SECRET_KEY"):
        raise RuntimeError("record histories without PARLEY_ENCRYPTION_KEYS and PARLEY_SECRET_KEY set")
    return True


async def record_runs(client: Client, workflow_id: str, label: str) -> None:
    """Write every closed or running run of `workflow_id` (all continue-as-new generations)."""
    if not recording():
        return
    HISTORIES.mkdir(parents=True, exist_ok=True)
    runs = [run async for run in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    for generation, run in enumerate(sorted(runs, key=lambda r: r.start_time)):
        history = await client.get_workflow_handle(workflow_id, run_id=run.run_id).fetch_history()
        path = HISTORIES / f"{run.workflow_type}--{label}-{generation}.json"
        path.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")


async def record_handle(handle: WorkflowHandle, workflow_type: str, label: str) -> None:
    """Write one run's history by its handle (servers without a visibility store, like the time-skipping one)."""
    if not recording():
        return
    HISTORIES.mkdir(parents=True, exist_ok=True)
    history = await handle.fetch_history()
    path = HISTORIES / f"{workflow_type}--{label}-0.json"
    path.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")

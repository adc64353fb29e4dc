"""make dev's supervision for real (scripts/supervisor.py, as scripts/dev.py uses it): a child killed with SIGKILL
is started again, with the line that says so, and stopping the supervisor stops it for good."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

from scripts.supervisor import Child, Supervisor
from tests.support.waiting import eventually


def sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_child_killed_with_sigkill_comes_back() -> None:
    lines: list[str] = []
    supervisor = Supervisor(log=lines.append)
    child = supervisor.add(Child("worker", sleeper))
    thread = threading.Thread(target=supervisor.run, kwargs={"interval": 0.05}, daemon=True)
    thread.start()
    try:
        assert child.process is not None
        first = child.process
        os.kill(first.pid, signal.SIGKILL)

        async def restarted() -> subprocess.Popen[bytes] | None:
            process = child.process
            return process if process is not first and process is not None and process.poll() is None else None

        second = await eventually(restarted, timeout=10, what="the killed child started again")
        assert first.returncode == -signal.SIGKILL
        assert lines[:2] == ["worker exited with code -9 (SIGKILL); restarting in 1 s", "restarting worker"]
    finally:
        supervisor.request_stop()
        thread.join(timeout=5)
        supervisor.stop(timeout=5)
    assert second.poll() is not None  # stopped (SIGTERM), and nothing started it again
    assert not alive(second.pid)
    assert child.restarts == 1

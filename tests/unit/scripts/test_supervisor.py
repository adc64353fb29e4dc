"""make dev's supervision decisions (scripts/supervisor.py): the restart backoff, when it starts over, what is
said when, driven by a fake clock and fake processes (tests/scripts/test_dev_supervision.py kills a real one)."""

from __future__ import annotations

import signal
import subprocess
from typing import Any, cast

from scripts.supervisor import (
    CHECK_INTERVAL,
    PROBE_GRACE,
    RESTART_INITIAL,
    RESTART_MAX,
    STABLE_AFTER,
    Backoff,
    Child,
    Dependency,
    Health,
    Supervisor,
    exit_description,
)


def test_restarts_wait_one_second_doubling_to_thirty() -> None:
    backoff = Backoff()
    delays = [backoff.after_exit(uptime=0.5) for _ in range(8)]
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]
    assert (RESTART_INITIAL, RESTART_MAX) == (1.0, 30.0)


def test_a_run_that_stayed_up_a_while_starts_the_schedule_over() -> None:
    backoff = Backoff()
    assert [backoff.after_exit(1.0) for _ in range(3)] == [1, 2, 4]
    assert backoff.after_exit(STABLE_AFTER - 0.1) == 8  # not quite long enough
    assert backoff.after_exit(STABLE_AFTER) == 1
    assert backoff.after_exit(0.0) == 2


def test_health_reports_only_changes() -> None:
    health = Health("PostgreSQL")
    assert health.observe(None) is None
    assert health.observe("connection refused") == "PostgreSQL is not answering: connection refused"
    assert health.observe("connection refused") is None
    assert health.observe("still refused, other words") is None
    assert health.observe(None) == "PostgreSQL answers again"
    assert health.observe(None) is None


def test_exit_codes_name_their_signal() -> None:
    assert exit_description(-9) == "code -9 (SIGKILL)"
    assert exit_description(1) == "code 1"


class FakeProcess:
    def __init__(self, pid: int, signalled: list[int]) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.signals: list[int] = []
        self.signalled = signalled

    def poll(self) -> int | None:
        return self.returncode

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)
        self.signalled.append(self.pid)
        self.returncode = -sig

    def wait(self, timeout: float | None = None) -> int | None:
        return self.returncode

    def kill(self) -> None:
        self.returncode = -9


class World:
    """A fake clock, processes that die on command, and what the supervisor said."""

    def __init__(self) -> None:
        self.now = 0.0
        self.lines: list[str] = []
        self.processes: list[FakeProcess] = []
        self.signalled: list[int] = []  # pids, in the order they were signalled
        self.supervisor = Supervisor(log=self.lines.append, clock=lambda: self.now)

    def start(self) -> subprocess.Popen[bytes]:
        self.processes.append(FakeProcess(len(self.processes) + 1, self.signalled))
        return cast(Any, self.processes[-1])

    def at(self, now: float) -> list[str]:
        """Advance to `now`, tick, and return what was said meanwhile."""
        self.now = now
        before = len(self.lines)
        self.supervisor.tick()
        return self.lines[before:]


def test_a_child_that_dies_is_restarted_after_its_backoff() -> None:
    world = World()
    worker = world.supervisor.add(Child("worker", world.start))
    assert world.at(5.0) == []
    world.processes[-1].returncode = -9
    assert world.at(6.0) == ["worker exited with code -9 (SIGKILL); restarting in 1 s"]
    assert world.at(6.5) == [] and len(world.processes) == 1
    assert world.at(7.0) == ["restarting worker"]
    assert len(world.processes) == 2 and worker.running
    # Dies again at once: twice as long; then stays up past STABLE_AFTER, and the next exit waits 1 s again.
    world.processes[-1].returncode = 1
    assert world.at(7.5) == ["worker exited with code 1; restarting in 2 s"]
    assert world.at(9.5) == ["restarting worker"]
    world.processes[-1].returncode = 1
    assert world.at(9.5 + STABLE_AFTER) == ["worker exited with code 1; restarting in 1 s"]


def test_a_child_that_cannot_start_is_retried_with_backoff() -> None:
    world = World()
    attempts = 0

    def start() -> subprocess.Popen[bytes]:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise FileNotFoundError("no such binary")
        return world.start()

    child = world.supervisor.add(Child("stand-ins", start))
    assert world.lines == ["stand-ins could not start (no such binary); restarting in 1 s"]
    assert world.at(1.0) == ["restarting stand-ins", "stand-ins could not start (no such binary); restarting in 2 s"]
    assert world.at(3.0) == ["restarting stand-ins"]
    assert child.running


def test_a_childs_health_probe_counts_after_its_grace_and_reports_changes() -> None:
    world = World()
    answering = False
    world.supervisor.add(Child("Temporal", world.start, probe=lambda: None if answering else "port closed"))
    assert world.at(PROBE_GRACE - 1) == []  # still starting
    assert world.at(PROBE_GRACE) == ["Temporal is not answering: port closed"]
    assert world.at(PROBE_GRACE + CHECK_INTERVAL) == []
    answering = True
    assert world.at(PROBE_GRACE + 2 * CHECK_INTERVAL) == ["Temporal answers again"]


def test_a_dead_dependency_is_reported_repaired_with_backoff_and_reported_back() -> None:
    world = World()
    up = True
    repairs: list[float] = []

    def repair() -> None:
        repairs.append(world.now)
        if len(repairs) == 1:
            raise RuntimeError("shared memory still in use")
        nonlocal up
        up = True

    world.supervisor.watch(Dependency("PostgreSQL", lambda: None if up else "postmaster gone", repair=repair))
    assert world.at(0.0) == []
    up = False
    assert world.at(2.0) == ["PostgreSQL is not answering: postmaster gone", "restarting PostgreSQL in 1 s"]
    assert world.at(4.0) == ["could not restart PostgreSQL (shared memory still in use); trying again in 2 s"]
    assert world.at(6.0) == ["restarted PostgreSQL"]
    assert world.at(6.3) == ["PostgreSQL answers again"]
    assert repairs == [4.0, 6.0]


def test_an_external_dependency_is_only_reported() -> None:
    world = World()
    up = False
    world.supervisor.watch(Dependency("PostgreSQL", lambda: None if up else "connection refused"))
    assert world.at(0.0) == ["PostgreSQL is not answering: connection refused"]
    assert world.at(10.0) == []
    up = True
    assert world.at(12.0) == ["PostgreSQL answers again"]


def test_stopping_signals_every_child_last_started_first_and_restarts_nothing() -> None:
    world = World()
    first = world.supervisor.add(Child("temporal", world.start))
    world.supervisor.add(Child("api", world.start))
    world.supervisor.stop()
    assert [p.signals for p in world.processes] == [[signal.SIGTERM], [signal.SIGTERM]]
    assert world.signalled == [2, 1]
    assert world.at(100.0) == [] and len(world.processes) == 2
    assert not first.running

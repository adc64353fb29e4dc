"""Supervision for `make dev` (scripts/dev.py; docs/operations.md): one entry per thing the stack runs on.

A `Child` is a process the supervisor started (the Temporal dev server, the worker, the api, the stand-in
providers). One that exits is started again after a backoff (RESTART_INITIAL seconds, doubling to RESTART_MAX;
a run that stayed up STABLE_AFTER seconds starts the schedule over), with one line saying so:

    [parley] worker exited with code -9; restarting in 1 s

A `Dependency` is something the children need that is not a child (PostgreSQL): it is probed every
CHECK_INTERVAL seconds, a change is said once ("PostgreSQL is not answering: …", "PostgreSQL answers again"),
and while it is down its `repair` (restarting the embedded server) is tried on the same backoff.

The decisions (`Backoff`, `Health`) are pure and unit-tested (tests/unit/test_dev_supervisor.py); the
supervisor only applies them to processes and probes, one `tick` at a time."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

RESTART_INITIAL = 1.0  # seconds before the first restart
RESTART_MAX = 30.0  # the longest wait between restarts
STABLE_AFTER = 60.0  # seconds up after which the next exit waits RESTART_INITIAL again
CHECK_INTERVAL = 2.0  # seconds between two probes of a dependency or a child's health
PROBE_GRACE = 10.0  # seconds a child is given to start before its health probe counts
STOP_TIMEOUT = 15.0  # seconds a child has to exit after its stop signal before it is killed
TICK = 0.3  # seconds between two looks at everything

Log = Callable[[str], None]
Clock = Callable[[], float]
# A probe answers None when all is well, else what is wrong (one line).
Probe = Callable[[], str | None]


@dataclass
class Backoff:
    """The wait before each restart: `initial`, doubling up to `maximum`; a run that lasted `stable_after`
    seconds or more was a success, and the schedule starts over."""

    initial: float = RESTART_INITIAL
    maximum: float = RESTART_MAX
    stable_after: float = STABLE_AFTER
    _next: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._next = self.initial

    def after_exit(self, uptime: float) -> float:
        """Seconds to wait before starting again something that ran `uptime` seconds before it stopped."""
        if uptime >= self.stable_after:
            self._next = self.initial
        delay = self._next
        self._next = min(delay * 2, self.maximum)
        return delay


@dataclass
class Health:
    """What a probe last said, so that only a change is reported: down (with why), then back."""

    name: str
    problem: str | None = None

    def observe(self, problem: str | None) -> str | None:
        """The line to print for this observation, or None when nothing changed."""
        before, self.problem = self.problem, problem
        if problem is not None and before is None:
            return f"{self.name} is not answering: {problem}"
        if problem is None and before is not None:
            return f"{self.name} answers again"
        return None


def exit_description(code: int) -> str:
    """`code -9` is how Popen reports a process killed by SIGKILL; say which signal too."""
    if code < 0:
        try:
            return f"code {code} ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return f"code {code}"


class Child:
    """A process the supervisor keeps running: `start` launches it (and may raise OSError)."""

    def __init__(
        self,
        name: str,
        start: Callable[[], subprocess.Popen[bytes]],
        *,
        stop_signal: signal.Signals = signal.SIGTERM,
        probe: Probe | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.name = name
        self.start = start
        self.stop_signal = stop_signal
        self.probe = probe
        self.backoff = backoff or Backoff()
        self.health = Health(name)
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.restart_at: float | None = None
        self.next_probe = 0.0
        self.restarts = 0

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def launch(self, now: float, log: Log) -> None:
        try:
            self.process = self.start()
        except OSError as exc:
            self.process = None
            self._schedule_restart(now, log, f"{self.name} could not start ({exc})")
            return
        self.started_at = now
        self.restart_at = None
        self.next_probe = now + PROBE_GRACE

    def tick(self, now: float, log: Log) -> None:
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restarts += 1
                log(f"restarting {self.name}")
                self.launch(now, log)
            return
        code = self.process.poll() if self.process is not None else None
        if code is not None:
            self._schedule_restart(now, log, f"{self.name} exited with {exit_description(code)}")
        elif self.probe is not None and now >= self.next_probe:
            self.next_probe = now + CHECK_INTERVAL
            if line := self.health.observe(self.probe()):
                log(line)

    def _schedule_restart(self, now: float, log: Log, what: str) -> None:
        delay = self.backoff.after_exit(now - self.started_at)
        self.restart_at = now + delay
        self.health.problem = None  # a new process starts with a clean slate
        log(f"{what}; restarting in {delay:g} s")

    def signal_stop(self) -> None:
        self.restart_at = None
        if self.running:
            assert self.process is not None
            self.process.send_signal(self.stop_signal)

    def wait_stopped(self, timeout: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Dependency:
    """Something the children need that the supervisor did not start as a child: probed every CHECK_INTERVAL,
    a change said once; while it is down, `repair` (if any) is tried with backoff."""

    def __init__(
        self, name: str, probe: Probe, *, repair: Callable[[], None] | None = None, backoff: Backoff | None = None
    ) -> None:
        self.name = name
        self.probe = probe
        self.repair = repair
        self.backoff = backoff or Backoff()
        self.health = Health(name)
        self.next_check = 0.0
        self.repair_at: float | None = None
        self.up_since = 0.0
        self.repairs = 0

    def tick(self, now: float, log: Log) -> None:
        if now < self.next_check:
            return
        self.next_check = now + CHECK_INTERVAL
        problem = self.probe()
        if line := self.health.observe(problem):
            log(line)
        if problem is None:
            self.repair_at = None
            return
        if self.repair is None:
            return
        if self.repair_at is None:
            delay = self.backoff.after_exit(now - self.up_since)
            self.repair_at = now + delay
            log(f"restarting {self.name} in {delay:g} s")
        elif now >= self.repair_at:
            self._repair(now, log)

    def _repair(self, now: float, log: Log) -> None:
        assert self.repair is not None
        self.repairs += 1
        try:
            self.repair()
        except Exception as exc:
            delay = self.backoff.after_exit(0.0)
            self.repair_at = now + delay
            log(f"could not restart {self.name} ({exc}); trying again in {delay:g} s")
            return
        self.repair_at = None
        self.up_since = now
        self.next_check = now  # look again at once: the next tick reports it back
        log(f"restarted {self.name}")


class Supervisor:
    """Keeps its children running and watches its dependencies until stopped (Ctrl-C: `request_stop`)."""

    def __init__(self, *, log: Log, clock: Clock = time.monotonic) -> None:
        self.log = log
        self.clock = clock
        self.children: list[Child] = []
        self.dependencies: list[Dependency] = []
        self.stopping = False

    def add(self, child: Child) -> Child:
        """Start `child` now and keep it running."""
        self.children.append(child)
        child.launch(self.clock(), self.log)
        return child

    def watch(self, dependency: Dependency) -> Dependency:
        self.dependencies.append(dependency)
        dependency.up_since = self.clock()
        return dependency

    def tick(self) -> None:
        """One look at everything: restart what exited and is due, probe what is due."""
        for child in self.children:
            if self.stopping:
                return
            child.tick(self.clock(), self.log)
        for dependency in self.dependencies:
            if self.stopping:
                return
            dependency.tick(self.clock(), self.log)

    def run(self, *, interval: float = TICK) -> None:
        """Supervise until request_stop() (a signal handler's, or another thread's)."""
        while not self.stopping:
            self.tick()
            time.sleep(interval)

    def request_stop(self) -> None:
        self.stopping = True

    def stop(self, *, timeout: float = STOP_TIMEOUT) -> None:
        """Stop every child, the last started first, each with its stop signal; kill what does not exit."""
        self.stopping = True
        for child in reversed(self.children):
            child.signal_stop()
        for child in reversed(self.children):
            child.wait_stopped(timeout)

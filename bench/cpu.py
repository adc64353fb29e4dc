"""CPU time per process (Linux /proc), to show where a scenario's cycles went on a small machine."""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[str, list[str]]:
    """The command name and the fields after it (the name is parenthesised and may contain spaces)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 1 :].split()


def parent_pid(pid: int) -> int:
    return int(_stat(pid)[1][1])


def command_name(pid: int) -> str:
    return _stat(pid)[0]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if parent_pid(int(entry.name)) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def cpu_seconds(pid: int, *, tree: bool = False) -> float:
    """utime + stime of a process; with `tree`, plus its reaped children's and its live children's."""
    fields = _stat(pid)[1]
    ticks = int(fields[11]) + int(fields[12])
    if tree:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: children already waited for
        for child in _children(pid):
            try:
                child_fields = _stat(child)[1]
            except OSError:
                continue
            ticks += sum(int(v) for v in child_fields[11:15])
    return ticks / TICKS


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy (not idle, not waiting on I/O) since boot; other load shows here."""
    user, nice, system, _idle, _iowait, *rest = (
        int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]
    )
    return (user + nice + system + sum(rest[:3])) / TICKS  # + irq, softirq, steal


def child_pid(command: str) -> int | None:
    """A direct child of this process with this command name (e.g. the Temporal dev server)."""
    for pid in _children(os.getpid()):
        try:
            if command_name(pid) == command:
                return pid
        except OSError:
            continue
    return None


class CpuMeter:
    """Snapshots CPU seconds of named processes (`trees` with their children) and of the whole machine;
    `since()` gives each one's share of a core over the interval (the machine's can reach the core count)."""

    def __init__(self, pids: dict[str, int], trees: frozenset[str] = frozenset()) -> None:
        self.pids = pids
        self.trees = trees
        self._start = self._read()

    def _read(self) -> dict[str, float]:
        totals = {"machine": machine_busy_seconds()}
        for name, pid in self.pids.items():
            try:
                totals[name] = cpu_seconds(pid, tree=name in self.trees)
            except OSError:
                continue
        return totals

    def restart(self) -> None:
        self._start = self._read()

    def since(self, seconds: float) -> dict[str, float]:
        if seconds <= 0:
            return {}
        now = self._read()
        # A process tree can lose a child's time between its exit and its reaping: never report below zero.
        return {name: max(0.0, now[name] - self._start[name]) / seconds for name in now.keys() & self._start}

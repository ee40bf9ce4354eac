"""CPU use of processes from /proc: CPU time, run-queue wait of the main thread, machine load.

Linux only. A :class:`CpuMeter` takes a snapshot at ``start()`` and turns the next one into a
:class:`benchmarks.capacity_report.Usage` (milliseconds per named process over the interval).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from benchmarks.capacity_report import Usage

CLOCK_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (the first is the state), or
    None if the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def ended(pid: int) -> bool:
    """Whether ``pid`` has ended (a zombie not reaped yet counts as ended)."""
    fields = stat_fields(pid)
    return fields is None or fields[0] == "Z"


def children_running(parent: int, command: bytes) -> list[int]:
    """The live children of ``parent`` whose command line contains ``command``."""
    found = []
    for entry in Path("/proc").iterdir():
        fields = stat_fields(int(entry.name)) if entry.name.isdigit() else None
        if fields is None or int(fields[1]) != parent or fields[0] == "Z":
            continue
        try:
            if command in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:  # gone meanwhile
            continue
    return found


def cpu_ticks(pid: int) -> int | None:
    """utime + stime of a process (clock ticks), or None if it is gone."""
    fields = stat_fields(pid)
    return None if fields is None else int(fields[11]) + int(fields[12])


def runqueue_wait_ns(pid: int) -> int | None:
    """How long the process's main thread has waited runnable for a CPU (ns), or None."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


Snapshot = tuple[float, dict[str, int | None], dict[str, int | None], tuple[int, int]]


class CpuMeter:
    """CPU and run-queue wait of named processes, and the machine's load, between snapshots."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._mark = self._snapshot()

    def _snapshot(self) -> Snapshot:
        ticks = {name: cpu_ticks(pid) for name, pid in self.pids.items()}
        waits = {name: runqueue_wait_ns(pid) for name, pid in self.pids.items()}
        return time.perf_counter(), ticks, waits, machine_ticks()

    def start(self) -> None:
        """Begin a measurement."""
        self._mark = self._snapshot()

    def read(self) -> Usage:
        """What each process used since ``start``."""
        began, ticks0, waits0, (busy0, total0) = self._mark
        ended, ticks1, waits1, (busy1, total1) = self._snapshot()
        return Usage(
            cpu_ms=_deltas(ticks0, ticks1, CLOCK_TICK_MS),
            wait_ms=_deltas(waits0, waits1, 1e-6),
            wall_s=ended - began,
            machine_busy_pct=100 * (busy1 - busy0) / max(1, total1 - total0),
            cpus=os.cpu_count() or 1,
        )


def _deltas(
    before: dict[str, int | None], after: dict[str, int | None], scale: float
) -> dict[str, float | None]:
    """``(after - before) * scale`` per name; None where either side is missing."""
    deltas: dict[str, float | None] = {}
    for name, value in after.items():
        first = before.get(name)
        deltas[name] = None if value is None or first is None else (value - first) * scale
    return deltas

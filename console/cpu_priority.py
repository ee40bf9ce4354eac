"""The console's CPU priority: lower than the worker's, across Linux's session groups too."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from console.settings import ConsoleSettings

log = logging.getLogger(__name__)


def autogroup_file(pid: int | None = None) -> Path:
    """Linux's scheduler autogroup of a process's session (``CONFIG_SCHED_AUTOGROUP``);
    this process's with no ``pid``."""
    return Path(f"/proc/{'self' if pid is None else pid}/autogroup")


def session_group_niceness(pid: int | None = None) -> int | None:
    """The niceness of a process's session group, or None where its session has no group of
    its own: a kernel without autogroups, or a session that never got one (the init session,
    as under some container runtimes, reads empty), whose processes the scheduler orders by
    their own niceness against everything else."""
    try:
        text = autogroup_file(pid).read_text()
    except OSError:  # no such file: a kernel without autogroups, or the process has gone
        return None
    fields = text.split()  # "/autogroup-42 nice 0"
    return int(fields[-1]) if len(fields) == 3 and fields[1] == "nice" else None


def yield_cpu(settings: ConsoleSettings) -> int:
    """Lower this process's CPU priority by ``settings.nice`` (the console's pages refresh in
    bursts that would otherwise compete with the worker for a CPU); returns the new niceness.

    Where Linux groups processes by session (autogroups, on by default in most kernels), a
    niceness only orders processes within one session. A console that leads its own session
    (``rendezvous demo`` starts it so) lowers its session's priority as well: else it would get
    as much CPU as the worker, however nice. Run from a shell, it leaves the shell's session
    alone (the worker may be in it too)."""
    try:
        niceness = os.nice(settings.nice)
    except OSError as error:  # not permitted here: serve anyway, at the usual priority
        log.warning("could not lower the console's CPU priority: %s", error)
        return os.nice(0)
    leads_a_grouped_session = os.getsid(0) == os.getpid() and session_group_niceness() is not None
    if settings.nice and leads_a_grouped_session:
        try:
            autogroup_file().write_text(str(niceness))
        except OSError as error:
            log.warning("could not lower the CPU priority of the console's session: %s", error)
    return niceness

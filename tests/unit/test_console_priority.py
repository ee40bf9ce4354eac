"""The console lowers its own CPU priority, so on a shared host answers get the CPU first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.settings import ConsoleSettings

PROBE = (
    "import os; from console.app import yield_cpu; from console.settings import ConsoleSettings; "
    "before = os.nice(0); after = yield_cpu(ConsoleSettings()); print(before, after)"
)
AUTOGROUP = Path("/proc/self/autogroup")
needs_autogroups = pytest.mark.skipif(
    not AUTOGROUP.exists(), reason="this kernel does not group processes by session"
)


def _niceness(env: dict[str, str]) -> tuple[int, int]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    before, after = done.stdout.split()
    return int(before), int(after)


def _session_niceness(*, own_session: bool) -> tuple[int, int]:
    """The niceness of the console's session group before and after it yields the CPU."""
    probe = (
        "import os, pathlib; from console.app import yield_cpu; "
        "from console.settings import ConsoleSettings; "
        "group = pathlib.Path('/proc/self/autogroup'); "
        "before = group.read_text().split()[-1]; yield_cpu(ConsoleSettings()); "
        "print(before, group.read_text().split()[-1])"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        start_new_session=own_session,
    )
    before, after = done.stdout.split()
    return int(before), int(after)


def test_the_console_runs_ten_steps_nicer_than_it_was_started_by_default() -> None:
    before, after = _niceness({})
    assert after == min(19, before + 10)


def test_the_niceness_step_is_configurable_and_zero_leaves_it_alone() -> None:
    before, after = _niceness({"RENDEZVOUS_CONSOLE_NICE": "3"})
    assert after == min(19, before + 3)
    before, after = _niceness({"RENDEZVOUS_CONSOLE_NICE": "0"})
    assert after == before


@needs_autogroups
def test_a_console_leading_its_own_session_lowers_its_session_s_priority_too() -> None:
    # in a session of its own, its niceness alone orders it only against itself
    before, after = _session_niceness(own_session=True)
    assert after == min(19, before + 10)


@needs_autogroups
def test_a_console_run_from_a_shell_leaves_the_shell_s_session_alone() -> None:
    theirs = AUTOGROUP.read_text()
    before, after = _session_niceness(own_session=False)
    assert after == before
    assert AUTOGROUP.read_text() == theirs


def test_a_niceness_step_outside_what_the_system_allows_is_refused() -> None:
    with pytest.raises(ValueError, match="nice"):
        ConsoleSettings(nice=20)

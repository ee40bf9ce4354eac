"""The console lowers its own CPU priority, so on a shared host answers get the CPU first."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from console.settings import ConsoleSettings

PROBE = (
    "import os; from console.app import yield_cpu; from console.settings import ConsoleSettings; "
    "before = os.nice(0); after = yield_cpu(ConsoleSettings()); print(before, after)"
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


def test_the_console_runs_ten_steps_nicer_than_it_was_started_by_default() -> None:
    before, after = _niceness({})
    assert after == min(19, before + 10)


def test_the_niceness_step_is_configurable_and_zero_leaves_it_alone() -> None:
    before, after = _niceness({"RENDEZVOUS_CONSOLE_NICE": "3"})
    assert after == min(19, before + 3)
    before, after = _niceness({"RENDEZVOUS_CONSOLE_NICE": "0"})
    assert after == before


def test_a_niceness_step_outside_what_the_system_allows_is_refused() -> None:
    with pytest.raises(ValueError, match="nice"):
        ConsoleSettings(nice=20)

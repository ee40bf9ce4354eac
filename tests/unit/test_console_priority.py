"""The console lowers its own CPU priority, so on a shared host answers get the CPU first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from console.settings import ConsoleSettings

PROBE = (
    "import os; from console.cpu_priority import yield_cpu; "
    "from console.settings import ConsoleSettings; "
    "before = os.nice(0); after = yield_cpu(ConsoleSettings()); print(before, after)"
)
needs_autogroups = pytest.mark.skipif(
    not Path("/proc/self/autogroup").exists(), reason="this kernel does not group by session"
)

#: A shell stand-in, in a session of its own (so it has a group whatever session the tests run
#: in): it runs the console, in a session of its own or not, and prints its session's
#: niceness before and after, then the console's session's before and after it yields the CPU.
SHELL = """
import subprocess, sys
from console.cpu_priority import session_group_niceness
console = (
    "from console.cpu_priority import session_group_niceness, yield_cpu; "
    "from console.settings import ConsoleSettings; "
    "before = session_group_niceness(); yield_cpu(ConsoleSettings()); "
    "print(before, session_group_niceness())"
)
before = session_group_niceness()
done = subprocess.run([sys.executable, "-c", console], capture_output=True, text=True,
                      check=True, start_new_session=sys.argv[1] == "own")
print(before, session_group_niceness(), done.stdout)
"""


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


def _session_niceness(*, own_session: bool) -> tuple[int, int, int, int]:
    """The shell's session's niceness before and after, and the console's session's before and
    after it yields the CPU."""
    done = subprocess.run(
        [sys.executable, "-c", SHELL, "own" if own_session else "shared"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        start_new_session=True,
    )
    shell_before, shell_after, console_before, console_after = map(int, done.stdout.split())
    return shell_before, shell_after, console_before, console_after


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
    shell_before, shell_after, before, after = _session_niceness(own_session=True)
    assert after == min(19, before + 10)
    assert shell_after == shell_before


@needs_autogroups
def test_a_console_run_from_a_shell_leaves_the_shell_s_session_alone() -> None:
    shell_before, shell_after, before, after = _session_niceness(own_session=False)
    assert (before, after) == (shell_before, shell_before)
    assert shell_after == shell_before


def test_a_console_whose_session_has_no_group_of_its_own_only_lowers_itself(
    tmp_path: Path,
) -> None:
    # as in the init session (read as an empty autogroup file), e.g. under a container runtime:
    # the scheduler orders its processes by their own niceness, and the group cannot be set
    no_group = tmp_path / "autogroup"
    no_group.write_text("")
    probe = (
        "import logging, os, pathlib; import console.cpu_priority as priority; "
        "from console.settings import ConsoleSettings; logging.basicConfig(); "
        f"priority.autogroup_file = lambda pid=None: pathlib.Path({str(no_group)!r}); "
        "before = os.nice(0); print(before, priority.yield_cpu(ConsoleSettings()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        start_new_session=True,
    )
    before, after = map(int, done.stdout.split())
    assert after == min(19, before + 10)
    assert no_group.read_text() == ""
    assert "could not" not in done.stderr


@pytest.mark.parametrize(
    ("text", "niceness"),
    [("/autogroup-42 nice 7\n", 7), ("/autogroup-3 nice -5\n", -5), ("", None), ("\n", None)],
)
def test_a_session_s_group_niceness_is_read_from_the_kernel_s_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, niceness: int | None
) -> None:
    from console import cpu_priority

    group = tmp_path / "autogroup"
    group.write_text(text)
    monkeypatch.setattr(cpu_priority, "autogroup_file", lambda pid=None: group)
    assert cpu_priority.session_group_niceness() == niceness


def test_a_process_that_has_gone_has_no_session_group() -> None:
    from console.cpu_priority import session_group_niceness

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert session_group_niceness(gone.pid) is None


def test_a_niceness_step_outside_what_the_system_allows_is_refused() -> None:
    with pytest.raises(ValueError, match="nice"):
        ConsoleSettings(nice=20)

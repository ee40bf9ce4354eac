"""The benchmark's idle browser: sessions led by the poller's descendants get the lowest
priority, and nothing else does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.console_poller import lowest_priority_for_sessions_below
from console.cpu_priority import session_group_niceness

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/autogroup").exists(), reason="this kernel does not group by session"
)  # (the test's own session may have no group of its own: it only checks it is left alone)

#: A driver (as Playwright's) that starts a browser in a session of its own, prints its pid,
#: and waits.
DRIVER = (
    "import subprocess, sys; "
    "b = subprocess.Popen([sys.executable, '-c', 'import sys; sys.stdin.read()'], "
    "stdin=subprocess.PIPE, start_new_session=True); "
    "print(b.pid, flush=True); sys.stdin.read(); b.kill(); b.wait()"
)


def test_the_browser_s_session_below_the_poller_gets_the_lowest_priority() -> None:
    mine = session_group_niceness(os.getpid())
    with subprocess.Popen(
        [sys.executable, "-c", DRIVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as driver:
        assert driver.stdout is not None
        browser = int(driver.stdout.readline())
        try:
            with subprocess.Popen(  # a process in a session of its own, not below the poller
                [sys.executable, "-c", "import sys; sys.stdin.read()"],
                stdin=subprocess.PIPE,
                start_new_session=True,
            ) as stranger:
                try:
                    lowest_priority_for_sessions_below(driver.pid)  # the driver: its parent
                    assert session_group_niceness(browser) == 19
                    assert session_group_niceness(stranger.pid) == 0
                    assert session_group_niceness(os.getpid()) == mine  # the poller's own session
                finally:
                    stranger.kill()
        finally:
            driver.kill()

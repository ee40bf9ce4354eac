"""``benchmarks.capacity --pin-worker``: the worker alone on one CPU, the others elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.capacity import pin_worker_alone

CPUS = sorted(os.sched_getaffinity(0))
pytestmark = pytest.mark.skipif(len(CPUS) < 2, reason="needs two CPUs to pin anything")


@pytest.fixture
def threaded_child() -> Iterator[int]:
    """A process with a second thread already running, as a worker has."""
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import threading, sys; threading.Thread(target=sys.stdin.read).start(); "
            "print('ready', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        try:
            yield child.pid
        finally:
            child.kill()


def test_the_worker_gets_the_last_cpu_to_itself_and_the_others_the_rest(
    threaded_child: int,
) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    ) as other:
        try:
            pin_worker_alone({"worker": threaded_child, "model-scorecard": other.pid})
            threads = [int(t.name) for t in Path(f"/proc/{threaded_child}/task").iterdir()]
            assert len(threads) >= 2
            assert all(os.sched_getaffinity(t) == {CPUS[-1]} for t in threads)
            assert os.sched_getaffinity(other.pid) == set(CPUS[:-1])
        finally:
            other.kill()


def test_pinning_refuses_more_than_one_worker(threaded_child: int) -> None:
    with pytest.raises(SystemExit, match="one worker"):
        pin_worker_alone({"worker-1": threaded_child, "worker-2": threaded_child})

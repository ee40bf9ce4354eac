"""Statistics reports are built in a child process of the worker: the same report as the pure
function gives, errors named, a killed process replaced, and the process ends with its worker."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from benchmarks.proc_usage import ended, stat_fields
from streamapp.processes.stats_reports import (
    FAILED,
    OK,
    REPORT_NICENESS,
    answer,
    frame,
    request_parts,
    serve,
)
from streamapp.stats.buckets import Accumulator, bucket_of
from streamapp.stats.observations import decision
from streamapp.stats.report import local_buckets, report
from streamapp.web.reporter import Reporter, ReportFailed
from tests.unit.test_stats import BENIGN, REGISTRY, T0, closed

MINUTE = bucket_of(T0)


def stored_minute(answers: int) -> bytes:
    """A stored minute in which ``linear`` won ``answers`` requests, ``rules`` scoring too."""
    accumulator = Accumulator(None, MINUTE)
    for n in range(answers):
        mailbox = closed(
            [("rules", 3, BENIGN), ("linear", 10 + n, BENIGN)],
            winner="linear",
            rule="top_priority",
            answered_at=20 + n,
        )
        accumulator.add(decision(mailbox, REGISTRY), canary="rules")
    return orjson.dumps(accumulator.dump())


def report_arguments(answers: int = 5) -> dict[str, Any]:
    """What the worker's view hands over for a whole report of one worker."""
    return {
        "stored": {(0, MINUTE): stored_minute(answers)},
        "unwritten": {},
        "since": MINUTE,
        "until": MINUTE + 59_999,
        "peer_buckets": [],
        "workers": [{"worker_id": "w1", "pending_mailboxes": 2}],
        "registry": REGISTRY,
        "now_ms": MINUTE + 30_000,
        "canary": "rules",
        "models": None,
        "with_buckets": True,
    }


def test_the_process_answers_the_report_the_pure_function_gives() -> None:
    arguments = report_arguments()
    reply = answer("report", arguments)
    assert reply[:1] == OK
    body = orjson.loads(reply[1:])
    expected = report(
        local_buckets(arguments["stored"], {}, arguments["since"], arguments["until"]),
        REGISTRY,
        now_ms=arguments["now_ms"],
        since_ms=arguments["since"],
        until_ms=arguments["until"],
        pending=2,
        canary="rules",
        with_buckets=True,
    )
    assert body["workers"] == {"w1": {"worker_id": "w1", "pending_mailboxes": 2}}
    del body["workers"]
    assert body == orjson.loads(orjson.dumps(expected))
    assert body["models"]["linear"]["wins"] == 5 and body["totals"]["pending_mailboxes"] == 2


def test_peers_buckets_count_in_the_report_as_this_worker_s_own() -> None:
    peer = orjson.loads(answer("local", {
        "stored": {(1, MINUTE): stored_minute(3)},
        "unwritten": {},
        "since": MINUTE,
        "until": MINUTE + 59_999,
        "worker": {"worker_id": "w2", "pending_mailboxes": 1},
    })[1:])  # fmt: skip
    assert [bucket["partition"] for bucket in peer["raw_buckets"]] == [1]
    arguments = report_arguments(answers=5)
    arguments["peer_buckets"] = peer["raw_buckets"]
    arguments["workers"].append(peer["worker"])
    body = orjson.loads(answer("report", arguments)[1:])
    assert body["models"]["linear"]["wins"] == 8
    assert body["totals"]["pending_mailboxes"] == 3 and set(body["workers"]) == {"w1", "w2"}


def test_a_report_that_cannot_be_built_is_named_and_the_process_goes_on() -> None:
    arguments = report_arguments()
    arguments["stored"] = {(0, MINUTE): b"not json"}
    reply = answer("report", arguments)
    assert reply[:1] == FAILED and reply[1:].startswith(b"JSONDecodeError")
    assert answer("chart", {}) == FAILED + b"KeyError: 'chart'"


def test_requests_are_read_whole_and_a_torn_one_ends_the_stream() -> None:
    whole = b"".join(request_parts("report", report_arguments()))
    for torn in (whole[:3], whole[:-1]):  # in the header, and in the last stored value
        replies = io.BytesIO()
        serve(io.BytesIO(whole + torn), replies)
        assert replies.getvalue()[4:5] == OK
        assert replies.getvalue() == frame(answer("report", report_arguments()))


def niceness(pid: int) -> int:
    fields = stat_fields(pid)
    assert fields is not None
    return int(fields[16])  # field 19 of /proc/<pid>/stat, counted from the state


async def test_reports_come_from_a_child_at_a_lower_priority_that_is_replaced_if_killed() -> None:
    reporter = Reporter()
    try:
        first = orjson.loads(await reporter.build("report", **report_arguments(answers=4)))
        child = reporter.pid
        assert child is not None and child != os.getpid()
        assert niceness(child) == min(19, os.nice(0) + REPORT_NICENESS)
        os.kill(child, signal.SIGKILL)
        again = orjson.loads(await reporter.build("report", **report_arguments(answers=4)))
        assert again == first and first["models"]["linear"]["wins"] == 4
        assert reporter.pid not in (None, child)
        with pytest.raises(ReportFailed, match="KeyError"):
            await reporter.build("report", **{**report_arguments(), "stored": {(0, 0): b"{}"}})
    finally:
        await reporter.close()
    assert reporter.pid is None


async def test_a_report_process_that_cannot_start_is_a_named_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    reporter = Reporter()
    with pytest.raises(ReportFailed, match=r"could not start.*no-python"):
        await reporter.build("report", **report_arguments())
    assert reporter.pid is None


#: A worker stand-in: starts its report process, prints its pid, waits to be killed.
WORKER = """
import asyncio, sys
from streamapp.web.reporter import Reporter
from tests.unit.test_stats_reports import report_arguments
async def main():
    reporter = Reporter()
    await reporter.build("report", **report_arguments())
    print(reporter.pid, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
asyncio.run(main())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_report_process_ends_when_its_worker_is_sigkilled() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", WORKER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    ) as worker:
        assert worker.stdout is not None
        child = int(worker.stdout.readline())
        assert not ended(child)
        worker.kill()
        worker.wait(timeout=10)
    deadline = time.monotonic() + 10
    while not ended(child) and time.monotonic() < deadline:
        time.sleep(0.05)  # bounded wait for the kernel to end the orphan
    assert ended(child)

"""Workers failing under steady load: SIGKILLed and restarted, and a second one joining and
leaving. Every request is answered, and every copy of an answer is the same bytes."""

from __future__ import annotations

import signal
import time
from collections import Counter

import pytest

from streamapp.dev.ports import free_port
from tests.faults.wire import (
    OpenLoop,
    alive,
    answered_ids,
    assert_whole,
    log_errors,
    read_wire,
    report,
    scaled,
    start_worker,
    stop_process,
    tally,
)
from tests.integration.harness import System

pytestmark = pytest.mark.faults

RATE_PER_S = 50
DEADLINE_MS = 500
#: Requests sent before the first fault, and after each recovery before the next one.
WARM = scaled(75, 150)
BETWEEN = scaled(75, 200)


@pytest.mark.parametrize("models", ["scorecard", "backstop-only"])
async def test_worker_sigkilled_under_load_and_restarted_answers_every_request(
    system: System, models: str
) -> None:
    """(1a) ``scorecard`` running: answers are decided at once. (1b) no model process: every
    answer is decided by the deadline clock with the in-process backstop, and the requests that
    wait out a dead worker are decided in event time after the restart."""
    kills = scaled(1, 3)
    system.start_worker()
    if models == "scorecard":
        system.start_model("scorecard")
    restart_s = []
    async with OpenLoop(
        system.bootstrap,
        system.topic("requests"),
        prefix=f"kill-{models}",
        rate_per_s=RATE_PER_S,
        deadline_ms=DEADLINE_MS,
        return_topic=system.topic("answers"),
    ) as load:
        load.start()
        await load.run_for(WARM)
        for _ in range(kills):
            await stop_process(system, "worker", signal.SIGKILL)
            began = time.monotonic()
            await start_worker(system)
            restart_s.append(round(time.monotonic() - began, 1))
            await load.run_for(BETWEEN)
        await load.stop()
        delivered = await load.delivered()
    ids = [s.request_id for s in delivered]
    records = await read_wire(
        system.bootstrap, [system.topic("answers")], until=answered_ids(ids), timeout_s=90
    )
    counted = tally(ids, records)
    report(
        f"1-worker-sigkill-{models}",
        counted,
        kills=kills,
        restart_s=restart_s,
        not_delivered=load.count - len(ids),
        ok_share=round(counted.ok_share(), 4),
        rules=dict(Counter(str(a.get("rule")) for a in counted.kept.values())),
        worker_errors=log_errors(system, "worker"),
    )
    assert len(ids) == load.count, [s.error for s in load.sent if s.error][:5]
    assert_whole(counted, system, "worker")
    assert counted.ok_share() >= 0.99, counted.statuses


async def test_a_second_worker_joining_and_leaving_under_load_loses_and_forks_nothing(
    system: System,
) -> None:
    """(2) Partitions move to a second worker and back (SIGTERM), under load."""
    cycles = scaled(1, 2)
    system.start_worker()
    system.start_model("scorecard")
    second_port = free_port()
    exit_codes = []
    async with OpenLoop(
        system.bootstrap,
        system.topic("requests"),
        prefix="join-leave",
        rate_per_s=RATE_PER_S,
        deadline_ms=DEADLINE_MS,
        return_topic=system.topic("answers"),
    ) as load:
        load.start()
        await load.run_for(WARM)
        for _ in range(cycles):
            await start_worker(system, "worker-2", web_port=str(second_port))
            await load.run_for(BETWEEN)
            exit_codes.append(await stop_process(system, "worker-2"))
            await load.run_for(BETWEEN)
        await load.stop()
        delivered = await load.delivered()
    ids = [s.request_id for s in delivered]
    records = await read_wire(
        system.bootstrap, [system.topic("answers")], until=answered_ids(ids), timeout_s=90
    )
    counted = tally(ids, records)
    past_deadline = [a["answered_at"] - a["deadline_at"] for a in counted.kept.values()]
    report(
        "2-worker-join-leave",
        counted,
        cycles=cycles,
        worst_ms_after_deadline=max(past_deadline, default=None),
        over_1s_after_deadline=sum(1 for ms in past_deadline if ms > 1000),
        second_worker_exit_codes=exit_codes,
        ok_share=round(counted.ok_share(), 4),
        rules=dict(Counter(str(a.get("rule")) for a in counted.kept.values())),
        worker_errors=log_errors(system, "worker"),
        worker_2_errors=log_errors(system, "worker-2"),
    )
    assert len(ids) == load.count, [s.error for s in load.sent if s.error][:5]
    assert_whole(counted, system, "worker", "worker-2")
    assert alive(system, "worker"), "the first worker must outlive the second one's comings"

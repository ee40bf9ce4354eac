"""Model processes failing under steady load: paused (SIGSTOP) and resumed, and SIGKILLed
mid-batch and restarted. The backstop covers a paused model by the deadline, and a killed model
skips no request: what it had read and not committed is read again."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from typing import Any

import pytest

from tests.faults.wire import (
    OpenLoop,
    WireRecord,
    alive,
    answered_ids,
    assert_whole,
    log_errors,
    read_wire,
    report,
    scaled,
    stop_process,
    tally,
)
from tests.helpers import scores_in
from tests.integration.harness import System

pytestmark = pytest.mark.faults

RATE_PER_S = 50
DEADLINE_MS = 500
WARM = scaled(75, 150)
BETWEEN = scaled(75, 200)
#: Margin around the pause: a request is "sent while paused" if it entered Kafka this long after
#: SIGSTOP and its deadline passed this long before SIGCONT.
MARGIN_MS = 200


async def test_a_paused_model_is_covered_by_the_backstop_by_the_deadline(system: System) -> None:
    """(4) SIGSTOP then SIGCONT ``scorecard``: none missing; while it is stopped, answers come
    from the in-process backstop by the deadline. The full run pauses it for longer than the
    session timeout, so it is also thrown out of its group and rejoins."""
    pause = scaled(150, 500)  # requests sent while paused: 3 s, or 10 s (> session timeout 6 s)
    system.start_worker()
    scorecard = system.start_model("scorecard")
    async with OpenLoop(
        system.bootstrap,
        system.topic("requests"),
        prefix="paused",
        rate_per_s=RATE_PER_S,
        deadline_ms=DEADLINE_MS,
        return_topic=system.topic("answers"),
    ) as load:
        load.start()
        await load.run_for(WARM)
        scorecard.send_signal(signal.SIGSTOP)
        stopped_ms = int(time.time() * 1000)
        try:
            await load.run_for(pause)
        finally:
            scorecard.send_signal(signal.SIGCONT)
            resumed_ms = int(time.time() * 1000)
        await load.run_for(BETWEEN)
        await load.stop()
        delivered = await load.delivered()
    ids = [s.request_id for s in delivered]
    records = await read_wire(
        system.bootstrap, [system.topic("answers")], until=answered_ids(ids), timeout_s=90
    )
    counted = tally(ids, records)
    while_paused = {
        request_id: answer
        for request_id, answer in counted.kept.items()
        if answer["opened_at"] > stopped_ms + MARGIN_MS
        and answer["deadline_at"] < resumed_ms - MARGIN_MS
    }
    not_backstop = {
        i: (a["model"], a["rule"]) for i, a in while_paused.items() if a["rule"] != "backstop"
    }
    past_deadline = {
        i: a["answered_at"] - a["deadline_at"]
        for i, a in while_paused.items()
        if a.get("late") or a["answered_at"] - a["deadline_at"] > 100
    }
    after = [a for a in counted.kept.values() if a["opened_at"] > resumed_ms + 1000]
    report(
        "4-model-sigstop-sigcont",
        counted,
        paused_s=round((resumed_ms - stopped_ms) / 1000, 1),
        sent_while_paused=len(while_paused),
        paused_not_backstop=len(not_backstop),
        paused_past_deadline=len(past_deadline),
        worst_ms_past_deadline_while_paused=max(
            (a["answered_at"] - a["deadline_at"] for a in while_paused.values()), default=None
        ),
        winners_after_resume=dict(Counter(str(a.get("model")) for a in after)),
        scorecard_alive=scorecard.poll() is None,
    )
    assert_whole(counted, system, "worker", "scorecard")
    assert len(while_paused) >= pause // 2, "the pause must cover many requests"
    assert not not_backstop, f"while paused, only the backstop may answer: {not_backstop}"
    assert not past_deadline, f"ms past the deadline while paused: {past_deadline}"


def scores_of(records: list[WireRecord], model: str = "scorecard") -> Counter[str]:
    """How many scores ``model`` wrote per request id (ScoreBatches and single Scores)."""
    counts: Counter[str] = Counter()
    for record in records:
        if isinstance(record.data, dict):
            scores: list[dict[str, Any]] = scores_in(record.data)
            counts.update(s["request_id"] for s in scores if s.get("model") == model)
    return counts


#: A model process commits what it has written every 0.5 s: 5 requests (0.1 s) into the load it
#: has read some, has some in its 40 ms model calls, and has committed nothing on most (almost
#: surely all) of the 4 partitions.
BEFORE_FIRST_COMMIT = 5


@pytest.mark.parametrize(
    ("first_kill_after", "hosted"),
    [
        (BEFORE_FIRST_COMMIT, ("scorecard",)),
        (WARM, ("scorecard",)),
        (WARM, ("scorecard", "rules")),
    ],
    ids=["before-its-first-commit", "after-commits", "hosting-two-models-after-commits"],
)
async def test_a_model_killed_mid_batch_and_restarted_skips_no_request(
    system: System, first_kill_after: int, hosted: tuple[str, ...]
) -> None:
    """(5) ``scorecard`` is slowed (40 ms per request, 4 at a time), so batches are always in
    flight when it is SIGKILLed: early, before it has committed anything, or once it has
    committed for a while. Restarted, it must score every request it had not committed, and
    those sent while it was down: every request sent gets at least one score from it. A
    process hosting a second model (``rules``, as slow) must leave no request unscored by
    either."""
    kills = scaled(1, 3)
    model_args = ("--latency", "fixed:40", "--concurrency", "4")
    system.start_worker()
    name = "scorecard"
    system.start_model(*hosted, *model_args, name=name)
    restart_s = []
    async with OpenLoop(
        system.bootstrap,
        system.topic("requests"),
        prefix="killed-model",
        rate_per_s=RATE_PER_S,
        deadline_ms=DEADLINE_MS,
        return_topic=system.topic("answers"),
    ) as load:
        load.start()
        await load.run_for(first_kill_after)
        for n in range(kills):
            await stop_process(system, name, signal.SIGKILL)
            began = time.monotonic()
            name = f"scorecard-{n + 2}"  # its own log: "ready" is looked for in the log
            await asyncio.to_thread(system.start_model, *hosted, *model_args, name=name)
            restart_s.append(round(time.monotonic() - began, 1))
            await load.run_for(BETWEEN)
        await load.stop()
        delivered = await load.delivered()
    ids = [s.request_id for s in delivered]
    wanted = set(ids)

    def all_scored(records: list[WireRecord]) -> bool:
        return all(wanted <= set(scores_of(records, model)) for model in hosted)

    scored = await read_wire(
        system.bootstrap, [system.topic("scores")], until=all_scored, timeout_s=20
    )
    per_request = scores_of(scored)
    unscored = [i for i in ids if per_request[i] == 0]
    per_model = {model: scores_of(scored, model) for model in hosted}
    unscored_by = {m: sum(1 for i in ids if n[i] == 0) for m, n in per_model.items()}
    answers = await read_wire(
        system.bootstrap, [system.topic("answers")], until=answered_ids(ids), timeout_s=60
    )
    counted = tally(ids, answers)
    when = "before-1st-commit" if first_kill_after == BEFORE_FIRST_COMMIT else "after-commits"
    report(
        f"5-model-sigkill-{when}" + ("-hosting-" + "+".join(hosted) if len(hosted) > 1 else ""),
        counted,
        kills=kills,
        restart_s=restart_s,
        unscored=len(unscored),
        unscored_range=[unscored[0], unscored[-1]] if unscored else None,
        scored_twice=sum(1 for i in ids if per_request[i] > 1),
        unscored_by=unscored_by,
        winners=dict(Counter(str(a.get("model")) for a in counted.kept.values())),
        worker_errors=log_errors(system, "worker"),
    )
    assert_whole(counted, system, "worker")
    assert not unscored, (
        f"{len(unscored)} requests never scored by scorecard after its restart, e.g. "
        f"{unscored[:10]}\n" + "\n".join(system.log_lines(name, "WARNING", "ERROR", "ready"))
    )
    assert not any(unscored_by.values()), f"requests never scored, by model: {unscored_by}"
    assert alive(system, name)

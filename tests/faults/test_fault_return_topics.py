"""A return topic deleted while requests to it are pending: the other return topics' answers
keep their deadlines."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter

import pytest

from streamapp.kafka_admin import committed_offsets
from streamapp.settings import Settings
from tests.faults.wire import (
    OpenLoop,
    answered_ids,
    assert_whole,
    create_topics,
    delete_topics,
    end_offsets,
    holds_within,
    log_errors,
    read_wire,
    report,
    scaled,
    tally,
    topic_names,
)
from tests.integration.harness import Client, System, request_body

pytestmark = pytest.mark.faults

RATE_PER_S = 50
DEADLINE_MS = 300
#: How long after its deadline an answer may reach the broker and still be on time.
ON_TIME_MS = 500
PENDING = 20
PENDING_DEADLINE_MS = 3000


async def test_a_deleted_return_topic_does_not_delay_the_answers_to_other_topics(
    system: System,
) -> None:
    """(6) Only the in-process backstop runs, so every mailbox waits for its deadline. Answers
    to ``doomed`` have been sent before (the worker's producer knows the topic); then requests
    to it are left pending, it is deleted, and their deadlines pass. The steady load to
    ``survivor`` must keep its deadlines all along: its topic stamps each answer as it reaches
    the broker (LogAppendTime), so lateness is measured where a client would see it."""
    doomed, survivor = f"client-doomed-{system.prefix}", f"client-survivor-{system.prefix}"
    await create_topics(
        system.bootstrap,
        doomed,
        survivor,
        configs={"message.timestamp.type": "LogAppendTime"},
    )
    system.start_worker()
    requests = system.topic("requests")
    warm_ids = [f"doomed-warm-{n}" for n in range(5)]
    pending_ids = [f"doomed-pending-{n:02d}" for n in range(PENDING)]
    async with Client(system.bootstrap) as client:
        for request_id in warm_ids:
            await client.send(
                requests, request_body(request_id, return_topic=doomed, deadline_ms=200)
            )
        await client.flush()
        warm = await read_wire(system.bootstrap, [doomed], until=answered_ids(warm_ids), idle_s=0)
        assert answered_ids(warm_ids)(warm), "the doomed topic answers before it is deleted"
        async with OpenLoop(
            system.bootstrap,
            requests,
            prefix="survivor",
            rate_per_s=RATE_PER_S,
            deadline_ms=DEADLINE_MS,
            return_topic=survivor,
        ) as load:
            load.start()
            await load.run_for(50)
            for request_id in pending_ids:
                body = request_body(
                    request_id, return_topic=doomed, deadline_ms=PENDING_DEADLINE_MS
                )
                await client.send(requests, body)
            await client.flush()
            await load.run_for(50)  # the pending mailboxes are open, 2 s before their deadline
            await delete_topics(system.bootstrap, doomed)
            await load.run_for(scaled(200, 750))  # through their deadlines and well beyond
            await load.stop()
            delivered = await load.delivered()
    ids = [s.request_id for s in delivered]
    records = await read_wire(system.bootstrap, [survivor], until=answered_ids(ids), timeout_s=60)
    counted = tally(ids, records)
    arrival_ms = {
        request_id: copies[0].timestamp_ms - copies[0].data["deadline_at"]
        for request_id, copies in counted.copies.items()
    }
    off_time = {i: ms for i, ms in arrival_ms.items() if ms > ON_TIME_MS}
    # Measured, not asserted: do the worker's commits get past the pending requests, and does
    # it stop on SIGTERM? (Faust flushes its producer before every commit and at shutdown.)
    settings = Settings(bootstrap_servers=system.bootstrap)
    ends = await end_offsets(system.bootstrap, requests)

    async def all_committed() -> bool:
        committed = await committed_offsets(settings, system.prefix, requests)
        return all(committed.get(p, 0) >= end for p, end in ends.items())

    caught_up = await holds_within(all_committed, timeout_s=5)
    committed = await committed_offsets(settings, system.prefix, requests)
    began = time.monotonic()
    sigterm_exit = await asyncio.to_thread(system.stop, "worker", signal.SIGTERM, 10)
    sigterm_s = round(time.monotonic() - began, 1)
    remaining = sorted(await topic_names(system.bootstrap))
    report(
        "6-return-topic-deleted",
        counted,
        pending_on_deleted_topic=PENDING,
        worst_arrival_ms_after_deadline=max(arrival_ms.values(), default=None),
        arrived_over_500ms_after_deadline=len(off_time),
        late_answered_ms_after_deadline=sorted(
            a["answered_at"] - a["deadline_at"] for a in counted.kept.values() if a.get("late")
        ),
        doomed_topic_recreated=doomed in remaining,
        requests_committed_within_5s=caught_up,
        requests_uncommitted=sum(ends.values()) - sum(committed.values()),
        worker_sigterm_exit=sigterm_exit,
        worker_sigterm_s=sigterm_s,
        undelivered_logged=len(system.log_lines("worker", "not delivered", "cannot send")),
        rules=dict(Counter(str(a.get("rule")) for a in counted.kept.values())),
        worker_errors=log_errors(system, "worker"),
    )
    assert_whole(counted, system, "worker")
    assert not off_time, f"answers that reached the broker > {ON_TIME_MS} ms late: {off_time}"
    # Marked late (> 100 ms past the deadline): a stall caused by the deleted topic would mark
    # many, for seconds; on a 2-core machine shared with other test runs a handful can be
    # 100-200 ms late without any fault (seen once: 4 of 852, at a load average of 3).
    assert counted.late <= counted.sent // 100, sorted(
        (a["answered_at"] - a["deadline_at"], i) for i, a in counted.kept.items() if a.get("late")
    )

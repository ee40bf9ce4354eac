"""Background work of the worker: the deadline clock, housekeeping, and rebalances.

After every rebalance Faust reads each partition again from its committed offset, and an event
is only committed once what it brought is settled: so open mailboxes are rebuilt from Kafka,
closed ones are found in the table, and in-memory state of moved partitions is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from streamapp.app import app, mailboxes, settings
from streamapp.kafka_admin import committed_offsets
from streamapp.worker.clock import now_ms
from streamapp.worker.engine import clock, outbox
from streamapp.worker.state import (
    acks,
    positions,
    rendezvous,
    request_offsets,
    request_positions,
    store,
)

log = logging.getLogger(__name__)
#: How long a recovery waits for the group's committed offsets.
COMMITTED_LOOKUP_TIMEOUT_S = 5.0
HOUSEKEEPING_EVERY_S = 1.0


@app.task  # type: ignore[untyped-decorator]  # Faust's task decorator is untyped
async def run_deadline_clock() -> None:
    """Wake each mailbox when its time comes."""
    await clock.run()


@app.timer(HOUSEKEEPING_EVERY_S)  # type: ignore[untyped-decorator]  # Faust's decorator is untyped
async def housekeeping() -> None:
    """Forget closed mailboxes kept long enough, release early scores whose request never
    came, and delete closed mailboxes past their retention."""
    for hold in rendezvous.forget(now_ms()):
        hold.release()
    try:
        deleted = await store.expire(now_ms())
    except Exception as error:  # housekeeping retries next time
        log.warning("expiring closed mailboxes failed: %r", error)
        return
    if deleted:
        log.debug("expired %d closed mailboxes", deleted)


async def _committed(topic: str) -> dict[int, int]:
    """The group's committed offsets of a topic (empty if the broker cannot say in time)."""
    lookup = committed_offsets(settings, settings.app_id, topic)
    try:
        return await asyncio.wait_for(lookup, timeout=COMMITTED_LOOKUP_TIMEOUT_S)
    except Exception as error:  # a diagnostic must never break a recovery
        log.warning("cannot read committed offsets of %s: %r", topic, error)
        return {}


# Faust types a signal receiver as taking `signal=` by keyword; it is passed in **kwargs here.
async def resume_from_commits(owned: set[int]) -> None:
    """Seed the gap watch (requests) and the read positions (scores) with the committed offsets
    the streams are about to resume from (none, if the broker cannot say in time)."""
    requests_from = await _committed(settings.topic("requests"))
    scores_from = await _committed(settings.topic("scores"))
    request_offsets.reset({p: o for p, o in requests_from.items() if p in owned})
    for partition in owned:
        positions.start(partition, scores_from.get(partition))
        request_positions.start(partition, requests_from.get(partition))
    log.info(
        "partitions %s: requests resume from committed offsets %s",
        sorted(owned),
        dict(sorted((p, o) for p, o in requests_from.items() if p in owned)),
    )


@app.on_partitions_revoked.connect  # type: ignore[arg-type]
async def partitions_revoked(sender: Any, revoked: set[Any], **kwargs: Any) -> None:
    """Before partitions move: finish persisting and sending what was decided, then forget
    every mailbox of this worker (their events are read again from the committed offsets)."""
    await outbox.settle()
    partitions = {tp.partition for tp in revoked}
    rendezvous.drop_partitions(partitions)
    clock.drop_partitions(partitions)
    positions.forget(partitions)
    request_positions.forget(partitions)
    store.forget_partitions(partitions)
    acks.forget(set(revoked))


@mailboxes.on_recover
async def partitions_recovered() -> None:
    """After a rebalance or restart: note where the streams resume, and when each stored
    closed mailbox expires."""
    changelog = mailboxes.changelog_topic.get_topic_name()
    owned = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == changelog}
    await resume_from_commits(owned)
    rebuilding = asyncio.create_task(store.rebuild_expiry(owned))  # housekeeping: no hurry
    rebuilding.add_done_callback(_report_rebuild)


def _report_rebuild(done: asyncio.Task[int]) -> None:
    if not done.cancelled() and done.exception() is None:
        log.info("closed mailboxes held: %d", done.result())

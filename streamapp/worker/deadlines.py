"""The deadline clock of this worker and what it does when a mailbox falls due."""

from __future__ import annotations

from streamapp.app import mailboxes, settings
from streamapp.core.codec import encode
from streamapp.core.mailbox import is_open, on_tick
from streamapp.core.records import Answer, Tick
from streamapp.stats import observations
from streamapp.worker import outbox
from streamapp.worker.clock import DeadlineClock, now_ms
from streamapp.worker.registry_cache import current_registry
from streamapp.worker.state import limits, open_requests, timing

#: Answers the clock has sent whose Tick the owning agent has not recorded yet.
_decided: dict[str, tuple[int, Answer]] = {}


def pending_decision(request_id: str) -> Answer | None:
    """The answer the clock already sent for this request, if the agent has not recorded it."""
    found = _decided.get(request_id)
    return found[1] if found else None


def forget_decision(request_id: str) -> None:
    """The agent has recorded the clock's answer in the table."""
    _decided.pop(request_id, None)


def keep_partitions(partitions: set[int]) -> None:
    """This worker now owns these partitions: forget clock state of any other."""
    clock.keep_partitions(partitions)
    for request_id, (partition, _) in list(_decided.items()):
        if partition not in partitions:
            del _decided[request_id]


async def fire(request_id: str, partition: int, due_ms: int) -> None:
    """A mailbox's time has come: decide here and send the answer at once.

    Deciding in the clock (a table read and the pure transition) keeps the deadline to the
    millisecond; a round trip through Kafka first measured 20-30 ms late at 200 requests/s.
    The table is still written only by the agent, which records the answer from the Tick.
    """
    mailbox = mailboxes.get(request_id)
    if mailbox is None or request_id in _decided:
        return
    ticks_topic = settings.topic("ticks")
    if not is_open(mailbox):
        tick = Tick(request_id=request_id, due_ms=due_ms)
        await outbox.emit(ticks_topic, request_id, encode(tick), partition=partition)
        return
    step = on_tick(
        mailbox, registry=current_registry(), timing=timing(now_ms()), origin=f"clock:{due_ms}"
    )
    if step.answer is None:
        if step.wake_at is not None:
            clock.schedule(request_id, partition, step.wake_at)
        return
    _decided[request_id] = (partition, step.answer)
    open_requests.discard(request_id)
    await outbox.emit(
        mailbox.return_topic or limits.default_return_topic, request_id, encode(step.answer)
    )
    assert step.mailbox is not None
    await outbox.observe(observations.decision(step.mailbox, current_registry()))
    tick = Tick(request_id=request_id, due_ms=due_ms, answer=step.answer)
    await outbox.emit(ticks_topic, request_id, encode(tick), partition=partition)


clock = DeadlineClock(fire)

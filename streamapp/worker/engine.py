"""The worker's side of the rendezvous: feed it events and time, carry out what it decides.

Everything here is synchronous on purpose: an event or a deadline is handled without awaiting,
so deadlines fire on time while the agents are busy; sends and writes are queued in the outbox.
"""

from __future__ import annotations

import logging
from typing import Any

from streamapp.core.mailbox import Arrived
from streamapp.core.rendezvous import Effects, Key, Opening
from streamapp.core.scores import Scored
from streamapp.worker.clock import DeadlineClock, now_ms
from streamapp.worker.holds import Hold
from streamapp.worker.outbox import Outbox
from streamapp.worker.registry_cache import current_registry
from streamapp.worker.state import acks, positions, rendezvous, store

log = logging.getLogger(__name__)
outbox = Outbox(store)


def carry_out(effects: Effects, message: Any = None) -> None:
    """Do what the rendezvous decided, in its order: persist and send the answers of closed
    mailboxes (and stop waking them), send stored answers again, schedule wake-ups, release
    settled events."""
    for closed in effects.closed:
        outbox.closing(closed)
        clock.cancel((closed.mailbox.partition, closed.mailbox.request_id))
    for send in effects.sends:
        outbox.send(send.topic, send.request_id, send.wire)
    for key, due in effects.wakes:
        clock.schedule(key, due)
    for hold in effects.released:
        hold.release()
    if effects.refused is not None and message is not None:
        outbox.dead_letter(message, effects.refused)
    for partition, model, eval_ms, rtt_ms in effects.late:
        for listener in late_listeners:
            listener(partition, model, eval_ms, rtt_ms)


#: Called with (partition, model, eval ms, round trip ms) for each score after its answer.
late_listeners: list[Any] = []


def open_mailbox(opening: Opening, event: Any, in_process: list[Arrived], now: int) -> str | None:
    """A valid request: open its mailbox (its event is held until the answer is out).
    Returns why it was refused (its id belongs to another request), or None."""
    effects = rendezvous.open_request(
        opening,
        current_registry(),
        now_ms=now,
        scores_at_ms=positions.read_up_to_ms(opening.partition, now),
        hold=Hold(acks, event),
        in_process=in_process,
    )
    refused, effects.refused = effects.refused, None  # the agent answers or dead-letters it
    carry_out(effects, event.message)
    return refused


def file_scores(event: Any, scored: list[Scored], now: int) -> None:
    """File a message's scores (held until every mailbox it filed into is answered)."""
    message = event.message
    partition = message.partition
    arrived_ms = int(message.timestamp * 1000) if message.timestamp else now
    positions.read(partition, message.offset, arrived_ms)
    live = [s for s in scored if not s.replayed]  # a replay never touches a mailbox
    hold = Hold(acks, event, count=len(live) + 1)
    registry = current_registry()
    read_up_to = positions.read_up_to_ms(partition, now)
    for score in live:
        arrived = Arrived(
            model=score.model,
            model_version=score.model_version,
            arrived_ms=min(arrived_ms, now),
            read_at=score.read_at,
            finished_at=score.finished_at,
            result=score.result,
            error=score.error,
        )
        effects = rendezvous.file_score(
            partition,
            score.request_id,
            arrived,
            registry,
            now_ms=now,
            scores_at_ms=read_up_to,
            hold=hold,
        )
        carry_out(effects, message)
    carry_out(rendezvous.scores_read(partition, registry, now_ms=now, scores_at_ms=read_up_to))
    hold.release()


def release_alone(event: Any) -> None:
    """An event that brought nothing to hold (refused, dead-lettered): acknowledge in order."""
    Hold(acks, event).release()


def on_due(key: Key, due_ms: int) -> None:
    """The clock: a schedule step, a deadline or the end of a wait has come. A decision that
    fails is logged and the mailbox is answered ``rejected`` with the reason, never dropped."""
    now = now_ms()
    registry = current_registry()
    try:
        effects = rendezvous.on_due(
            key, registry, now_ms=now, scores_at_ms=positions.read_up_to_ms(key[0], now)
        )
    except Exception as error:
        log.exception("deciding %s at its due time failed", key)
        reason = f"internal error: {type(error).__name__}: {error}"
        effects = rendezvous.fail(key, reason, registry, now_ms=now)
    carry_out(effects)


clock = DeadlineClock(on_due)

"""Mailbox transitions: pure functions from (mailbox, event, time) to the next mailbox.

A mailbox is keyed by request id. It may be created by a score that overtook its request
(``opened_ms`` is None until the request comes), is *open* while the policy waits, and
*closed* once its one official answer is chosen. Closed mailboxes are kept for the retention
period, so late scores are counted and never reopen them, then they expire.
"""

from __future__ import annotations

from dataclasses import dataclass

from streamapp.core.policy import Offer, Registry, choose, next_wakeup
from streamapp.core.records import Answer, Arrival, Candidate, Mailbox, Request
from streamapp.core.scores import Scored


@dataclass(frozen=True)
class Step:
    """What an event did: the mailbox to store (None: delete), an answer to send, a wake-up."""

    mailbox: Mailbox | None
    answer: Answer | None = None
    wake_at: int | None = None
    outcome: str = "unchanged"


@dataclass(frozen=True)
class Timing:
    """Time facts the transitions need, all in epoch milliseconds."""

    now_ms: int
    retention_ms: int
    late_after_ms: int = 1000


def is_open(mailbox: Mailbox) -> bool:
    """True while the request is known and no answer has been chosen."""
    return mailbox.opened_ms is not None and mailbox.answer is None


def wake_time(mailbox: Mailbox, registry: Registry, timing: Timing) -> int:
    """When the clock should next look at this mailbox: a policy step, the deadline or expiry."""
    if is_open(mailbox):
        assert mailbox.opened_ms is not None and mailbox.deadline_at is not None
        return next_wakeup(
            registry,
            opened_ms=mailbox.opened_ms,
            deadline_ms=mailbox.deadline_at,
            now_ms=timing.now_ms,
        )
    settled = mailbox.closed_ms if mailbox.closed_ms is not None else mailbox.created_ms
    return settled + timing.retention_ms


def _settle(mailbox: Mailbox, registry: Registry, timing: Timing, origin: str) -> Step:
    """Ask the policy; close the mailbox if it chose, else say when to look again."""
    assert mailbox.opened_ms is not None and mailbox.deadline_at is not None
    offers = [Offer(a.model, a.arrived_ms, a.result is not None) for a in mailbox.scores]
    choice = choose(
        offers,
        registry,
        opened_ms=mailbox.opened_ms,
        deadline_ms=mailbox.deadline_at,
        now_ms=timing.now_ms,
        request_id=mailbox.request_id,
    )
    if choice is None:
        return Step(mailbox, wake_at=wake_time(mailbox, registry, timing), outcome="waiting")
    winner = next((a for a in mailbox.scores if a.model == choice.model), None)
    answer = Answer(
        request_id=mailbox.request_id,
        status="ok" if winner else "no_result",
        rule=choice.rule,
        policy_version=registry.version,
        opened_at=mailbox.opened_ms,
        answered_at=timing.now_ms,
        deadline_at=mailbox.deadline_at,
        model=winner.model if winner else None,
        model_version=winner.model_version if winner else None,
        result=winner.result if winner else None,
        reason=choice.reason,
        candidates=[
            Candidate(
                model=a.model,
                model_version=a.model_version,
                ok=a.result is not None,
                arrived_ms=a.arrived_ms,
            )
            for a in mailbox.scores
        ],
        late=timing.now_ms > mailbox.deadline_at + timing.late_after_ms,
    )
    closed = mailbox.derive(answer=answer, closed_ms=timing.now_ms, closed_by=origin)
    return Step(closed, answer, wake_time(closed, registry, timing), outcome="answered")


def _resend_if_redelivered(mailbox: Mailbox, origin: str) -> Step | None:
    """The event that closed this mailbox came again: resend its answer.

    After a crash, events whose offsets were not committed are delivered again. Faust flushes
    the producer before it commits, so only the closing event's answer can have been lost;
    resending exactly that one keeps "no answer missing" with the fewest duplicates.
    """
    if mailbox.answer is not None and mailbox.closed_by == origin:
        return Step(mailbox, answer=mailbox.answer, outcome="resent")
    return None


def on_request(
    mailbox: Mailbox | None,
    request: Request,
    *,
    partition: int,
    return_topic: str,
    deadline_at: int,
    registry: Registry,
    timing: Timing,
    origin: str,
) -> Step:
    """Open a mailbox for a request (a request id seen before changes nothing)."""
    if mailbox is not None and mailbox.opened_ms is not None:
        return _resend_if_redelivered(mailbox, origin) or Step(mailbox, outcome="duplicate_request")
    base = mailbox or Mailbox(
        request_id=request.request_id, partition=partition, created_ms=timing.now_ms
    )
    opened = base.derive(
        request=request,
        return_topic=return_topic,
        opened_ms=timing.now_ms,
        deadline_at=deadline_at,
    )
    return _settle(opened, registry, timing, origin)


def reject(
    mailbox: Mailbox | None,
    request_id: str,
    *,
    partition: int,
    return_topic: str,
    reason: str,
    registry: Registry,
    timing: Timing,
    origin: str,
) -> Step:
    """Close a request at once with a ``rejected`` answer (unless it was answered already)."""
    if mailbox is not None and mailbox.answer is not None:
        return _resend_if_redelivered(mailbox, origin) or Step(mailbox, outcome="duplicate_request")
    answer = Answer(
        request_id=request_id,
        status="rejected",
        rule="rejected",
        policy_version=registry.version,
        opened_at=timing.now_ms,
        answered_at=timing.now_ms,
        reason=reason,
    )
    base = mailbox or Mailbox(request_id=request_id, partition=partition, created_ms=timing.now_ms)
    closed = base.derive(
        return_topic=return_topic,
        opened_ms=timing.now_ms,
        deadline_at=timing.now_ms,
        answer=answer,
        closed_ms=timing.now_ms,
        closed_by=origin,
    )
    return Step(closed, answer, wake_time(closed, registry, timing), outcome="rejected")


def on_score(
    mailbox: Mailbox | None,
    score: Scored,
    *,
    partition: int,
    registry: Registry,
    timing: Timing,
    origin: str,
) -> Step:
    """File a score: it may decide the answer; after the answer it is only counted as late.

    Replayed scores (from an archive) never touch a mailbox.
    """
    if score.replayed:
        return Step(mailbox, outcome="ignored_replay")
    if mailbox is not None:
        resent = _resend_if_redelivered(mailbox, origin)
        if resent:
            return resent
        if mailbox.answer is not None:
            return Step(mailbox.derive(late_scores=mailbox.late_scores + 1), outcome="late")
        if any(a.model == score.model for a in mailbox.scores):
            return Step(
                mailbox.derive(duplicate_scores=mailbox.duplicate_scores + 1), outcome="duplicate"
            )
    arrival = Arrival(
        model=score.model,
        model_version=score.model_version,
        arrived_ms=timing.now_ms,
        read_at=score.read_at,
        finished_at=score.finished_at,
        result=score.result,
        error=score.error,
    )
    base = mailbox or Mailbox(
        request_id=score.request_id, partition=partition, created_ms=timing.now_ms
    )
    filed = base.derive(scores=[*base.scores, arrival])
    if not is_open(filed):
        return Step(filed, wake_at=wake_time(filed, registry, timing), outcome="early")
    return _settle(filed, registry, timing, origin)


def on_tick(mailbox: Mailbox | None, *, registry: Registry, timing: Timing, origin: str) -> Step:
    """The clock looks again: decide an open mailbox, or expire a settled one."""
    if mailbox is None:
        return Step(None, outcome="gone")
    resent = _resend_if_redelivered(mailbox, origin)
    if resent:
        return resent
    if is_open(mailbox):
        return _settle(mailbox, registry, timing, origin)
    if timing.now_ms >= wake_time(mailbox, registry, timing):
        return Step(None, outcome="expired")
    return Step(mailbox, wake_at=wake_time(mailbox, registry, timing))


def record_decision(
    mailbox: Mailbox | None, answer: Answer, *, registry: Registry, timing: Timing, origin: str
) -> Step:
    """Close a mailbox with an answer the clock already sent (nothing is sent again).

    A mailbox already closed keeps its answer (the clock only decides open mailboxes, so this
    happens only after a crash or rebalance).
    """
    if mailbox is None or mailbox.answer is not None:
        return Step(mailbox, outcome="already_closed")
    closed = mailbox.derive(answer=answer, closed_ms=answer.answered_at, closed_by=origin)
    return Step(closed, wake_at=wake_time(closed, registry, timing), outcome="recorded")

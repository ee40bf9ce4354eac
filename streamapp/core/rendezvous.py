"""The rendezvous of one worker: its open mailboxes, and what each event does to them.

A plain state machine over plain values; every time is an argument and all I/O is the caller's:
it feeds requests, scores and the clock in, and carries out what comes back (persist a closed
mailbox, then send its answer; send a stored answer again; wake a mailbox later). Mailboxes are
keyed by (partition, request id), so the same id in two partitions never interferes.

A request id belongs to the first valid request that opens it. The same id again with the same
payload and return topic is a retry (it gets the one answer, now or when it is decided); with
another payload or return topic it is refused without touching the original.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from streamapp.core.mailbox import (
    Arrived,
    Decision,
    Mailbox,
    choose_for,
    decide,
    still_waiting,
    wake_time,
)
from streamapp.core.policy import Choice, Registry

Key = tuple[int, str]
#: How a refusal says that a request id belongs to another request.
IN_USE = "in use"


def is_in_use(reason: str | None) -> bool:
    """True if a refusal says the request id belongs to another request."""
    return bool(reason) and f" {IN_USE} (" in str(reason)


@dataclass(frozen=True, slots=True)
class Stored:
    """A closed mailbox as the table keeps it: enough to answer a retry and count late scores."""

    return_topic: str
    payload_digest: str
    opened_ms: int
    wire: bytes


@dataclass(frozen=True, slots=True)
class Send:
    """Put these answer bytes on a topic (a stored answer again, or a refusal)."""

    topic: str
    request_id: str
    wire: bytes


@dataclass(frozen=True, slots=True)
class Closed:
    """A mailbox just decided: persist it, then send ``mailbox.decision.wire``, then release
    its holds (the events that may be acknowledged once its answer is out)."""

    mailbox: Mailbox
    holds: list[Any]


@dataclass(slots=True)
class Effects:
    """What one event asks the caller to do, in this order: persist and send ``closed``, send
    ``sends``, wake ``wakes`` later, release ``released`` holds."""

    closed: list[Closed] = field(default_factory=list)
    sends: list[Send] = field(default_factory=list)
    wakes: list[tuple[Key, int]] = field(default_factory=list)
    released: list[Any] = field(default_factory=list)
    #: Why a message was refused without an answer of its own (for the dead-letter topic).
    refused: str | None = None
    #: Scores that came after their answer: (partition, model, eval ms, rtt ms), for the
    #: statistics.
    late: list[tuple[int, str, float, int]] = field(default_factory=list)


class Opening(NamedTuple):
    """A valid request, as read from Kafka."""

    request_id: str
    partition: int
    offset: int
    entered_ms: int
    deadline_ms: int
    return_topic: str
    payload_digest: str
    #: A retry may ask for the answer on another topic (the REST proxy's reply topics).
    retry_anywhere: bool = False


@dataclass(slots=True)
class _Early:
    """Scores whose request has not been read yet (it may come later on the other topic)."""

    scores: list[Arrived]
    holds: list[Any]
    since_ms: int


class Rendezvous:
    """All mailboxes of the partitions this worker owns.

    ``lookup`` finds a closed mailbox no longer in memory (the worker's table).
    """

    def __init__(
        self,
        *,
        lookup: Callable[[int, str], Stored | None],
        late_after_ms: int = 100,
        catch_up_wait_ms: int = 1000,
        keep_closed_ms: int = 10_000,
        keep_early_ms: int = 120_000,
    ) -> None:
        self._lookup = lookup
        self.late_after_ms = late_after_ms
        self.catch_up_wait_ms = catch_up_wait_ms
        self.keep_closed_ms = keep_closed_ms
        self.keep_early_ms = keep_early_ms
        self.open: dict[Key, Mailbox] = {}
        self.holds: dict[Key, list[Any]] = {}
        #: Recently closed mailboxes (for retries and late scores without a table read).
        self.recent: dict[Key, Mailbox] = {}
        self._recent_order: list[tuple[int, Key]] = []
        self._early: dict[Key, _Early] = {}
        #: Mailboxes past their deadline waiting for their scores partition to catch up.
        self._waiting: dict[int, list[tuple[int, Key]]] = {}

    # -- requests ---------------------------------------------------------------------------

    def open_request(
        self,
        opening: Opening,
        registry: Registry,
        *,
        now_ms: int,
        scores_at_ms: int,
        hold: Any,
        in_process: list[Arrived] | None = None,
    ) -> Effects:
        """A valid request: open its mailbox, or treat it as a retry, or refuse it.

        ``scores_at_ms``: the event time up to which the request's scores partition has been
        read (now, when it is caught up). ``in_process``: scores of models the worker ran
        itself as the mailbox opened (the backstop).
        """
        key = (opening.partition, opening.request_id)
        effects = self._claimed(key, opening)
        if effects is not None:
            effects.released.append(hold)
            return effects
        early = self._early.pop(key, None)
        mailbox = Mailbox(
            request_id=opening.request_id,
            partition=opening.partition,
            offset=opening.offset,
            opened_ms=opening.entered_ms,
            deadline_ms=opening.deadline_ms,
            return_topic=opening.return_topic,
            payload_digest=opening.payload_digest,
            read_ms=now_ms,
            scores=[*(early.scores if early else []), *(in_process or [])],
        )
        self.open[key] = mailbox
        self.holds[key] = [hold, *(early.holds if early else [])]
        effects = Effects()
        self._settle(key, mailbox, registry, now_ms, scores_at_ms, effects)
        return effects

    def _claimed(self, key: Key, opening: Opening) -> Effects | None:
        """Effects for a request whose id is already taken here, or None if it is free."""
        mailbox = self.open.get(key) or self.recent.get(key)
        if mailbox is not None:
            return self._again(
                opening,
                Stored(
                    mailbox.return_topic,
                    mailbox.payload_digest,
                    mailbox.opened_ms,
                    mailbox.decision.wire if mailbox.decision else b"",
                ),
            )
        stored = self._lookup(*key)
        return None if stored is None else self._again(opening, stored)

    @staticmethod
    def _again(opening: Opening, original: Stored) -> Effects:
        """The same id again: a retry gets the one answer; anything else is refused."""
        same_payload = opening.payload_digest == original.payload_digest
        same_topic = opening.return_topic == original.return_topic
        if same_payload and (same_topic or opening.retry_anywhere):
            sends = [Send(opening.return_topic, opening.request_id, original.wire)]
            return Effects(sends=sends if original.wire else [])
        what = "payload" if not same_payload else "return topic"
        return Effects(refused=f"request id {opening.request_id!r} {IN_USE} (another {what})")

    # -- scores -----------------------------------------------------------------------------

    def file_score(
        self,
        partition: int,
        request_id: str,
        arrived: Arrived,
        registry: Registry,
        *,
        now_ms: int,
        scores_at_ms: int,
        hold: Any,
    ) -> Effects:
        """File a score; it may decide the answer. After the answer it only counts as late."""
        key = (partition, request_id)
        effects = Effects()
        mailbox = self.open.get(key)
        if mailbox is None:
            self._file_elsewhere(key, arrived, now_ms, hold, effects)
            return effects
        if mailbox.has_score_of(arrived.model):
            mailbox.duplicate_scores += 1
            effects.released.append(hold)
            return effects
        mailbox.scores.append(arrived)
        self.holds[key].append(hold)
        if not still_waiting(mailbox, arrived.model, registry, now_ms):
            self._settle(key, mailbox, registry, now_ms, scores_at_ms, effects)
        return effects

    def _file_elsewhere(
        self, key: Key, arrived: Arrived, now_ms: int, hold: Any, effects: Effects
    ) -> None:
        """A score for a mailbox that is closed (late) or not opened yet (early)."""
        closed = self.recent.get(key)
        if closed is not None:
            closed.late_scores.append(arrived)
            opened_ms: int | None = closed.opened_ms
        else:
            stored = self._lookup(*key) if key not in self._early else None
            opened_ms = stored.opened_ms if stored else None
        if opened_ms is not None:
            eval_ms = max(0.0, (arrived.finished_at - arrived.read_at) * 1000)
            rtt_ms = max(0, arrived.arrived_ms - opened_ms)
            effects.late.append((key[0], arrived.model, eval_ms, rtt_ms))
            effects.released.append(hold)
            return
        early = self._early.setdefault(key, _Early([], [], now_ms))
        early.scores.append(arrived)
        early.holds.append(hold)

    # -- time -------------------------------------------------------------------------------

    def on_due(self, key: Key, registry: Registry, *, now_ms: int, scores_at_ms: int) -> Effects:
        """The clock: a schedule step or the deadline has come for this mailbox."""
        effects = Effects()
        mailbox = self.open.get(key)
        if mailbox is not None:
            self._settle(key, mailbox, registry, now_ms, scores_at_ms, effects)
        return effects

    def scores_read(
        self, partition: int, registry: Registry, *, now_ms: int, scores_at_ms: int
    ) -> Effects:
        """The scores partition has been read up to ``scores_at_ms``: decide the mailboxes
        past their deadline that were waiting for it."""
        effects = Effects()
        waiting = self._waiting.get(partition)
        while waiting and waiting[0][0] <= scores_at_ms:
            _, key = heapq.heappop(waiting)
            mailbox = self.open.get(key)
            if mailbox is not None:
                self._settle(key, mailbox, registry, now_ms, scores_at_ms, effects)
        return effects

    def _settle(
        self,
        key: Key,
        mailbox: Mailbox,
        registry: Registry,
        now_ms: int,
        scores_at_ms: int,
        effects: Effects,
    ) -> None:
        """Ask the policy as of now. Past the deadline, ask as of the deadline, on the scores
        that reached Kafka by then: decide once they have all been read (or the wait for them,
        from the deadline or from when this worker read the request, has gone on long enough);
        a top-priority result cannot be beaten, so it goes at once."""
        deadline = mailbox.deadline_ms
        if now_ms < deadline:
            choice = choose_for(mailbox, registry, at_ms=now_ms)
            if choice is not None:
                self._close(key, mailbox, choice, registry, now_ms, now_ms, effects)
            else:
                wake = wake_time(mailbox, registry, now_ms)
                mailbox.waiting_under, mailbox.waiting_until_ms = registry, wake
                effects.wakes.append((key, wake))
            return
        choice = choose_for(mailbox, registry, at_ms=deadline)
        assert choice is not None, "the policy always chooses at the deadline"
        give_up_at = max(deadline, mailbox.read_ms) + self.catch_up_wait_ms
        if choice.rule == "top_priority" or scores_at_ms >= deadline or now_ms >= give_up_at:
            self._close(key, mailbox, choice, registry, deadline, now_ms, effects)
            return
        heapq.heappush(self._waiting.setdefault(mailbox.partition, []), (deadline, key))
        effects.wakes.append((key, give_up_at))

    def _close(
        self,
        key: Key,
        mailbox: Mailbox,
        choice: Choice,
        registry: Registry,
        at_ms: int,
        now_ms: int,
        effects: Effects,
    ) -> None:
        mailbox.decision = decide(
            mailbox,
            choice,
            registry,
            at_ms=at_ms,
            answered_ms=now_ms,
            late_after_ms=self.late_after_ms,
        )
        del self.open[key]
        self.recent[key] = mailbox
        self._recent_order.append((now_ms, key))
        effects.closed.append(Closed(mailbox, self.holds.pop(key, [])))

    def fail(self, key: Key, reason: str, registry: Registry, *, now_ms: int) -> Effects:
        """Deciding this mailbox failed (a bug): close it ``rejected`` with the reason, so its
        client still gets its one answer."""
        effects = Effects()
        mailbox = self.open.get(key)
        if mailbox is not None:
            choice = Choice(None, "rejected", reason)
            self._close(key, mailbox, choice, registry, now_ms, now_ms, effects)
        return effects

    # -- housekeeping -----------------------------------------------------------------------

    def forget(self, now_ms: int) -> list[Any]:
        """Drop closed mailboxes kept long enough (the table has them) and early scores whose
        request never came; return the holds that may now be released."""
        order = self._recent_order
        cut = 0
        while cut < len(order) and order[cut][0] <= now_ms - self.keep_closed_ms:
            self.recent.pop(order[cut][1], None)
            cut += 1
        del order[:cut]
        # Early scores are kept in the order they first came, oldest first: stop at the first
        # one still young. A worker far behind keeps tens of thousands, and this runs every
        # second. (Should the wall clock step back, the ones after the step wait a little
        # longer, never less.)
        cutoff = now_ms - self.keep_early_ms
        old: list[Key] = []
        for key, early in self._early.items():
            if early.since_ms > cutoff:
                break
            old.append(key)
        released: list[Any] = []
        for key in old:
            released.extend(self._early.pop(key).holds)
        return released

    def drop_partitions(self, partitions: set[int]) -> None:
        """These partitions went to another worker: forget their state (their unreleased
        events are read again by the new owner)."""
        for table in (self.open, self.holds, self.recent, self._early):
            for key in [k for k in table if k[0] in partitions]:
                del table[key]
        self._recent_order = [(t, k) for t, k in self._recent_order if k[0] not in partitions]
        for partition in partitions:
            self._waiting.pop(partition, None)

    def mailbox(self, key: Key) -> Mailbox | None:
        """An open or recently closed mailbox."""
        return self.open.get(key) or self.recent.get(key)

    def pending(self) -> int:
        """Open mailboxes."""
        return len(self.open)

    def open_keys(self) -> Iterator[Key]:
        """Keys of the open mailboxes."""
        return iter(list(self.open))


def decision_of(mailbox: Mailbox) -> Decision:
    """The decision of a closed mailbox."""
    assert mailbox.decision is not None
    return mailbox.decision

"""Functional tests drive the real agents with Faust's test_context (no broker, memory store)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

os.environ.setdefault("RENDEZVOUS_APP_ID", "rendezvous-functional")
os.environ["RENDEZVOUS_TABLE_STORE"] = "memory://"


@dataclass
class Sent:
    """Messages the worker sent, by topic, and the mailboxes it persisted."""

    messages: list[tuple[str, str, bytes]] = field(default_factory=list)
    persisted: dict[tuple[int, str], Any] = field(default_factory=dict)

    def on(self, topic: str) -> list[bytes]:
        return [value for name, _, value in self.messages if name == topic]


@pytest.fixture()
def worker(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent]:
    """The app in test mode; what the outbox would persist and send is captured instead."""
    import orjson

    from streamapp.app import app
    from streamapp.core.rendezvous import Closed, Stored
    from streamapp.worker import engine, state

    app.finalize()
    app.flow_control.resume()
    sent = Sent()

    def closing(closed: Closed) -> None:  # persisted, then sent, then released: at once here
        mailbox = closed.mailbox
        assert mailbox.decision is not None
        sent.persisted[(mailbox.partition, mailbox.request_id)] = mailbox
        sent.messages.append((mailbox.return_topic, mailbox.request_id, mailbox.decision.wire))
        for hold in closed.holds:
            hold.release()

    def send(topic: str, key: str, value: bytes, *, partition: int | None = None) -> None:
        sent.messages.append((topic, key, value))

    def dead_letter(message: Any, reason: str) -> None:
        raw = message.value if isinstance(message.value, bytes) else b""
        letter = {
            "reason": reason,
            "topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
            "key": message.key.decode() if isinstance(message.key, bytes) else None,
            "value": raw.decode("utf-8", "replace"),
        }
        sent.messages.append((state.settings.topic("deadletter"), "", orjson.dumps(letter)))

    def lookup(partition: int, request_id: str) -> Stored | None:
        mailbox = sent.persisted.get((partition, request_id))
        if mailbox is None:
            return None
        return Stored(
            mailbox.return_topic, mailbox.payload_digest, mailbox.opened_ms, mailbox.decision.wire
        )

    async def every_topic_exists(name: str) -> bool:
        return not name.startswith("missing")

    monkeypatch.setattr(engine.outbox, "closing", closing)
    monkeypatch.setattr(engine.outbox, "send", send)
    monkeypatch.setattr(engine.outbox, "dead_letter", dead_letter)
    monkeypatch.setattr(state.rendezvous, "_lookup", lookup)
    monkeypatch.setattr(state.topic_directory, "exists", every_topic_exists)
    # No broker: every scores partition counts as read to its end (nothing is in flight).
    monkeypatch.setattr(state.positions, "_highwater", lambda partition: 0)
    everything = set(range(256))
    state.rendezvous.drop_partitions(everything)
    engine.clock.drop_partitions(everything)
    yield sent
    state.rendezvous.drop_partitions(everything)
    engine.clock.drop_partitions(everything)

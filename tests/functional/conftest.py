"""Functional tests drive the real agents with Faust's test_context (no broker, memory store)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

os.environ.setdefault("RENDEZVOUS_APP_ID", "rendezvous-functional")
os.environ["RENDEZVOUS_TABLE_STORE"] = "memory://"


@dataclass
class Sent:
    """Messages the worker emitted, by topic."""

    messages: list[tuple[str, str, bytes, int | None]] = field(default_factory=list)

    def on(self, topic: str) -> list[bytes]:
        return [value for name, _, value, _ in self.messages if name == topic]


@pytest.fixture()
def worker(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent]:
    """The app in test mode with every outgoing message captured instead of produced."""
    from streamapp.app import app, mailboxes
    from streamapp.worker import deadlines, outbox, state

    app.finalize()
    app.flow_control.resume()
    sent = Sent()

    async def capture(topic: str, key: str, value: bytes, *, partition: int | None = None) -> None:
        sent.messages.append((topic, key, value, partition))

    async def every_topic_exists(name: str) -> bool:
        return not name.startswith("missing")

    monkeypatch.setattr(outbox, "emit", capture)
    monkeypatch.setattr(state.topic_directory, "exists", every_topic_exists)
    mailboxes.data.clear()
    deadlines._decided.clear()
    yield sent
    mailboxes.data.clear()
    deadlines._decided.clear()

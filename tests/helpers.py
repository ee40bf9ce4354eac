"""Helpers every kind of test shares: free ports, bounded waits and readers of answers."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka.partitioner import murmur2

#: What ``Client.read`` returns: (topic, decoded value, receive time) per record.
Records = list[tuple[str, dict[str, Any], float]]


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a process a test starts: this one's, without any ``RENDEZVOUS_*``
    setting (the functional tests' conftest sets ``RENDEZVOUS_TABLE_STORE=memory://`` for the
    test process itself), plus ``extra``."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("RENDEZVOUS_")}
    return {**inherited, **extra}


async def eventually(check: Callable[[], Awaitable[bool]], *, timeout_s: float, what: str) -> float:
    """Poll ``check`` until it holds; return the seconds it took, or fail after ``timeout_s``."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"not within {timeout_s:g}s: {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


def eventually_sync(check: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    """The same bounded poll for synchronous tests (the browser tests)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:g}s: {what}")
        time.sleep(0.1)


def answered(ids: set[str]) -> Callable[[Records], bool]:
    """A condition for Client.read: every id has at least one answer."""

    def check(records: Records) -> bool:
        return ids <= {value["request_id"] for _, value, _ in records}

    return check


def first_answers(records: Records) -> dict[str, dict[str, Any]]:
    """What a reader keeping the first answer per request id sees."""
    kept: dict[str, dict[str, Any]] = {}
    for _, value, _ in records:
        kept.setdefault(value["request_id"], value)
    return kept


def answer_counts(records: Records) -> Counter[str]:
    """How many answers each request id got on the wire."""
    return Counter(value["request_id"] for _, value, _ in records)


def scores_in(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The single Scores in one message of the scores topic (a ScoreBatch holds several)."""
    if "scores" not in message:
        return [message]
    shared = {
        "model": message["model"],
        "model_version": message["model_version"],
        "replayed": message.get("replayed", False),
    }
    return [{"result": None, "error": None, **entry, **shared} for entry in message["scores"]]


async def read_raw(
    bootstrap: str, topics: list[str], *, count: int, timeout_s: float = 30.0
) -> list[bytes]:
    """The raw values on ``topics`` from the start, once ``count`` are there (or at the timeout):
    for comparing copies of an answer byte for byte."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(values) < count and time.monotonic() < deadline:
            for messages in (await consumer.getmany(timeout_ms=200)).values():
                values.extend(m.value for m in messages)
    finally:
        await consumer.stop()
    return values


def kafka_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (aiokafka's, the Java client's) gives a key."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions

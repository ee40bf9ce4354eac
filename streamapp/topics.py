"""The one place that knows topic names, partition counts and how to create them."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from streamapp.settings import Settings

#: Roles whose topics are keyed by request id and must share one partition count.
MAILBOX_ROLES = ("requests", "scores", "ticks")

_LEGAL_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


class TopicLayoutError(RuntimeError):
    """An existing topic has a partition count that breaks co-partitioning."""


@dataclass(frozen=True)
class TopicSpec:
    """A topic the rendezvous needs: name and partition count."""

    name: str
    partitions: int


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """All topics of a deployment; control is one partition so commands stay in order."""
    specs = [TopicSpec(settings.topic(role), settings.partitions) for role in MAILBOX_ROLES]
    specs.append(TopicSpec(settings.topic("answers"), settings.partitions))
    specs.append(TopicSpec(settings.topic("control"), 1))
    specs.append(TopicSpec(settings.topic("deadletter"), 1))
    specs.append(TopicSpec(settings.topic("replays"), settings.partitions))
    specs.append(TopicSpec(settings.topic("observations"), 1))
    return specs


def is_legal_topic_name(name: str) -> bool:
    """Kafka's rule for topic names (and not the reserved ``.``/``..``)."""
    return bool(_LEGAL_TOPIC.match(name)) and name not in {".", ".."}


def _admin(settings: Settings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers, request_timeout_ms=15_000
    )


async def ensure_topics(settings: Settings, specs: list[TopicSpec] | None = None) -> None:
    """Create missing topics and refuse mailbox topics whose partition count differs."""
    specs = specs if specs is not None else topic_specs(settings)
    admin = _admin(settings)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(s.name, s.partitions, 1) for s in specs if s.name not in existing]
        if missing:
            response = await admin.create_topics(missing)
            for name, code, message in _topic_errors(response):
                if code and code != TopicAlreadyExistsError.errno:
                    raise TopicLayoutError(f"cannot create topic {name}: {message} (code {code})")
        counts = await _partition_counts(admin, [s.name for s in specs])
        for spec in specs:
            have = counts.get(spec.name)
            if have != spec.partitions and spec.name in {settings.topic(r) for r in MAILBOX_ROLES}:
                raise TopicLayoutError(
                    f"topic {spec.name} has {have} partitions; the rendezvous needs "
                    f"{spec.partitions} (RENDEZVOUS_PARTITIONS) on every mailbox topic"
                )
    finally:
        await admin.close()


async def _partition_counts(
    admin: AIOKafkaAdminClient, names: list[str], *, timeout_s: float = 15.0
) -> dict[str, int]:
    """Partition count per topic, waiting (bounded) for freshly created topics to show up."""
    deadline = time.monotonic() + timeout_s
    while True:
        described = await admin.describe_topics(names)
        counts = {d["topic"]: len(d["partitions"]) for d in described if not d["error_code"]}
        if all(counts.get(name, 0) > 0 for name in names) or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.1)


def _topic_errors(response: object) -> list[tuple[str, int, str | None]]:
    errors = getattr(response, "topic_errors", [])
    return [(e[0], e[1], e[2] if len(e) > 2 else None) for e in errors]


class TopicDirectory:
    """Answers "does this topic exist?" with a cache, so return addresses can be checked."""

    def __init__(self, settings: Settings, *, recheck_after_s: float = 2.0) -> None:
        self._settings = settings
        self._known: set[str] = set()
        self._checked_at = 0.0
        self._recheck_after_s = recheck_after_s
        self._admin: AIOKafkaAdminClient | None = None

    async def exists(self, name: str) -> bool:
        """True if the topic exists; unknown names trigger at most one refresh per interval."""
        if name in self._known:
            return True
        if time.monotonic() - self._checked_at >= self._recheck_after_s:
            await self._refresh()
        return name in self._known

    async def _refresh(self) -> None:
        if self._admin is None:
            self._admin = _admin(self._settings)
            await self._admin.start()
        with contextlib.suppress(KafkaError):
            self._known = set(await self._admin.list_topics())
        self._checked_at = time.monotonic()


def requests_consumer(settings: Settings, group_id: str, *, auto_commit: bool) -> AIOKafkaConsumer:
    """A consumer of the requests topic in its own group, tuned for quick rejoin (subscribe it
    with a rebalance listener)."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=group_id,
        auto_offset_reset="latest",
        enable_auto_commit=auto_commit,
        session_timeout_ms=int(settings.session_timeout_s * 1000),
        heartbeat_interval_ms=int(settings.heartbeat_interval_s * 1000),
        fetch_max_wait_ms=100,
    )

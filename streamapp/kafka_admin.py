"""The one place that knows topic names, partition counts and how to create them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from streamapp.settings import Settings

#: Roles whose topics are keyed by request id and must share one partition count.
MAILBOX_ROLES = ("requests", "scores")
#: Requests and scores are stamped by the broker when they reach Kafka: the rendezvous decides
#: in that event time (a deadline counts from the request's stamp; a score counts if its stamp
#: is before the deadline), whatever the clients' clocks say.
EVENT_TIME = {"message.timestamp.type": "LogAppendTime"}

log = logging.getLogger(__name__)


class TopicLayoutError(RuntimeError):
    """An existing topic has a partition count that breaks co-partitioning."""


@dataclass(frozen=True)
class TopicSpec:
    """A topic the rendezvous needs: name and partition count."""

    name: str
    partitions: int
    configs: tuple[tuple[str, str], ...] = ()


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """All topics of a deployment; control is one partition so commands stay in order."""
    specs = [
        TopicSpec(settings.topic(role), settings.partitions, tuple(EVENT_TIME.items()))
        for role in MAILBOX_ROLES
    ]
    specs.append(TopicSpec(settings.topic("answers"), settings.partitions))
    specs.append(TopicSpec(settings.topic("control"), 1))
    specs.append(TopicSpec(settings.topic("deadletter"), 1))
    specs.append(TopicSpec(settings.topic("replays"), settings.partitions))
    return specs


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
        missing = [
            NewTopic(s.name, s.partitions, 1, topic_configs=dict(s.configs))
            for s in specs
            if s.name not in existing
        ]
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


class TopicLookupError(RuntimeError):
    """The broker could not say which topics exist (after a few bounded attempts)."""


class TopicDirectory:
    """Answers "does this topic exist?" with a cache, so return addresses can be checked.

    The deployment's own topics (created by ``ensure_topics`` before the worker starts) are
    known from the start, so the default return topic never needs a lookup. A lookup that
    fails is retried a few times, then reported as :class:`TopicLookupError`: a broker hiccup
    must not turn into "that topic does not exist".
    """

    def __init__(
        self,
        settings: Settings,
        *,
        recheck_after_s: float = 2.0,
        min_spacing_s: float = 0.02,
        attempts: int = 3,
        retry_delay_s: float = 0.2,
        remembered_missing: int = 10_000,
    ) -> None:
        self._settings = settings
        self._own = {spec.name for spec in topic_specs(settings)}
        self._known: set[str] = set(self._own)
        self._checked_at = -recheck_after_s
        self._recheck_after_s = recheck_after_s
        self._min_spacing_s = min_spacing_s
        #: Names a lookup found missing, and when: refused again without a lookup for a while.
        self._missing: OrderedDict[str, float] = OrderedDict()
        self._remembered_missing = remembered_missing
        self._attempts = attempts
        self._retry_delay_s = retry_delay_s
        self._admin: AIOKafkaAdminClient | None = None
        self._lock = asyncio.Lock()

    def known(self, name: str) -> bool:
        """True if the topic is known to exist, without asking the broker."""
        return name in self._known

    async def exists(self, name: str) -> bool:
        """True if the topic exists.

        A name not seen before is looked up at once (a client that has just created its reply
        topic is not refused for being newer than the last look); a name found missing is
        refused without a lookup for ``recheck_after_s``. Lookups are at least
        ``min_spacing_s`` apart, so a flood of made-up names costs the broker little.
        """
        if name in self._known:
            return True
        async with self._lock:
            if name in self._known:
                return True
            missing_since = self._missing.get(name)
            if (
                missing_since is not None
                and time.monotonic() - missing_since < self._recheck_after_s
            ):
                return False
            wait_s = self._min_spacing_s - (time.monotonic() - self._checked_at)
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            await self._refresh()
            if name in self._known:
                self._missing.pop(name, None)
                return True
            self._remember_missing(name)
            return False

    def _remember_missing(self, name: str) -> None:
        self._missing[name] = self._checked_at
        self._missing.move_to_end(name)
        while len(self._missing) > self._remembered_missing:
            self._missing.popitem(last=False)

    async def _refresh(self) -> None:
        failure: BaseException | None = None
        for attempt in range(self._attempts):
            if attempt:
                await asyncio.sleep(self._retry_delay_s * attempt)
            try:
                names = await self._list_topics()
            except (KafkaError, OSError) as error:  # TimeoutError is an OSError
                failure = error
                log.warning("listing topics failed (attempt %d): %r", attempt + 1, error)
                await self._drop_admin()
                continue
            self._known = set(names) | self._own
            self._checked_at = time.monotonic()
            return
        raise TopicLookupError(f"cannot list topics: {failure!r}")

    async def _list_topics(self) -> list[str]:
        if self._admin is None:
            admin = _admin(self._settings)
            await admin.start()
            self._admin = admin
        return list(await self._admin.list_topics())

    async def _drop_admin(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            with contextlib.suppress(Exception):
                await admin.close()


async def committed_offsets(settings: Settings, group_id: str, topic: str) -> dict[int, int]:
    """The group's committed offset per partition of ``topic`` (partitions without one left out)."""
    admin = _admin(settings)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group_id)
    finally:
        await admin.close()
    return {
        tp.partition: meta.offset
        for tp, meta in offsets.items()
        if tp.topic == topic and meta.offset >= 0
    }


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
        fetch_max_wait_ms=settings.model_fetch_max_wait_ms,
        fetch_min_bytes=settings.model_fetch_min_bytes,
    )

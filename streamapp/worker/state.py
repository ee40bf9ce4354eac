"""Per-process state of a worker, shared by its agents, its clock and its views."""

from __future__ import annotations

from collections.abc import Callable

from faust.types import TP

from streamapp.app import app, settings
from streamapp.core.rendezvous import Rendezvous
from streamapp.kafka_admin import TopicDirectory
from streamapp.worker.closed_store import ClosedStore
from streamapp.worker.gap_watch import GapWatch
from streamapp.worker.holds import InOrderAcks
from streamapp.worker.in_process import load_in_process
from streamapp.worker.positions import ReadPositions

limits = settings.limits
topic_directory = TopicDirectory(settings)
#: Offsets of the requests topic as this worker's agent saw them (warns on skipped ones).
request_offsets = GapWatch()
acks = InOrderAcks()
store = ClosedStore(retention_ms=int(settings.mailbox_retention_s * 1000))
#: The models this worker runs itself as each mailbox opens (the backstop).
in_process_models = load_in_process(settings.in_process_models)


def highwater_of(topic: str) -> Callable[[int], int | None]:
    """The end of a partition of ``topic`` as of the latest fetch (None if not known yet)."""

    def highwater(partition: int) -> int | None:
        try:
            end = app.consumer.highwater(TP(topic, partition))
        except Exception:  # not assigned (mid-rebalance), not started, not fetched yet: unknown
            return None
        return end if isinstance(end, int) else None

    return highwater


#: Event time up to which each scores partition is read (decisions past a deadline).
positions = ReadPositions(highwater_of(settings.topic("scores")))
#: How far each requests partition is read (the worker's lag).
request_positions = ReadPositions(highwater_of(settings.topic("requests")))
rendezvous = Rendezvous(
    lookup=store.lookup,
    late_after_ms=settings.late_after_ms,
    catch_up_wait_ms=settings.catch_up_wait_ms,
)


def consumer_lag(now_ms: int) -> dict[str, object]:
    """Messages not read yet per partition of the requests and scores topics, and how far
    behind the newest request this worker is (for /health, /v1/stats and /metrics)."""
    return {
        "requests": request_positions.lags(),
        "scores": positions.lags(),
        "behind_ms": request_positions.behind_ms(now_ms),
    }

"""Per-process state of a worker that its agents, clock and views share."""

from __future__ import annotations

from streamapp.app import settings
from streamapp.core.mailbox import Timing
from streamapp.kafka_admin import TopicDirectory
from streamapp.worker.gap_watch import GapWatch

limits = settings.limits
topic_directory = TopicDirectory(settings)
#: Request ids of the open mailboxes on this worker (for "pending mailboxes").
open_requests: set[str] = set()
#: Offsets of the requests topic as this worker's agent saw them (warns on skipped ones).
request_offsets = GapWatch()


def timing(now: int) -> Timing:
    """Time facts for one transition."""
    return Timing(now_ms=now, retention_ms=int(settings.mailbox_retention_s * 1000))

"""Background work of the worker: run the deadline clock and refill it after recovery."""

from __future__ import annotations

import asyncio
import logging

from streamapp.app import app, mailboxes, settings
from streamapp.core.mailbox import is_open, wake_time
from streamapp.kafka_admin import committed_offsets
from streamapp.worker.clock import now_ms
from streamapp.worker.deadlines import clock, keep_partitions
from streamapp.worker.registry_cache import current_registry
from streamapp.worker.state import open_requests, request_offsets, timing

log = logging.getLogger(__name__)
#: After a restart, overdue expiries are sent this far apart (about 500 per second).
EXPIRY_SPACING_MS = 2
#: How long a recovery waits for the group's committed offsets (for the gap watch).
COMMITTED_LOOKUP_TIMEOUT_S = 5.0


@app.task  # type: ignore[untyped-decorator]  # Faust's task decorator is untyped
async def run_deadline_clock() -> None:
    """Send each mailbox's tick when it falls due."""
    await clock.run()


async def watch_request_offsets_from_commits(owned: set[int]) -> None:
    """Seed the gap watch with the committed offsets the streams are about to resume from."""
    lookup = committed_offsets(settings, settings.app_id, settings.topic("requests"))
    try:
        # Bounded: a slow broker must not hold up the worker's start.
        committed = await asyncio.wait_for(lookup, timeout=COMMITTED_LOOKUP_TIMEOUT_S)
    except Exception as error:  # a diagnostic must never break a recovery
        log.warning("cannot read committed offsets; gaps at start go unnoticed: %r", error)
        committed = {}
    resume_from = {p: o for p, o in committed.items() if p in owned}
    request_offsets.reset(resume_from)
    log.info("requests resume from committed offsets %s", dict(sorted(resume_from.items())))


@mailboxes.on_recover
async def refill_deadline_clock() -> None:
    """After a rebalance or restart: wake every mailbox this worker now owns (overdue at once)."""
    changelog = mailboxes.changelog_topic.get_topic_name()
    owned = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == changelog}
    keep_partitions(owned)
    await watch_request_offsets_from_commits(owned)
    now = now_ms()
    registry = current_registry()
    scheduled = 0
    open_requests.clear()
    overdue_expiries = 0
    for request_id, mailbox in mailboxes.items():
        wake = wake_time(mailbox, registry, timing(now))
        if is_open(mailbox):
            open_requests.add(request_id)
        elif wake <= now:
            # Expiry is housekeeping: spread a backlog instead of flooding the agents with it
            # (measured: 4,584 overdue at once delayed the first live answers by seconds).
            overdue_expiries += 1
            wake = now + overdue_expiries * EXPIRY_SPACING_MS
        clock.schedule(request_id, mailbox.partition, wake)
        scheduled += 1
        if scheduled % 500 == 0:
            await asyncio.sleep(0)
    log.info(
        "deadline clock refilled: %d mailboxes on partitions %s (%d overdue expiries "
        "spread over %.1fs)",
        scheduled,
        sorted(owned),
        overdue_expiries,
        overdue_expiries * EXPIRY_SPACING_MS / 1000,
    )

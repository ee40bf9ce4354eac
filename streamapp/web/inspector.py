"""``GET /v1/requests/{request_id}``: a mailbox's timeline, served by the worker that holds it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from faust.web import Request, Response, View

from streamapp.app import app, mailboxes, settings
from streamapp.core.mailbox import is_open
from streamapp.core.records import Mailbox
from streamapp.web.peers import ask_peers_for
from streamapp.worker import registry_cache


def timeline(mailbox: Mailbox) -> dict[str, Any]:
    """The request, each score with its arrival, the schedule, and the answer with its rule."""
    opened = mailbox.opened_ms
    registry = registry_cache.current_registry()
    if mailbox.answer is not None:
        state = "answered"
    elif is_open(mailbox):
        state = "open"
    else:
        state = "waiting_for_request"
    return {
        "request_id": mailbox.request_id,
        "state": state,
        "partition": mailbox.partition,
        "worker": settings.worker_id,
        "request": mailbox.request.asdict() if mailbox.request else None,
        "return_topic": mailbox.return_topic,
        "opened_at": opened,
        "deadline_at": mailbox.deadline_at,
        "schedule": [
            {"at": opened + step.after_ms, "min_priority": step.min_priority}
            for step in registry.steps
            if opened is not None
        ],
        "scores": [
            {
                "model": a.model,
                "model_version": a.model_version,
                "arrived_at": a.arrived_ms,
                "since_open_ms": None if opened is None else a.arrived_ms - opened,
                "ok": a.result is not None,
                "result": a.result,
                "error": a.error,
                "read_at": a.read_at,
                "finished_at": a.finished_at,
            }
            for a in mailbox.scores
        ],
        "answer": mailbox.answer.asdict() if mailbox.answer else None,
        "late_scores": mailbox.late_scores,
        "duplicate_scores": mailbox.duplicate_scores,
    }


async def ask_peers(request_id: str) -> dict[str, Any] | None:
    """Ask the other workers for this request's timeline.

    The mailbox lives on the partition its request was produced to, and the client's
    partitioner is not known here (kcat's differs from Java's), so the owner cannot be
    computed from the key; asking the few peers is exact.
    """
    return await ask_peers_for(f"/v1/requests/{quote(request_id, safe='')}?local=1")


@app.page("/v1/requests/{request_id}")
class RequestTimeline(View):
    """One request's mailbox; any worker answers (it asks its peers when it does not hold it)."""

    async def get(self, request: Request, request_id: str) -> Response:
        """The timeline, or 404 when this request is unknown or has expired."""
        mailbox = mailboxes.get(request_id)
        if mailbox is not None:
            return self.json(timeline(mailbox))
        if request.query.get("local") != "1":
            found = await ask_peers(request_id)
            if found is not None:
                return self.json(found)
        return self.json(
            {
                "error": f"no mailbox for request {request_id!r} (unknown, or expired after "
                f"{settings.mailbox_retention_s:g}s)"
            },
            status=404,
        )

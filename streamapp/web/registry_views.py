"""REST endpoints of the registry, policy and control history (Faust web views).

Views never write tables: a change is sent as a command on the control topic, and the view
waits (bounded) until the control agent has applied it and this worker sees the new version.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from faust.web import Request, Response, View

from streamapp.app import app, control_history, settings
from streamapp.core.codec import encode
from streamapp.core.control import ControlError, ModelUpdate, PolicyUpdate, apply_command
from streamapp.core.records import Control, RegistryDoc
from streamapp.web.openapi import HISTORY_LIMIT, openapi_document
from streamapp.web.problems import (
    HTTPProblem,
    json_body,
    problem_response,
    query_int,
    require_admin,
    validated,
)
from streamapp.worker import engine, registry_cache, state
from streamapp.worker.clock import now_ms


@app.page("/health")
class Health(View):
    """``GET /health``: 200 when this worker has recovered its tables and serves, else 503."""

    async def get(self, request: Request) -> Response:
        """Readiness of this worker, its registry version and pending wake-ups."""
        # TableManagerT does not declare .recovery; the TableManager it is at run time has it.
        recovery = app.tables.recovery  # type: ignore[attr-defined]
        ready = recovery.completed.is_set() and not app.rebalancing
        body = {
            "status": "ready" if ready else "recovering",
            "app_id": settings.app_id,
            "worker": settings.worker_id,
            "policy_version": registry_cache.current_doc().version,
            "pending_mailboxes": state.rendezvous.pending(),
            "pending_wakeups": len(engine.clock),
            "lag": state.consumer_lag(now_ms()),
        }
        return self.json(body, status=200 if ready else 503)


def models_body(doc: RegistryDoc) -> dict[str, Any]:
    """The registry as the API shows it."""
    return {"version": doc.version, "models": [m.asdict() for m in doc.models]}


def policy_body(doc: RegistryDoc) -> dict[str, Any]:
    """The policy as the API shows it."""
    return {
        "version": doc.version,
        "steps": [s.asdict() for s in doc.steps],
        "random_split": doc.random_split,
        "models": {
            m.name: {
                "state": m.state,
                "priority": m.priority,
                "backstop": m.backstop,
                "weight": m.weight,
            }
            for m in doc.models
        },
    }


async def send_and_wait(command: Control) -> RegistryDoc:
    """Send a command and wait until this worker has applied it (504 if it takes too long)."""
    command_id = uuid.uuid4().hex
    command = command.derive(command_id=command_id, issued_at=time.time())
    await engine.outbox.emit(settings.topic("control"), command.model or "policy", encode(command))
    deadline = time.monotonic() + settings.control_timeout_s
    while time.monotonic() < deadline:
        doc = registry_cache.current_doc()
        if doc.last_command_id == command_id or _in_recent_history(command_id):
            return doc
        await asyncio.sleep(0.005)
    raise HTTPProblem(
        504,
        f"the change was sent but not applied within {settings.control_timeout_s:g}s",
        command_id=command_id,
    )


def refuse_if_not_applicable(doc: RegistryDoc, command: Control) -> None:
    """A 422 at once for a change the control agent would refuse (the canary set live):
    the same pure fold, tried on this worker's registry before anything is sent."""
    try:
        apply_command(doc, command, now=time.time())
    except ControlError as error:
        changes = command.value if isinstance(command.value, dict) else {}
        field = next((f for f in ("state", "labels") if f in changes), "body")
        raise HTTPProblem(422, str(error), field=field) from None


def _in_recent_history(command_id: str, depth: int = 64) -> bool:
    keys = sorted(control_history.keys())[-depth:]
    return any(control_history[k].command_id == command_id for k in keys)


@app.page("/v1/models")
class Models(View):
    """``GET /v1/models``: every model the registry knows, with the registry version."""

    async def get(self, request: Request) -> Response:
        """List models."""
        return self.json(models_body(registry_cache.current_doc()))


@app.page("/v1/models/{name}")
class ModelDetail(View):
    """``GET``/``PUT /v1/models/{name}``: one model; PUT changes state/priority/backstop/weight."""

    async def get(self, request: Request, name: str) -> Response:
        """One model, or 404."""
        entry = registry_cache.current_doc().model(name)
        if entry is None:
            return self.json({"error": f"unknown model {name!r}"}, status=404)
        return self.json({"version": registry_cache.current_doc().version, "model": entry.asdict()})

    async def put(self, request: Request, name: str) -> Response:
        """Change a model live (admin token needed); answers with the new registry version."""
        try:
            actor = require_admin(request, settings)
            update = validated(ModelUpdate, await json_body(request))
            changes = update.model_dump(exclude_none=True)
            if not changes:
                raise HTTPProblem(
                    422,
                    "nothing to change: give state, priority, backstop, weight or labels",
                    field="body",
                )
            current = registry_cache.current_doc()
            if current.model(name) is None:
                raise HTTPProblem(404, f"unknown model {name!r}")
            command = Control(command="set_model", model=name, value=changes, actor=actor)
            refuse_if_not_applicable(current, command)
            doc = await send_and_wait(command)
        except HTTPProblem as problem:
            return problem_response(self, problem)
        entry = doc.model(name)
        return self.json({"version": doc.version, "model": entry.asdict() if entry else None})


@app.page("/v1/policy")
class Policy(View):
    """``GET``/``PUT /v1/policy``: the deadline schedule and random split."""

    async def get(self, request: Request) -> Response:
        """The policy in force."""
        return self.json(policy_body(registry_cache.current_doc()))

    async def put(self, request: Request) -> Response:
        """Edit the policy (admin token needed)."""
        try:
            actor = require_admin(request, settings)
            update = validated(PolicyUpdate, await json_body(request))
            changes = update.model_dump(exclude_none=True)
            if not changes:
                raise HTTPProblem(
                    422, "nothing to change: give steps and/or random_split", field="body"
                )
            doc = await send_and_wait(Control(command="policy", value=changes, actor=actor))
        except HTTPProblem as problem:
            return problem_response(self, problem)
        return self.json(policy_body(doc))


@app.page("/v1/control/history")
class ControlHistory(View):
    """``GET /v1/control/history?limit=N``: applied changes, newest first."""

    async def get(self, request: Request) -> Response:
        """Who changed what, when, from which value to which."""
        try:
            limit = query_int(request, "limit", default=100, minimum=1, maximum=HISTORY_LIMIT)
        except HTTPProblem as problem:
            return problem_response(self, problem)
        keys = sorted(control_history.keys(), reverse=True)[:limit]
        changes = [control_history[k].asdict() for k in keys]
        return self.json({"version": registry_cache.current_doc().version, "changes": changes})


@app.page("/openapi.json")
class OpenAPI(View):
    """``GET /openapi.json``: the OpenAPI 3.1 document of this API."""

    async def get(self, request: Request) -> Response:
        """The document."""
        return self.json(openapi_document())

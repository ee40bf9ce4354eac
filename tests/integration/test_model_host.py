"""Several models in one process on a real broker: one read of the requests, every model's
Scores, each model announced, and the preferred one's answers as from a process of its own."""

from __future__ import annotations

import json
import signal
from typing import Any

import httpx
import pytest

from tests.helpers import answered, eventually, first_answers
from tests.integration.harness import Client, System, request_body

pytestmark = pytest.mark.integration


def scored_by(records: list[tuple[str, dict[str, Any], float]], topic: str) -> dict[str, set[str]]:
    """Model -> the request ids its Scores (single or batched) on ``topic`` cover."""
    found: dict[str, set[str]] = {}
    for record_topic, value, _ in records:
        if record_topic != topic:
            continue
        scores = value.get("scores", [value])
        found.setdefault(value["model"], set()).update(s["request_id"] for s in scores)
    return found


async def test_one_process_hosting_two_models_scores_every_request_with_both(
    system: System,
) -> None:
    registry = {
        "scorecard": {"state": "live", "priority": 10},
        "rules": {"state": "live", "priority": 0, "backstop": True},
    }
    # the backstop from the hosting process only, not also from inside the worker
    system.start_worker(models=json.dumps(registry), in_process_models="")
    system.start_model("scorecard", "rules", name="hosted")
    ids = [f"hosted-{n:03d}" for n in range(60)]
    answers, scores = system.topic("answers"), system.topic("scores")
    async with Client(system.bootstrap) as client:
        for request_id in ids:
            await client.send(
                system.topic("requests"),
                request_body(request_id, return_topic=answers, deadline_ms=30_000),
            )

        def every_answer_and_score(records: list[tuple[str, dict[str, Any], float]]) -> bool:
            by_model = scored_by(records, scores)
            return answered(set(ids))([r for r in records if r[0] == answers]) and all(
                set(ids) <= by_model.get(model, set()) for model in ("scorecard", "rules")
            )

        records = await client.read([answers, scores], until=every_answer_and_score)
    assert {"scorecard", "rules"} <= set(scored_by(records, scores))
    for model in ("scorecard", "rules"):
        assert set(ids) <= scored_by(records, scores)[model], f"{model} scored every request"
    kept = first_answers([r for r in records if r[0] == answers])
    assert set(kept) == set(ids)
    assert {(a["status"], a["model"], a["rule"]) for a in kept.values()} == {
        ("ok", "scorecard", "top_priority")
    }

    async def both_announced() -> bool:  # each hosted model announces itself with its version
        listed = httpx.get(system.url("/v1/models"), timeout=10).json()["models"]
        versions = {m["name"]: m.get("model_version") for m in listed}
        return versions.get("scorecard") == "scorecard-1" and versions.get("rules") == "rules-1"

    await eventually(both_announced, timeout_s=30, what="both models' versions in /v1/models")

    assert system.stop("hosted", signal.SIGTERM) == 0
    assert "model rules+scorecard stopped after scoring" in system.log_path("hosted").read_text()

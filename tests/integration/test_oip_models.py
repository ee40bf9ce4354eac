"""A real MLServer model in the rendezvous, through the OIP adapter (``rendezvous model --oip``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from models import artifacts
from models.dataset import payload_from_row, split
from models.export import export_mlserver
from models.training import train
from streamapp.client import Answer, AsyncKafkaClient
from streamapp.dev.mlserver import MLServer, MLServerError
from tests.integration.harness import ADMIN_TOKEN, Client, System

pytestmark = pytest.mark.integration

BACKSTOP_ONLY = {"rules": {"state": "live", "priority": 0, "backstop": True}}


class Exported:
    """The forest trained here and exported as an MLServer model repository."""

    def __init__(self, root: Path, repository: Path) -> None:
        self.repository = repository
        self.estimator, meta = artifacts.load("forest", root=root)
        self.version: str = meta["version"]
        self.mapping = repository / "forest" / "rendezvous-oip.json"
        self.payloads = [payload_from_row(row) for row in split(42).x_test[:40]]
        self.expected = [
            float(p) for p in self.estimator.predict_proba(split(42).x_test[:40])[:, 1]
        ]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    root = tmp_path_factory.mktemp("models")
    train("forest", 42, root)
    repository = tmp_path_factory.mktemp("mlserver-models")
    export_mlserver(["forest"], repository, root)
    return Exported(root, repository)


@pytest.fixture(scope="module")
def mlserver(exported: Exported, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MLServer]:
    """MLServer serving the exported forest on 127.0.0.1 (fails, never skips, if it cannot)."""
    server = MLServer(exported.repository, tmp_path_factory.mktemp("mlserver") / "mlserver.log")
    try:
        server.start("forest")
    except MLServerError as error:
        pytest.fail(str(error), pytrace=False)
    yield server
    server.stop()


def start_oip_model(system: System, server: MLServer, exported: Exported) -> None:
    system.start_model(
        "mlforest",
        "--oip",
        server.model_url("forest"),
        "--oip-mapping",
        str(exported.mapping),
        name="mlforest",
    )


async def score_all(
    client: AsyncKafkaClient, payloads: list[dict[str, Any]], prefix: str, deadline_ms: int
) -> list[Answer]:
    return list(
        await asyncio.gather(
            *(
                client.score(p, deadline_ms=deadline_ms, request_id=f"{prefix}-{i}")
                for i, p in enumerate(payloads)
            )
        )
    )


async def scores_of(system: System, model: str, ids: set[str]) -> dict[str, dict[str, Any]]:
    """The Scores ``model`` wrote for ``ids`` (from its ScoreBatch messages)."""
    found: dict[str, dict[str, Any]] = {}

    def collect(records: list[tuple[str, dict[str, Any], float]]) -> bool:
        for _, value, _ in records:
            if value.get("model") == model:
                for score in value.get("scores", []):
                    if score["request_id"] in ids:
                        found[score["request_id"]] = {
                            **score,
                            "model_version": value["model_version"],
                        }
        return set(found) >= ids

    async with Client(system.bootstrap) as reader:
        await reader.read([system.topic("scores")], until=collect, timeout_s=30)
    return found


async def deploy(system: System, model: str, priority: int) -> None:
    async with httpx.AsyncClient(timeout=15) as http:
        response = await http.put(
            system.url(f"/v1/models/{model}"),
            json={"state": "live", "priority": priority},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    assert response.status_code == 200, response.text


def test_an_mlserver_model_scores_live_requests_in_shadow_and_wins_once_deployed(
    system: System, mlserver: MLServer, exported: Exported
) -> None:
    system.start_worker(models=json.dumps(BACKSTOP_ONLY))
    start_oip_model(system, mlserver, exported)
    shadow, live = exported.payloads[:20], exported.payloads[20:]

    async def scenario() -> tuple[list[Answer], dict[str, dict[str, Any]], list[Answer]]:
        async with AsyncKafkaClient(
            system.bootstrap, requests_topic=system.topic("requests")
        ) as client:
            in_shadow = await score_all(client, shadow, "shadow", 1000)
            scores = await scores_of(system, "mlforest", {a.request_id for a in in_shadow})
            await deploy(system, "mlforest", 50)
            deployed = await score_all(client, live, "live", 1000)
        return in_shadow, scores, deployed

    in_shadow, scores, deployed = asyncio.run(scenario())
    assert {a.model for a in in_shadow} == {"rules"}, "a shadow model never wins"
    for i, answer in enumerate(in_shadow):
        score = scores[answer.request_id]
        assert score["model_version"] == exported.version
        assert score["result"]["score"] == pytest.approx(exported.expected[i])
        assert score["result"]["label"] == ("malignant" if exported.expected[i] > 0.5 else "benign")
    for i, answer in enumerate(deployed):
        assert (answer.status, answer.model, answer.rule) == ("ok", "mlforest", "top_priority")
        assert answer.model_version == exported.version
        assert answer.result is not None
        assert answer.result["score"] == pytest.approx(exported.expected[20 + i])


def test_mlserver_stopped_mid_stream_its_scores_carry_the_error_and_the_backstop_answers(
    system: System, exported: Exported, tmp_path: Path
) -> None:
    server = MLServer(exported.repository, tmp_path / "mlserver.log")
    try:
        server.start("forest")
    except MLServerError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        registry = {**BACKSTOP_ONLY, "mlforest": {"state": "live", "priority": 50}}
        system.start_worker(models=json.dumps(registry))
        start_oip_model(system, server, exported)

        async def scenario() -> tuple[list[Answer], list[Answer], dict[str, dict[str, Any]]]:
            async with AsyncKafkaClient(
                system.bootstrap, requests_topic=system.topic("requests")
            ) as client:
                # A generous deadline before the stop: a cold MLServer's first calls may be
                # slow on a busy machine, and this part is about who answers, not how fast.
                before = await score_all(client, exported.payloads[:10], "before", 5000)
                server.stop()
                after = await score_all(client, exported.payloads[10:20], "after", 500)
            scores = await scores_of(system, "mlforest", {a.request_id for a in after})
            return before, after, scores

        before, after, scores = asyncio.run(scenario())
    finally:
        server.stop()
    assert {a.model for a in before} == {"mlforest"}
    url = f"{server.model_url('forest')}/infer"
    for answer in after:
        assert (answer.status, answer.model) == ("ok", "rules"), answer
        assert answer.deadline_at is not None and answer.answered_at <= answer.deadline_at + 100
        error = scores[answer.request_id].get("error") or ""
        assert error.startswith(f"OIP call to {url} failed: ConnectError"), error

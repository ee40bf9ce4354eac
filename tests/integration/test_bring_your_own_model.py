"""A user's model in the user's own package plugs in by entry point, with no change here."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import answered, first_answers
from tests.integration.harness import ADMIN_TOKEN, Client, System, request_body

pytestmark = pytest.mark.integration
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "byo-model"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True
    )


@pytest.fixture(scope="module")
def installed_byo_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Install the user's package into this environment, as a user would; remove it after.

    It is built from a copy, so the build leaves nothing in the checkout.
    """
    source = tmp_path_factory.mktemp("byo") / "acme-triage"
    shutil.copytree(FIXTURE, source)
    pip("install", "--no-deps", str(source))
    try:
        yield
    finally:
        pip("uninstall", "-y", "acme-triage")


def test_installed_package_is_listed_and_runs_as_a_model(
    installed_byo_package: None, system: System
) -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "streamapp", "model", "--list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "acme-triage\tacme_triage:TriageModel" in listed
    system.start_worker()
    system.start_model("rules")
    system.start_model("acme-triage")
    answers_topic = system.topic("answers")
    body = json.loads((Path(__file__).resolve().parents[2] / "examples/request.json").read_text())

    async def ask(request_id: str) -> dict:
        async with Client(system.bootstrap) as client:
            request = {
                **request_body(request_id, return_topic=answers_topic, deadline_ms=1500),
                "payload": body["payload"],
            }
            await client.send(system.topic("requests"), request)
            records = await client.read([answers_topic], until=answered({request_id}))
        return first_answers(records)[request_id]

    import asyncio

    shadow_answer = asyncio.run(ask("byo-1"))
    assert {c["model"] for c in shadow_answer["candidates"]} >= {"acme-triage"}
    assert shadow_answer["model"] != "acme-triage", "an unregistered model joins as shadow"
    registry = httpx.get(system.url("/v1/models/acme-triage")).json()["model"]
    assert (registry["state"], registry["model_version"]) == ("shadow", "acme-triage-1.0.0")

    deployed = httpx.put(
        system.url("/v1/models/acme-triage"), headers=AUTH, json={"state": "live", "priority": 50}
    )
    assert deployed.status_code == 200
    live_answer = asyncio.run(ask("byo-2"))
    assert (live_answer["model"], live_answer["rule"]) == ("acme-triage", "top_priority")
    assert live_answer["result"] == {"label": "malignant", "score": 1.0, "review": True}

"""The README's runnable examples (the blocks marked ``<!-- readme-test: NAME -->``) run as
written against a deployment like ``make demo``'s, so the README cannot drift from the system."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from models.training import train
from streamapp.dev.demo import (
    DEMO_MODELS,
    DEMO_REGISTRY,
    admin_token_path,
    apply_demo_policy,
    store_admin_token,
)
from streamapp.settings import Settings
from tests.integration.harness import ADMIN_TOKEN, System

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
MARKED = re.compile(
    r"<!-- readme-test: (?P<name>[\w-]+) -->\n```(?P<lang>\w+)\n(?P<body>.*?)```", re.S
)
#: Every curl of a block records its status line and body under $README_CALLS, in order.
CURL_RECORDER = r"""
readme_calls=0
curl() {
  readme_calls=$((readme_calls + 1))
  local call="$README_CALLS/$(printf %03d "$readme_calls")"
  command curl --max-time 30 -o "$call.body" -w '%{http_code} %{method} %{url_effective}' "$@" \
    > "$call.meta"
  local status=$?
  cat "$call.body"
  return $status
}
"""
STATUS_LINE = re.compile(
    r"\[demo\] \d+ answers in 5s \(p50 [\d.]+ ms, p99 [\d.]+ ms\); pending \d+; (?P<top>.+)"
)


def marked_blocks() -> dict[str, tuple[str, str]]:
    """The README's marked blocks by name: (language, text)."""
    return {m["name"]: (m["lang"], m["body"]) for m in MARKED.finditer(README)}


def for_system(block: str, system: System) -> str:
    """The block with the demo's addresses, topics and data dir replaced by this deployment's."""
    data_dir = Path(system.env["RENDEZVOUS_DATA_DIR"])
    for written, actual in [
        ("127.0.0.1:6066", f"127.0.0.1:{system.web_port}"),
        ("127.0.0.1:9092", system.bootstrap),
        ("rendezvous-requests", system.topic("requests")),
        ("rendezvous-answers", system.topic("answers")),
        (".data/", f"{data_dir}/"),
    ]:
        block = block.replace(written, actual)
    return block


@pytest.fixture()
def demo_like(system: System) -> System:
    """The demo's models (trained, with their faults), registry, policy and token file."""
    data_dir = Path(system.env["RENDEZVOUS_DATA_DIR"])
    for name in ("linear", "forest", "mlp", "canary"):
        train(name, 42, data_dir / "models")
    system.start_worker(models=json.dumps(DEMO_REGISTRY))
    for argv in DEMO_MODELS:
        system.start_model(argv[0], *argv[1:])
    apply_demo_policy(system.url(""), ADMIN_TOKEN)
    store_admin_token(admin_token_path(Settings(data_dir=data_dir)), ADMIN_TOKEN)
    return system


def run_curls(block: str, calls: Path) -> list[tuple[int, str, str, Any]]:
    """Run a shell block; return (status, method, path, JSON body) of each curl, in order."""
    calls.mkdir()
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", CURL_RECORDER + block],
        cwd=REPO,
        env={**os.environ, "README_CALLS": str(calls)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    results = []
    for meta in sorted(calls.glob("*.meta")):
        status, method, url = meta.read_text().split(" ", 2)
        body = meta.with_suffix(".body").read_bytes()
        path = "/" + url.split("/", 3)[3]
        results.append((int(status), method, path, json.loads(body)))
    return results


def test_the_rest_examples_answer_as_documented_and_again_when_repeated(
    demo_like: System, tmp_path: Path
) -> None:
    lang, block = marked_blocks()["rest"]
    assert lang == "sh"
    script = for_system(block, demo_like)
    expected_calls = len(re.findall(r"^curl ", block, re.M))

    first = run_curls(script, tmp_path / "first")
    second = run_curls(script, tmp_path / "second")

    for results in (first, second):
        assert len(results) == expected_calls, results
        for status, method, path, body in results:
            assert 200 <= status < 300, (method, path, status, body)
        calls = {(method, path.split("?")[0]): body for _, method, path, body in results}
        answer = calls[("POST", "/v1/score")]
        assert answer["status"] == "ok" and answer["request_id"] == "r-42", answer
        assert answer["model"] in DEMO_REGISTRY, answer
        assert calls[("GET", "/v1/requests/r-42")]["state"] == "answered"
        assert calls[("GET", "/health")]["status"] == "ready"
        assert calls[("PUT", "/v1/models/forest")]["model"]["state"] == "shadow"
    stored = [body for _, method, _, body in first + second if method == "POST"]
    assert stored[0] == stored[1], "a retry gets the stored answer"


def test_the_kafka_console_clients_example_gets_its_answer(
    demo_like: System, tmp_path: Path
) -> None:
    lang, block = marked_blocks()["kafka"]
    assert lang == "sh"
    output = tmp_path / "kafka-example.out"
    with output.open("wb") as sink:
        shell = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", for_system(block, demo_like)],
            cwd=REPO,
            stdout=sink,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # the consumer runs until stopped: stop its whole group
        )
    try:
        deadline = time.monotonic() + 150
        line = ""
        while time.monotonic() < deadline and not line:
            assert shell.poll() is None, output.read_text()
            found = [x for x in output.read_text().splitlines() if x.startswith("example-0002")]
            line = found[0] if found else ""
            time.sleep(0.5)
        assert line, f"no answer to example-0002 in 150 s: {output.read_text()!r}"
    finally:
        os.killpg(shell.pid, signal.SIGTERM)
        shell.wait(timeout=30)
    answer = json.loads(line.split(None, 1)[1])
    assert answer["status"] == "ok" and answer["model"] in DEMO_REGISTRY, answer

    documented = json.loads(marked_blocks()["answer"][1])
    assert set(documented) == set(answer), "the README's sample answer has the real fields"
    assert set(documented["candidates"][0]) == set(answer["candidates"][0])
    assert documented["model"] in DEMO_REGISTRY


def test_the_documented_status_line_is_the_demo_s_format_with_its_models() -> None:
    line = next(x for x in README.splitlines() if x.startswith("[demo] "))
    found = STATUS_LINE.fullmatch(line)
    assert found, line
    for outcome in found["top"].split(", "):
        status, model, rule = outcome.rsplit(" ", 1)[0].split(":")
        assert status in {"ok", "no_result"} and model in DEMO_REGISTRY and rule, outcome


def test_every_documented_example_file_exists_and_the_rest_example_fits_the_proxy() -> None:
    for name in re.findall(r"examples/[\w.-]+\.json", README):
        assert (REPO / name).is_file(), name
    score = json.loads((REPO / "examples/score.json").read_text())
    assert "return_topic" not in score, "the proxy sets the return topic (else 422)"
    assert len(score["payload"]["features"]) == 30, "the demo's trained models need all 30"

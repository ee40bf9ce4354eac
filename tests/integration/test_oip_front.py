"""The REST front speaking OIP: a Triton client calls the rendezvous as if it were one model."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest
import tritonclient.http as triton

from models.scorecard import Scorecard
from tests.integration.harness import System

pytestmark = pytest.mark.integration

SCORECARD = {
    "scorecard": {"state": "live", "priority": 10},
    "rules": {"state": "live", "priority": 0, "backstop": True},
}
ROWS = [
    {"worst radius": 25.4, "worst texture": 31.2, "worst concave points": 0.21},
    {"worst radius": 12.0, "worst texture": 18.0, "worst concave points": 0.06},
]


def named_inputs(rows: list[dict[str, float]]) -> list[triton.InferInput]:
    inputs = []
    for name in rows[0]:
        tensor = triton.InferInput(name, [len(rows), 1], "FP64")
        tensor.set_data_from_numpy(
            np.array([[row[name]] for row in rows], dtype=np.float64), binary_data=False
        )
        inputs.append(tensor)
    return inputs


def test_a_triton_client_calls_the_rendezvous_as_one_model(system: System) -> None:
    system.start_worker(models=json.dumps(SCORECARD))
    system.start_model("scorecard")
    client = triton.InferenceServerClient(url=f"127.0.0.1:{system.web_port}", network_timeout=30)
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("rendezvous")
        metadata = client.get_model_metadata("rendezvous")
        assert metadata["name"] == "rendezvous" and metadata["versions"] == ["1"]

        one = client.infer(
            "rendezvous",
            named_inputs(ROWS[:1]),
            request_id="oip-one",
            parameters={"deadline_ms": 2000},
        )
        two = client.infer("rendezvous", named_inputs(ROWS), request_id="oip-two")
    finally:
        client.close()

    expected = [Scorecard().predict({"features": row}) for row in ROWS]
    response = one.get_response()
    assert response["id"] == "oip-one"
    assert response["parameters"] == {
        "request_id": "oip-one",
        "status": "ok",
        "model": "scorecard",
        "model_version": "scorecard-1",
        "rule": "top_priority",
        "policy_version": 1,
        "late": False,
    }
    assert one.as_numpy("score").tolist() == pytest.approx([expected[0]["score"]])
    assert one.as_numpy("label").tolist() == [expected[0]["label"]]
    assert two.get_response()["parameters"]["request_id"] == ["oip-two-0", "oip-two-1"]
    assert two.as_numpy("score").tolist() == pytest.approx([e["score"] for e in expected])


def test_a_raw_oip_json_body_gets_outputs_and_a_bad_tensor_a_clear_400(system: System) -> None:
    system.start_worker(models=json.dumps(SCORECARD))
    system.start_model("scorecard")
    url = system.url("/v2/models/rendezvous/infer")
    body = {
        "id": "raw-1",
        "inputs": [
            {
                "name": "payload",
                "shape": [1],
                "datatype": "BYTES",
                "data": [json.dumps({"features": ROWS[1]})],
            }
        ],
    }
    response = httpx.post(url, json=body, timeout=30)
    assert response.status_code == 200, response.text
    outputs = {o["name"]: o for o in response.json()["outputs"]}
    assert outputs["label"] == {
        "name": "label",
        "datatype": "BYTES",
        "shape": [1],
        "data": ["benign"],
    }

    ragged = {
        "inputs": [{"name": "worst radius", "shape": [2, 1], "datatype": "FP64", "data": [1.0]}]
    }
    refused = httpx.post(url, json=ragged, timeout=30)
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "input 'worst radius' has 1 value(s) for shape [2, 1]",
        "field": "inputs",
    }

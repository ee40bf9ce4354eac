"""The OIP adapter against a fake server (httpx.MockTransport): batching, errors, deadlines."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from streamapp.core.oip import MappingError, OipMapping
from streamapp.processes.oip import OipEndpoint, OipError, OipModel, mapping_from_options
from streamapp.processes.scoring import predict_many

URL = "http://127.0.0.1:8080/v2/models/forest"
MAPPING = {
    "features": ["a", "b"],
    "outputs": [
        {"field": "label", "tensor": "predict", "labels": {"0": "benign", "1": "malignant"}},
        {"field": "score", "tensor": "predict_proba", "index": 1},
    ],
}


class FakeServer:
    """An OIP server that scores a + b > 1 as malignant and records its calls."""

    def __init__(self, status: int = 200, delay_s: float = 0.0) -> None:
        self.status = status
        self.delay_s = delay_s
        self.calls: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/ready"):
            return httpx.Response(200, json={"name": "forest", "ready": True})
        if request.method == "GET":
            return httpx.Response(200, json={"name": "forest", "versions": ["forest-abc123"]})
        body = json.loads(request.content)
        self.calls.append(body)
        if self.delay_s:
            time.sleep(self.delay_s)
            raise httpx.ReadTimeout("timed out", request=request)
        if self.status != 200:
            return httpx.Response(self.status, json={"error": "model exploded"})
        (tensor,) = body["inputs"]
        rows = tensor["shape"][0]
        data = tensor["data"]
        sums = [data[2 * r] + data[2 * r + 1] for r in range(rows)]
        return httpx.Response(
            200,
            json={
                "model_name": "forest",
                "outputs": [
                    {
                        "name": "predict",
                        "shape": [rows],
                        "datatype": "INT64",
                        "data": [int(s > 1) for s in sums],
                    },
                    {
                        "name": "predict_proba",
                        "shape": [rows, 2],
                        "datatype": "FP64",
                        "data": [x for s in sums for x in (1 - s / 2, s / 2)],
                    },
                ],
            },
        )


def model_for(server: FakeServer, **options: Any) -> OipModel:
    mapping = mapping_from_options(
        json.dumps(MAPPING), None, max_batch=options.pop("max_batch", None)
    )
    return OipModel(
        OipEndpoint.parse(URL), mapping, transport=httpx.MockTransport(server), **options
    )


def soon(n: int, seconds: float = 2.0) -> list[float]:
    return [time.time() + seconds] * n


def test_requests_read_together_go_in_one_oip_call_and_come_back_as_results() -> None:
    server = FakeServer()
    model = model_for(server)
    outcomes = model.predict_outcomes(
        [{"features": {"a": 1, "b": 1}}, {"features": {"a": 0.2, "b": 0}}], soon(2)
    )
    assert outcomes == [
        ({"label": "malignant", "score": 1.0}, None),
        ({"label": "benign", "score": 0.1}, None),
    ]
    assert len(server.calls) == 1
    assert server.calls[0]["outputs"] == [{"name": "predict"}, {"name": "predict_proba"}]


def test_a_large_batch_is_split_into_calls_of_at_most_max_batch_rows() -> None:
    server = FakeServer()
    model = model_for(server, max_batch=4)
    payloads = [{"features": {"a": i / 10, "b": 0}} for i in range(10)]
    outcomes = model.predict_outcomes(payloads, soon(10))
    assert [call["inputs"][0]["shape"][0] for call in server.calls] == [4, 4, 2]
    assert [result["score"] for result, _ in outcomes] == pytest.approx([i / 20 for i in range(10)])


def test_a_server_error_becomes_each_request_s_error_with_status_and_body() -> None:
    model = model_for(FakeServer(status=500))
    outcomes = model.predict_outcomes([{"features": {"a": 1, "b": 1}}] * 2, soon(2))
    for result, error in outcomes:
        assert result is None
        assert error == (
            'OIP 500 from http://127.0.0.1:8080/v2/models/forest/infer: {"error":"model exploded"}'
        )


def test_a_4xx_for_a_batch_is_retried_one_by_one_so_a_bad_request_fails_alone() -> None:
    server = FakeServer(status=400)
    outcomes = model_for(server).predict_outcomes([{"features": {"a": 1, "b": 1}}] * 3, soon(3))
    assert [call["inputs"][0]["shape"][0] for call in server.calls] == [3, 1, 1, 1]
    assert all(error is not None and error.startswith("OIP 400 from") for _, error in outcomes)


def test_a_payload_that_does_not_fit_the_mapping_fails_alone_and_the_rest_is_scored() -> None:
    server = FakeServer()
    outcomes = model_for(server).predict_outcomes(
        [{"features": {"a": 1, "b": 1}}, {"features": {"a": "x", "b": 1}}], soon(2)
    )
    assert outcomes[0] == ({"label": "malignant", "score": 1.0}, None)
    assert outcomes[1][1] is not None
    assert outcomes[1][1].startswith("ModelInputError: payload.features must hold a finite number")
    assert server.calls[0]["inputs"][0]["shape"] == [1, 2]


def test_the_call_times_out_at_the_request_s_deadline_and_says_so() -> None:
    model = model_for(FakeServer(delay_s=0.01))
    (outcome,) = model.predict_outcomes([{"features": {"a": 1, "b": 1}}], soon(1, 0.05))
    assert outcome[0] is None
    assert outcome[1] is not None and "OIP time-out" in outcome[1]
    assert "(the request's deadline)" in outcome[1]


def test_no_call_is_made_for_requests_whose_deadline_has_passed() -> None:
    server = FakeServer()
    (outcome,) = model_for(server).predict_outcomes(
        [{"features": {"a": 1, "b": 1}}], [time.time() - 1]
    )
    assert outcome[1] is not None and outcome[1].startswith(
        "OIP call not made: the deadline passed"
    )
    assert server.calls == []


def test_the_generic_scoring_passes_deadlines_to_the_adapter() -> None:
    server = FakeServer()
    outcomes = predict_many(model_for(server), [{"features": {"a": 1, "b": 1}}], soon(1))
    assert outcomes == [({"label": "malignant", "score": 1.0}, None)]


def test_an_unreachable_server_is_an_error_naming_the_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    model = OipModel(OipEndpoint.parse(URL), OipMapping(), transport=httpx.MockTransport(refuse))
    (outcome,) = model.predict_outcomes([{"features": {"a": 1}}], soon(1))
    assert outcome[1] is not None
    assert outcome[1].startswith("OIP call to http://127.0.0.1:8080/v2/models/forest/infer failed")
    assert not model.ready()
    with pytest.raises(OipError, match="failed"):
        model.predict({"features": {"a": 1}})


def test_connect_waits_for_ready_and_takes_the_version_from_the_metadata() -> None:
    model = model_for(FakeServer())
    model.connect(ready_timeout_s=1)
    assert model.version == "forest-abc123"
    pinned = OipEndpoint.parse("http://h:1/v2/models/forest/versions/7/")
    assert (pinned.model, pinned.version, pinned.infer_url) == (
        "forest",
        "7",
        "http://h:1/v2/models/forest/versions/7/infer",
    )


def test_connect_gives_up_when_the_model_never_becomes_ready() -> None:
    never = httpx.MockTransport(lambda request: httpx.Response(503, text="loading"))
    model = OipModel(OipEndpoint.parse(URL), OipMapping(), transport=never)
    with pytest.raises(OipError, match=r"was not ready within 0\.2s"):
        model.connect(ready_timeout_s=0.2, poll_s=0.05)


@pytest.mark.parametrize(
    "url", ["http://h:1/v1/models/x", "h:1/v2/models/x", "http://h:1/v2/models/"]
)
def test_a_url_of_another_shape_is_refused_with_the_expected_shape(url: str) -> None:
    with pytest.raises(ValueError, match="use http://host:port/v2/models/<model>"):
        OipEndpoint.parse(url)


def test_the_mapping_options_take_a_file_inline_json_or_a_feature_order(tmp_path: Any) -> None:
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(MAPPING))
    assert mapping_from_options(str(path), None) == mapping_from_options(json.dumps(MAPPING), None)
    assert mapping_from_options(None, "a, b").inputs == OipMapping.feature_vector(["a", "b"]).inputs
    assert mapping_from_options(None, None, max_batch=1).max_batch == 1
    with pytest.raises(MappingError, match="not both"):
        mapping_from_options(str(path), "a")
    with pytest.raises(MappingError, match="not JSON"):
        mapping_from_options("{oops", None)

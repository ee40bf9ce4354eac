"""The client library without a broker: correlation by request id, answers, REST outcomes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from streamapp.client import (
    Answer,
    AsyncRestClient,
    RequestIdInUse,
    RequestInvalid,
    RequestRejected,
    RestClient,
    ScoreTimeout,
    Unavailable,
)
from streamapp.client.answer import MalformedAnswer
from streamapp.client.correlation import Correlator, DuplicateCall
from streamapp.client.kafka import (
    SHORT_FETCH_WAIT_MS,
    default_reply_topic,
    reply_fetch_wait_ms,
    request_value,
)


def answer(request_id: str, status: str = "ok", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "request_id": request_id,
        "status": status,
        "rule": "top_priority" if status == "ok" else "rejected",
        "policy_version": 3,
        "opened_at": 1000,
        "answered_at": 1010,
        "model": "scorecard" if status == "ok" else None,
        "model_version": "scorecard-1" if status == "ok" else None,
        "result": {"label": "benign"} if status == "ok" else None,
        "reason": None if status == "ok" else "deadline_ms 0 is outside 1..60000",
        "candidates": [
            {"model": "scorecard", "model_version": "scorecard-1", "ok": True, "arrived_ms": 1009}
        ],
        "deadline_at": 1200,
        "late": False,
    }
    return {**body, **fields}


def raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


# --- correlation ----------------------------------------------------------------------------


async def test_answers_in_any_order_reach_the_call_waiting_for_their_request_id() -> None:
    correlator = Correlator()
    waiting = {f"r{i}": correlator.expect(f"r{i}") for i in range(200)}
    for i in reversed(range(200)):
        assert correlator.deliver(raw(answer(f"r{i}", result={"i": i})))
    for i in range(200):
        got = await waiting[f"r{i}"]
        assert (got.request_id, got.result) == (f"r{i}", {"i": i})
    assert correlator.delivered == 200


async def test_the_first_answer_wins_and_copies_and_strangers_are_counted_not_delivered() -> None:
    correlator = Correlator()
    waiting = correlator.expect("r1")
    assert correlator.deliver(raw(answer("r1", answered_at=1)))
    assert not correlator.deliver(raw(answer("r1", answered_at=2)))  # a retry's copy
    assert not correlator.deliver(raw(answer("someone-else")))
    assert not correlator.deliver(b"not json")
    assert not correlator.deliver(raw({"request_id": "r1"}))
    assert (await waiting).answered_at == 1
    assert (correlator.strays, correlator.malformed) == (2, 2)


async def test_a_second_call_for_a_waiting_request_id_is_refused_until_the_first_returns() -> None:
    correlator = Correlator()
    first = correlator.expect("r1")
    with pytest.raises(DuplicateCall, match="already waiting"):
        correlator.expect("r1")
    correlator.forget("r1")
    assert first.cancelled()
    assert not correlator.deliver(raw(answer("r1")))  # late: nobody waits any more
    correlator.expect("r1")
    assert len(correlator) == 1


async def test_a_stopped_reply_consumer_fails_every_waiting_call() -> None:
    correlator = Correlator()
    waiting = [correlator.expect(f"r{i}") for i in range(3)]
    correlator.fail_all(ConnectionError("broker gone"))
    for future in waiting:
        with pytest.raises(ConnectionError):
            await future


# --- the answer and the request --------------------------------------------------------------


def test_an_answer_parses_into_a_frozen_typed_value_keeping_new_fields_aside() -> None:
    parsed = Answer.from_json(answer("r1", added_later=True))
    assert parsed.ok and parsed.candidates[0].model == "scorecard"
    assert parsed.extra == {"added_later": True}
    with pytest.raises(AttributeError):
        parsed.status = "rejected"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([], "an answer must be a JSON object"),
        ({**answer("r"), "status": "maybe"}, "answer.status 'maybe' is not one of"),
        ({**answer("r"), "policy_version": "3"}, "answer.policy_version must be an integer"),
        ({**answer("r"), "candidates": [{"model": "x"}]}, "answer.candidates: each needs"),
    ],
)
def test_something_that_is_not_an_answer_is_refused_by_name(body: Any, problem: str) -> None:
    with pytest.raises(MalformedAnswer) as raised:
        Answer.from_json(body)
    assert problem in str(raised.value)


def test_the_request_carries_the_reply_topic_and_the_reply_topic_is_outside_the_prefixes() -> None:
    body = json.loads(request_value("r1", {"features": {}}, "client-replies-x", 150))
    assert body["return_topic"] == "client-replies-x" and body["deadline_ms"] == 150
    topic = default_reply_topic()
    assert topic.startswith("client-replies-") and not topic.startswith("rendezvous-")
    assert topic != default_reply_topic()
    with pytest.raises(TypeError, match="payload must be a JSON object"):
        request_value("r1", [1, 2], "t", None)  # type: ignore[arg-type]


# --- REST outcomes ---------------------------------------------------------------------------


class Api:
    """A fake ``POST /v1/score`` answering from a script of (status, body, headers)."""

    def __init__(self, *script: tuple[int, Any, dict[str, str]]) -> None:
        self.script = list(script)
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        status, body, headers = self.script.pop(0)
        return httpx.Response(status, json=body, headers=headers)


def rest(api: Api, retries: int = 1) -> RestClient:
    return RestClient("http://rendezvous", retries=retries, transport=httpx.MockTransport(api))


def test_only_a_one_partition_reply_topic_is_fetched_with_the_long_idle_wait() -> None:
    assert reply_fetch_wait_ms(1, 500) == 500  # every fetch lists the one partition
    # a fetch may leave out a partition whose answers are being handed over: a short wait
    assert reply_fetch_wait_ms(2, 500) == SHORT_FETCH_WAIT_MS
    assert reply_fetch_wait_ms(1, 0) == SHORT_FETCH_WAIT_MS  # never shorter than before


def test_rest_returns_ok_and_no_result_answers_as_data() -> None:
    no_result = answer("r1", "no_result", rule="no_result", reason="no model answered")
    api = Api((200, answer("r1"), {}), (200, no_result, {}))
    client = rest(api)
    assert client.score({"x": 1}, request_id="r1", deadline_ms=100).ok
    assert client.score({"x": 1}, request_id="r1").status == "no_result"
    assert api.bodies[0] == {"request_id": "r1", "payload": {"x": 1}, "deadline_ms": 100}


def test_rest_raises_for_rejected_in_use_and_invalid_requests() -> None:
    rejected = answer("r1", "rejected")
    api = Api(
        (422, rejected, {}),
        (409, {"error": "request id 'r1' in use (another payload)"}, {}),
        (422, {"error": "payload: must be an object", "field": "payload"}, {}),
    )
    client = rest(api)
    with pytest.raises(RequestRejected, match="deadline_ms 0 is outside") as raised:
        client.score({"x": 1}, request_id="r1")
    assert raised.value.answer is not None and raised.value.answer.status == "rejected"
    with pytest.raises(RequestIdInUse, match="another payload"):
        client.score({"x": 2}, request_id="r1")
    with pytest.raises(RequestInvalid, match="HTTP 422: payload: must be an object"):
        client.score({"x": 3})


def test_rest_retries_a_timeout_with_the_same_request_id_and_gets_the_stored_answer() -> None:
    api = Api((504, {"error": "no answer"}, {}), (200, answer("r7"), {}))
    assert rest(api).score({"x": 1}, request_id="r7").request_id == "r7"
    assert [b["request_id"] for b in api.bodies] == ["r7", "r7"]


def test_rest_gives_up_with_score_timeout_or_unavailable_after_its_retries() -> None:
    api = Api((504, {"error": "no answer"}, {}), (504, {"error": "no answer"}, {}))
    with pytest.raises(ScoreTimeout, match=r"after .*s \(2 attempts with the same request id\)"):
        rest(api).score({"x": 1})
    behind = {"error": "the rendezvous is 900 ms behind"}
    api = Api((503, behind, {"Retry-After": "0"}), (503, behind, {"Retry-After": "0"}))
    with pytest.raises(Unavailable, match="900 ms behind"):
        rest(api).score({"x": 1})


async def test_the_asyncio_rest_client_scores_concurrently() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return httpx.Response(200, json=answer(body["request_id"], result=body["payload"]))

    async with AsyncRestClient("http://rendezvous", transport=httpx.MockTransport(echo)) as client:
        answers = await asyncio.gather(*(client.score({"i": i}) for i in range(50)))
    assert [a.result for a in answers] == [{"i": i} for i in range(50)]

"""Running models on requests: failures become data, batches score together, offsets are
committed only once written, and models load by entry point."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from models.base import Model, ModelInputError
from models.rules import RulesBackstop
from models.scorecard import Scorecard
from streamapp.core.codec import DecodeError, encode
from streamapp.core.records import Request
from streamapp.core.scores import Scored, decode_scores
from streamapp.fetch_tuning import FetchTuner, model_fetch
from streamapp.processes.commits import CommitTracker
from streamapp.processes.model import (
    ModelProcess,
    UnknownModelError,
    available_models,
    hosted_name,
    load_model,
    readable_request,
    score_batch_value,
)
from streamapp.processes.scoring import predict_many, predict_one, score_one
from streamapp.settings import Settings

REQUEST = Request(request_id="r1", payload={"features": {"worst radius": 12.0}})


class Echo:
    version = "echo-3"

    def predict(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        return {"seen": dict(payload)}


class Broken:
    version = "broken-1"

    def predict(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        raise ModelInputError("payload.features['age'] must be a number")


class ReturnsList:
    version = "list-1"

    def predict(self, payload: Mapping[str, Any]) -> Any:
        return [0.3, 0.7]


def test_good_model_result_becomes_a_score_with_its_version_and_times() -> None:
    read_at = time.time()
    score = score_one(Echo(), "echo", REQUEST, read_at)
    assert (score.request_id, score.model, score.model_version) == ("r1", "echo", "echo-3")
    assert score.result == {"seen": {"features": {"worst radius": 12.0}}}
    assert score.error is None
    assert score.read_at == read_at <= score.finished_at


def test_model_exception_becomes_a_score_error_with_its_type_and_message() -> None:
    score = score_one(Broken(), "broken", REQUEST, time.time())
    assert score.result is None
    assert score.error == "ModelInputError: payload.features['age'] must be a number"
    assert score.model_version == "broken-1"


def test_model_returning_a_non_dict_becomes_a_score_error() -> None:
    score = score_one(ReturnsList(), "lister", REQUEST, time.time())
    assert score.result is None
    assert score.error == "TypeError: predict returned list, not a dict"


def test_installed_project_registers_the_example_models() -> None:
    models = available_models()
    assert models["scorecard"] == "models.scorecard:Scorecard"
    assert models["rules"] == "models.rules:RulesBackstop"


def test_load_model_instantiates_the_registered_class() -> None:
    model = load_model("scorecard")
    assert isinstance(model, Scorecard) and isinstance(model, Model)


def test_load_model_with_an_unknown_name_lists_the_known_ones() -> None:
    known = ", ".join(sorted(available_models()))
    assert {"canary", "forest", "linear", "mlp", "rules", "scorecard"} <= set(available_models())
    with pytest.raises(UnknownModelError, match=rf"no model 'nope'.*known: {known}\)"):
        load_model("nope")


class Doubler:
    """A batch model that records how it was called."""

    version = "double-1"

    def __init__(self) -> None:
        self.batch_calls: list[int] = []

    def predict(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(payload.get("x"), int):
            raise ModelInputError("payload.x must be an integer")
        return {"y": 2 * payload["x"]}

    def predict_batch(self, payloads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        self.batch_calls.append(len(payloads))
        return [self.predict(p) for p in payloads]


def test_a_batch_model_scores_requests_read_together_in_one_call() -> None:
    model = Doubler()
    outcomes = predict_many(model, [{"x": 1}, {"x": 2}, {"x": 3}])
    assert outcomes == [({"y": 2}, None), ({"y": 4}, None), ({"y": 6}, None)]
    assert model.batch_calls == [3]


def test_one_bad_payload_in_a_batch_fails_alone() -> None:
    model = Doubler()
    outcomes = predict_many(model, [{"x": 1}, {"x": "two"}, {"x": 3}])
    assert outcomes == [
        ({"y": 2}, None),
        (None, "ModelInputError: payload.x must be an integer"),
        ({"y": 6}, None),
    ]


def test_a_batch_answer_of_the_wrong_length_is_not_trusted() -> None:
    class Short(Doubler):
        def predict_batch(self, payloads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
            return [{"y": 0}]

    assert predict_many(Short(), [{"x": 1}, {"x": 2}]) == [({"y": 2}, None), ({"y": 4}, None)]


def test_a_model_without_predict_batch_is_called_once_per_payload() -> None:
    assert predict_many(Echo(), [{"a": 1}, {"a": 2}]) == [
        ({"seen": {"a": 1}}, None),
        ({"seen": {"a": 2}}, None),
    ]


def test_the_example_models_score_a_batch_as_they_score_one_by_one() -> None:
    payloads = [REQUEST.payload, {"features": {"worst radius": 30.0}}, {"features": {}}]
    for model in (Scorecard(), RulesBackstop()):
        assert predict_many(model, payloads) == [predict_one(model, p) for p in payloads]


@pytest.mark.parametrize(
    "raw",
    [
        None,
        b"",
        b"not json",
        b"[1]",
        b'{"payload": {}}',
        b'{"request_id": "", "payload": {}}',
        b'{"request_id": 5, "payload": {}}',
        b'{"request_id": "r", "payload": [1]}',
        b'{"request_id": "r", "payload": {"x": NaN}}',
    ],
)
def test_a_request_a_model_cannot_read_is_left_to_the_rendezvous(raw: bytes | None) -> None:
    assert readable_request(raw) is None


def test_a_readable_request_gives_its_id_and_payload() -> None:
    raw = b'{"request_id": "r9", "payload": {"x": 1}, "deadline_ms": 50, "extra": true}'
    assert readable_request(raw) == ("r9", {"x": 1})


def test_scores_written_together_decode_as_the_scores_of_each_request() -> None:
    value = score_batch_value(
        "double",
        "double-1",
        ["a", "b"],
        [({"y": 2}, None), (None, "ModelInputError: no")],
        read_at=1.5,
        finished_at=1.75,
    )
    assert decode_scores(value) == [
        Scored("a", "double", "double-1", 1.5, 1.75, result={"y": 2}),
        Scored("b", "double", "double-1", 1.5, 1.75, error="ModelInputError: no"),
    ]


def test_a_single_score_from_any_client_decodes_as_one_score() -> None:
    raw = encode(score_one(Echo(), "echo", REQUEST, 2.0))
    (one,) = decode_scores(raw)
    assert (one.request_id, one.model, one.model_version, one.read_at) == (
        "r1",
        "echo",
        "echo-3",
        2.0,
    )
    assert one.result == {"seen": {"features": {"worst radius": 12.0}}} and one.error is None


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (
            b'{"model": "m", "model_version": "1", "scores": [{"request_id": 1}]}',
            "scores.0.request_id",
        ),
        (b'{"model": "m", "scores": []}', "model_version: Field required"),
        (
            b'{"model": "m", "model_version": "1", "scores": {}}',
            "scores: Input should be a valid list",
        ),
        (b'{"request_id": "r", "model": 7}', "model: Input should be a valid string"),
        (b"[]", "expected a JSON object, got list"),
    ],
)
def test_a_malformed_score_message_is_refused_as_a_whole_by_name(raw: bytes, problem: str) -> None:
    with pytest.raises(DecodeError, match=problem):
        decode_scores(raw)


def test_offsets_are_committable_only_up_to_the_first_batch_not_yet_written() -> None:
    tracker = CommitTracker()
    first, second = tracker.read("p0", 10), tracker.read("p0", 20)
    other = tracker.read("p1", 5)
    CommitTracker.written(second)
    assert tracker.committable() == {}, "the first batch of p0 is still being scored"
    CommitTracker.written(other)
    assert tracker.committable() == {"p1": 6}
    CommitTracker.written(first)
    assert tracker.committable() == {"p0": 21}
    assert tracker.committable() == {} and tracker.pending() == 0


def test_partitions_taken_away_are_forgotten() -> None:
    tracker = CommitTracker()
    batch = tracker.read("p0", 3)
    tracker.forget({"p0"})
    CommitTracker.written(batch)
    assert tracker.committable() == {} and tracker.pending() == 0


class RecordingProducer:
    """Stands in for the producer's ``send``: records each message; the broker "has" it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int | None, bytes]] = []

    async def send(
        self, topic: str, value: bytes, *, key: bytes, partition: int | None = None
    ) -> asyncio.Future[None]:
        self.sent.append((topic, partition, value))
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        delivered.set_result(None)
        return delivered


def _record(partition: int, offset: int, request_id: str, x: int) -> ConsumerRecord[bytes, bytes]:
    value = orjson.dumps({"request_id": request_id, "payload": {"x": x}})
    return ConsumerRecord("requests", partition, offset, 0, 0, None, value, None, 0, len(value), [])


async def test_a_fetch_from_several_partitions_is_one_model_call_and_one_message_each() -> None:
    model = Doubler()
    process = ModelProcess({"double": model}, Settings(), concurrency=1)
    producer = RecordingProducer()
    p0, p2 = TopicPartition("requests", 0), TopicPartition("requests", 2)
    fetched = {
        p0: [_record(0, 7, "a", 1), _record(0, 8, "b", 2)],
        p2: [_record(2, 3, "c", 3)],
    }
    tracker = process._commits
    parts = [(tp, records, tracker.read(tp, records[-1].offset)) for tp, records in fetched.items()]

    await process._score_and_send(producer, parts)  # type: ignore[arg-type]

    assert model.batch_calls == [3], "one vectorised call for the whole fetch"
    by_partition = {partition: decode_scores(value) for _, partition, value in producer.sent}
    assert sorted(by_partition) == [0, 2], "one ScoreBatch per partition, to the same number"
    assert [(s.request_id, s.result) for s in by_partition[0]] == [("a", {"y": 2}), ("b", {"y": 4})]
    assert [(s.request_id, s.result) for s in by_partition[2]] == [("c", {"y": 6})]
    assert tracker.committable() == {p0: 9, p2: 4}, "both partitions written, so committable"
    assert process.scored == 3


class SlowForest:
    """Like a large tree ensemble: every call costs the same whatever the batch size."""

    version = "slow"

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        return self.predict_batch([payload])[0]

    def predict_batch(self, payloads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        self.calls += 1
        time.sleep(0.02)  # the model's own cost, not a wait for anything
        return [{"score": 0.5} for _ in payloads]


class SlowOneByOne:
    version = "slow"

    def predict(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        time.sleep(0.02)
        return {"score": 0.5}


class StepClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _score_one_at_a_time(process: ModelProcess, count: int) -> None:
    producer = RecordingProducer()
    tp = TopicPartition("requests", 0)
    for offset in range(count):
        records = [_record(0, offset, f"r{offset}", offset)]
        batch = process._commits.read(tp, offset)
        process.fetching.read(len(records))  # as the fetch loop counts them
        await process._score_and_send(producer, [(tp, records, batch)])  # type: ignore[arg-type]


async def test_a_model_whose_calls_are_slow_fetches_in_batches_and_waits_longer() -> None:
    clock = StepClock()
    process = ModelProcess({"forest": SlowForest()}, Settings(default_deadline_ms=200))
    process.fetching = FetchTuner(model_fetch(process.settings), label="forest", clock=clock)
    assert not process.fetching.batching
    await _score_one_at_a_time(process, 5)
    clock.now += 0.25  # 5 requests in 0.25 s, 20 ms each: 40 % of the time in calls
    process.fetching.review()
    assert process.fetching.batching
    assert process.fetching.shape.max_wait_ms == 50, "4 times 20 ms, capped at deadline / 4"
    assert process.fetching._calls["forest"][-1][0] == 1, "each call counted with its requests"


async def test_a_model_without_predict_batch_is_not_made_to_wait_for_batches() -> None:
    # one call per request however many a fetch brings: waiting longer would spare nothing
    clock = StepClock()
    process = ModelProcess({"slow": SlowOneByOne()}, Settings())
    process.fetching = FetchTuner(model_fetch(process.settings), label="slow", clock=clock)
    await _score_one_at_a_time(process, 5)
    clock.now += 0.25
    process.fetching.review()
    assert not process.fetching.batching


class Tripler:
    """A model without ``predict_batch``: one call per request."""

    version = "triple-1"

    def predict(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        return {"y": 3 * payload["x"]}


class Held:
    """A batch model whose calls wait until the test lets them finish."""

    version = "held-1"

    def __init__(self) -> None:
        self.release = threading.Event()

    def predict(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        return self.predict_batch([payload])[0]

    def predict_batch(self, payloads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        if not self.release.wait(timeout=10):
            raise TimeoutError("never released")
        return [{"held": True} for _ in payloads]


def _sent_scores(producer: RecordingProducer) -> dict[tuple[str, int], list[tuple[str, Any]]]:
    """(model, partition) -> [(request id, result)] of every ScoreBatch sent."""
    found: dict[tuple[str, int], list[tuple[str, Any]]] = {}
    for _, partition, value in producer.sent:
        assert partition is not None
        for score in decode_scores(value):
            found.setdefault((score.model, partition), []).append((score.request_id, score.result))
    return found


def test_a_process_hosting_several_models_goes_by_their_names_sorted() -> None:
    process = ModelProcess({"mlp": Echo(), "forest": Echo()}, Settings())
    assert process.name == "forest+mlp"
    assert hosted_name(("mlp", "forest")) == hosted_name(("forest", "mlp"))
    with pytest.raises(ValueError, match="at least one model"):
        ModelProcess({}, Settings())


async def test_a_process_hosting_two_models_writes_each_ones_scores_for_one_read() -> None:
    doubler = Doubler()
    process = ModelProcess({"double": doubler, "triple": Tripler()}, Settings(), concurrency=1)
    producer = RecordingProducer()
    p0, p1 = TopicPartition("requests", 0), TopicPartition("requests", 1)
    fetched = {p0: [_record(0, 4, "a", 1), _record(0, 5, "b", 2)], p1: [_record(1, 9, "c", 5)]}
    parts = [(tp, rs, process._commits.read(tp, rs[-1].offset)) for tp, rs in fetched.items()]

    await process._score_and_send(producer, parts)  # type: ignore[arg-type]

    assert doubler.batch_calls == [3], "the batch model: one call for the whole fetch"
    assert _sent_scores(producer) == {
        ("double", 0): [("a", {"y": 2}), ("b", {"y": 4})],
        ("double", 1): [("c", {"y": 10})],
        ("triple", 0): [("a", {"y": 3}), ("b", {"y": 6})],
        ("triple", 1): [("c", {"y": 15})],
    }
    assert process._commits.committable() == {p0: 6, p1: 10}
    assert process.scored == 3, "each request counted once, scored by both models"


class ThreadRecorder(Doubler):
    """A batch model that records the thread of each request it scores, and can be made slow
    by computing for ``compute_s`` (one request per call here, so one ``predict`` per call)."""

    quick_calls = True

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[int] = []
        self.compute_s = 0.0

    def predict(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        self.threads.append(threading.get_ident())
        spin_until = time.thread_time() + self.compute_s  # CPU time: calls are timed by it
        while time.thread_time() < spin_until:
            pass
        return super().predict(payload)


async def test_a_quick_model_is_called_on_the_loop_and_a_slow_call_moves_it_to_a_thread() -> None:
    model = ThreadRecorder()
    process = ModelProcess({"double": model}, Settings(model_inline_below_ms=20), concurrency=1)
    producer = RecordingProducer()
    p0 = TopicPartition("requests", 0)
    loop_thread = threading.get_ident()

    async def score(offset: int) -> None:
        records = [_record(0, offset, f"r{offset}", offset)]
        parts = [(p0, records, process._commits.read(p0, offset))]
        await process._score_and_send(producer, parts)  # type: ignore[arg-type]

    await score(0)
    await score(1)
    assert model.threads[0] != loop_thread, "the first call, of unknown cost, in a thread"
    assert model.threads[1] == loop_thread, "then on the loop: its calls are quick"
    model.compute_s = 0.03
    await score(2)
    model.compute_s = 0.0
    await score(3)
    assert model.threads[2] == loop_thread
    assert model.threads[3] != loop_thread, "after a slow call, back to a thread"
    assert [request for request, _ in _sent_scores(producer)[("double", 0)]] == [
        "r0",
        "r1",
        "r2",
        "r3",
    ]


class UnmarkedRecorder(ThreadRecorder):
    """As quick, but not marked: its calls might block or hang."""

    quick_calls = False


@pytest.mark.parametrize(
    ("model", "inline_below_ms"),
    [(ThreadRecorder(), 0), (UnmarkedRecorder(), 20)],
    ids=["no-threshold", "model-not-marked-quick"],
)
async def test_these_quick_calls_all_run_in_a_thread(
    model: ThreadRecorder, inline_below_ms: float
) -> None:
    settings = Settings(model_inline_below_ms=inline_below_ms)
    process = ModelProcess({"double": model}, settings, concurrency=1)
    p0 = TopicPartition("requests", 0)
    for offset in range(5):
        parts = [(p0, [_record(0, offset, f"r{offset}", 1)], process._commits.read(p0, offset))]
        await process._score_and_send(RecordingProducer(), parts)  # type: ignore[arg-type]
    assert len(model.threads) == 5
    assert threading.get_ident() not in model.threads


async def test_a_slow_model_does_not_hold_back_the_scores_of_a_fast_one_in_its_process() -> None:
    held = Held()
    process = ModelProcess({"slow": held, "fast": Doubler()}, Settings(), concurrency=1)
    producer = RecordingProducer()
    p0 = TopicPartition("requests", 0)
    records = [_record(0, 0, "a", 1), _record(0, 1, "b", 2)]
    scoring = asyncio.create_task(
        process._score_and_send(producer, [(p0, records, process._commits.read(p0, 1))])  # type: ignore[list-item]
    )
    try:
        async with asyncio.timeout(5):
            while ("fast", 0) not in _sent_scores(producer):
                await asyncio.sleep(0.01)
        assert ("slow", 0) not in _sent_scores(producer)
        assert process._commits.committable() == {}, "not committed until every model wrote"
    finally:
        held.release.set()
        await scoring
    assert _sent_scores(producer)[("slow", 0)] == [("a", {"held": True}), ("b", {"held": True})]
    assert process._commits.committable() == {p0: 2}

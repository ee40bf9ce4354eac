"""Wire records: every record round-trips as plain JSON, and bad input is refused by name."""

from __future__ import annotations

import json
from typing import Any

import faust
import pytest

from streamapp.core.codec import DecodeError, decode, encode, parse, validate
from streamapp.core.records import (
    Answer,
    Candidate,
    Control,
    DeadLetter,
    Request,
    Score,
    ScoreBatch,
    ScoredRequest,
)

CANDIDATES = [
    Candidate(model="scorecard", model_version="scorecard-1", ok=True, arrived_ms=1_005),
    Candidate(model="rules", model_version="rules-1", ok=False, arrived_ms=1_009),
]
ANSWER = Answer(
    request_id="r1",
    status="ok",
    rule="top_priority",
    policy_version=3,
    opened_at=1_000,
    answered_at=1_009,
    model="scorecard",
    model_version="scorecard-1",
    result={"label": "benign", "score": 0.12},
    candidates=CANDIDATES,
    deadline_at=1_200,
    late=True,
)
REQUEST = Request(
    request_id="r1",
    payload={"features": {"worst radius": 12.0}},
    return_topic="shop-answers",
    deadline_ms=150,
    sent_at=1.5,
)
RECORDS: list[faust.Record] = [
    REQUEST,
    Request(request_id="bare", payload={}),
    Score(
        request_id="r1",
        model="scorecard",
        model_version="scorecard-1",
        read_at=1.25,
        finished_at=1.5,
        result={"label": "benign"},
        replayed=True,
    ),
    Score(
        request_id="r1",
        model="rules",
        model_version="rules-1",
        read_at=1.0,
        finished_at=2.0,
        error="ModelInputError: payload.features must be an object of numbers",
    ),
    *CANDIDATES,
    ANSWER,
    Answer(
        request_id="r2",
        status="rejected",
        rule="rejected",
        policy_version=1,
        opened_at=5,
        answered_at=5,
        reason="too big",
    ),
    Control(
        command="set_priority", model="scorecard", value={"priority": 3}, actor="ops", issued_at=9.5
    ),
    DeadLetter(
        reason="value is not JSON",
        topic="rendezvous-requests",
        partition=2,
        offset=41,
        key="r9",
        value="{oops",
        failed_at=3.5,
    ),
    ScoreBatch(
        model="scorecard",
        model_version="scorecard-1",
        scores=[
            ScoredRequest(request_id="a", read_at=1.0, finished_at=1.1, result={"score": 0.5}),
            ScoredRequest(request_id="b", read_at=1.0, finished_at=1.1, error="TimeoutError"),
        ],
    ),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_every_record_round_trips_through_its_json_form(record: faust.Record) -> None:
    assert decode(type(record), encode(record)) == record


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_public_json_carries_no_faust_metadata(record: faust.Record) -> None:
    text = encode(record).decode()
    assert "__faust" not in text
    assert isinstance(json.loads(text), dict)


def test_nested_records_decode_to_their_record_types() -> None:
    answer = decode(Answer, encode(ANSWER))
    assert all(isinstance(c, Candidate) for c in answer.candidates)
    batch = decode(ScoreBatch, encode(RECORDS[-1]))
    assert all(isinstance(s, ScoredRequest) for s in batch.scores)


def request_json(**changes: Any) -> bytes:
    body: dict[str, Any] = {"request_id": "r1", "payload": {"x": 1}, **changes}
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (request_json(request_id=5), "request_id: Input should be a valid string"),
        (request_json(request_id=None), "request_id: Input should be a valid string"),
        (request_json(deadline_ms="5"), "deadline_ms: Input should be a valid integer"),
        (request_json(deadline_ms=True), "deadline_ms: Input should be a valid integer"),
        (request_json(deadline_ms=1.5), "deadline_ms: Input should be a valid integer"),
        (request_json(payload=[1, 2]), "payload: Input should be a valid dictionary"),
        (b'{"request_id": "r1"}', "payload: Field required"),
        (
            b"not json",
            "value is not JSON: invalid literal, expected 'null': line 1 column 1 (char 0)",
        ),
        (b'{"request_id": "\xc3\x28", "payload": {}}', "value is not UTF-8 text"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b'"r1"', "expected a JSON object, got str"),
        (None, "empty message (no value)"),
    ],
)
def test_bad_requests_are_refused_with_the_problem_named(raw: bytes | None, problem: str) -> None:
    with pytest.raises(DecodeError) as refused:
        decode(Request, raw)
    assert str(refused.value) == problem


def test_nested_errors_name_the_path_to_the_bad_field() -> None:
    data = json.loads(encode(ANSWER))
    data["candidates"][1]["ok"] = "yes"
    with pytest.raises(DecodeError, match=r"^candidates\.1\.ok: Input should be a valid boolean"):
        validate(Answer, data)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(DecodeError) as refused:
        validate(Candidate, {"model": 1, "model_version": "v", "ok": True, "arrived_ms": "soon"})
    assert str(refused.value).split("; ") == [
        "model: Input should be a valid string",
        "arrived_ms: Input should be a valid integer",
    ]


def test_unknown_fields_are_ignored() -> None:
    raw = b'{"model": "m", "model_version": "1", "ok": true, "arrived_ms": 7, "extra": 1}'
    assert decode(Candidate, raw) == Candidate(model="m", model_version="1", ok=True, arrived_ms=7)


def test_utf16_encoded_json_is_refused_as_not_utf8() -> None:
    with pytest.raises(DecodeError, match="UTF-8"):
        decode(Request, '{"request_id": "r1", "payload": {}}'.encode("utf-16"))


def test_nan_is_refused_because_it_is_not_json() -> None:
    raw = b'{"request_id": "r1", "model": "m", "model_version": "1", "read_at": 1.0, '
    raw += b'"finished_at": 2.0, "result": {"score": NaN}}'
    with pytest.raises(DecodeError):
        decode(Score, raw)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (b"NaN", "expected a JSON value"),
        (b"Infinity", "expected a JSON value"),
        (b"-Infinity", "no digit after sign"),
        (b"1e309", "infinity"),
        (b"-1e309", "infinity"),
        (b"[" * 1100 + b"]" * 1100, "depth limit"),
    ],
)
def test_non_json_numbers_and_runaway_nesting_are_refused_by_name(
    value: bytes, problem: str
) -> None:
    raw = b'{"request_id": "r1", "payload": {"x": ' + value + b"}}"
    with pytest.raises(DecodeError, match=problem):
        decode(Request, raw)
    with pytest.raises(DecodeError, match=problem):
        parse(Request, raw)


def test_parse_gives_the_validated_values_under_the_records_field_names() -> None:
    parsed = parse(Request, encode(REQUEST))
    assert (parsed.request_id, parsed.payload, parsed.deadline_ms) == (
        "r1",
        {"features": {"worst radius": 12.0}},
        150,
    )


def test_parse_refuses_what_decode_refuses_with_the_same_reason() -> None:
    raw = request_json(deadline_ms="5")
    with pytest.raises(DecodeError) as parsed:
        parse(Request, raw)
    with pytest.raises(DecodeError) as decoded:
        decode(Request, raw)
    assert str(parsed.value) == str(decoded.value) == "deadline_ms: Input should be a valid integer"

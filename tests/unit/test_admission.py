"""Admission: which requests may open a mailbox, their deadline, and where to reject the rest."""

from __future__ import annotations

import pytest

from streamapp.core.admission import (
    Limits,
    deadline_at,
    refusal,
    return_address,
    return_topic_refusal,
)
from streamapp.core.records import Request
from streamapp.settings import Settings

LIMITS = Limits(
    max_payload_bytes=1_000,
    min_deadline_ms=10,
    max_deadline_ms=5_000,
    default_deadline_ms=200,
    default_return_topic="shop-answers",
)


def request(**changes: object) -> Request:
    fields: dict[str, object] = {"request_id": "r1", "payload": {"x": 1}, **changes}
    return Request(**fields)


def test_a_well_formed_request_at_the_size_limit_is_admitted() -> None:
    assert refusal(request(), 1_000, LIMITS) is None


def test_an_oversized_request_is_refused_with_its_size_and_the_limit() -> None:
    assert refusal(request(), 1_001, LIMITS) == "request is 1001 bytes; the limit is 1000"


@pytest.mark.parametrize("deadline_ms", [None, 10, 5_000])
def test_deadline_bounds_are_inclusive(deadline_ms: int | None) -> None:
    assert refusal(request(deadline_ms=deadline_ms), 10, LIMITS) is None


@pytest.mark.parametrize("deadline_ms", [9, 5_001, 0, -1])
def test_deadline_outside_the_bounds_is_refused(deadline_ms: int) -> None:
    reason = refusal(request(deadline_ms=deadline_ms), 10, LIMITS)
    assert reason == f"deadline_ms {deadline_ms} is outside 10..5000"


@pytest.mark.parametrize("topic", ["", "has space", ".", "..", "a" * 250, "ünicode", "a/b"])
def test_illegal_return_topic_names_are_refused(topic: str) -> None:
    reason = refusal(request(return_topic=topic), 10, LIMITS)
    assert reason == f"return_topic {topic!r} is not a legal Kafka topic name"


@pytest.mark.parametrize("topic", ["a" * 249, "team.answers-1_x", "..."])
def test_legal_return_topic_names_are_admitted(topic: str) -> None:
    assert refusal(request(return_topic=topic), 10, LIMITS) is None


@pytest.mark.parametrize(
    ("request_id", "admitted"), [("", False), ("x" * 256, True), ("x" * 257, False)]
)
def test_request_id_must_be_1_to_256_characters(request_id: str, admitted: bool) -> None:
    reason = refusal(request(request_id=request_id), 10, LIMITS)
    assert reason == (None if admitted else "request_id must be 1 to 256 characters")


def test_deadline_counts_from_when_the_request_entered_kafka() -> None:
    at = deadline_at(request(deadline_ms=100), sent_ms=1_000, now_ms=1_050, limits=LIMITS)
    assert at == 1_100


def test_deadline_never_counts_from_a_kafka_timestamp_in_the_future() -> None:
    at = deadline_at(request(deadline_ms=100), sent_ms=2_000, now_ms=1_050, limits=LIMITS)
    assert at == 1_150


@pytest.mark.parametrize("sent_ms", [0, -1])
def test_deadline_counts_from_now_when_kafka_gave_no_timestamp(sent_ms: int) -> None:
    at = deadline_at(request(deadline_ms=100), sent_ms=sent_ms, now_ms=1_050, limits=LIMITS)
    assert at == 1_150


def test_request_without_deadline_gets_the_default_budget() -> None:
    assert deadline_at(request(), sent_ms=1_000, now_ms=1_010, limits=LIMITS) == 1_200


def test_limits_from_settings_return_to_the_prefixed_answers_topic() -> None:
    limits = Settings(topic_prefix="shop", max_payload_bytes=512).limits
    assert (limits.default_return_topic, limits.max_payload_bytes) == ("shop-answers", 512)


@pytest.mark.parametrize(
    ("raw", "address"),
    [
        (b'{"request_id": "r1", "payload": [1]}', ("r1", "shop-answers")),
        (b'{"request_id": "r1", "return_topic": "mine", "deadline_ms": "x"}', ("r1", "mine")),
        (b'{"request_id": "r1", "return_topic": null}', ("r1", "shop-answers")),
        (b'{"request_id": "r1", "return_topic": "mine", "payload": {"x": NaN}}', ("r1", "mine")),
        (b'{"request_id": "r1", "payload": {"x": 1e309}}', ("r1", "shop-answers")),
        (b'{"request_id": "r1", "payload": {"x": -Infinity}}', ("r1", "shop-answers")),
    ],
)
def test_return_address_is_recovered_from_a_broken_request(
    raw: bytes, address: tuple[str, str]
) -> None:
    assert return_address(raw, "shop-answers") == address


@pytest.mark.parametrize(
    "raw",
    [
        None,
        b"",
        b"{not json",
        b"\xff\xfe\xfd",
        b'["r1"]',
        b'{"payload": {}}',
        b'{"request_id": 5}',
        b'{"request_id": ""}',
        b'{"request_id": "' + b"x" * 257 + b'"}',
        b'{"request_id": "r1", "return_topic": "bad topic"}',
        b'{"request_id": "r1", "return_topic": 5}',
    ],
)
def test_return_address_is_none_when_the_request_cannot_be_answered(raw: bytes | None) -> None:
    assert return_address(raw, "shop-answers") is None


DEPLOYMENT = Settings(topic_prefix="shop", app_id="shop-rendezvous").limits


@pytest.mark.parametrize(
    "topic",
    [
        "shop-requests",
        "shop-scores",
        "shop-control",
        "shop-deadletter",
        "shop-replays",
        "shop-rendezvous-closed-mailboxes-changelog",
        "shop-rendezvous-registry-changelog",
        "__consumer_offsets",
        "__transaction_state",
    ],
)
def test_answers_never_go_to_the_deployments_own_topics_or_kafkas(topic: str) -> None:
    reason = return_topic_refusal(topic, DEPLOYMENT)
    assert reason is not None and repr(topic) in reason
    assert refusal(request(return_topic=topic), 10, DEPLOYMENT) == reason


@pytest.mark.parametrize("topic", ["shop-answers", "shop-replies-host-6066", "billing-answers"])
def test_the_answers_topic_reply_topics_and_client_topics_take_answers(topic: str) -> None:
    assert return_topic_refusal(topic, DEPLOYMENT) is None


def test_an_operator_can_narrow_return_topics_with_a_regular_expression() -> None:
    narrowed = Settings(topic_prefix="shop", return_topics=r"team-a-.*").limits
    assert return_topic_refusal("team-a-answers", narrowed) is None
    assert return_topic_refusal("shop-answers", narrowed) is None, "the default always works"
    assert "RENDEZVOUS_RETURN_TOPICS" in (return_topic_refusal("team-b-answers", narrowed) or "")


def test_a_return_topic_rule_that_is_not_a_regular_expression_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="not a regular expression"):
        Settings(return_topics="team-(a")


def test_a_request_nested_too_deep_has_no_readable_address_and_does_not_crash() -> None:
    raw = b'{"request_id": "deep", "payload": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    assert return_address(raw, "shop-answers") is None

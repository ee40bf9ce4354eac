"""Mailboxes and the rendezvous state machine: every time is an argument, so to the millisecond."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streamapp.core.mailbox import Arrived, payload_digest, rejection
from streamapp.core.policy import ModelRule, Registry, ScheduleStep
from streamapp.core.rendezvous import Effects, Opening, Rendezvous, Stored

T0 = 1_800_000_000_000
REGISTRY = Registry(
    models={
        "scorecard": ModelRule("live", 10),
        "linear": ModelRule("shadow", 20),
        "rules": ModelRule("live", 0, backstop=True),
    }
)
BENIGN = {"label": "benign", "score": 0.1}


class Ack:
    """A stand-in for a Kafka event held until what it brought is settled."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.released = 0

    def release(self) -> None:
        self.released += 1


def opening(request_id: str = "r1", *, partition: int = 0, budget: int = 200, **kw: Any) -> Opening:
    fields: dict[str, Any] = {
        "request_id": request_id,
        "partition": partition,
        "offset": 7,
        "entered_ms": T0,
        "deadline_ms": T0 + budget,
        "return_topic": "answers",
        "payload_digest": payload_digest({"features": {"x": 1}}),
    }
    fields.update(kw)
    return Opening(**fields)


def arrived(model: str, at: int, result: dict | None = BENIGN, error: str | None = None) -> Arrived:
    return Arrived(model, f"{model}-1", T0 + at, 0.0, 0.001, result, error)


def backstop() -> list[Arrived]:
    return [arrived("rules", 0, {"label": "malignant", "score": 1.0})]


def wire(effects: Effects) -> dict[str, Any]:
    [closed] = effects.closed
    assert closed.mailbox.decision is not None
    return dict(orjson.loads(closed.mailbox.decision.wire))


def engine(stored: dict[tuple[int, str], Stored] | None = None) -> Rendezvous:
    table = stored if stored is not None else {}
    return Rendezvous(
        lookup=lambda p, r: table.get((p, r)), late_after_ms=100, catch_up_wait_ms=500
    )


def test_a_request_waits_for_the_preferred_model_until_its_deadline() -> None:
    rv = engine()
    effects = rv.open_request(
        opening(),
        REGISTRY,
        now_ms=T0 + 2,
        scores_at_ms=T0 + 2,
        hold=Ack("r"),
        in_process=backstop(),
    )
    assert effects.closed == [] and effects.wakes == [((0, "r1"), T0 + 200)]
    assert rv.mailbox((0, "r1")).is_open


def test_the_preferred_models_score_closes_the_mailbox_with_the_complete_answer() -> None:
    rv = engine()
    request, score = Ack("request"), Ack("score")
    rv.open_request(
        opening(), REGISTRY, now_ms=T0 + 2, scores_at_ms=T0 + 2, hold=request, in_process=backstop()
    )
    effects = rv.file_score(
        0, "r1", arrived("scorecard", 9), REGISTRY, now_ms=T0 + 10, scores_at_ms=T0 + 10, hold=score
    )
    answer = wire(effects)
    assert answer == {
        "request_id": "r1",
        "status": "ok",
        "rule": "top_priority",
        "policy_version": 1,
        "opened_at": T0,
        "answered_at": T0 + 10,
        "model": "scorecard",
        "model_version": "scorecard-1",
        "result": BENIGN,
        "reason": None,
        "candidates": [
            {"model": "rules", "model_version": "rules-1", "ok": True, "arrived_ms": T0},
            {
                "model": "scorecard",
                "model_version": "scorecard-1",
                "ok": True,
                "arrived_ms": T0 + 9,
            },
        ],
        "deadline_at": T0 + 200,
        "late": False,
    }
    assert effects.closed[0].holds == [request, score], "released only once the answer is out"
    assert effects.released == []


def test_the_deadline_decides_with_the_backstop_when_the_preferred_model_is_silent() -> None:
    rv = engine()
    rv.open_request(
        opening(),
        REGISTRY,
        now_ms=T0 + 2,
        scores_at_ms=T0 + 2,
        hold=Ack("r"),
        in_process=backstop(),
    )
    assert rv.on_due((0, "r1"), REGISTRY, now_ms=T0 + 199, scores_at_ms=T0 + 199).closed == []
    answer = wire(rv.on_due((0, "r1"), REGISTRY, now_ms=T0 + 201, scores_at_ms=T0 + 201))
    assert (answer["model"], answer["rule"], answer["late"]) == ("rules", "backstop", False)
    assert answer["answered_at"] == T0 + 201


def test_no_result_names_the_reason_when_no_model_answered() -> None:
    rv = engine()
    rv.open_request(opening(), REGISTRY, now_ms=T0 + 2, scores_at_ms=T0 + 2, hold=Ack("r"))
    answer = wire(rv.on_due((0, "r1"), REGISTRY, now_ms=T0 + 200, scores_at_ms=T0 + 200))
    assert answer["status"] == "no_result" and answer["model"] is None
    assert answer["reason"] == "no deployed model answered by the deadline"


def test_a_schedule_step_wakes_the_mailbox_and_accepts_a_lower_priority_model() -> None:
    registry = Registry(
        models={"best": ModelRule("live", 30), "good": ModelRule("live", 20)},
        steps=(ScheduleStep(after_ms=80, min_priority=20),),
    )
    rv = engine()
    effects = rv.open_request(
        opening(), registry, now_ms=T0 + 1, scores_at_ms=T0 + 1, hold=Ack("r")
    )
    assert effects.wakes == [((0, "r1"), T0 + 80)]
    filed = rv.file_score(
        0, "r1", arrived("good", 40), registry, now_ms=T0 + 40, scores_at_ms=T0 + 40, hold=Ack("s")
    )
    assert filed.closed == [] and filed.wakes == [((0, "r1"), T0 + 80)]
    answer = wire(rv.on_due((0, "r1"), registry, now_ms=T0 + 80, scores_at_ms=T0 + 80))
    assert (answer["model"], answer["rule"]) == ("good", "step_0")


def test_a_shadow_score_while_the_policy_waits_is_filed_without_asking_it_again() -> None:
    rv = engine()
    request, shadow = Ack("request"), Ack("shadow")
    rv.open_request(
        opening(), REGISTRY, now_ms=T0 + 2, scores_at_ms=T0 + 2, hold=request, in_process=backstop()
    )
    filed = rv.file_score(
        0, "r1", arrived("linear", 5), REGISTRY, now_ms=T0 + 5, scores_at_ms=T0 + 5, hold=shadow
    )
    assert (filed.closed, filed.wakes, filed.released) == ([], [], [])
    effects = rv.file_score(
        0, "r1", arrived("scorecard", 9), REGISTRY, now_ms=T0 + 9, scores_at_ms=T0 + 9, hold=Ack()
    )
    answer = wire(effects)
    assert (answer["model"], answer["rule"]) == ("scorecard", "top_priority")
    assert [c["model"] for c in answer["candidates"]] == ["rules", "linear", "scorecard"]
    assert shadow in effects.closed[0].holds, "the shadow's event is held until the answer"


def test_a_shadow_score_after_a_schedule_step_came_lets_the_step_decide() -> None:
    registry = Registry(
        models={"best": ModelRule("live", 30), "good": ModelRule("live", 20), "new": ModelRule()},
        steps=(ScheduleStep(after_ms=80, min_priority=20),),
    )
    rv = engine()
    rv.open_request(opening(), registry, now_ms=T0 + 1, scores_at_ms=T0 + 1, hold=Ack("r"))
    rv.file_score(
        0, "r1", arrived("good", 40), registry, now_ms=T0 + 40, scores_at_ms=T0 + 40, hold=Ack("g")
    )
    # The step's wake-up has not been handled yet when the shadow's score comes, past it.
    effects = rv.file_score(
        0, "r1", arrived("new", 85), registry, now_ms=T0 + 85, scores_at_ms=T0 + 85, hold=Ack("n")
    )
    answer = wire(effects)
    assert (answer["model"], answer["rule"], answer["answered_at"]) == ("good", "step_0", T0 + 85)


def test_a_shadow_score_after_the_registry_changed_is_decided_under_the_new_one() -> None:
    rv = engine()
    rv.open_request(
        opening(), REGISTRY, now_ms=T0 + 2, scores_at_ms=T0 + 2, hold=Ack(), in_process=backstop()
    )
    # scorecard is undeployed while the mailbox waits for it: only the backstop is live now.
    undeployed = Registry(models={**REGISTRY.models, "scorecard": ModelRule("off", 10)}, version=2)
    effects = rv.file_score(
        0, "r1", arrived("linear", 5), undeployed, now_ms=T0 + 5, scores_at_ms=T0 + 5, hold=Ack("l")
    )
    answer = wire(effects)
    assert (answer["model"], answer["rule"], answer["policy_version"]) == (
        "rules",
        "backstop",
        2,
    )


def test_a_score_after_the_answer_is_late_changes_nothing_and_is_released() -> None:
    rv = engine()
    rv.open_request(opening(), REGISTRY, now_ms=T0, scores_at_ms=T0, hold=Ack("r"))
    rv.file_score(
        0,
        "r1",
        arrived("scorecard", 5),
        REGISTRY,
        now_ms=T0 + 5,
        scores_at_ms=T0 + 5,
        hold=Ack("a"),
    )
    late_hold = Ack("late")
    effects = rv.file_score(
        0,
        "r1",
        arrived("linear", 30),
        REGISTRY,
        now_ms=T0 + 30,
        scores_at_ms=T0 + 30,
        hold=late_hold,
    )
    assert effects.closed == [] and effects.sends == [] and effects.released == [late_hold]
    assert effects.late == [(0, "linear", pytest.approx(1.0), 30)]
    assert [a.model for a in rv.mailbox((0, "r1")).late_scores] == ["linear"]


def test_a_second_score_from_the_same_model_is_a_duplicate_and_ignored() -> None:
    rv = engine()
    rv.open_request(opening(budget=1000), REGISTRY, now_ms=T0, scores_at_ms=T0, hold=Ack("r"))
    error = arrived("linear", 5, result=None, error="boom")
    rv.file_score(0, "r1", error, REGISTRY, now_ms=T0 + 5, scores_at_ms=T0 + 5, hold=Ack("a"))
    again = Ack("again")
    effects = rv.file_score(
        0, "r1", arrived("linear", 6), REGISTRY, now_ms=T0 + 6, scores_at_ms=T0 + 6, hold=again
    )
    assert effects.released == [again]
    mailbox = rv.mailbox((0, "r1"))
    assert mailbox.duplicate_scores == 1 and [a.ok for a in mailbox.scores] == [False]


def test_a_score_before_its_request_is_kept_and_used_when_the_request_comes() -> None:
    rv = engine()
    early = Ack("early")
    effects = rv.file_score(
        0, "r1", arrived("scorecard", 1), REGISTRY, now_ms=T0 + 1, scores_at_ms=T0 + 1, hold=early
    )
    assert effects.released == [] and effects.closed == []
    request = Ack("request")
    opened = rv.open_request(opening(), REGISTRY, now_ms=T0 + 3, scores_at_ms=T0 + 3, hold=request)
    assert wire(opened)["rule"] == "top_priority"
    assert opened.closed[0].holds == [request, early]


def test_early_scores_whose_request_never_comes_are_released_after_a_while() -> None:
    rv = engine()
    early = Ack("early")
    rv.file_score(
        0, "ghost", arrived("scorecard", 1), REGISTRY, now_ms=T0, scores_at_ms=T0, hold=early
    )
    assert rv.forget(T0 + 1000) == []
    assert rv.forget(T0 + rv.keep_early_ms) == [early]


def test_early_scores_are_released_oldest_first_each_when_its_own_time_comes() -> None:
    rv = engine()
    holds = {name: Ack(name) for name in ("a1", "a2", "b", "c")}
    for at, request_id, hold in ((0, "a", "a1"), (10, "b", "b"), (20, "a", "a2"), (30, "c", "c")):
        rv.file_score(
            0,
            request_id,
            arrived("scorecard" if hold != "a2" else "linear", 1),
            REGISTRY,
            now_ms=T0 + at,
            scores_at_ms=T0 + at,
            hold=holds[hold],
        )
    # "a" counts from its first score: a second one does not make it younger.
    assert rv.forget(T0 + rv.keep_early_ms + 9) == [holds["a1"], holds["a2"]]
    assert rv.forget(T0 + rv.keep_early_ms + 29) == [holds["b"]]
    assert rv.forget(T0 + rv.keep_early_ms + 30) == [holds["c"]]
    assert rv.forget(T0 + 10 * rv.keep_early_ms) == []


def test_a_retry_after_the_answer_gets_the_same_bytes_on_the_same_topic() -> None:
    rv = engine()
    rv.open_request(opening(), REGISTRY, now_ms=T0, scores_at_ms=T0, hold=Ack("r"))
    closed = rv.file_score(
        0,
        "r1",
        arrived("scorecard", 4),
        REGISTRY,
        now_ms=T0 + 4,
        scores_at_ms=T0 + 4,
        hold=Ack("s"),
    )
    original = closed.closed[0].mailbox.decision.wire
    retry = Ack("retry")
    effects = rv.open_request(
        opening(entered_ms=T0 + 50), REGISTRY, now_ms=T0 + 60, scores_at_ms=T0 + 60, hold=retry
    )
    assert [(s.topic, s.request_id, s.wire) for s in effects.sends] == [("answers", "r1", original)]
    assert effects.released == [retry] and effects.closed == []


def test_a_retry_while_the_mailbox_is_open_waits_for_the_one_answer() -> None:
    rv = engine()
    rv.open_request(opening(), REGISTRY, now_ms=T0, scores_at_ms=T0, hold=Ack("r"))
    effects = rv.open_request(
        opening(), REGISTRY, now_ms=T0 + 5, scores_at_ms=T0 + 5, hold=Ack("x")
    )
    assert effects.sends == [] and effects.closed == [] and effects.refused is None
    assert rv.pending() == 1


def test_a_retry_of_a_mailbox_only_in_the_table_gets_its_stored_answer() -> None:
    stored = Stored("answers", payload_digest({"features": {"x": 1}}), T0, b'{"stored":1}')
    rv = engine({(0, "r1"): stored})
    effects = rv.open_request(opening(), REGISTRY, now_ms=T0, scores_at_ms=T0, hold=Ack("r"))
    assert [s.wire for s in effects.sends] == [b'{"stored":1}'] and rv.pending() == 0


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ({"payload_digest": payload_digest({"features": {"x": 2}})}, "another payload"),
        ({"return_topic": "elsewhere"}, "another return topic"),
    ],
)
def test_the_same_id_with_another_payload_or_address_is_refused_and_leaves_the_original(
    change: dict[str, Any], what: str
) -> None:
    rv = engine()
    rv.open_request(opening(), REGISTRY, now_ms=T0, scores_at_ms=T0, hold=Ack("r"))
    intruder = Ack("intruder")
    effects = rv.open_request(
        opening(**change), REGISTRY, now_ms=T0 + 5, scores_at_ms=T0 + 5, hold=intruder
    )
    assert effects.refused == f"request id 'r1' in use ({what})"
    assert effects.sends == [] and effects.closed == [] and effects.released == [intruder]
    mailbox = rv.mailbox((0, "r1"))
    assert mailbox.is_open and mailbox.return_topic == "answers"


def test_the_same_id_in_two_partitions_opens_two_independent_mailboxes() -> None:
    rv = engine()
    rv.open_request(opening(partition=0), REGISTRY, now_ms=T0, scores_at_ms=T0, hold=Ack("a"))
    effects = rv.open_request(
        opening(partition=3, return_topic="other"),
        REGISTRY,
        now_ms=T0,
        scores_at_ms=T0,
        hold=Ack("b"),
    )
    assert effects.refused is None and rv.pending() == 2
    rv.file_score(
        3,
        "r1",
        arrived("scorecard", 2),
        REGISTRY,
        now_ms=T0 + 2,
        scores_at_ms=T0 + 2,
        hold=Ack("s"),
    )
    assert rv.mailbox((0, "r1")).is_open and not rv.mailbox((3, "r1")).is_open


def test_a_request_read_after_its_deadline_is_decided_as_of_the_deadline_and_late() -> None:
    rv = engine()
    # The worker was away: scores that reached Kafka before the deadline are all read.
    rv.file_score(
        0,
        "r1",
        arrived("linear", 50),
        REGISTRY,
        now_ms=T0 + 5000,
        scores_at_ms=T0 + 5000,
        hold=Ack("s"),
    )
    rv.file_score(
        0,
        "r1",
        arrived("scorecard", 250),
        REGISTRY,
        now_ms=T0 + 5000,
        scores_at_ms=T0 + 5000,
        hold=Ack("t"),
    )
    effects = rv.open_request(
        opening(),
        REGISTRY,
        now_ms=T0 + 5000,
        scores_at_ms=T0 + 5000,
        hold=Ack("r"),
        in_process=backstop(),
    )
    answer = wire(effects)
    assert (answer["model"], answer["rule"], answer["late"]) == ("rules", "backstop", True)
    assert answer["answered_at"] == T0 + 5000
    assert [c["model"] for c in answer["candidates"]] == ["linear", "rules"], (
        "scorecard reached Kafka after the deadline: it cannot count"
    )


def test_past_the_deadline_the_answer_waits_until_its_scores_partition_is_read_that_far() -> None:
    rv = engine()
    effects = rv.open_request(
        opening(),
        REGISTRY,
        now_ms=T0 + 300,
        scores_at_ms=T0 + 120,
        hold=Ack("r"),
        in_process=backstop(),
    )
    assert effects.closed == [] and effects.wakes == [((0, "r1"), T0 + 300 + 500)]
    filed = rv.file_score(
        0,
        "r1",
        arrived("linear", 150),
        REGISTRY,
        now_ms=T0 + 310,
        scores_at_ms=T0 + 150,
        hold=Ack("s"),
    )
    assert filed.closed == [], "read up to 150 ms only: a preferred score may still come"
    assert rv.scores_read(0, REGISTRY, now_ms=T0 + 315, scores_at_ms=T0 + 199).closed == []
    answer = wire(rv.scores_read(0, REGISTRY, now_ms=T0 + 320, scores_at_ms=T0 + 260))
    assert (answer["model"], answer["rule"], answer["late"]) == ("rules", "backstop", True)
    assert [c["model"] for c in answer["candidates"]] == ["rules", "linear"]


def test_a_top_priority_result_past_the_deadline_goes_without_waiting() -> None:
    rv = engine()
    rv.file_score(
        0,
        "r1",
        arrived("scorecard", 50),
        REGISTRY,
        now_ms=T0 + 300,
        scores_at_ms=T0 + 100,
        hold=Ack("s"),
    )
    effects = rv.open_request(
        opening(), REGISTRY, now_ms=T0 + 300, scores_at_ms=T0 + 100, hold=Ack("r")
    )
    assert wire(effects)["rule"] == "top_priority"


def test_the_wait_for_a_lagging_scores_partition_is_bounded() -> None:
    rv = engine()
    rv.open_request(
        opening(), REGISTRY, now_ms=T0 + 300, scores_at_ms=T0, hold=Ack("r"), in_process=backstop()
    )
    assert rv.on_due((0, "r1"), REGISTRY, now_ms=T0 + 799, scores_at_ms=T0).closed == []
    answer = wire(rv.on_due((0, "r1"), REGISTRY, now_ms=T0 + 800, scores_at_ms=T0))
    assert (answer["model"], answer["late"]) == ("rules", True)


def test_answers_are_late_only_past_late_after_ms() -> None:
    rv = engine()
    rv.open_request(
        opening("a"), REGISTRY, now_ms=T0, scores_at_ms=T0, hold=Ack("a"), in_process=backstop()
    )
    rv.open_request(
        opening("b"), REGISTRY, now_ms=T0, scores_at_ms=T0, hold=Ack("b"), in_process=backstop()
    )
    on_time = wire(rv.on_due((0, "a"), REGISTRY, now_ms=T0 + 300, scores_at_ms=T0 + 300))
    late = wire(rv.on_due((0, "b"), REGISTRY, now_ms=T0 + 301, scores_at_ms=T0 + 301))
    assert (on_time["late"], late["late"]) == (False, True)


def test_closed_mailboxes_leave_memory_after_a_while_and_are_then_found_in_the_table() -> None:
    table: dict[tuple[int, str], Stored] = {}
    rv = engine(table)
    rv.open_request(opening(), REGISTRY, now_ms=T0, scores_at_ms=T0, hold=Ack("r"))
    closed = rv.file_score(
        0,
        "r1",
        arrived("scorecard", 3),
        REGISTRY,
        now_ms=T0 + 3,
        scores_at_ms=T0 + 3,
        hold=Ack("s"),
    )
    mailbox = closed.closed[0].mailbox
    table[(0, "r1")] = Stored("answers", mailbox.payload_digest, T0, mailbox.decision.wire)
    rv.forget(T0 + 3 + rv.keep_closed_ms)
    assert rv.mailbox((0, "r1")) is None
    effects = rv.file_score(
        0,
        "r1",
        arrived("linear", 900),
        REGISTRY,
        now_ms=T0 + 900,
        scores_at_ms=T0 + 900,
        hold=Ack("l"),
    )
    assert effects.late == [(0, "linear", pytest.approx(1.0), 900)]


def test_dropping_partitions_forgets_their_mailboxes_and_keeps_the_others() -> None:
    rv = engine()
    rv.open_request(opening("a", partition=0), REGISTRY, now_ms=T0, scores_at_ms=T0, hold=Ack("a"))
    rv.open_request(opening("b", partition=1), REGISTRY, now_ms=T0, scores_at_ms=T0, hold=Ack("b"))
    rv.drop_partitions({0})
    assert rv.mailbox((0, "a")) is None and rv.mailbox((1, "b")) is not None


def test_payload_digests_ignore_key_order_and_see_every_value() -> None:
    assert payload_digest({"a": 1, "b": [1, 2]}) == payload_digest({"b": [1, 2], "a": 1})
    assert payload_digest({"a": 1}) != payload_digest({"a": 1.5})


def test_a_rejection_names_its_reason_and_has_no_candidates() -> None:
    answer = orjson.loads(rejection("r9", "too big", policy_version=3, now_ms=T0))
    assert (answer["status"], answer["rule"], answer["reason"]) == (
        "rejected",
        "rejected",
        "too big",
    )
    assert answer["candidates"] == [] and answer["policy_version"] == 3


def test_a_failed_decision_closes_the_mailbox_rejected_with_the_reason() -> None:
    rv = engine()
    request = Ack("r")
    rv.open_request(opening(), REGISTRY, now_ms=T0, scores_at_ms=T0, hold=request)
    effects = rv.fail((0, "r1"), "internal error: KeyError: 'x'", REGISTRY, now_ms=T0 + 50)
    answer = wire(effects)
    assert (answer["status"], answer["rule"]) == ("rejected", "rejected")
    assert answer["reason"] == "internal error: KeyError: 'x'"
    assert effects.closed[0].holds == [request]
    assert rv.fail((0, "r1"), "again", REGISTRY, now_ms=T0 + 60).closed == [], "closed once"


def test_a_worker_reading_long_after_the_deadline_still_waits_for_its_scores_partition() -> None:
    rv = engine()
    late_read = T0 + 60_000  # the worker was down for a minute
    effects = rv.open_request(
        opening(), REGISTRY, now_ms=late_read, scores_at_ms=T0, hold=Ack("r"), in_process=backstop()
    )
    assert effects.closed == [] and effects.wakes == [((0, "r1"), late_read + 500)]
    rv.file_score(
        0,
        "r1",
        arrived("scorecard", 100),
        REGISTRY,
        now_ms=late_read + 5,
        scores_at_ms=T0 + 100,
        hold=Ack("s"),
    )
    mailbox = rv.mailbox((0, "r1"))
    assert (mailbox.decision.model, mailbox.decision.late) == ("scorecard", True)

"""The capacity benchmark's per-second view of a rung: where in it the late answers were."""

from __future__ import annotations

from benchmarks.capacity_report import (
    Usage,
    latency_per_second,
    phase_text,
    rung_table,
    summarize_overload,
)
from benchmarks.openloop import Outcome, SendWindow


def outcome(sent: float, e2e_ms: float | None) -> Outcome:
    answered = None if e2e_ms is None else sent + e2e_ms / 1000
    return Outcome(phase="rung", scheduled=sent, sent=sent, answered=answered, status="ok")


def test_a_stall_shows_in_the_second_its_requests_were_sent() -> None:
    phase = [
        outcome(100.1, 20),
        outcome(100.6, 30),
        outcome(101.2, 450),  # sent in second 1, answered in second 1.65: late
        outcome(101.5, 150),
        outcome(102.3, None),  # never answered: late too
        outcome(102.4, 10),
        outcome(103.02, 10),  # the sender's last moments past the third second: in it
    ]

    series = latency_per_second(phase, began=100.0, seconds=3, deadline_ms=200)

    assert [s["sent"] for s in series] == [2, 2, 3]
    assert [s["on_time_share"] for s in series] == [1.0, 0.5, 0.667]
    assert [s["e2e_p99_ms"] for s in series] == [30.0, 450.0, 10.0]


def test_a_second_with_nothing_sent_or_nothing_answered_says_so() -> None:
    series = latency_per_second([outcome(101.1, None)], began=100.0, seconds=2, deadline_ms=200)

    assert series[0] == {"second": 0, "sent": 0, "on_time_share": None, "e2e_p99_ms": None}
    assert series[1] == {"second": 1, "sent": 1, "on_time_share": 0.0, "e2e_p99_ms": None}


def rung(held: bool, per_second: list[dict[str, object]]) -> dict[str, object]:
    cpu = {"worker": 0.5}
    return {
        "offered_per_s": 1200.0,
        "sent_per_s": 1200.0,
        "sender_lag_ms": None,
        "answered_per_s": 1200.0,
        "missing": 0,
        "preferred_on_time_share": 1.0 if held else 0.9,
        "e2e_ms": None,
        "direct_ms": None,
        "rendezvous_added_ms": None,
        "machine_busy_pct": 80.0,
        "others_core_pct": 1.0,
        "held": held,
        "cpu_ms_per_request": cpu,
        "cpu_pct": cpu,
        "runqueue_wait_pct": cpu,
        "answers": {},
        "reasons": {},
        "per_second": per_second,
    }


def test_the_table_shows_each_second_of_a_rung_that_did_not_hold_only() -> None:
    seconds: list[dict[str, object]] = [
        {"second": 0, "sent": 1200, "on_time_share": 1.0, "e2e_p99_ms": 31.0},
        {"second": 1, "sent": 1200, "on_time_share": 0.42, "e2e_p99_ms": 507.2},
        {"second": 2, "sent": 1, "on_time_share": 0.0, "e2e_p99_ms": None},
    ]

    failed = rung_table([rung(False, seconds)])
    held = rung_table([rung(True, seconds)])

    assert "1.00/31 0.42/507 0.00/none answered" in failed
    assert "each second of sending" not in held


def test_the_overload_reports_what_each_process_used_per_answer_while_it_was_sent() -> None:
    window = SendWindow(
        phase="overload", rate=4.0, began=100.0, ended=102.0, sent=8, send_errors=0, lag_ms=[]
    )
    phase = [
        Outcome(phase="overload", scheduled=t, sent=t, answered=t + 0.3, status="ok")
        for t in (100.0, 100.25, 100.5, 100.75, 101.0, 101.25, 101.5, 101.75)
    ]
    usage = Usage(
        cpu_ms={"worker": 400.0, "loadgen": 200.0, "gone": None},
        wait_ms={"worker": 100.0, "loadgen": 0.0, "gone": None},
        wall_s=2.0,
        machine_busy_pct=50.0,
        cpus=2,
    )

    summary = summarize_overload(
        window, phase, phase, capacity_per_s=2.0, deadline_ms=200, usage=usage
    )

    # 7 answers arrived while sending (the last one after it ended).
    assert summary["cpu_ms_per_answer"] == {"worker": 57.143, "loadgen": 28.571, "gone": None}
    assert summary["cpu_pct"] == {"worker": 20.0, "loadgen": 10.0, "gone": None}
    assert "worker 57.143 ( 20.0%,  5.0%)" in phase_text("overload", summary)

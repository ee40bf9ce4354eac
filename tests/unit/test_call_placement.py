"""Where a model process calls a model: on its event loop while its calls are quick."""

from __future__ import annotations

from streamapp.core.call_placement import CallPlacement

QUICK, SLOW = 0.001, 0.010


def test_the_first_call_runs_in_a_thread_and_quick_ones_then_on_the_loop() -> None:
    placement = CallPlacement(0.005)
    assert not placement.inline(), "the first call's cost is unknown"
    placement.called(QUICK)
    assert placement.inline()


def test_a_slow_call_sends_the_next_ones_to_threads_until_enough_quick_ones_in_a_row() -> None:
    placement = CallPlacement(0.005, quick_after_slow=3)
    placement.called(QUICK)
    placement.called(SLOW)
    assert not placement.inline()
    placement.called(QUICK)
    placement.called(QUICK)
    assert not placement.inline()
    placement.called(SLOW)  # the count starts again
    for _ in range(2):
        placement.called(QUICK)
    assert not placement.inline()
    placement.called(QUICK)
    assert placement.inline()


def test_a_call_as_long_as_the_threshold_counts_as_slow() -> None:
    placement = CallPlacement(0.005)
    placement.called(0.005)
    assert not placement.inline()


def test_a_threshold_of_zero_keeps_every_call_in_a_thread() -> None:
    placement = CallPlacement(0.0)
    for _ in range(100):
        placement.called(0.0)
    assert not placement.inline()

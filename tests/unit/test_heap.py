"""Settling the heap after start-up: what is alive is frozen out of every collection."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from streamapp.heap import settle_after_start


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_what_start_up_left_is_frozen_and_young_collections_come_less_often() -> None:
    kept_alive = [[n] for n in range(1000)]  # containers a collection would otherwise walk

    frozen = settle_after_start(10_000)

    assert frozen >= len(kept_alive) and gc.get_freeze_count() == frozen
    assert gc.get_threshold()[0] == 10_000
    assert not any(o is kept_alive for o in gc.get_objects()), "frozen: no generation has it"


@pytest.mark.usefixtures("restored_collector")
def test_cyclic_garbage_made_after_start_up_is_still_collected() -> None:
    settle_after_start(0)

    class Node:
        partner: object

    first, second = Node(), Node()
    first.partner, second.partner = second, first
    del first, second
    assert gc.collect() >= 2


@pytest.mark.usefixtures("restored_collector")
def test_full_collections_wait_for_the_old_threshold_and_zero_leaves_a_threshold_alone() -> None:
    young, middle, _ = gc.get_threshold()

    settle_after_start(0, 100)
    assert gc.get_threshold() == (young, middle, 100)

    settle_after_start(5_000, 0)
    assert gc.get_threshold() == (5_000, middle, 100)

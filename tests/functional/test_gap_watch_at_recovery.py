"""After a recovery the gap watch starts from the group's committed offsets, if it can read them."""

from __future__ import annotations

import pytest
from aiokafka.errors import KafkaConnectionError

from streamapp.worker import state, timers


async def test_the_first_record_is_checked_against_the_committed_offset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def committed(*args: object) -> dict[int, int]:
        return {0: 5, 1: 9}

    monkeypatch.setattr(timers, "committed_offsets", committed)
    await timers.resume_from_commits({0})
    assert state.request_offsets.see(0, 7) == (5, 6)
    assert state.request_offsets.see(1, 100) is None, "partition 1 is not this worker's"
    assert state.positions.lag(0) is None, "no fetch yet: the broker has not said how much"


async def test_a_broker_that_cannot_say_leaves_no_baseline_and_recovery_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def unreachable(*args: object) -> dict[int, int]:
        raise KafkaConnectionError()

    monkeypatch.setattr(timers, "committed_offsets", unreachable)
    await timers.resume_from_commits({0})
    assert state.request_offsets.see(0, 100) is None

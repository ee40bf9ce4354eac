"""The event loop the worker and model processes run on: uvloop by default, asyncio's on request."""

from __future__ import annotations

import asyncio
import os
import signal
import threading

import pytest
import uvloop

from streamapp.event_loop import EventLoopChoice, loop_factory, use_for_new_loops
from streamapp.processes.lifecycle import run_until_signalled
from streamapp.settings import Settings


class RecordsItsLoop:
    """A process that notes the loop it ran on, and stops when asked."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopped = threading.Event()
        self._stop: asyncio.Event | None = None

    def stop(self) -> None:
        assert self._stop is not None
        self._stop.set()

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        os.kill(os.getpid(), signal.SIGTERM)  # as a supervisor stops it
        await asyncio.wait_for(self._stop.wait(), timeout=10)
        self.stopped.set()


def test_uvloop_is_the_default_and_asyncio_can_be_chosen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().event_loop == "uvloop"
    monkeypatch.setenv("RENDEZVOUS_EVENT_LOOP", "asyncio")
    assert Settings().event_loop == "asyncio"
    monkeypatch.setenv("RENDEZVOUS_EVENT_LOOP", "trio")
    with pytest.raises(ValueError, match="event_loop"):
        Settings()


@pytest.mark.parametrize(("choice", "on_uvloop"), [("uvloop", True), ("asyncio", False)])
def test_a_model_process_runs_on_the_chosen_loop_and_stops_on_sigterm(
    choice: EventLoopChoice, on_uvloop: bool
) -> None:
    process = RecordsItsLoop()
    run_until_signalled(process, loop=choice)
    assert isinstance(process.loop, uvloop.Loop) is on_uvloop
    assert process.stopped.is_set()


def test_the_worker_loop_is_made_by_the_chosen_policy() -> None:
    try:
        use_for_new_loops("uvloop")
        loop = asyncio.new_event_loop()
        assert isinstance(loop, uvloop.Loop)
        loop.close()
        use_for_new_loops("asyncio")
        loop = asyncio.new_event_loop()
        assert not isinstance(loop, uvloop.Loop)
        loop.close()
    finally:
        asyncio.set_event_loop_policy(None)
    assert loop_factory("asyncio") is None

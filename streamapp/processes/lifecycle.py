"""Running a long-lived process (model, decoy) until SIGINT/SIGTERM, with a bounded shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Protocol

from streamapp import library_logs
from streamapp.event_loop import EventLoopChoice, loop_factory


class Stoppable(Protocol):
    """A process loop that can be asked to stop."""

    def stop(self) -> None:
        """Finish the work in hand and leave."""

    async def run(self) -> None:
        """Work until stopped."""


def run_until_signalled(
    process: Stoppable, *, grace_s: float = 10.0, loop: EventLoopChoice = "asyncio"
) -> None:
    """Run ``process`` on a new event loop of kind ``loop``; a signal asks it to stop, and
    after ``grace_s`` it is cancelled, so a stuck fetch or a hung model cannot keep the process
    alive."""
    library_logs.install()

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        running = asyncio.current_task()

        def shut_down() -> None:
            process.stop()
            if running is not None:
                loop.call_later(grace_s, running.cancel)

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, shut_down)
        await process.run()

    with (
        contextlib.suppress(asyncio.CancelledError),
        asyncio.Runner(loop_factory=loop_factory(loop)) as runner,
    ):
        runner.run(serve())

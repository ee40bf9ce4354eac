"""The event loop the worker and the model processes run on: uvloop, unless set otherwise.

uvloop runs the loop and its sockets in C (libuv). Measured side by side in 800/s holds, the
worker used about 4 % and ``scorecard``'s process about 7 % less CPU per request than on
asyncio's own loop (README, Performance). ``RENDEZVOUS_EVENT_LOOP=asyncio`` keeps asyncio's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Literal

EventLoopChoice = Literal["uvloop", "asyncio"]


def loop_factory(choice: EventLoopChoice) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """What makes a new loop of this kind (None: asyncio's default)."""
    if choice == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return None


def use_for_new_loops(choice: EventLoopChoice) -> None:
    """Make loops created from now on in this process of this kind: for Faust's worker, which
    creates its loop itself (as ``faust -L uvloop`` does)."""
    if choice == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    else:
        asyncio.set_event_loop_policy(None)

"""What handing one fetched message to its stream costs: Faust's ``wait_first`` against the
worker's in-place delivery (``streamapp.worker.eager_delivery``), side by side in one process.

Each round delivers ``--messages`` messages the way Faust's fetch loop does, racing each delivery
against the flow being suspended and yielding to the loop every 100 messages, once each way,
alternating; a task reads the buffer meanwhile, as a stream would, and its reads count too.
Prints the CPU microseconds per message of every round and their medians.

    python -m benchmarks.delivery --messages 50000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from faust.transport.consumer import Consumer
from mode import Service

from streamapp.worker import eager_delivery

WAYS = ("faust", "in place")
#: Faust's fetch loop yields to the event loop every this many messages.
YIELD_EVERY = 100


async def cpu_us_per_message(wait_first: Callable[..., Any], messages: int) -> float:
    """CPU microseconds per message delivered through ``wait_first``."""
    service = Service(loop=asyncio.get_running_loop())
    buffer: asyncio.Queue[int] = asyncio.Queue()
    suspend_flow = asyncio.Event()

    async def deliver(message: int) -> None:
        buffer.put_nowait(message)

    async def stream() -> None:
        while True:
            await buffer.get()

    reading = asyncio.create_task(stream())
    started = time.process_time()
    for message in range(messages):
        if message % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # as Faust's fetch loop does, so the stream reads meanwhile
        await wait_first(service, deliver(message), suspend_flow.wait())
    while not buffer.empty():  # the stream's reads count too
        await asyncio.sleep(0)
    used = time.process_time() - started
    reading.cancel()
    return used / messages * 1e6


async def compare(messages: int, rounds: int) -> dict[str, list[float]]:
    faust_way = Service.wait_first
    eager_delivery.install()
    in_place = Consumer.wait_first
    figures: dict[str, list[float]] = {way: [] for way in WAYS}
    for done in range(rounds):
        for way, wait_first in zip(WAYS, (faust_way, in_place), strict=True):
            figures[way].append(await cpu_us_per_message(wait_first, messages))
        print(
            f"round {done + 1}/{rounds}: "
            + ", ".join(f"{way} {figures[way][-1]:.1f} µs" for way in WAYS),
            flush=True,
        )
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=50_000, help="messages per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each way once per round")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.rounds < 1:
        parser.error("--messages and --rounds must be at least 1")
    figures = asyncio.run(compare(args.messages, args.rounds))
    for way in WAYS:
        print(f"{way}: median {statistics.median(figures[way]):.1f} CPU µs per message")


if __name__ == "__main__":
    main()

"""The worker's end of its statistics-report process (``processes/stats_reports``).

The process starts with the worker and lives as long as it does; one report at a time. If it
has died (killed by an operator, out of memory), the next report starts a new one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Any

from streamapp.processes import stats_reports
from streamapp.processes.stats_reports import FAILED, HEADER, request_parts

log = logging.getLogger(__name__)
#: What the report process runs (``python -m`` it), as it shows in its command line.
REPORT_MODULE = stats_reports.__name__


class ReportFailed(Exception):
    """The report process could not build a report (the message says why)."""


class Reporter:
    """Builds reports in a child process, so that they never hold the worker's event loop."""

    def __init__(self) -> None:
        self._process: asyncio.subprocess.Process | None = None
        self._lock: asyncio.Lock | None = None

    async def build(self, kind: str, **arguments: Any) -> bytes:
        """The JSON body for one request (``kind``: ``local`` or ``report``, with that
        function's arguments); a dead process is started again and asked once more."""
        self._lock = self._lock or asyncio.Lock()
        request = request_parts(kind, arguments)
        async with self._lock:
            try:
                reply = await self._ask_with_one_restart(request)
            except asyncio.CancelledError:  # a reply half read would be taken for the next one
                self._discard()
                raise
            except OSError as error:  # it could not be started at all
                raise ReportFailed(f"the report process could not start: {error}") from error
        if reply[:1] == FAILED:
            raise ReportFailed(reply[1:].decode(errors="replace"))
        return reply[1:]

    async def start(self) -> None:
        """Start the process now (else the first report starts it)."""
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            await self._running()

    async def _ask_with_one_restart(self, request: list[bytes]) -> bytes:
        try:
            return await self._ask(request)
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            log.warning("the statistics report process stopped (%r); starting another", error)
            await self.close()
        try:
            return await self._ask(request)
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            await self.close()
            raise ReportFailed(f"the report process stopped twice: {error!r}") from error

    async def _ask(self, request: list[bytes]) -> bytes:
        process = await self._running()
        assert process.stdin is not None and process.stdout is not None
        for part in request:  # each as it is: joining them would copy the window's buckets
            process.stdin.write(part)
        await process.stdin.drain()
        (length,) = HEADER.unpack(await process.stdout.readexactly(HEADER.size))
        return await process.stdout.readexactly(length)

    async def _running(self) -> asyncio.subprocess.Process:
        if self._process is None or self._process.returncode is not None:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                REPORT_MODULE,
                str(os.getpid()),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
            )
            log.info("statistics reports are built in process %d", self._process.pid)
        return self._process

    def _discard(self) -> None:
        """Kill the process at once (the next report starts another)."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.kill()

    async def close(self) -> None:
        """End the process (it ends when its stdin closes) and wait for it."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout=5)
        except TimeoutError:
            process.kill()
            await process.wait()

    @property
    def pid(self) -> int | None:
        """The report process's pid while it runs."""
        return self._process.pid if self._process and self._process.returncode is None else None

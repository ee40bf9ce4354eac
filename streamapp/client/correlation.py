"""Correlating answers with the calls waiting for them, by request id (the first answer wins)."""

from __future__ import annotations

import asyncio

import orjson

from streamapp.client.answer import Answer, MalformedAnswer


class DuplicateCall(ValueError):
    """A call for this request id is already waiting in this client."""


class Correlator:
    """The calls of one client waiting for answers on its reply topic, one future per id.

    ``deliver`` resolves the waiting call of an answer's request id. Copies of an answer (a
    retry gets the stored answer again), answers for calls that gave up, and messages that are
    not answers are counted and otherwise ignored.
    """

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[Answer]] = {}
        self.delivered = 0
        self.strays = 0
        self.malformed = 0

    def __len__(self) -> int:
        return len(self._waiting)

    def expect(self, request_id: str) -> asyncio.Future[Answer]:
        """A future for the answer to ``request_id`` (DuplicateCall if one already waits)."""
        if request_id in self._waiting:
            raise DuplicateCall(f"a call for request {request_id!r} is already waiting")
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        return future

    def forget(self, request_id: str) -> None:
        """Stop waiting for ``request_id`` (its call returned or gave up)."""
        future = self._waiting.pop(request_id, None)
        if future is not None and not future.done():
            future.cancel()

    def deliver(self, raw: bytes | None) -> bool:
        """Hand an answer (raw JSON) to its waiting call; True if one was waiting."""
        try:
            answer = Answer.from_json(orjson.loads(raw or b""))
        except (orjson.JSONDecodeError, MalformedAnswer):
            self.malformed += 1
            return False
        future = self._waiting.get(answer.request_id)
        if future is None or future.done():
            self.strays += 1
            return False
        future.set_result(answer)
        self.delivered += 1
        return True

    def fail_all(self, error: BaseException) -> None:
        """Fail every waiting call (the reply consumer stopped)."""
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(error)

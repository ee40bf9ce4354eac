"""Messages on the scores topic, single Scores or ScoreBatches, as plain scores to file."""

from __future__ import annotations

from typing import Any, NamedTuple

import pydantic

from streamapp.core.codec import DecodeError, describe, load_json, validator
from streamapp.core.records import Score, ScoreBatch


class Scored(NamedTuple):
    """One model's result for one request, however it came (single or in a batch)."""

    request_id: str
    model: str
    model_version: str
    read_at: float
    finished_at: float
    result: dict[str, Any] | None = None
    error: str | None = None
    replayed: bool = False


def decode_scores(raw: bytes | None) -> list[Scored]:
    """The scores in one message (a ScoreBatch or a single Score), or :class:`DecodeError`.

    A batch is valid or refused as a whole, so a malformed batch is dead-lettered once.
    """
    data = load_json(raw)
    if not isinstance(data, dict):
        raise DecodeError(f"expected a JSON object, got {type(data).__name__}")
    try:
        if "scores" in data:
            batch: Any = validator(ScoreBatch).model_validate(data)
            return [
                Scored(
                    s.request_id,
                    batch.model,
                    batch.model_version,
                    s.read_at,
                    s.finished_at,
                    s.result,
                    s.error,
                    batch.replayed,
                )
                for s in batch.scores
            ]
        one: Any = validator(Score).model_validate(data)
    except pydantic.ValidationError as error:
        raise DecodeError(describe(error)) from None
    return [
        Scored(
            one.request_id,
            one.model,
            one.model_version,
            one.read_at,
            one.finished_at,
            one.result,
            one.error,
            one.replayed,
        )
    ]

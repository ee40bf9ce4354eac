"""Running a model on requests: failures become data, batches fall back to one by one."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from models.base import BatchModel, Model
from streamapp.core.records import Request, Score

#: (result, error) for one payload: exactly one of the two is set.
Outcome = tuple[dict[str, Any] | None, str | None]


def _failure(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def predict_one(model: Model, payload: Mapping[str, Any]) -> Outcome:
    """Run ``predict``; any exception, or a result that is not a dict, becomes the error."""
    try:
        result = model.predict(payload)
        if not isinstance(result, dict):
            raise TypeError(f"predict returned {type(result).__name__}, not a dict")
    except Exception as error:  # the model's failure is data, not a crash
        return None, _failure(error)
    return result, None


def predict_many(model: Model, payloads: Sequence[Mapping[str, Any]]) -> list[Outcome]:
    """Score several payloads: with ``predict_batch`` when the model has it (one vectorised
    call), else one by one. A failing or malformed batch is scored again one by one, so only
    the payloads that fail get an error."""
    if len(payloads) > 1 and isinstance(model, BatchModel):
        try:
            results = model.predict_batch(payloads)
        except Exception:  # fall back below: the failure is per payload
            results = None
        if (
            isinstance(results, list)
            and len(results) == len(payloads)
            and all(isinstance(r, dict) for r in results)
        ):
            return [(result, None) for result in results]
    return [predict_one(model, payload) for payload in payloads]


def score_one(model: Model, name: str, request: Request, read_at: float) -> Score:
    """Run the model on one request; any exception becomes the Score's ``error``."""
    result, error = predict_one(model, request.payload)
    return Score(
        request_id=request.request_id,
        model=name,
        model_version=str(getattr(model, "version", "unknown")),
        read_at=read_at,
        finished_at=time.time(),
        result=result,
        error=error,
    )

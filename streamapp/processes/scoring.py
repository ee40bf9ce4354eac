"""Running a model on requests: failures become data, batches fall back to one by one."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from models.base import BatchModel, Model
from streamapp.core.records import Request, Score

#: (result, error) for one payload: exactly one of the two is set.
Outcome = tuple[dict[str, Any] | None, str | None]


@runtime_checkable
class DeadlineModel(Protocol):
    """A model that scores a batch itself, each request bounded by its deadline, and reports
    each request's failure as data (e.g. a model server's status and body): the OIP adapter."""

    version: str

    def predict_outcomes(
        self, payloads: Sequence[Mapping[str, Any]], deadlines: Sequence[float]
    ) -> list[Outcome]:
        """One (result, error) per payload, in order; ``deadlines`` are epoch seconds."""
        ...


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


def _outcomes_within(
    model: DeadlineModel, payloads: Sequence[Mapping[str, Any]], deadlines: Sequence[float]
) -> list[Outcome]:
    """``predict_outcomes``, with a raise or a malformed answer as every payload's error."""
    try:
        outcomes = model.predict_outcomes(payloads, deadlines)
    except Exception as error:  # the model's failure is data, not a crash
        return [(None, _failure(error))] * len(payloads)
    if isinstance(outcomes, list) and len(outcomes) == len(payloads):
        return outcomes
    return [(None, "predict_outcomes returned a malformed answer")] * len(payloads)


def predict_many(
    model: Model,
    payloads: Sequence[Mapping[str, Any]],
    deadlines: Sequence[float] | None = None,
) -> list[Outcome]:
    """Score several payloads: with ``predict_batch`` when the model has it (one vectorised
    call), else one by one. A failing or malformed batch is scored again one by one, so only
    the payloads that fail get an error. A model that takes deadlines (``DeadlineModel``) gets
    each request's deadline (epoch seconds) when they are known."""
    if deadlines is not None and isinstance(model, DeadlineModel):
        return _outcomes_within(model, payloads, deadlines)
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

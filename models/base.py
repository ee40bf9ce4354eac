"""The Model protocol: what the generic model process needs from a model class."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable


class ModelInputError(ValueError):
    """The payload does not fit the model (missing or wrong feature); becomes a Score error."""


@runtime_checkable
class Model(Protocol):
    """A model scores one request payload; ``version`` names the artifact that did it.

    Register the class under the ``rendezvous.models`` entry-point group; the model process
    instantiates it with no arguments and calls ``predict`` once per request, in a thread.

    Optional class attributes: ``quick_calls = True`` says a call only computes, for well under
    a few milliseconds (no I/O, no locks, nothing that can hang), so the model process may call
    it on its event loop, which is cheaper (``streamapp.core.call_placement``);
    ``in_process = True`` says it takes microseconds, so the worker may run it itself as the
    backstop.
    """

    version: str

    def predict(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Return the result object for one payload, or raise to report an error."""
        ...


@runtime_checkable
class BatchModel(Model, Protocol):
    """A model that can also score several payloads at once (vectorised), which is cheaper.

    The model process calls ``predict_batch`` with the requests it read together, in order. If
    it raises, each payload is scored alone with ``predict``, so one bad payload fails alone.
    """

    def predict_batch(self, payloads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """One result object per payload, in order."""
        ...


def features(payload: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, float]:
    """Pick numeric features by name from ``payload["features"]``, with clear errors."""
    raw = payload.get("features")
    if not isinstance(raw, Mapping):
        raise ModelInputError("payload.features must be an object of numbers")
    picked: dict[str, float] = {}
    for name in names:
        value = raw.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ModelInputError(f"payload.features[{name!r}] must be a number")
        picked[name] = float(value)
    return picked

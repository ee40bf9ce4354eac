"""Models the worker runs itself as each mailbox opens: the backstop, as a guarantee.

A backstop that runs as a separate process races the deadline like any model: Kafka lag or a
paused process can leave a mailbox without it. Run in the worker, its result is in the mailbox
from the start, as if it had reached Kafka with the request. Only models that declare
``in_process = True`` may run here: they must take microseconds and never block.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from models.base import Model
from streamapp.core.mailbox import Arrived
from streamapp.processes.model import load_model
from streamapp.processes.scoring import predict_one

log = logging.getLogger(__name__)


class NotInProcessError(TypeError):
    """The model does not declare that it may run inside the worker."""


def load_in_process(names: list[str]) -> dict[str, Model]:
    """Load the named entry-point models, refusing any not marked ``in_process``."""
    loaded = {}
    for name in names:
        model = load_model(name)
        if not getattr(model, "in_process", False):
            raise NotInProcessError(
                f"model {name!r} is not marked in_process = True; only a model that takes "
                "microseconds and never blocks may run inside the worker"
            )
        loaded[name] = model
    return loaded


def run_all(
    models: Mapping[str, Model], payload: Mapping[str, Any], entered_ms: int
) -> list[Arrived]:
    """Score a payload with every in-process model; a failure is that model's error."""
    arrived = []
    for name, model in models.items():
        started = time.time()
        result, error = predict_one(model, payload)
        arrived.append(
            Arrived(
                model=name,
                model_version=str(getattr(model, "version", "unknown")),
                arrived_ms=entered_ms,
                read_at=started,
                finished_at=time.time(),
                result=result,
                error=error,
            )
        )
    return arrived

"""Fault injection for demos and tests: latency from a distribution, errors, hangs, crashes.

A ``FaultPlan`` is pure and seeded: it decides, per request, how long to add, whether to fail
or hang, and when the process should crash. ``FaultyModel`` applies it around a real model.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from models.base import Model

#: Exit code of a model process that crashes on purpose.
CRASH_EXIT_CODE = 70


class InjectedError(RuntimeError):
    """The error a fault plan injects (it becomes the Score's ``error``)."""


@dataclass(frozen=True)
class Latency:
    """A latency distribution in milliseconds: fixed, uniform, normal or lognormal."""

    kind: str = "fixed"
    a: float = 0.0
    b: float = 0.0

    @classmethod
    def parse(cls, spec: str) -> Latency:
        """``fixed:MS``, ``uniform:LO:HI``, ``normal:MEAN:SD`` or ``lognormal:MEDIAN:SIGMA``."""
        kind, _, rest = spec.partition(":")
        arity = {"fixed": 1, "uniform": 2, "normal": 2, "lognormal": 2}
        try:
            numbers = [float(part) for part in rest.split(":")] if rest else []
        except ValueError:
            numbers = []
        if kind not in arity or len(numbers) != arity[kind] or any(n < 0 for n in numbers):
            raise ValueError(
                f"latency {spec!r}: use fixed:MS, uniform:LO:HI, normal:MEAN:SD "
                "or lognormal:MEDIAN:SIGMA with non-negative numbers"
            )
        return cls(kind, numbers[0], numbers[1] if len(numbers) > 1 else 0.0)

    def draw_ms(self, rng: random.Random) -> float:
        """One latency in milliseconds (never negative)."""
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b)
        if self.kind == "normal":
            return max(0.0, rng.gauss(self.a, self.b))
        if self.kind == "lognormal":
            return self.a * rng.lognormvariate(0.0, self.b)
        return self.a


@dataclass(frozen=True)
class Fault:
    """What happens to one request."""

    delay_ms: float = 0.0
    error: bool = False
    hang: bool = False
    crash: bool = False


@dataclass
class FaultPlan:
    """Seeded per-process plan: each call to ``next`` decides the next request's fault."""

    latency: Latency = field(default_factory=Latency)
    error_rate: float = 0.0
    hang_rate: float = 0.0
    crash_after: int | None = None
    seed: int = 0
    served: int = 0

    def __post_init__(self) -> None:
        for name in ("error_rate", "hang_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.crash_after is not None and self.crash_after < 1:
            raise ValueError("crash_after must be at least 1")
        self._rng = random.Random(self.seed)

    @property
    def active(self) -> bool:
        """True if this plan injects anything."""
        return bool(self.latency.a or self.error_rate or self.hang_rate or self.crash_after)

    def next(self) -> Fault:
        """Decide the next request's fault."""
        self.served += 1
        if self.crash_after is not None and self.served > self.crash_after:
            return Fault(crash=True)
        return Fault(
            delay_ms=self.latency.draw_ms(self._rng),
            error=self._rng.random() < self.error_rate,
            hang=self._rng.random() < self.hang_rate,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> FaultPlan:
        """``RENDEZVOUS_FAULT_LATENCY``, ``_ERROR_RATE``, ``_HANG_RATE``, ``_CRASH_AFTER``,
        ``_SEED``."""
        crash = environ.get("RENDEZVOUS_FAULT_CRASH_AFTER")
        return cls(
            latency=Latency.parse(environ.get("RENDEZVOUS_FAULT_LATENCY", "fixed:0")),
            error_rate=float(environ.get("RENDEZVOUS_FAULT_ERROR_RATE", "0")),
            hang_rate=float(environ.get("RENDEZVOUS_FAULT_HANG_RATE", "0")),
            crash_after=int(crash) if crash else None,
            seed=int(environ.get("RENDEZVOUS_FAULT_SEED", "0")),
        )


class FaultyModel:
    """A model with faults injected; runs in the model process's worker thread."""

    def __init__(self, model: Model, plan: FaultPlan, *, hang_s: float = 3600.0) -> None:
        self.model = model
        self.plan = plan
        self.hang_s = hang_s
        self.version = model.version
        self.role = getattr(model, "role", "model")

    def predict(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The real prediction, delayed, failed, hung or crashed as the plan says."""
        fault = self.plan.next()
        if fault.crash:
            os._exit(CRASH_EXIT_CODE)  # a crash, not a clean exit: no group leave, no flush
        if fault.hang:
            time.sleep(self.hang_s)
        if fault.delay_ms:
            time.sleep(fault.delay_ms / 1000)
        if fault.error:
            raise InjectedError("injected fault")
        return self.model.predict(payload)

"""The choice of the official answer: a pure function of a mailbox, the registry and the time.

Rules, in order (the first that fires names the answer's ``rule``):

``top_priority``  the highest-priority live model has a result: answer at once.
``step_<i>``      the i-th schedule step has opened (``after_ms`` since the request) and a
                  live model of priority >= its ``min_priority`` has a result.
``all_answered``  every live model has answered (result or error): no reason to wait.
``deadline``      the deadline has come: the best live non-backstop result wins,
``backstop``      else a backstop's result,
``no_result``     else no answer, with the reason.

Shadow and off models never win; unknown models are shadow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

LIVE, SHADOW, OFF = "live", "shadow", "off"
STATES = (LIVE, SHADOW, OFF)


@dataclass(frozen=True)
class ModelRule:
    """How the policy treats one model."""

    state: str = SHADOW
    priority: int = 0
    backstop: bool = False


@dataclass(frozen=True)
class ScheduleStep:
    """After ``after_ms`` from the request, accept live models of priority >= ``min_priority``."""

    after_ms: int
    min_priority: int


@dataclass(frozen=True)
class Registry:
    """The models the policy knows, the schedule, and the version every change bumps."""

    models: Mapping[str, ModelRule] = field(default_factory=dict)
    steps: tuple[ScheduleStep, ...] = ()
    version: int = 1

    def rule_for(self, model: str) -> ModelRule:
        """Return a model's rule; an unregistered model is shadow."""
        return self.models.get(model, ModelRule())


@dataclass(frozen=True)
class Offer:
    """A model's answer as the policy sees it."""

    model: str
    arrived_ms: int
    ok: bool


@dataclass(frozen=True)
class Choice:
    """The policy's verdict: the winning model (None for no_result), the rule, and a reason."""

    model: str | None
    rule: str
    reason: str | None = None


def _best(offers: Iterable[Offer], registry: Registry) -> Offer | None:
    """Highest priority first, then earliest arrival."""
    ranked = sorted(offers, key=lambda o: (-registry.rule_for(o.model).priority, o.arrived_ms))
    return ranked[0] if ranked else None


def choose(
    offers: Iterable[Offer], registry: Registry, *, opened_ms: int, deadline_ms: int, now_ms: int
) -> Choice | None:
    """Pick the official answer now, or return None to keep waiting."""
    live = {name: rule for name, rule in registry.models.items() if rule.state == LIVE}
    live_offers = [o for o in offers if o.model in live]
    results = [o for o in live_offers if o.ok]
    preferred = [rule.priority for rule in live.values() if not rule.backstop]
    if preferred:
        top = max(preferred)
        winner = _best(
            (o for o in results if not live[o.model].backstop and live[o.model].priority >= top),
            registry,
        )
        if winner:
            return Choice(winner.model, "top_priority")
    elapsed = now_ms - opened_ms
    for index, step in enumerate(registry.steps):
        if elapsed >= step.after_ms:
            accepted = (
                o
                for o in results
                if live[o.model].priority >= step.min_priority and not live[o.model].backstop
            )
            winner = _best(accepted, registry)
            if winner:
                return Choice(winner.model, f"step_{index}")
    all_answered = bool(live) and set(live) <= {o.model for o in live_offers}
    if now_ms < deadline_ms and not all_answered:
        return None
    rule = "deadline" if now_ms >= deadline_ms else "all_answered"
    winner = _best((o for o in results if not live[o.model].backstop), registry)
    if winner:
        return Choice(winner.model, rule)
    winner = _best(results, registry)
    if winner:
        return Choice(winner.model, "backstop")
    if not live:
        reason = "no model is deployed"
    elif live_offers:
        failed = ", ".join(sorted(o.model for o in live_offers))
        reason = f"every deployed model that answered failed ({failed})"
    else:
        reason = "no deployed model answered by the deadline"
    return Choice(None, "no_result", reason)


def next_wakeup(registry: Registry, *, opened_ms: int, deadline_ms: int, now_ms: int) -> int:
    """The next time at which the passing of time alone could change the choice."""
    upcoming = [
        opened_ms + step.after_ms
        for step in registry.steps
        if now_ms < opened_ms + step.after_ms < deadline_ms
    ]
    return min(upcoming, default=deadline_ms)

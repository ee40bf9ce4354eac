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

With ``random_split`` on, equally acceptable answers (same best priority) are split by weight,
with a draw seeded by the request id: a replay of the same request makes the same choice. For
the top-priority tier the pick is made up front, and the answer goes out as soon as the picked
model has answered (an A/B split that never waits for the other arm).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import NamedTuple

LIVE, SHADOW, OFF = "live", "shadow", "off"
STATES = (LIVE, SHADOW, OFF)


@dataclass(frozen=True)
class ModelRule:
    """How the policy treats one model."""

    state: str = SHADOW
    priority: int = 0
    backstop: bool = False
    weight: float = 1.0


#: The rule of a model the registry does not name (built once: rule_for runs per score).
UNREGISTERED = ModelRule()


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
    random_split: bool = False

    def rule_for(self, model: str) -> ModelRule:
        """Return a model's rule; an unregistered model is shadow."""
        return self.models.get(model, UNREGISTERED)

    # A registry never changes once made (a change makes a new one), so what the policy
    # derives from it is derived once, not for every decision.

    @cached_property
    def live(self) -> Mapping[str, ModelRule]:
        """The live models and their rules."""
        return {name: rule for name, rule in self.models.items() if rule.state == LIVE}

    @cached_property
    def top_tier(self) -> tuple[str, ...]:
        """The live non-backstop models of the highest priority among them (none: empty)."""
        preferred = {n: r.priority for n, r in self.live.items() if not r.backstop}
        top = max(preferred.values(), default=None)
        return tuple(n for n, priority in preferred.items() if priority == top)

    def with_live(self, model: str) -> Registry:
        """This registry with ``model`` live at its own priority ("had it been deployed")."""
        made = self._with_live.get(model)
        if made is None:
            rule = replace(self.rule_for(model), state=LIVE)
            made = self._with_live[model] = replace(self, models={**self.models, model: rule})
        return made

    @cached_property
    def _with_live(self) -> dict[str, Registry]:
        return {}


class Offer(NamedTuple):
    """A model's answer as the policy sees it."""

    model: str
    arrived_ms: int
    ok: bool


class Choice(NamedTuple):
    """The policy's verdict: the winning model (None for no_result), the rule, and a reason."""

    model: str | None
    rule: str
    reason: str | None = None


def draw(request_id: str) -> float:
    """A number in [0, 1) fixed by the request id (the seed of every random choice)."""
    digest = hashlib.blake2b(request_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def weighted_pick(request_id: str, names: Sequence[str], registry: Registry) -> str | None:
    """Pick one name by weight, reproducibly for a request id; None if no weight is positive."""
    ordered = sorted(n for n in names if registry.rule_for(n).weight > 0)
    total = sum(registry.rule_for(n).weight for n in ordered)
    if not ordered:
        return None
    point, cumulative = draw(request_id) * total, 0.0
    for name in ordered:
        cumulative += registry.rule_for(name).weight
        if point < cumulative:
            return name
    return ordered[-1]


def _best(offers: Iterable[Offer], registry: Registry, request_id: str = "") -> Offer | None:
    """Highest priority first; among equals the earliest, or a weighted draw if splitting."""
    ranked = sorted(offers, key=lambda o: (-registry.rule_for(o.model).priority, o.arrived_ms))
    if not ranked:
        return None
    top = registry.rule_for(ranked[0].model).priority
    tied = [o for o in ranked if registry.rule_for(o.model).priority == top]
    if registry.random_split and len(tied) > 1:
        picked = weighted_pick(request_id, [o.model for o in tied], registry)
        return next((o for o in tied if o.model == picked), ranked[0])
    return ranked[0]


def choose(
    offers: Iterable[Offer],
    registry: Registry,
    *,
    opened_ms: int,
    deadline_ms: int,
    now_ms: int,
    request_id: str = "",
) -> Choice | None:
    """Pick the official answer now, or return None to keep waiting."""
    live = registry.live
    live_offers = [o for o in offers if o.model in live]
    results = [o for o in live_offers if o.ok]
    tier: Sequence[str] = registry.top_tier
    if tier:
        if registry.random_split and len(tier) > 1:
            tier = [weighted_pick(request_id, tier, registry) or min(tier)]
        winner = _best((o for o in results if o.model in tier), registry, request_id)
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
            winner = _best(accepted, registry, request_id)
            if winner:
                return Choice(winner.model, f"step_{index}")
    all_answered = bool(live) and set(live) <= {o.model for o in live_offers}
    if now_ms < deadline_ms and not all_answered:
        return None
    rule = "deadline" if now_ms >= deadline_ms else "all_answered"
    winner = _best((o for o in results if not live[o.model].backstop), registry, request_id)
    if winner:
        return Choice(winner.model, rule)
    winner = _best(results, registry, request_id)
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


def outranks(registry: Registry, winner: str, model: str) -> bool:
    """True if ``winner``'s result, when it has one, is preferred over ``model``'s by every
    rule, even with ``model`` live: ``winner`` is live, not a backstop, and of a higher priority
    (or ``model`` is a backstop, whose result counts only when no other live model has one)."""
    preferred = registry.live.get(winner)
    if preferred is None or preferred.backstop:
        return False
    rule = registry.rule_for(model)
    return rule.backstop or rule.priority < preferred.priority


def next_wakeup(registry: Registry, *, opened_ms: int, deadline_ms: int, now_ms: int) -> int:
    """The next time at which the passing of time alone could change the choice."""
    upcoming = [
        opened_ms + step.after_ms
        for step in registry.steps
        if now_ms < opened_ms + step.after_ms < deadline_ms
    ]
    return min(upcoming, default=deadline_ms)

"""The shortcuts that spare the policy a call agree with the policy, on random cases.

A shadow score filed while the policy waits is not shown to it (``still_waiting``), and the
statistics know without it that a shadow model ranked below the winner would not have won.
Both are checked here against the policy itself, over seeded random registries (live, shadow
and off models, backstops, schedule steps, random splits, registry changes) and events.
"""

from __future__ import annotations

import random

from streamapp.core.mailbox import Arrived, Mailbox, choose_for, offers, still_waiting, wake_time
from streamapp.core.policy import ModelRule, Registry, ScheduleStep, choose
from streamapp.core.rendezvous import Opening, Rendezvous
from streamapp.stats.observations import would_have_won

T0 = 1_800_000_000_000
MODELS = ("a", "b", "c", "d", "e")


def random_registry(rng: random.Random, version: int) -> Registry:
    models = {}
    for name in MODELS:
        state = rng.choice(["live", "live", "shadow", "off", None])
        if state is not None:
            models[name] = ModelRule(
                state, rng.randint(0, 3), backstop=rng.random() < 0.2, weight=rng.choice([0, 1, 2])
            )
    steps = sorted((rng.randint(1, 150), rng.randint(0, 3)) for _ in range(rng.randint(0, 2)))
    return Registry(
        models=models,
        steps=tuple(ScheduleStep(after, priority) for after, priority in steps),
        version=version,
        random_split=rng.random() < 0.3,
    )


def random_score(rng: random.Random, model: str, at_ms: int) -> Arrived:
    result = {"score": rng.random()} if rng.random() < 0.85 else None
    return Arrived(model, "1", at_ms, 0.0, 0.001, result, None if result else "failed")


def test_a_shadow_score_kept_from_the_policy_is_one_it_would_have_waited_on() -> None:
    kept_from_it = 0
    for seed in range(400):
        rng = random.Random(seed)
        registry = random_registry(rng, 1)
        rendezvous = Rendezvous(lookup=lambda p, r: None)
        now = T0
        for event in range(40):
            now += rng.randint(0, 30)
            if rng.random() < 0.05:
                registry = random_registry(rng, registry.version + 1)
            request_id = f"r{rng.randint(0, 4)}"
            if rng.random() < 0.25:
                opening = Opening(request_id, 0, event, now, now + rng.randint(50, 200), "t", "d")
                rendezvous.open_request(opening, registry, now_ms=now, scores_at_ms=now, hold=None)
                continue
            model = rng.choice(MODELS)
            mailbox = rendezvous.open.get((0, request_id))
            shortcut = (
                mailbox is not None
                and not mailbox.has_score_of(model)  # a duplicate is only counted
                and still_waiting(mailbox, model, registry, now)
            )
            effects = rendezvous.file_score(
                0,
                request_id,
                random_score(rng, model, now),
                registry,
                now_ms=now,
                scores_at_ms=now,
                hold=None,
            )
            if shortcut and mailbox is not None:
                kept_from_it += 1
                assert effects.closed == [] and effects.wakes == []
                assert choose_for(mailbox, registry, at_ms=now) is None, (seed, event)
                assert wake_time(mailbox, registry, now) == mailbox.waiting_until_ms
    assert kept_from_it > 200, "the random cases reach the shortcut"


def random_closed_mailbox(rng: random.Random, registry: Registry) -> Mailbox | None:
    rendezvous = Rendezvous(lookup=lambda p, r: None)
    opening = Opening("q", 0, 0, T0, T0 + 200, "t", "d")
    effects = rendezvous.open_request(opening, registry, now_ms=T0, scores_at_ms=T0, hold=None)
    now = T0
    for model in rng.sample(MODELS, rng.randint(0, len(MODELS))):
        if effects.closed:
            break
        now += rng.randint(0, 80)
        if now >= T0 + 200:
            break
        effects = rendezvous.file_score(
            0, "q", random_score(rng, model, now), registry, now_ms=now, scores_at_ms=now, hold=None
        )
    if not effects.closed:
        effects = rendezvous.on_due((0, "q"), registry, now_ms=T0 + 200, scores_at_ms=T0 + 200)
    return effects.closed[0].mailbox if effects.closed else None


def test_would_have_won_says_what_the_policy_says_with_the_model_live() -> None:
    cases = won = 0
    for seed in range(3000):
        rng = random.Random(seed)
        registry = random_registry(rng, 1)
        mailbox = random_closed_mailbox(rng, registry)
        assert mailbox is not None and mailbox.decision is not None
        counted_under = registry if rng.random() < 0.7 else random_registry(rng, 2)
        decided = mailbox.decision
        for model in MODELS:
            choice = choose(
                offers(mailbox, until_ms=decided.at_ms),
                counted_under.with_live(model),
                opened_ms=mailbox.opened_ms,
                deadline_ms=mailbox.deadline_ms,
                now_ms=decided.at_ms,
                request_id=mailbox.request_id,
            )
            policy_says = choice is not None and choice.model == model
            assert would_have_won(mailbox, counted_under, model) == policy_says, (seed, model)
            cases += 1
            won += policy_says
    assert cases == 15_000 and won > 1000

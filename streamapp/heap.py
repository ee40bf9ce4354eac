"""Short garbage-collector pauses for long-running processes (the worker, model processes).

CPython's full collection walks every container object that is still tracked. A started worker
holds about 100,000 of them that live as long as it does (Faust, aiokafka, the models, the
modules themselves), and under load a full collection every few seconds took 90 to 130 ms,
found nothing to free, and held up every answer due meanwhile: the p99 of the rendezvous. Once
a process has started, its start-up objects move to the permanent generation (``gc.freeze``),
which no collection walks: the pauses fell to 45 to 65 ms. Cyclic garbage is still collected;
only the objects alive at start-up are never walked again. How often the youngest generation is
collected stays CPython's 700 allocations unless ``RENDEZVOUS_GC_YOUNG_THRESHOLD`` says
otherwise (fewer young collections let fewer short-lived objects reach the oldest one).
"""

from __future__ import annotations

import gc


def settle_after_start(young_threshold: int) -> int:
    """Collect the start-up garbage, freeze what is left, and collect the youngest generation
    every ``young_threshold`` allocations (0: leave the threshold alone). Returns how many
    objects were frozen."""
    gc.collect()
    gc.freeze()
    if young_threshold > 0:
        _, middle, old = gc.get_threshold()
        gc.set_threshold(young_threshold, middle, old)
    return gc.get_freeze_count()

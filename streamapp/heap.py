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

What is left to walk is mostly what lives for seconds: a worker at 800 requests/s keeps the last
10 s of closed mailboxes (for retries and late scores), about 56,000 tracked objects, and they
keep moving into the oldest generation as they age. With CPython's 10 middle collections per
full one, a full collection came every 8 s and took 60 to 73 ms (31 to 66 ms of CPU), freeing
nothing (they go by reference count when they are forgotten). A full collection now waits for
``RENDEZVOUS_GC_OLD_THRESHOLD`` middle collections (100: none came in a 40 s hold at that rate);
cyclic garbage that reached the oldest generation waits that long to be freed.
"""

from __future__ import annotations

import gc


def settle_after_start(young_threshold: int, old_threshold: int = 0) -> int:
    """Collect the start-up garbage, freeze what is left, collect the youngest generation every
    ``young_threshold`` allocations and the oldest after ``old_threshold`` collections of the
    middle one (0: leave that threshold alone). Returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold or young, middle, old_threshold or old)
    return gc.get_freeze_count()

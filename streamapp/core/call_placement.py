"""Where a model process runs a model's calls: on its event loop while they are quick, in the
model's own threads once one is slow.

A call in a thread is handed over twice: to the thread, which must be woken and take the
interpreter lock, and back to the event loop, which must be woken in turn. For a model whose
call takes a fraction of a millisecond, those hand-overs cost more than the call. Measured on a
2-core VM at 400 requests/s (three alternating 30 s runs each way, the whole system on it),
``linear`` (calls of 1.4 to 2.6 ms) used 0.23 to 0.45 CPU-ms per request instead of 0.66 to
0.72, and ``scorecard`` 0.39 to 0.44 instead of 0.43 to 0.48.

While a call runs on the loop, nothing else in that process does: no fetch, no send, no
heartbeat to its consumer group, no shutdown. So only a model that says its calls just compute,
briefly (``quick_calls = True``: no I/O, no locks), is called there, and only once its latest
calls each took less than ``inline_below_s`` of CPU: its first call, of unknown cost, runs in a
thread, and a slow call sends the next ones back to threads until ``quick_after_slow`` quick
calls in a row have come again. A call is timed by its thread's CPU time, not the wall clock: on
a busy machine a call's wall time includes waiting for a CPU, which a thread does not spare.
Any other model is always called in its threads, so a call of it that hangs never holds up the
process.

Pure: call durations in, where to run the next call out.
"""

from __future__ import annotations

#: Quick calls in a row (in threads) before a model that had a slow call is called on the
#: event loop again.
QUICK_AFTER_SLOW = 50


class CallPlacement:
    """Decides, call by call, whether one model is called on the event loop or in a thread."""

    def __init__(self, inline_below_s: float, quick_after_slow: int = QUICK_AFTER_SLOW) -> None:
        self.inline_below_s = inline_below_s
        self.quick_after_slow = quick_after_slow
        self._quick_in_a_row = 0
        self._quick_needed = 1  # the first call runs in a thread

    def inline(self) -> bool:
        """Call on the event loop: the latest calls were all quick (never, with a threshold 0)."""
        return self.inline_below_s > 0 and self._quick_in_a_row >= self._quick_needed

    def called(self, seconds: float) -> None:
        """A call took ``seconds`` of CPU, wherever it ran."""
        if seconds < self.inline_below_s:
            self._quick_in_a_row += 1
        else:
            self._quick_in_a_row = 0
            self._quick_needed = self.quick_after_slow

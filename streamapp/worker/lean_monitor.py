"""Faust's Monitor sensor, kept to what Faust itself reads: when each partition's stream last
took an event.

Faust calls its Monitor for every message fetched, every event a stream takes and finishes,
every record produced and every table access, and the Monitor counts each by topic, stream and
task and times it (about 7 µs per event on a 2-core VM, against 2 µs for these hooks). Nothing
in the rendezvous reads those counters: its own figures are in ``/metrics`` and ``/v1/stats``,
and Faust's pages that show them (``/stats/``, the ``/performance`` blueprint) are off. Faust's
consumer does read ``stream_inbound_time`` to log a partition whose stream stopped taking
events, so that one is kept. Set as the app's ``Monitor`` (``streamapp.app``).
"""

from __future__ import annotations

from time import monotonic
from typing import Any

from faust.sensors import Monitor


class LeanMonitor(Monitor):
    """Records when each partition's stream last took an event; counts nothing else."""

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        """Nothing: Faust's per-message counters are not read."""

    def on_stream_event_in(self, tp: Any, offset: int, stream: Any, event: Any) -> None:
        """When the partition's stream last took an event (Faust's stall check reads it)."""
        self.stream_inbound_time[tp] = monotonic()

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: Any = None
    ) -> None:
        """Nothing: event run times are not read."""

    def on_message_out(self, tp: Any, offset: int, message: Any) -> None:
        """Nothing."""

    def on_table_get(self, table: Any, key: Any) -> None:
        """Nothing."""

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        """Nothing."""

    def on_table_del(self, table: Any, key: Any) -> None:
        """Nothing."""

    def on_send_initiated(
        self, producer: Any, topic: str, message: Any, keysize: int, valsize: int
    ) -> None:
        """Nothing: per-topic send counts are not read."""

    def on_send_completed(self, producer: Any, state: Any, metadata: Any) -> None:
        """Nothing."""

    def on_send_error(self, producer: Any, exc: BaseException, state: Any) -> None:
        """Nothing: a failed send is logged and counted where it is handled."""

    def track_tp_end_offset(self, tp: Any, offset: int) -> None:
        """Nothing: the worker reads lag from its consumer (``/health``, ``/metrics``)."""

"""The worker's Faust Monitor keeps only when each partition's stream last took an event."""

from __future__ import annotations

import time
from typing import Any

from faust.sensors.base import SensorDelegate
from faust.types import TP

from streamapp.app import app
from streamapp.worker.lean_monitor import LeanMonitor


class Stream:
    """What Faust's Monitor reads of a stream (its name and the task that owns it)."""

    class Owner:
        pass

    task_owner = Owner()


class Message:
    time_in: Any = None
    time_out: Any = None
    time_total: Any = None


def one_event_through(sensors: SensorDelegate, tp: TP) -> None:
    """The calls Faust's conductor, stream and acks make for one fetched message."""
    message, stream = Message(), Stream()
    sensors.on_message_in(tp, 7, message)  # type: ignore[arg-type]
    state = sensors.on_stream_event_in(tp, 7, stream, None)  # type: ignore[arg-type]
    sensors.on_stream_event_out(tp, 7, stream, None, state)  # type: ignore[arg-type]
    sensors.on_message_out(tp, 7, message)  # type: ignore[arg-type]


def test_the_worker_app_runs_the_lean_monitor() -> None:
    assert isinstance(app.monitor, LeanMonitor)


def test_an_event_records_when_its_partition_last_took_one_and_counts_nothing() -> None:
    monitor = LeanMonitor()
    sensors = SensorDelegate(app)
    sensors.add(monitor)
    tp = TP("rendezvous-requests", 2)
    before = time.monotonic()
    one_event_through(sensors, tp)
    # Faust's consumer compares this with the partition's lag to log a stalled stream
    assert before <= monitor.stream_inbound_time[tp] <= time.monotonic()
    assert (monitor.messages_received_total, monitor.events_total) == (0, 0)
    monitor.track_tp_end_offset(tp, 100)
    assert monitor.tp_end_offsets == {}

"""The Faust recovery fix: stream partitions resume after the seek and the flow resume."""

from __future__ import annotations

from faust.tables.recovery import Recovery

from streamapp.worker import recovery_patch as recovery_order
from streamapp.worker.recovery_patch import streams_held_until_flow_resumes


class RecordingConsumer:
    """Records the calls Faust's recovery makes on its consumer, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, frozenset[str]]] = []

    def resume_partitions(self, partitions: set[str]) -> None:
        self.calls.append(("resume_partitions", frozenset(partitions)))

    def resume_flow(self) -> None:
        self.calls.append(("resume_flow", frozenset()))

    def perform_seek(self) -> None:
        self.calls.append(("seek", frozenset()))


def faust_end_of_recovery(consumer: RecordingConsumer) -> None:
    """The order of calls at the end of faust-streaming's ``on_recovery_completed``."""
    consumer.resume_partitions({"requests-0", "scores-0"})
    consumer.perform_seek()
    consumer.resume_flow()


def test_stream_partitions_resume_only_after_the_seek_and_the_flow_resume() -> None:
    consumer = RecordingConsumer()
    with streams_held_until_flow_resumes(consumer):
        faust_end_of_recovery(consumer)
    assert consumer.calls == [
        ("seek", frozenset()),
        ("resume_flow", frozenset()),
        ("resume_partitions", frozenset({"requests-0", "scores-0"})),
    ]


def test_without_a_flow_resume_held_partitions_stay_paused_and_methods_are_restored() -> None:
    consumer = RecordingConsumer()
    with streams_held_until_flow_resumes(consumer) as held:
        consumer.resume_partitions({"requests-1"})
    assert held == {"requests-1"} and consumer.calls == []
    consumer.resume_partitions({"requests-2"})
    assert consumer.calls == [("resume_partitions", frozenset({"requests-2"}))]


def test_install_wraps_faust_once() -> None:
    recovery_order.install()
    wrapped = Recovery.on_recovery_completed
    recovery_order.install()
    assert Recovery.on_recovery_completed is wrapped
    assert getattr(wrapped, "_rendezvous_holds_streams", False)

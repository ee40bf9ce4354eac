"""GapWatch: a skipped offset is reported with its range; redelivery is not a gap."""

from streamapp.worker.gap_watch import GapWatch


def test_consecutive_offsets_and_redelivery_are_not_gaps() -> None:
    watch = GapWatch()
    assert [watch.see(0, offset) for offset in (5, 6, 7, 3, 4, 5)] == [None] * 6


def test_a_jump_reports_the_offsets_never_seen_per_partition() -> None:
    watch = GapWatch()
    watch.see(0, 10)
    watch.see(1, 10)
    assert watch.see(0, 14) == (11, 13)
    assert watch.see(1, 11) is None


def test_after_a_reset_the_first_offset_is_a_new_start() -> None:
    watch = GapWatch()
    watch.see(0, 10)
    watch.reset()
    assert watch.see(0, 50) is None


def test_from_committed_offsets_a_late_first_record_is_a_gap() -> None:
    watch = GapWatch()
    watch.reset({0: 40, 1: 7})
    assert watch.see(0, 40) is None
    assert watch.see(1, 9) == (7, 8)
    assert watch.see(2, 100) is None, "no commit known for partition 2: no baseline"

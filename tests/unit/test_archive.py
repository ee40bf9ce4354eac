"""The decoy archive: segment names, rotation, the size bound, exact bytes, reading, replay core."""

from __future__ import annotations

import gzip
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from models.scorecard import Scorecard
from streamapp.archive.format import (
    ArchivedRequest,
    ArchiveError,
    find_segments,
    from_line,
    in_time_order,
    read_archive,
    read_segment,
    segment_name,
    segment_order,
    segments_to_delete,
    should_rotate,
    to_line,
)
from streamapp.archive.writer import ArchiveWriter
from streamapp.cli.archive import decoy, replay
from streamapp.core.records import Request
from streamapp.processes.replay import compare, due_in, replayed_score


def archived(
    offset: int, *, partition: int = 0, ts: int | None = None, value: bytes = b""
) -> ArchivedRequest:
    """A request as the decoy would record it; the value defaults to a small JSON body."""
    body = value or json.dumps({"request_id": f"r-{offset}", "payload": {"n": offset}}).encode()
    return ArchivedRequest(
        topic="t-requests",
        partition=partition,
        offset=offset,
        timestamp_ms=ts if ts is not None else 1_700_000_000_000 + offset,
        received_ms=1_700_000_000_500 + offset,
        key=f"r-{offset}".encode(),
        value=body,
    )


def test_segment_names_sort_in_opening_order_and_parse_back() -> None:
    names = [segment_name(999, 5), segment_name(1000, 0), segment_name(1000, 1)]
    assert sorted(names) == names
    assert [segment_order(n) for n in names] == [(999, 5), (1000, 0), (1000, 1)]
    assert names[0] == "requests-0000000000999-000005.jsonl.gz"
    assert segment_order("notes.txt") is None
    assert segment_order("requests-12-3.jsonl") is None


def test_a_segment_rotates_once_it_holds_segment_bytes() -> None:
    assert not should_rotate(99, 100)
    assert should_rotate(100, 100)
    assert should_rotate(150, 100)


def test_the_bound_deletes_the_oldest_segments_first_and_never_the_open_one() -> None:
    sizes = [("a", 40), ("b", 30), ("c", 20), ("open", 25)]
    assert segments_to_delete(sizes, 200) == []
    assert segments_to_delete(sizes, 115) == []
    assert segments_to_delete(sizes, 114, keep="open") == ["a"]
    assert segments_to_delete(sizes, 50, keep="open") == ["a", "b"]
    assert segments_to_delete(sizes, 10, keep="open") == ["a", "b", "c"]
    assert segments_to_delete([("open", 500)], 10, keep="open") == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (b"r-1", b'{"request_id": "r-1", "payload": {"name": "Ren\xc3\xa9e \xf0\x9f\x8e\x89"}}'),
        (b"r-2", b"\xff\xfe\x00 not UTF-8 \x80"),
        (b"\xc3\x28", b"line one\nline two\r\n\t\x00"),
        (None, None),
        (b"", b""),
    ],
    ids=["utf8-json", "not-utf8", "bad-key-newlines", "null", "empty"],
)
def test_a_record_round_trips_to_identical_bytes_in_one_json_line(
    key: bytes | None, value: bytes | None
) -> None:
    record = ArchivedRequest("t", 3, 42, 1_700_000_000_123, 1_700_000_000_456, key, value)
    line = to_line(record)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert from_line(line) == record


def test_utf8_values_are_stored_as_text_and_other_bytes_as_base64() -> None:
    text = json.loads(to_line(archived(1, value=b'{"request_id": "x"}')))
    assert text["value"] == '{"request_id": "x"}' and "value_b64" not in text
    binary = json.loads(to_line(archived(2, value=b"\xff\x00")))
    assert binary["value_b64"] == "/wA=" and "value" not in binary
    assert set(text) == {
        "topic",
        "partition",
        "offset",
        "timestamp_ms",
        "received_ms",
        "key",
        "value",
    }


def test_a_line_that_is_not_an_archived_request_is_refused() -> None:
    with pytest.raises(ArchiveError, match="not an archived request"):
        from_line(b'{"topic": "t"}')
    with pytest.raises(ArchiveError):
        from_line(b"not json")


def test_writer_rotates_segments_by_uncompressed_size_and_keeps_every_record(
    tmp_path: Path,
) -> None:
    writer = ArchiveWriter(tmp_path, segment_bytes=2000, max_bytes=10**9)
    records = [archived(n, partition=n % 3) for n in range(200)]
    for record in records:
        writer.write(record)
    writer.close()
    segments = find_segments(tmp_path)
    assert len(segments) == writer.rotations > 5
    line_bytes = max(len(to_line(r)) for r in records)
    for segment in segments[:-1]:
        size = len(gzip.decompress(segment.read_bytes()))  # complete gzip files, as zcat reads
        assert 2000 <= size < 2000 + line_bytes
    assert list(read_archive(segments)) == records


def test_writer_deletes_the_oldest_segments_to_stay_within_max_bytes(tmp_path: Path) -> None:
    writer = ArchiveWriter(tmp_path, segment_bytes=2000, max_bytes=3000)
    records = [archived(n) for n in range(300)]
    largest = 0
    for record in records:
        writer.write(record)
        writer.flush()
        sizes = [p.stat().st_size for p in tmp_path.iterdir()]
        largest = max(largest, *sizes)
        assert sum(sizes) <= 3000
    writer.close()
    assert writer.deleted > 10
    kept = list(read_archive(find_segments(tmp_path)))
    assert kept == records[-len(kept) :], "what is left is the newest, in order"
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) <= 3000
    assert largest < 3000


def test_a_restarted_writer_counts_existing_segments_against_the_bound(tmp_path: Path) -> None:
    first = ArchiveWriter(tmp_path, segment_bytes=1000, max_bytes=10**9)
    for n in range(100):
        first.write(archived(n))
    first.close()
    old = set(find_segments(tmp_path))
    second = ArchiveWriter(tmp_path, segment_bytes=1000, max_bytes=first.total_bytes)
    for n in range(100, 130):
        second.write(archived(n))
    second.close()
    now = set(find_segments(tmp_path))
    assert old - now, "the oldest segments of the previous run were deleted"
    assert sum(p.stat().st_size for p in now) <= first.total_bytes
    assert [r.offset for r in read_archive(sorted(now))][-1] == 129


def test_flushed_records_survive_a_crash_before_the_segment_is_closed(tmp_path: Path) -> None:
    writer = ArchiveWriter(tmp_path / "live", segment_bytes=10**9, max_bytes=10**9)
    for n in range(50):
        writer.write(archived(n))
    writer.flush()
    writer.write(archived(50))  # written but not flushed: may or may not be there
    (open_segment,) = find_segments(tmp_path / "live")
    crashed = tmp_path / "crashed.jsonl.gz"
    shutil.copyfile(open_segment, crashed)  # what a crash would leave on disk
    recovered = list(read_segment(crashed))
    assert [r.offset for r in recovered[:50]] == list(range(50))
    writer.close()


def test_reading_goes_by_time_across_partitions_and_drops_redelivered_duplicates() -> None:
    records = [
        archived(0, partition=0, ts=100),
        archived(0, partition=1, ts=50),
        archived(1, partition=0, ts=120),
        archived(0, partition=0, ts=100),  # archived again after a crash
        archived(1, partition=1, ts=110),
    ]
    ordered = [(r.timestamp_ms, r.partition, r.offset) for r in in_time_order(records)]
    assert ordered == [(50, 1, 0), (100, 0, 0), (110, 1, 1), (120, 0, 1)]
    windowed = [r.timestamp_ms for r in in_time_order(records, window=1)]
    assert len(windowed) == 4, "a small window still drops duplicates"


def test_find_segments_names_a_missing_archive_and_an_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="no archive at"):
        find_segments(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ArchiveError, match="no archive segments"):
        find_segments(tmp_path)
    one = tmp_path / segment_name(1, 0)
    one.write_bytes(gzip.compress(to_line(archived(7))))
    assert find_segments(one) == [one]
    assert [r.offset for r in read_archive(find_segments(tmp_path))] == [7]


def test_replay_paces_by_original_timestamps_divided_by_speed() -> None:
    assert due_in(1000, 5000, 0.0, 0) == 0.0
    assert due_in(1000, 5000, 1.0, 1) == pytest.approx(3.0)
    assert due_in(1000, 5000, 1.0, 4) == pytest.approx(0.0)
    assert due_in(1000, 5000, 0.5, 2) == pytest.approx(1.5)


def test_a_replayed_score_is_marked_replayed() -> None:
    request = Request(
        request_id="r",
        payload={
            "features": {"worst radius": 25.0, "worst texture": 30, "worst concave points": 0.2}
        },
    )
    score = replayed_score(Scorecard(), "scorecard", request, 1.0)
    assert score.replayed is True and score.result is not None
    assert json.loads(score.dumps())["replayed"] is True


def test_compare_counts_agreement_on_labels_of_ok_answers_only() -> None:
    replayed = {
        "a": {"label": "malignant", "score": 0.9},
        "b": {"label": "benign", "score": 0.1},
        "c": {"label": "benign", "score": 0.2},
        "d": None,  # the model failed on replay
        "e": {"label": "benign"},  # no live answer
    }
    live = {
        "a": {"status": "ok", "model": "scorecard", "result": {"label": "malignant", "score": 0.8}},
        "b": {"status": "ok", "model": "rules", "result": {"label": "malignant"}},
        "c": {"status": "no_result", "model": None, "result": None},
        "d": {"status": "ok", "model": "scorecard", "result": {"label": "benign"}},
    }
    result = compare(replayed, live)
    assert (result.replayed, result.found, result.compared, result.agreed) == (5, 4, 2, 1)
    assert result.agreement == 0.5
    assert result.live_models == Counter({"scorecard": 2, "rules": 1, "(no_result)": 1})
    assert compare({}, live).agreement is None


def test_replay_command_names_a_missing_archive_an_empty_one_and_an_unknown_model(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    missing = runner.invoke(replay, ["--archive", str(tmp_path / "x"), "--model", "scorecard"])
    assert missing.exit_code == 1 and "no archive at" in missing.output
    empty = runner.invoke(replay, ["--archive", str(tmp_path), "--model", "scorecard"])
    assert empty.exit_code == 1 and "no archive segments" in empty.output
    (tmp_path / segment_name(1, 0)).write_bytes(gzip.compress(to_line(archived(1))))
    unknown = runner.invoke(replay, ["--archive", str(tmp_path), "--model", "nosuchmodel"])
    assert unknown.exit_code == 1 and "no model 'nosuchmodel'" in unknown.output


def test_decoy_command_refuses_a_bound_smaller_than_one_segment(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        decoy, ["--archive-dir", str(tmp_path), "--max-bytes", "10", "--segment-bytes", "20"]
    )
    assert result.exit_code == 1 and "must be at least --segment-bytes" in result.output

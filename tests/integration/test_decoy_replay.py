"""The decoy and replay on a real broker: exact archive, bounded size, replays off the live path."""

from __future__ import annotations

import asyncio
import gzip
import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from streamapp.archive.format import (
    SEGMENT_GLOB,
    ArchivedRequest,
    ArchiveError,
    find_segments,
    in_time_order,
    read_archive,
    segment_order,
)
from tests.helpers import answer_counts, answered, scores_in
from tests.integration.harness import Client, System, request_body

pytestmark = pytest.mark.integration

JUNK = [
    b"\xff\xfe\x00 not UTF-8 at all \x80",
    b"plain text, not JSON",
    b'{"payload": {}}',
    "caf\u00e9\n{ broken".encode(),
    b"",
]


def archive_now(directory: Path) -> list[ArchivedRequest]:
    """What the archive holds right now (segments may vanish while we read: read again)."""
    for _ in range(20):
        try:
            return list(read_archive(find_segments(directory)))
        except ArchiveError as error:
            if "no archive" in str(error):
                return []
            raise
        except FileNotFoundError:
            continue
    raise AssertionError("the archive kept changing under the reader")


async def archive_holding(
    directory: Path, done: Any, *, timeout_s: float = 60.0
) -> list[ArchivedRequest]:
    """Poll the archive until ``done(records)`` holds, or fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        records = archive_now(directory)
        if done(records):
            return records
        await asyncio.sleep(0.2)
    raise AssertionError(f"archive in {directory} not complete in {timeout_s}s: {len(records)}")


async def read_keyed(
    bootstrap: str, topic: str, *, count: int, idle_s: float, timeout_s: float = 60.0
) -> list[ConsumerRecord]:
    """Every message of a topic from the start, until ``count`` arrived and ``idle_s`` passed."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    messages: list[ConsumerRecord] = []
    try:
        deadline = time.monotonic() + timeout_s
        satisfied_at: float | None = None
        while time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                messages.extend(batch)
            if satisfied_at is None and len(messages) >= count:
                satisfied_at = time.monotonic()
            if satisfied_at is not None and time.monotonic() - satisfied_at >= idle_s:
                break
    finally:
        await consumer.stop()
    return messages


def stop_decoy(system: System, directory: Path) -> None:
    """SIGTERM the decoy; it must exit cleanly, leaving only complete gzip segments."""
    assert system.stop("decoy", signal.SIGTERM) == 0, system.log_path("decoy").read_text()
    for segment in directory.glob(SEGMENT_GLOB):
        gzip.decompress(segment.read_bytes())  # raises on a segment without its trailer


def wide_body(request_id: str, rng: random.Random) -> dict[str, Any]:
    """A request with 30 numeric features, like the breast cancer data."""
    features = {f"mean feature {i}": round(rng.uniform(0, 200), 4) for i in range(30)}
    return {"request_id": request_id, "payload": {"features": features}}


async def test_decoy_archives_every_request_byte_for_byte_in_partition_order(
    system: System, tmp_path: Path
) -> None:
    directory = tmp_path / "archive"
    system.start_decoy("--archive-dir", str(directory))
    topic = system.topic("requests")
    sent: dict[tuple[int, int], tuple[bytes, bytes, int]] = {}
    async with Client(system.bootstrap) as client:
        pending = []
        base_ms = int(time.time() * 1000)
        for n in range(300):
            key = f"req-{n:04d}".encode()
            body = request_body(key.decode(), return_topic=system.topic("answers"))
            value = JUNK[n // 60] if n % 60 == 7 else json.dumps(body).encode()
            future = await client.producer.send(
                topic, value, key=key, partition=n % 4, timestamp_ms=base_ms + n
            )
            pending.append((key, value, base_ms + n, future))
        for key, value, _, future in pending:
            meta = await future
            # The requests topic is stamped by the broker (LogAppendTime): the stamp the
            # rendezvous decides by replaces the client's, and the producer is told it.
            assert meta.timestamp >= base_ms
            sent[(meta.partition, meta.offset)] = (key, value, meta.timestamp)
    await archive_holding(directory, lambda records: len(records) >= 300)
    stop_decoy(system, directory)
    records = archive_now(directory)

    assert len(records) == 300, "every request once, none twice"
    assert {(r.partition, r.offset) for r in records} == set(sent)
    for record in records:
        key, value, timestamp = sent[(record.partition, record.offset)]
        assert (record.topic, record.key, record.value) == (topic, key, value)
        assert record.timestamp_ms == timestamp and record.received_ms >= base_ms - 1000
    assert sum(1 for r in records if r.value in JUNK) == len(JUNK)
    for partition in range(4):
        offsets = [r.offset for r in records if r.partition == partition]
        assert len(offsets) == 75 and offsets == sorted(offsets), f"partition {partition}"
    assert "decoy ready: " in system.log_path("decoy").read_text()


async def test_decoy_keeps_the_archive_within_max_bytes_by_deleting_the_oldest_segments(
    system: System, tmp_path: Path
) -> None:
    directory, segment_bytes, max_bytes = tmp_path / "archive", 20_000, 60_000
    system.start_decoy(
        "--archive-dir", str(directory), "--segment-bytes", str(segment_bytes),
        "--max-bytes", str(max_bytes),
    )  # fmt: skip
    totals: list[int] = []
    largest: dict[str, int] = {}
    sampling = True

    async def sample_sizes() -> None:
        while sampling:
            sizes = {}
            for path in directory.glob(SEGMENT_GLOB):
                try:
                    sizes[path.name] = path.stat().st_size
                except FileNotFoundError:
                    continue  # deleted between listing and stat
            totals.append(sum(sizes.values()))
            for name, size in sizes.items():
                largest[name] = max(largest.get(name, 0), size)
            await asyncio.sleep(0.01)  # sampling interval, not synchronisation

    sampler = asyncio.create_task(sample_sizes())
    rng = random.Random(3)
    last: dict[int, int] = {}
    async with Client(system.bootstrap) as client:
        for n in range(2500):
            body = wide_body(f"wide-{n:05d}", rng)
            meta = await client.producer.send_and_wait(
                system.topic("requests"), json.dumps(body).encode(), key=body["request_id"].encode()
            )
            last[meta.partition] = meta.offset
    await archive_holding(
        directory,
        lambda records: set(last.items()) <= {(r.partition, r.offset) for r in records},
    )
    stop_decoy(system, directory)
    sampling = False
    await asyncio.wait_for(sampler, timeout=5)

    remaining = {p.name for p in directory.glob(SEGMENT_GLOB)}
    deleted = set(largest) - remaining
    segment_max = max(largest.values())
    print(
        f"\nbound: {len(largest)} segments seen, {len(deleted)} deleted, "
        f"largest {segment_max} B compressed, max total {max(totals)} B, "
        f"final {sum(largest[n] for n in remaining)} B (max-bytes {max_bytes})"
    )
    assert len(largest) >= 10 and len(deleted) >= 5, "several rotations, oldest deleted"
    assert max(segment_order(n) for n in deleted) < min(segment_order(n) for n in remaining)
    assert max(totals) <= max_bytes + segment_max, "never more than the bound plus one segment"
    assert sum(p.stat().st_size for p in directory.glob(SEGMENT_GLOB)) <= max_bytes
    records = archive_now(directory)
    for partition, offset in last.items():
        offsets = [r.offset for r in records if r.partition == partition]
        assert offsets == list(range(offsets[0], offset + 1)), "the newest, none missing"
    assert "deleted segment" in system.log_path("decoy").read_text()


async def test_a_decoy_killed_mid_stream_loses_nothing_once_restarted(
    system: System, tmp_path: Path
) -> None:
    directory = tmp_path / "archive"
    system.start_decoy("--archive-dir", str(directory))
    sent: set[tuple[int, int]] = set()
    async with Client(system.bootstrap) as client:
        for n in range(400):
            if n == 100:
                system.stop("decoy", signal.SIGKILL)  # no flush, no commit, no gzip trailer
            if n == 300:
                system.start_decoy("--archive-dir", str(directory))
            body = request_body(f"crash-{n:03d}", return_topic=system.topic("answers"))
            meta = await client.producer.send_and_wait(
                system.topic("requests"),
                json.dumps(body).encode(),
                key=body["request_id"].encode(),
                partition=0 if n < 100 else n % 4,  # partitions 1-3 first see requests while down
            )
            sent.add((meta.partition, meta.offset))
    records = await archive_holding(
        directory, lambda records: sent <= {(r.partition, r.offset) for r in records}
    )
    unique = list(in_time_order(records))
    print(f"\ncrash: {len(records)} archived lines, {len(unique)} unique requests")
    assert {(r.partition, r.offset) for r in unique} == sent and len(unique) == 400


async def test_replay_scores_archived_requests_on_the_replays_topic_and_leaves_answers_alone(
    system: System, tmp_path: Path
) -> None:
    system.start_worker()
    system.start_model("scorecard")
    directory, out = tmp_path / "archive", tmp_path / "replayed.jsonl"
    system.start_decoy("--archive-dir", str(directory))
    answers_topic = system.topic("answers")
    ids = [f"replay-{n:03d}" for n in range(120)]
    async with Client(system.bootstrap) as client:
        for n, request_id in enumerate(ids):
            body = request_body(
                request_id, return_topic=answers_topic, deadline_ms=30_000, malignant=n % 3 == 0
            )
            await client.send(system.topic("requests"), body)
        for n, junk in enumerate(JUNK[:3]):
            await client.send_raw(system.topic("requests"), junk, key=f"junk-{n}")
        await client.flush()
        live = await client.read([answers_topic], until=answered(set(ids)), idle_s=1.0)
    archived = await archive_holding(directory, lambda records: len(records) >= len(ids) + 3)
    stop_decoy(system, directory)
    partition_of = {r.key.decode(): r.partition for r in archived if r.key}

    command = [sys.executable, "-m", "streamapp", "replay", "--archive", str(directory)]
    command += ["--model", "scorecard", "--speed", "0", "--out", str(out), "--compare"]
    done = await asyncio.to_thread(
        subprocess.run, command, env=system.env, capture_output=True, text=True, timeout=180
    )
    print(f"\n{done.stdout}{done.stderr}")
    assert done.returncode == 0, done.stderr
    assert "replayed 120 of 123 archived requests (3 invalid skipped)" in done.stdout
    assert "120 with a live answer, 120 comparable, agreement 100.0% (120/120)" in done.stdout
    assert "answered live by: scorecard 120" in done.stdout

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(s["request_id"] for s in lines) == ids
    assert all(s["replayed"] is True and s["model"] == "scorecard" for s in lines)
    replays = await read_keyed(system.bootstrap, system.topic("replays"), count=120, idle_s=2.0)
    assert len(replays) == 120
    for message in replays:
        score = json.loads(message.value)
        assert score["replayed"] is True and score["result"]["label"] in {"malignant", "benign"}
        assert message.key.decode() == score["request_id"]
        assert message.partition == partition_of[score["request_id"]]

    async with Client(system.bootstrap) as client:
        after = await client.read(
            [answers_topic], until=lambda records: len(records) >= len(live), idle_s=3.0
        )
    assert answer_counts(after) == answer_counts(live), "a replay never changes live answers"
    messages = await read_keyed(system.bootstrap, system.topic("scores"), count=1, idle_s=1.0)
    scores = [s for m in messages for s in scores_in(json.loads(m.value))]
    assert not any(s["replayed"] for s in scores)
    assert Counter(s["model"] for s in scores) == Counter({"scorecard": 120})

"""The decoy: a "model" that only archives its inputs, every request exactly as received.

It reads the requests topic in its own consumer group (``<app_id>-decoy``) and appends each
message to a gzip JSON Lines segment (see :mod:`streamapp.archive`). Offsets are committed only
after the segment is flushed and synced, so a crash loses nothing (a request may be archived
twice; replay drops the duplicate). Old segments are deleted to keep the archive bounded. The
decoy never writes a Score.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import os
import time
from pathlib import Path
from typing import BinaryIO

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from streamapp.archive import (
    SEGMENT_GLOB,
    ArchivedRequest,
    segment_name,
    segment_order,
    segments_to_delete,
    should_rotate,
    to_line,
)
from streamapp.settings import Settings
from streamapp.topics import ensure_topics, requests_consumer

log = logging.getLogger(__name__)
PROGRESS_INTERVAL_S = 10.0
COMPRESS_LEVEL = 6


class ArchiveWriter:
    """Appends records to rotating gzip segments in one directory, deleting the oldest.

    After every :meth:`flush` and rotation the archive holds at most ``max_bytes`` (unless the
    open segment alone is larger); in between it grows only by the open segment's new bytes.
    """

    def __init__(self, directory: Path, *, segment_bytes: int, max_bytes: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.max_bytes = max_bytes
        self.archived = 0
        self.rotations = 0
        self.deleted = 0
        existing = sorted(
            (order, p) for p in directory.glob(SEGMENT_GLOB) if (order := segment_order(p.name))
        )
        self._closed = [(p.name, p.stat().st_size) for _, p in existing]
        self._seq = 0
        self._name: str | None = None
        self._raw: BinaryIO | None = None
        self._gzip: gzip.GzipFile | None = None
        self._written = 0
        self._dirty = False

    @property
    def total_bytes(self) -> int:
        """Compressed bytes of all segments, the open one as far as it has been written."""
        open_bytes = self._raw.tell() if self._raw is not None else 0
        return sum(size for _, size in self._closed) + open_bytes

    @property
    def dirty(self) -> bool:
        """True when records were written since the last flush."""
        return self._dirty

    def write(self, record: ArchivedRequest) -> None:
        """Append one record, closing the segment once it is full."""
        if self._gzip is None:
            self._open()
        assert self._gzip is not None
        line = to_line(record)
        self._gzip.write(line)
        self._written += len(line)
        self.archived += 1
        self._dirty = True
        if should_rotate(self._written, self.segment_bytes):
            self._close_segment()
            self._prune()

    def flush(self) -> None:
        """Make everything written so far readable and durable, then enforce the bound."""
        if self._gzip is not None and self._raw is not None:
            self._gzip.flush()  # zlib sync flush: the bytes so far decompress on their own
            self._raw.flush()
            os.fsync(self._raw.fileno())
        self._dirty = False
        self._prune()

    def close(self) -> None:
        """Finish the open segment (gzip trailer included) and enforce the bound."""
        self._close_segment()
        self._dirty = False
        self._prune()

    def _open(self) -> None:
        path = self.directory / segment_name(int(time.time() * 1000), self._seq)
        while path.exists():
            self._seq += 1
            path = self.directory / segment_name(int(time.time() * 1000), self._seq)
        self._seq += 1
        self._name = path.name
        self._raw = path.open("xb")
        self._gzip = gzip.GzipFile(
            filename="", mode="wb", compresslevel=COMPRESS_LEVEL, fileobj=self._raw
        )
        self._written = 0

    def _close_segment(self) -> None:
        if self._gzip is None or self._raw is None or self._name is None:
            return
        self._gzip.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        size = self._raw.tell()
        self._raw.close()
        self._closed.append((self._name, size))
        self.rotations += 1
        log.info(
            "decoy closed segment %s (%d bytes uncompressed, %d compressed)",
            self._name,
            self._written,
            size,
        )
        self._name, self._raw, self._gzip = None, None, None

    def _prune(self) -> None:
        sizes = list(self._closed)
        if self._name is not None and self._raw is not None:
            sizes.append((self._name, self._raw.tell()))
        doomed = set(segments_to_delete(sizes, self.max_bytes, keep=self._name))
        for name in doomed:
            with contextlib.suppress(FileNotFoundError):
                (self.directory / name).unlink()
            self.deleted += 1
            log.info("decoy deleted segment %s to stay within %d bytes", name, self.max_bytes)
        self._closed = [entry for entry in self._closed if entry[0] not in doomed]


class DecoyProcess:
    """Consumes the requests topic in the group ``<app_id>-decoy`` and archives every message."""

    def __init__(self, settings: Settings, writer: ArchiveWriter) -> None:
        self.settings = settings
        self.writer = writer
        self.ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._pending: dict[TopicPartition, int] = {}
        self._checkpointing = asyncio.Lock()
        self.consumer: AIOKafkaConsumer | None = None  # set by run()

    def stop(self) -> None:
        """Ask the loop to archive the current batch and exit."""
        self._stopping.set()

    async def run(self) -> None:
        """Archive requests until stopped; the open segment is closed on the way out."""
        settings = self.settings
        await ensure_topics(settings)
        consumer = requests_consumer(settings, f"{settings.app_id}-decoy", auto_commit=False)
        self.consumer = consumer
        await consumer.start()
        consumer.subscribe([settings.topic("requests")], listener=_ReadyWhenAssigned(self))
        try:
            await self._archive_until_stopped(consumer)
        finally:
            try:
                await self.checkpoint(close=True)
            finally:
                await consumer.stop()
            log.info(
                "decoy stopped: %d requests archived, %d segments closed, %d deleted",
                self.writer.archived,
                self.writer.rotations,
                self.writer.deleted,
            )

    async def _archive_until_stopped(self, consumer: AIOKafkaConsumer) -> None:
        flushed_at = reported_at = time.monotonic()
        reported = 0
        while not self._stopping.is_set():
            batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            received_ms = int(time.time() * 1000)
            async with self._checkpointing:  # a rebalance may be flushing in a thread
                for partition, records in batches.items():
                    for record in records:
                        self.writer.write(
                            ArchivedRequest(
                                topic=record.topic,
                                partition=record.partition,
                                offset=record.offset,
                                timestamp_ms=record.timestamp,
                                received_ms=received_ms,
                                key=record.key,
                                value=record.value,
                            )
                        )
                        self._pending[partition] = record.offset + 1
            now = time.monotonic()
            if not batches or now - flushed_at >= self.settings.commit_interval_s:
                await self.checkpoint()
                flushed_at = now
            if now - reported_at >= PROGRESS_INTERVAL_S and self.writer.archived != reported:
                log.info(
                    "decoy archived %d requests (%.0f/s), %d segments closed, %d deleted, "
                    "%d bytes in %s",
                    self.writer.archived,
                    (self.writer.archived - reported) / (now - reported_at),
                    self.writer.rotations,
                    self.writer.deleted,
                    self.writer.total_bytes,
                    self.writer.directory,
                )
                reported_at, reported = now, self.writer.archived

    async def checkpoint(self, *, close: bool = False) -> None:
        """Flush (or close) the archive, then commit the offsets of what it now holds."""
        async with self._checkpointing:
            if not close and not self.writer.dirty and not self._pending:
                return
            offsets, self._pending = self._pending, {}
            await asyncio.to_thread(self.writer.close if close else self.writer.flush)
            if offsets and self.consumer is not None:
                try:
                    await self.consumer.commit(offsets)
                except KafkaError as error:  # those requests come again: archived twice
                    log.warning("decoy could not commit offsets (%s); will re-archive", error)

    def on_assigned(self, partitions: set[TopicPartition]) -> None:
        """Report readiness once partitions are assigned and their positions fixed."""
        log.info(
            "decoy ready: archiving %s partitions %s into %s",
            self.settings.topic("requests"),
            sorted(tp.partition for tp in partitions),
            self.writer.directory,
        )
        self.ready.set()
        if self.settings.model_ready_file is not None:
            self.settings.model_ready_file.touch()


class _ReadyWhenAssigned(ConsumerRebalanceListener):  # type: ignore[misc]
    """Checkpoints before partitions leave, and reports readiness when they arrive."""

    def __init__(self, process: DecoyProcess) -> None:
        self._process = process

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Flush and commit what was archived, so the next owner starts after it."""
        await self._process.checkpoint()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Fix each partition's position and commit it if new, then mark the process ready.

        Without that commit a partition that has had no request yet would start at "latest"
        again after a restart, and the requests sent while the decoy was down would be lost.
        """
        consumer = self._process.consumer
        if consumer is not None:
            fresh = {}
            for partition in assigned:
                position = await consumer.position(partition)
                if await consumer.committed(partition) is None:
                    fresh[partition] = position
            if fresh:
                await consumer.commit(fresh)
        self._process.on_assigned(assigned)

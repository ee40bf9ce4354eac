"""The decoy: a "model" that only archives its inputs, every request exactly as received.

It reads the requests topic in its own consumer group (``<app_id>-decoy``) and appends each
message to a gzip JSON Lines segment (see :mod:`streamapp.archive.format`). Offsets are
committed only after the segment is flushed and synced, so a crash loses nothing (a request may
be archived twice; replay drops the duplicate). Old segments are deleted to keep the archive
bounded. The decoy never writes a Score.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from streamapp.archive.format import ArchivedRequest
from streamapp.archive.writer import ArchiveWriter
from streamapp.kafka_admin import ensure_topics, requests_consumer
from streamapp.settings import Settings

log = logging.getLogger(__name__)
PROGRESS_INTERVAL_S = 10.0


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

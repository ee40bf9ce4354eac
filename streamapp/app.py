"""The one Faust application: settings, topics and tables of the rendezvous server.

Run it with ``rendezvous worker`` or ``faust -L uvloop -A streamapp.app worker``.
"""

from __future__ import annotations

import logging

import faust

from streamapp import library_logs
from streamapp.core.records import ControlChange, RegistryDoc
from streamapp.heap import settle_after_start
from streamapp.kafka_admin import ensure_topics
from streamapp.kafka_partitioner import KafkaDefaultPartitioner
from streamapp.settings import Settings, get_settings

log = logging.getLogger(__name__)

#: Modules that define the worker's agents, tasks and views; the worker imports them at start.
WORKER_MODULES = [
    "streamapp.worker.recovery_patch",
    "streamapp.worker.fetch_patch",
    "streamapp.worker.inline_consumer",
    "streamapp.worker.changelog_pause",
    "streamapp.worker.eager_delivery",
    "streamapp.worker.memtable_bloom",
    "streamapp.worker.agents",
    "streamapp.worker.control_agent",
    "streamapp.worker.timers",
    "streamapp.web.middleware",
    "streamapp.web.registry_views",
    "streamapp.web.inspector",
    "streamapp.web.score_proxy",
    "streamapp.web.oip",
    "streamapp.stats.folding",
    "streamapp.web.stats_views",
]


class RendezvousApp(faust.App):
    """A Faust app that pre-creates and checks its topics before it subscribes to them."""

    rendezvous_settings: Settings

    async def on_first_start(self) -> None:
        """Create missing topics (co-partitioned, one count) before the consumer starts."""
        await ensure_topics(self.rendezvous_settings)
        await super().on_first_start()

    async def on_started(self) -> None:
        """Once the worker has configured logging and recovered: make debug calls free, and
        take what start-up left on the heap out of the garbage collector's way."""
        match_root_level_to_handlers()
        await super().on_started()
        configured = self.rendezvous_settings
        frozen = settle_after_start(configured.gc_young_threshold, configured.gc_old_threshold)
        log.info("start-up objects frozen out of garbage collection: %d", frozen)


def match_root_level_to_handlers() -> None:
    """Raise the root logger to its handlers' level.

    At ``--loglevel warn`` Faust's worker adds a terminal-spinner handler at DEBUG and lowers the
    root logger to DEBUG, so every debug call in Faust and aiokafka builds a record that is then
    dropped (about 9% of a busy worker's CPU, measured with py-spy). The spinner only animates
    start-up on a terminal; once started it is removed.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler).__name__ == "SpinnerHandler":
            root.removeHandler(handler)
    levels = [handler.level for handler in root.handlers if handler.level]
    if levels:
        root.setLevel(min(levels))


def create_app(settings: Settings) -> RendezvousApp:
    """Build the Faust app from settings (bound to loopback unless configured otherwise)."""
    library_logs.install()
    datadir = (settings.data_dir / f"{settings.app_id}-worker-{settings.web_port}").resolve()
    datadir.mkdir(parents=True, exist_ok=True)
    brokers = ";".join(f"kafka://{host}" for host in settings.bootstrap_servers.split(","))
    new_app = RendezvousApp(
        settings.app_id,
        broker=brokers,
        store=settings.table_store,
        datadir=str(datadir),
        topic_partitions=settings.partitions,
        topic_disable_leader=True,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        canonical_url=settings.advertised_url or None,  # None: Faust's http://<web host>:<port>
        web_tables_enabled=False,  # raw table dumps would bypass the API (and its payloads)
        Monitor="streamapp.worker.lean_monitor:LeanMonitor",  # Faust's counters are not read
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_rebalance_timeout=max(10.0, settings.session_timeout_s * 2),
        producer_linger=settings.producer_linger_ms / 1000,
        producer_partitioner=KafkaDefaultPartitioner(),
        producer_request_timeout=settings.producer_request_timeout_s,
        broker_commit_interval=settings.commit_interval_s,
        stream_wait_empty=False,
        consumer_auto_offset_reset="earliest",
        origin="streamapp",
        autodiscover=WORKER_MODULES,
    )
    new_app.rendezvous_settings = settings
    return new_app


settings = get_settings()
app = create_app(settings)


def raw_topic(name: str) -> faust.TopicT:
    """A topic handle that passes bytes through: decoding is ours, so failures are reported."""
    return app.topic(name, key_serializer="raw", value_serializer="raw")


requests = raw_topic(settings.topic("requests"))
scores = raw_topic(settings.topic("scores"))
control = raw_topic(settings.topic("control"))

#: Closed mailboxes by ``<partition>:<request id>``: the answer's exact bytes and what the
#: inspector shows (JSON, written in bulk by ``worker.closed_store``). Open mailboxes live in
#: memory and in Kafka: their events are committed only once they are answered.
mailboxes = app.Table(
    "closed-mailboxes",
    key_type=bytes,
    value_type=bytes,
    partitions=settings.partitions,
    help="One closed mailbox per request: its answer and scores, until the retention passes.",
)

#: The registry and policy: one document under REGISTRY_KEY, read by every worker. Small, so
#: it lives in memory and is rebuilt from its changelog at start (1 partition, as Faust advises
#: for global tables shared by several workers).
REGISTRY_KEY = "current"
registry_table = app.GlobalTable(
    "registry",
    key_type=str,
    value_type=RegistryDoc,
    partitions=1,
    recovery_buffer_size=1,
    store="memory://",
    help="The model registry and policy, one versioned document.",
)
control_history = app.GlobalTable(
    "control-history",
    key_type=str,
    value_type=ControlChange,
    partitions=1,
    recovery_buffer_size=1,
    store="memory://",
    help="Applied control commands by zero-padded version.",
)

#: Per-minute statistics by ``<partition>:<minute>`` (plain JSON buckets with DDSketch
#: sketches), folded where each mailbox closes and written back in bulk once a second.
stats_table = app.Table(
    "stats-buckets",
    key_type=bytes,
    value_type=bytes,
    partitions=settings.partitions,
    help="Statistics per partition and minute: counters and quantile sketches per model.",
)

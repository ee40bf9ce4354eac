"""Settings for every rendezvous process, read once from ``RENDEZVOUS_*`` environment variables."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from streamapp.event_loop import EventLoopChoice

if TYPE_CHECKING:
    from streamapp.core.admission import Limits


class ModelSeed(BaseModel):
    """How the rendezvous treats one model before any control command changes it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state: Literal["live", "shadow", "off"] = "live"
    priority: int = 0
    backstop: bool = False


DEFAULT_MODELS: dict[str, dict[str, Any]] = {
    "scorecard": {"state": "live", "priority": 10},
    "rules": {"state": "live", "priority": 0, "backstop": True},
}


class Settings(BaseSettings):
    """All settings; each is ``RENDEZVOUS_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="RENDEZVOUS_", frozen=True, extra="ignore")

    #: Unset or empty: the dev broker, ``127.0.0.1:<kafka_port>`` (so moving the broker with
    #: ``RENDEZVOUS_KAFKA_PORT`` moves its clients too).
    bootstrap_servers: str = "127.0.0.1:9092"
    app_id: str = "rendezvous"
    partitions: int = Field(default=4, ge=1, le=256)
    topic_prefix: str = "rendezvous"

    default_deadline_ms: int = Field(default=200, ge=1)
    min_deadline_ms: int = Field(default=1, ge=1)
    max_deadline_ms: int = Field(default=60_000, ge=1)
    max_payload_bytes: int = Field(default=256 * 1024, ge=1)
    #: Return topics allowed besides the default answers topic (a regular expression).
    return_topics: str | None = None
    mailbox_retention_s: float = Field(default=600.0, gt=0)
    stats_retention_s: float = Field(default=24 * 3600.0, gt=0)
    stats_enabled: bool = True

    models: dict[str, ModelSeed] = Field(
        default_factory=lambda: {name: ModelSeed(**seed) for name, seed in DEFAULT_MODELS.items()}
    )

    admin_token: SecretStr | None = None
    control_timeout_s: float = Field(default=5.0, gt=0)
    control_history_size: int = Field(default=1000, ge=10)

    data_dir: Path = Path(".data")
    table_store: str = "rocksdb://"
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=0, le=65535)
    session_timeout_s: float = Field(default=6.0, gt=0)
    heartbeat_interval_s: float = Field(default=1.0, gt=0)
    commit_interval_s: float = Field(default=1.0, gt=0)
    fetch_max_wait_ms: int = Field(default=10, ge=0, le=10_000)
    fetch_min_bytes: int = Field(default=1, ge=1)
    #: How long the broker may hold a fetch at once that lists every partition a consumer
    #: reads (the worker's, its REST proxy's and the model processes'): it returns at the first
    #: message anyway, so this only sets how often an idle consumer asks. 0: their usual wait.
    idle_fetch_wait_ms: int = Field(default=500, ge=0, le=10_000)
    producer_linger_ms: float = Field(default=0.0, ge=0, le=1000)
    #: How long the worker's producer keeps trying a send (Faust's default is 20 minutes): an
    #: answer to a topic deleted meanwhile must not hold up offset commits and shutdown for long.
    producer_request_timeout_s: float = Field(default=30.0, gt=0, le=1200)
    model_fetch_max_wait_ms: int = Field(default=100, ge=0, le=10_000)
    model_fetch_min_bytes: int = Field(default=1, ge=1)
    model_linger_ms: float = Field(default=0.0, ge=0, le=1000)
    #: A model process calls a model marked ``quick_calls`` on its event loop, not in a thread,
    #: while its latest calls each took less CPU time than this (``core.call_placement``).
    #: 0: never.
    model_inline_below_ms: float = Field(default=5.0, ge=0, le=1000)
    #: Messages read per second from which each model process fetches in batches
    #: (``model_batch_fetch_wait_ms``) instead of at once; it goes back below half of it.
    #: 0: always in batches. See ``core.batching``.
    batch_above_per_s: float = Field(default=150.0, ge=0)
    #: The same for the worker (``batch_fetch_wait_ms``). It reads a request and one message per
    #: model process for each request: 800 messages/s is about 270 requests/s with two models.
    worker_batch_above_per_s: float = Field(default=800.0, ge=0)
    batch_fetch_wait_ms: int = Field(default=3, ge=0, le=10_000)
    model_batch_fetch_wait_ms: int = Field(default=10, ge=0, le=10_000)
    #: Allocations between collections of the garbage collector's youngest generation in the
    #: worker and model processes, once started (CPython's default is 700). See ``heap``.
    gc_young_threshold: int = Field(default=700, ge=0)
    #: Collections of the middle generation between full collections in the worker and model
    #: processes, once started (CPython's default is 10). See ``heap``.
    gc_old_threshold: int = Field(default=100, ge=0)
    #: The event loop of the worker and the model processes (``streamapp.event_loop``).
    event_loop: EventLoopChoice = "uvloop"
    #: Run Faust's stream consumer in its own thread, as Faust does, instead of on the worker's
    #: event loop (``worker.inline_consumer``).
    consumer_thread: bool = False
    #: Hand each fetched message to its stream in place, without Faust's four tasks per message
    #: (``worker.eager_delivery``).
    eager_delivery: bool = True
    late_after_ms: int = Field(default=100, ge=0)
    catch_up_wait_ms: int = Field(default=1000, ge=0)
    #: Entry-point models the worker runs itself as each mailbox opens (comma-separated).
    in_process_models: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["rules"])

    model_ready_file: Path | None = None

    kafka_dir: Path = Path(".cache/kafka")
    kafka_data_dir: Path | None = None
    kafka_libs_dir: Path | None = None
    kafka_port: int = Field(default=9092, ge=1, le=65535)
    kafka_controller_port: int = Field(default=9093, ge=1, le=65535)
    kafka_heap: str = "512m"
    #: JIT of the dev broker: "quick" (C1 only: starts fast, for tests) or "full" (C2: less CPU
    #: per message once warm, for benchmarks and the demo).
    kafka_jit: Literal["quick", "full"] = "quick"

    archive_dir: Path | None = None
    archive_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1)
    archive_segment_bytes: int = Field(default=8 * 1024 * 1024, ge=1)

    # --- web and security ---
    #: The URL the other workers reach this one's REST API at (Faust's ``canonical_url``);
    #: unset or empty: ``http://<web host>:<web port>``.
    advertised_url: str | None = Field(default=None, pattern=r"^(https?://[^\s/?#]+/?)?$")
    #: Bearer token for the GET endpoints that show payloads (the inspector); unset: open.
    read_token: SecretStr | None = None
    #: The largest HTTP request body the REST API reads (a larger one gets 413).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)

    @model_validator(mode="before")
    @classmethod
    def _bootstrap_follows_kafka_port(cls, data: Any) -> Any:
        """Without bootstrap servers, point at the dev broker on its configured port."""
        if isinstance(data, dict) and not data.get("bootstrap_servers"):
            port = data.get("kafka_port") or cls.model_fields["kafka_port"].default
            return {**data, "bootstrap_servers": f"127.0.0.1:{port}"}
        return data

    @field_validator("return_topics")
    @classmethod
    def _check_pattern(cls, value: str | None) -> str | None:
        """Refuse a return-topic rule that is not a regular expression, at start."""
        if value:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"not a regular expression: {error}") from None
        return value or None

    @field_validator("in_process_models", mode="before")
    @classmethod
    def _parse_names(cls, value: Any) -> Any:
        """Accept ``rules,other`` as well as a JSON list; an empty string means none."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @field_validator("models", mode="before")
    @classmethod
    def _parse_models(cls, value: Any) -> Any:
        """Accept the model table as JSON text, as it comes from the environment."""
        return json.loads(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_bounds(self) -> Settings:
        """Refuse deadline bounds that cannot hold together."""
        if not self.min_deadline_ms <= self.default_deadline_ms <= self.max_deadline_ms:
            raise ValueError("need min_deadline_ms <= default_deadline_ms <= max_deadline_ms")
        if self.heartbeat_interval_s >= self.session_timeout_s:
            raise ValueError("heartbeat_interval_s must be below session_timeout_s")
        return self

    def topic(self, role: str) -> str:
        """The topic of a role: requests, scores, answers, control, deadletter or ticks."""
        return f"{self.topic_prefix}-{role}"

    @property
    def worker_id(self) -> str:
        """This worker's name among its peers (its REST port on its host)."""
        return f"{socket.gethostname()}-{self.web_port}".lower()

    @property
    def limits(self) -> Limits:
        """The bounds on what a request may ask for in this deployment."""
        from streamapp.core.admission import Limits  # the core's Records need Faust: load late

        return Limits(
            max_payload_bytes=self.max_payload_bytes,
            min_deadline_ms=self.min_deadline_ms,
            max_deadline_ms=self.max_deadline_ms,
            default_deadline_ms=self.default_deadline_ms,
            default_return_topic=self.topic("answers"),
            own_prefixes=tuple(sorted({f"{self.topic_prefix}-", f"{self.app_id}-"})),
            reply_prefix=self.topic("replies-"),
            allowed_return_topics=self.return_topics,
        )

    @property
    def dev_broker_address(self) -> str:
        """Where the dev broker (``rendezvous kafka start``) accepts clients."""
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def broker_data_dir(self) -> Path:
        """Where the dev broker keeps its log segments."""
        return self.kafka_data_dir or self.kafka_dir / "data"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings once per process."""
    return Settings()


def settings_error_message(
    error: ValidationError, classes: Iterable[type[BaseSettings]]
) -> str | None:
    """What a user should read when settings from the environment cannot be used: each
    variable at fault and why (never the value, which may be a secret). None when the error
    is not about one of these settings classes."""
    prefixes = {cls.__name__: str(cls.model_config.get("env_prefix", "")) for cls in classes}
    prefix = prefixes.get(error.title)
    if prefix is None:
        return None
    problems = [
        f"{prefix}{str(problem['loc'][0]).upper()}: {problem['msg']}"
        if problem["loc"]
        else problem["msg"]
        for problem in error.errors()
    ]
    return "invalid settings: " + "; ".join(problems)

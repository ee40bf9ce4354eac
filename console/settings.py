"""Console settings, read once from ``RENDEZVOUS_CONSOLE_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    """Where the console listens and which worker REST API it reads."""

    model_config = SettingsConfigDict(env_prefix="RENDEZVOUS_CONSOLE_", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8050, ge=1, le=65535)
    worker_url: str = "http://127.0.0.1:6066"
    refresh_ms: int = Field(default=2000, ge=250)
    timeout_s: float = Field(default=2.0, gt=0)
    #: How far the console lowers its own CPU priority (``nice``) at start: it is never on the
    #: answers' path, so on a shared host the worker and models get the CPU first. 0: unchanged.
    nice: int = Field(default=10, ge=0, le=19)
    #: Sent as a bearer token on every read, for a worker with RENDEZVOUS_READ_TOKEN set
    #: (RENDEZVOUS_CONSOLE_READ_TOKEN, else the worker's own RENDEZVOUS_READ_TOKEN).
    read_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("RENDEZVOUS_CONSOLE_READ_TOKEN", "RENDEZVOUS_READ_TOKEN"),
    )


@lru_cache(maxsize=1)
def get_console_settings() -> ConsoleSettings:
    """The console's settings, read once."""
    return ConsoleSettings()

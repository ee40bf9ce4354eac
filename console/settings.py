"""Console settings, read once from ``RENDEZVOUS_CONSOLE_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    """Where the console listens and which worker REST API it reads."""

    model_config = SettingsConfigDict(env_prefix="RENDEZVOUS_CONSOLE_", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8050, ge=1, le=65535)
    worker_url: str = "http://127.0.0.1:6066"
    refresh_ms: int = Field(default=2000, ge=250)
    timeout_s: float = Field(default=2.0, gt=0)


@lru_cache(maxsize=1)
def get_console_settings() -> ConsoleSettings:
    """The console's settings, read once."""
    return ConsoleSettings()

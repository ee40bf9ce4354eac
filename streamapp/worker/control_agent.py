"""The control agent: folds commands from the control topic into the global registry."""

from __future__ import annotations

import logging
import time

import faust

from streamapp.app import REGISTRY_KEY, app, control, control_history, registry_table, settings
from streamapp.core.codec import DecodeError, decode
from streamapp.core.control import ControlError, apply_command
from streamapp.core.records import Control
from streamapp.worker import engine
from streamapp.worker.registry_cache import current_doc

log = logging.getLogger(__name__)


def history_key(version: int) -> str:
    """History keys sort by version."""
    return f"{version:012d}"


@app.agent(control, name="apply_control")
async def apply_control(stream: faust.StreamT[bytes]) -> None:
    """Apply each control command once, in order; bad ones go to the dead-letter topic."""
    async for event in stream.events():
        try:
            command = decode(Control, event.message.value)
            applied = apply_command(current_doc(), command, now=time.time())
        except (DecodeError, ControlError) as error:
            engine.outbox.dead_letter(event.message, f"invalid control command: {error}")
            continue
        if applied.change is None and applied.doc is current_doc():
            continue
        registry_table[REGISTRY_KEY] = applied.doc
        if applied.change is not None:
            version = applied.change.version
            control_history[history_key(version)] = applied.change
            expired = history_key(version - settings.control_history_size)
            if expired in control_history:
                del control_history[expired]
            log.info(
                "control v%d: %s %s by %s",
                version,
                command.command,
                command.model or "",
                command.actor,
            )

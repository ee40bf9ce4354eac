"""Control commands folded into the registry: a pure function, so every worker agrees.

Commands (``Control.command``) and their ``value``:

``deploy`` / ``shadow`` / ``undeploy``  none: the model's state becomes live / shadow / off
``priority``  int;  ``backstop``  bool;  ``weight``  number >= 0;  ``labels``  {str: str}
``set_model``  an object with any of state, priority, backstop, weight, labels (one change)
``policy``     an object with any of steps ([{after_ms, min_priority}]), random_split (bool)
``announce``   {"model_version": str}: a model process started; unknown models join as shadow

Every applied command bumps the version (``announce`` only when it adds a model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from streamapp.core.codec import describe
from streamapp.core.policy import STATES
from streamapp.core.records import Control, ControlChange, ModelEntry, RegistryDoc, StepEntry

MODEL_COMMANDS = (
    "deploy",
    "shadow",
    "undeploy",
    "priority",
    "backstop",
    "weight",
    "labels",
    "set_model",
    "announce",
)
STATE_OF = {"deploy": "live", "shadow": "shadow", "undeploy": "off"}


class ControlError(ValueError):
    """A command that cannot be applied; ``str(error)`` says why."""


class UnknownModel(ControlError):
    """The command names a model the registry does not know."""


class ModelUpdate(BaseModel):
    """Fields of a model that a command may set (all optional, strict types)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    state: str | None = Field(default=None, pattern="^(live|shadow|off)$")
    priority: int | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    backstop: bool | None = None
    weight: float | None = Field(default=None, ge=0, le=1_000_000)
    labels: dict[str, str] | None = None


class StepUpdate(BaseModel):
    """One schedule step as a command gives it."""

    model_config = ConfigDict(strict=True, extra="forbid")

    after_ms: int = Field(ge=0, le=600_000)
    min_priority: int


class PolicyUpdate(BaseModel):
    """Policy fields a command may set."""

    model_config = ConfigDict(strict=True, extra="forbid")

    steps: list[StepUpdate] | None = Field(default=None, max_length=32)
    random_split: bool | None = None


@dataclass(frozen=True)
class Applied:
    """The registry after a command and the history entry (None when nothing changed)."""

    doc: RegistryDoc
    change: ControlChange | None


def model_update(command: Control) -> ModelUpdate:
    """The model fields a model command sets, validated."""
    value = command.value
    raw: dict[str, Any]
    if command.command in STATE_OF:
        raw = {"state": STATE_OF[command.command]}
    elif command.command in ("priority", "backstop", "weight", "labels"):
        raw = {command.command: value}
    elif command.command == "set_model":
        if not isinstance(value, dict) or not value:
            raise ControlError("set_model needs an object with fields to set")
        raw = value
    else:
        raise ControlError(f"unknown command {command.command!r}")
    try:
        return ModelUpdate.model_validate(raw)
    except ValidationError as error:
        raise ControlError(describe(error)) from None


def policy_update(value: Any) -> PolicyUpdate:
    """The policy fields a ``policy`` command sets, validated."""
    if not isinstance(value, dict) or not value:
        raise ControlError("policy needs an object with steps and/or random_split")
    try:
        return PolicyUpdate.model_validate(value)
    except ValidationError as error:
        raise ControlError(describe(error)) from None


def _entry_dict(entry: ModelEntry | None) -> dict[str, Any] | None:
    return None if entry is None else dict(entry.asdict())


def _policy_dict(doc: RegistryDoc) -> dict[str, Any]:
    return {"steps": [dict(s.asdict()) for s in doc.steps], "random_split": doc.random_split}


def _bump(doc: RegistryDoc, command: Control, now: float, **fields: Any) -> RegistryDoc:
    return doc.derive(
        version=doc.version + 1, updated_at=now, last_command_id=command.command_id, **fields
    )


def apply_command(doc: RegistryDoc, command: Control, *, now: float) -> Applied:
    """Fold one command into the registry, or raise ControlError."""
    if command.command == "policy":
        policy = policy_update(command.value)
        fields: dict[str, Any] = {}
        if policy.steps is not None:
            steps = sorted(policy.steps, key=lambda s: s.after_ms)
            fields["steps"] = [
                StepEntry(after_ms=s.after_ms, min_priority=s.min_priority) for s in steps
            ]
        if policy.random_split is not None:
            fields["random_split"] = policy.random_split
        new = _bump(doc, command, now, **fields)
        return Applied(new, _change(new, command, now, _policy_dict(doc), _policy_dict(new)))
    if command.command not in MODEL_COMMANDS:
        raise ControlError(f"unknown command {command.command!r}")
    if not command.model:
        raise ControlError(f"{command.command} needs a model name")
    current = doc.model(command.model)
    if command.command == "announce":
        return _announce(doc, command, current, now)
    if current is None:
        raise UnknownModel(f"unknown model {command.model!r}")
    update = model_update(command)
    changed = current.derive(**update.model_dump(exclude_none=True))
    assert changed.state in STATES
    if changed.labels.get("role") == "canary" and changed.state == "live":
        raise ControlError(
            f"{current.name} is the canary (the frozen reference): it can only be shadow or off"
        )
    models = [changed if m.name == current.name else m for m in doc.models]
    new = _bump(doc, command, now, models=models)
    return Applied(new, _change(new, command, now, _entry_dict(current), _entry_dict(changed)))


def _announce(
    doc: RegistryDoc, command: Control, current: ModelEntry | None, now: float
) -> Applied:
    """A model process started: register it as shadow if new, note its version and role.

    A canary found live (seeded so) is put back to shadow, as a recorded change.
    """
    value = command.value if isinstance(command.value, dict) else {}
    version = value.get("model_version") if isinstance(value.get("model_version"), str) else None
    labels = {"role": "canary"} if value.get("role") == "canary" else {}
    if current is not None:
        demote = bool(labels) and current.state == "live"
        noted = current.derive(
            model_version=version,
            labels={**current.labels, **labels},
            state="shadow" if demote else current.state,
        )
        if noted == current:
            return Applied(doc, None)
        models = [noted if m.name == current.name else m for m in doc.models]
        if not demote:
            return Applied(doc.derive(models=models), None)
        new = _bump(doc, command, now, models=models)
        return Applied(new, _change(new, command, now, _entry_dict(current), _entry_dict(noted)))
    assert command.model is not None
    entry = ModelEntry(name=command.model, state="shadow", model_version=version, labels=labels)
    new = _bump(doc, command, now, models=[*doc.models, entry])
    return Applied(new, _change(new, command, now, None, _entry_dict(entry)))


def _change(
    doc: RegistryDoc,
    command: Control,
    now: float,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> ControlChange:
    return ControlChange(
        version=doc.version,
        command=command.command,
        actor=command.actor,
        at=now,
        model=command.model,
        before=before,
        after=after,
        command_id=command.command_id,
    )

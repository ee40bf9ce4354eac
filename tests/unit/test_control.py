"""Control commands folded into the registry: versions, history, validation."""

from __future__ import annotations

import pytest

from streamapp.core.control import ControlError, UnknownModel, apply_command
from streamapp.core.records import Control, RegistryDoc
from streamapp.core.registry import registry_from_doc, seed_doc
from streamapp.settings import Settings

NOW = 1_800_000_000.0


@pytest.fixture()
def seed() -> RegistryDoc:
    return seed_doc(Settings(models={"fast": {"priority": 10}, "rules": {"backstop": True}}).models)


def test_every_model_change_bumps_the_version_and_records_before_and_after(seed) -> None:
    applied = apply_command(
        seed,
        Control(command="priority", model="rules", value=7, actor="rest:ops", command_id="c1"),
        now=NOW,
    )
    assert applied.doc.version == seed.version + 1
    assert applied.doc.model("rules").priority == 7
    change = applied.change
    assert (change.version, change.actor, change.command_id) == (2, "rest:ops", "c1")
    assert change.before["priority"] == 0 and change.after["priority"] == 7


@pytest.mark.parametrize(
    ("command", "state"), [("deploy", "live"), ("shadow", "shadow"), ("undeploy", "off")]
)
def test_deploy_shadow_undeploy_set_the_state(seed, command: str, state: str) -> None:
    applied = apply_command(seed, Control(command=command, model="fast"), now=NOW)
    assert applied.doc.model("fast").state == state
    assert registry_from_doc(applied.doc).models["fast"].state == state


def test_set_model_changes_several_fields_in_one_version(seed) -> None:
    value = {"state": "shadow", "priority": 3, "backstop": True, "weight": 0.5}
    applied = apply_command(seed, Control(command="set_model", model="fast", value=value), now=NOW)
    entry = applied.doc.model("fast")
    assert (entry.state, entry.priority, entry.backstop, entry.weight) == ("shadow", 3, True, 0.5)
    assert applied.doc.version == 2


def test_unknown_model_is_refused(seed) -> None:
    with pytest.raises(UnknownModel, match="ghost"):
        apply_command(seed, Control(command="deploy", model="ghost"), now=NOW)


@pytest.mark.parametrize(
    ("command", "match"),
    [
        (Control(command="priority", model="fast", value="high"), "priority"),
        (Control(command="priority", model="fast", value=True), "priority"),
        (Control(command="weight", model="fast", value=-1), "weight"),
        (Control(command="set_model", model="fast", value={"state": "Live"}), "state"),
        (Control(command="set_model", model="fast", value={"colour": "red"}), "colour"),
        (Control(command="set_model", model="fast", value={}), "fields"),
        (Control(command="explode", model="fast"), "unknown command"),
        (Control(command="deploy"), "model name"),
        (
            Control(command="policy", value={"steps": [{"after_ms": -5, "min_priority": 1}]}),
            "after_ms",
        ),
        (Control(command="policy", value="fast please"), "policy needs"),
    ],
)
def test_invalid_commands_are_refused_with_the_reason(seed, command: Control, match: str) -> None:
    with pytest.raises(ControlError, match=match):
        apply_command(seed, command, now=NOW)


def test_policy_edit_sorts_steps_and_sets_the_split(seed) -> None:
    value = {
        "steps": [{"after_ms": 80, "min_priority": 0}, {"after_ms": 20, "min_priority": 5}],
        "random_split": True,
    }
    applied = apply_command(seed, Control(command="policy", value=value), now=NOW)
    registry = registry_from_doc(applied.doc)
    assert [s.after_ms for s in registry.steps] == [20, 80]
    assert registry.random_split and registry.version == 2
    assert applied.change.before == {"steps": [], "random_split": False}


def test_announced_unknown_model_joins_as_shadow_so_it_cannot_win_by_accident(seed) -> None:
    applied = apply_command(
        seed,
        Control(command="announce", model="newcomer", value={"model_version": "v3"}),
        now=NOW,
    )
    entry = applied.doc.model("newcomer")
    assert (entry.state, entry.model_version) == ("shadow", "v3")
    assert applied.doc.version == 2


def test_announcing_a_known_model_changes_no_version(seed) -> None:
    applied = apply_command(
        seed,
        Control(command="announce", model="fast", value={"model_version": "fast-2"}),
        now=NOW,
    )
    assert applied.change is None and applied.doc.version == seed.version
    assert applied.doc.model("fast").model_version == "fast-2"


def test_the_canary_announces_itself_and_can_never_go_live(seed) -> None:
    announce = Control(
        command="announce", model="canary", value={"model_version": "canary-1", "role": "canary"}
    )
    doc = apply_command(seed, announce, now=NOW).doc
    assert doc.model("canary").state == "shadow"
    assert doc.model("canary").labels == {"role": "canary"}
    with pytest.raises(ControlError, match="only be shadow or off"):
        apply_command(doc, Control(command="deploy", model="canary"), now=NOW)
    assert (
        apply_command(doc, Control(command="undeploy", model="canary"), now=NOW)
        .doc.model("canary")
        .state
        == "off"
    )


def test_a_canary_seeded_live_is_put_back_to_shadow_as_a_recorded_change() -> None:
    doc = seed_doc(Settings(models={"canary": {"state": "live", "priority": 5}}).models)
    applied = apply_command(
        doc, Control(command="announce", model="canary", value={"role": "canary"}), now=NOW
    )
    assert applied.doc.model("canary").state == "shadow"
    assert applied.change is not None and applied.change.before["state"] == "live"

"""``rendezvous model``: what it refuses before it starts, with the reason."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from streamapp.cli.main import main


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["model"], "name a model, or use --list"),
        (["model", "linear", "mlp", "linear"], "each model runs once in a process: linear"),
        (["model", "linear", "mlp", "--as", "fast"], "--as renames one model"),
        (
            ["model", "linear", "mlp", "--oip", "http://127.0.0.1:9/v2/models/m"],
            "--oip scores one model",
        ),
        (["model", "scorecard", "no-such-model"], "no model 'no-such-model'"),
    ],
)
def test_a_model_command_that_cannot_run_says_why_and_fails(argv: list[str], reason: str) -> None:
    result = CliRunner().invoke(main, argv, prog_name="rendezvous")
    assert result.exit_code != 0
    assert reason in result.output
    assert "Traceback" not in result.output

"""``rendezvous --help`` and every subcommand's help read as plain text, without reST markup."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from streamapp.cli.main import main


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path under ``group``, the group itself first."""
    yield prefix
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from command_paths(command, (*prefix, name))
        else:
            yield (*prefix, name)


@pytest.mark.parametrize("path", list(command_paths(main)), ids=" ".join)
def test_help_shows_no_rest_markup(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="rendezvous")
    assert result.exit_code == 0, result.output
    assert "``" not in result.output, result.output
    assert "`" not in result.output, result.output

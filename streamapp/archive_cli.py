"""CLI commands of the decoy archive and replay (filled in by the archive work)."""

from __future__ import annotations

import click


@click.command()
def decoy() -> None:
    """Archive every request as the models see it (not built yet)."""
    raise click.ClickException("the decoy is not built yet")


@click.command()
def replay() -> None:
    """Replay an archive into a model (not built yet)."""
    raise click.ClickException("replay is not built yet")

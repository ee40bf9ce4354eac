"""CLI commands of the decoy archive and replay: ``rendezvous decoy`` and ``rendezvous replay``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import click

from streamapp.processes.lifecycle import run_until_signalled
from streamapp.settings import get_settings

if TYPE_CHECKING:  # the commands import their modules lazily, to keep --help fast
    from streamapp.processes.replay import Comparison
    from streamapp.settings import Settings


@click.command()
@click.option(
    "--archive-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where segments go (default RENDEZVOUS_ARCHIVE_DIR, else <RENDEZVOUS_DATA_DIR>/archive).",
)
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    help="Bound on the compressed archive; the oldest segments are deleted "
    "(default RENDEZVOUS_ARCHIVE_MAX_BYTES, 256 MiB).",
)
@click.option(
    "--segment-bytes",
    type=click.IntRange(min=1),
    help="Uncompressed bytes per segment before a new one starts "
    "(default RENDEZVOUS_ARCHIVE_SEGMENT_BYTES, 8 MiB).",
)
def decoy(archive_dir: Path | None, max_bytes: int | None, segment_bytes: int | None) -> None:
    """Archive every request exactly as received, as gzip JSON Lines segments; never scores."""
    from streamapp.archive.writer import ArchiveWriter
    from streamapp.processes.decoy import DecoyProcess

    settings = get_settings()
    directory = archive_dir or settings.archive_dir or settings.data_dir / "archive"
    max_bytes = max_bytes or settings.archive_max_bytes
    segment_bytes = segment_bytes or settings.archive_segment_bytes
    if max_bytes < segment_bytes:
        raise click.ClickException(
            f"--max-bytes ({max_bytes}) must be at least --segment-bytes ({segment_bytes})"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    writer = ArchiveWriter(directory, segment_bytes=segment_bytes, max_bytes=max_bytes)
    process = DecoyProcess(settings, writer)

    run_until_signalled(process, loop=settings.event_loop)
    click.echo(
        f"decoy stopped after archiving {writer.archived} requests into {directory} "
        f"({writer.total_bytes} bytes, {writer.deleted} old segments deleted)"
    )


@click.command()
@click.option(
    "--archive",
    "archive_path",
    required=True,
    type=click.Path(path_type=Path),
    help="A segment file, or a directory of segments.",
)
@click.option(
    "--model", "model_name", required=True, metavar="NAME", help="Registered model to replay into."
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="0 = as fast as possible, 1 = original pace, X = X times faster.",
)
@click.option(
    "--limit", type=click.IntRange(min=1), metavar="N", help="Replay at most N valid requests."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the replayed Scores to this JSON Lines file.",
)
@click.option(
    "--compare",
    is_flag=True,
    help="Compare with the live answers on the default answers topic.",
)
@click.option(
    "--compare-timeout",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds at most to read the answers topic.",
)
@click.option(
    "--progress-every",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Report progress every N replayed requests.",
)
def replay(
    archive_path: Path,
    model_name: str,
    speed: float,
    limit: int | None,
    out: Path | None,
    compare: bool,
    compare_timeout: float,
    progress_every: int,
) -> None:
    """Replay archived requests through model NAME into the replays topic (never live scores)."""
    from streamapp.archive import format as archive
    from streamapp.processes import replay as replaying
    from streamapp.processes.model import UnknownModelError, load_model

    try:
        segments = archive.find_segments(archive_path)
        model = load_model(model_name)
    except (archive.ArchiveError, UnknownModelError, TypeError) as error:
        raise click.ClickException(str(error)) from None
    settings = get_settings()
    click.echo(f"replaying {len(segments)} segment(s) from {archive_path} into {model_name}")

    def progress(summary: replaying.ReplaySummary) -> None:
        rate = summary.replayed / summary.elapsed_s if summary.elapsed_s else 0.0
        click.echo(f"  replayed {summary.replayed} requests ({rate:.0f}/s)", err=True)

    async def run(sink: BinaryIO | None) -> replaying.ReplaySummary:
        records = archive.in_time_order(archive.read_archive(segments))
        return await replaying.replay(
            settings,
            model,
            model_name,
            records,
            speed=speed,
            limit=limit,
            out=sink,
            keep_results=compare,
            progress_every=progress_every,
            on_progress=progress,
        )

    try:
        with out.open("wb") if out is not None else contextlib.nullcontext() as sink:
            summary = asyncio.run(run(sink))
    except archive.ArchiveError as error:
        raise click.ClickException(str(error)) from None
    rate = summary.replayed / summary.elapsed_s if summary.elapsed_s else 0.0
    click.echo(
        f"replayed {summary.replayed} of {summary.read} archived requests "
        f"({summary.invalid} invalid skipped) with {summary.model} ({summary.model_version}) "
        f"into {summary.topic} in {summary.elapsed_s:.1f}s ({rate:.0f}/s)"
        + (f"; scores in {out}" if out is not None else "")
    )
    if compare:
        live = asyncio.run(replaying.live_answers(settings, timeout_s=compare_timeout))
        click.echo(_comparison_text(replaying.compare(summary.results, live), settings))


def _comparison_text(result: Comparison, settings: Settings) -> str:
    """One line summing up a comparison."""
    share = f"{result.agreement:.1%}" if result.agreement is not None else "n/a"
    models = ", ".join(f"{name} {n}" for name, n in result.live_models.most_common()) or "none"
    return (
        f"compare with {settings.topic('answers')}: {result.replayed} replayed, "
        f"{result.found} with a live answer, {result.compared} comparable, "
        f"agreement {share} ({result.agreed}/{result.compared}); answered live by: {models}"
    )

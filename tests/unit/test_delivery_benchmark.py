"""``python -m benchmarks.delivery`` runs both ways and reports each (it checks no figures)."""

from __future__ import annotations

import pytest

from benchmarks import delivery


def test_a_short_run_reports_every_round_and_a_median_for_each_way(
    capsys: pytest.CaptureFixture[str],
) -> None:
    delivery.main(["--messages", "300", "--rounds", "2"])
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == ["round 1/2", "round 2/2", "faust", "in place"]
    assert all("CPU µs per message" in line for line in out[2:])


def test_it_refuses_an_empty_run() -> None:
    with pytest.raises(SystemExit) as refused:
        delivery.main(["--messages", "0"])
    assert refused.value.code == 2

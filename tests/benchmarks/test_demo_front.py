"""benchmarks.demo_front, tiny: synthetic data, a gate everything passes, two seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import demo_front
from tests.benchmarks.test_search_quality import TINY


@pytest.mark.subprocess  # git rev-parse, for the table's header
def test_table_has_a_row_per_seed_and_counts_non_empty_fronts(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "demo.txt"
    argv = ["--seeds", "1,2", "--workers", "1", "--out", str(out), "--set", "budget=2",
            *[a for s in TINY for a in ("--set", s)], "--set", "eval.stability_steps=0"]
    assert demo_front.main(argv) == 0
    text = capsys.readouterr().out
    assert out.read_text() == text
    assert "seed layers: bn_relu, evonorm_s0" in text  # the preset's suggested seeds, as the form ticks them
    rows = [line.split() for line in text.splitlines() if line[:4].strip() in ("1", "2")]
    assert [r[0] for r in rows] == ["1", "2"]
    # no stability test and a gate of 0: every trained layer that stays finite survives
    assert all(int(r[3]) >= 1 and int(r[4]) == 2 for r in rows)
    assert "non-empty front at the end: 2 of 2 seeds" in text

"""benchmarks.search_quality, tiny: synthetic data, a budget of 6, one seed.

The real run takes hours; this checks that the table is complete and that a
second invocation reuses every finished search and evaluation.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import search_quality
from search_engine.results_file import events_path

TINY = ["eval.dataset=synthetic", 'eval.architectures=["mobilenetv2"]', "eval.steps=6",
        "eval.quality_steps=3", "eval.stability_steps=1", "eval.quality_threshold=0.0",
        "eval.eval_batch_size=64", "eval.val_examples=64", "eval.train_examples=256",
        "population_size=4", "tournament_size=2"]


def run(tmp_path: Path, capsys: pytest.CaptureFixture, *extra: str) -> str:
    argv = ["--seeds", "1", "--budget", "6", "--fresh-seeds", "2", "--workers", "1",
            "--dir", str(tmp_path), *[a for s in TINY for a in ("--set", s)], *extra]
    assert search_quality.main(argv) == 0
    return capsys.readouterr().out


@pytest.mark.subprocess
def test_tiny_run_prints_the_whole_table_and_resumes(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    first = run(tmp_path, capsys, "--strategies", "evolution")
    assert " evolution " in first and "BN-ReLU" in first and "re-evaluated" in first
    log = events_path(tmp_path / "evolution_seed1.json")
    before = log.read_text()

    out = tmp_path / "table.txt"
    second = run(tmp_path, capsys, "--out", str(out))
    assert log.read_text() == before  # the finished search was reused, not run again
    rows = [line.split() for line in second.splitlines()]
    evo = next(r for r in rows if r[:2] == ["1", "evolution"])
    rnd = next(r for r in rows if r[:2] == ["1", "random"])
    assert evo[5] == rnd[5] == "6"  # trained candidates: the budget, unstable ones (column 4) apart
    assert int(evo[2]) >= 6 and int(rnd[2]) >= 6  # drawn
    assert "evolution's best beat random search's best: seed 1" in second
    assert "bn_relu" in second and "+-" in second
    assert out.read_text().strip() == second.strip()
    # the baseline and the fresh re-evaluations are files too: a third run computes nothing
    files = sorted(p.name for p in tmp_path.iterdir())
    assert "bn_relu_seed1.json" in files
    assert sum(name.startswith("fresh_bn_relu_seed") for name in files) == 2


def test_seeds_are_a_count_or_a_list() -> None:
    from benchmarks.search_quality import parse_seeds

    assert parse_seeds("3") == [1, 2, 3]
    assert parse_seeds("2,") == [2]
    assert parse_seeds("1,3") == [1, 3]
    with pytest.raises(SystemExit):
        parse_seeds("two")


@pytest.mark.subprocess
def test_table_only_tabulates_a_search_stopped_early_without_running_it(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A search stopped before its budget (here: a wall-time limit of ~0) is
    tabulated as far as it got, marked *, and nothing is run or resumed."""
    run(tmp_path, capsys, "--strategies", "evolution", "--set", "max_wall_seconds=0.001")
    log = events_path(tmp_path / "evolution_seed1.json")
    before = log.read_text()
    text = run(tmp_path, capsys, "--strategies", "evolution", "--table-only")
    assert log.read_text() == before
    row = next(line.split() for line in text.splitlines() if line.split()[:2] == ["1", "evolution*"])
    assert int(row[5]) < 6  # trained: short of the budget
    assert "* stopped before its budget was spent" in text
    assert "re-evaluated" in text  # 2 fresh seeds here; with --fresh-seeds 0 the section is left out

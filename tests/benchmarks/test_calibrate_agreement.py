"""calibrate's rank agreement between seeds: Spearman over the layers trained at both seeds."""

from __future__ import annotations

import math

import pytest

from benchmarks.calibrate import seed_agreement, spearman


def _row(layer: str, arch: str, seed: int, acc: float | None, kind: str = "ref") -> dict:
    return {"kind": kind, "layer": layer, "arch": arch, "seed": seed, "accuracy": acc}


def test_spearman_of_same_and_reversed_order() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(spearman([1, 2], [1, 2]))


def test_seed_agreement_pairs_seeds_per_anchor_and_skips_untrained_and_bad_layers() -> None:
    rows = [
        _row("a", "m", 0, 0.9), _row("b", "m", 0, 0.5), _row("c", "m", 0, 0.1),
        _row("a", "m", 1, 0.8), _row("b", "m", 1, 0.6), _row("c", "m", 1, 0.2),
        _row("d", "m", 0, None),  # rejected before training at seed 0
        _row("d", "m", 1, 0.99),
        _row("bad", "m", 0, 0.0, "bad"), _row("bad", "m", 1, 1.0, "bad"),
    ]
    lines = seed_agreement(rows)
    (line,) = [ln for ln in lines if ln.startswith("m ")]
    assert line.split()[1:4] == ["0,1", "3", "1.00"]
    assert line.endswith("a / a")

"""Pareto dominance over per-architecture score vectors (higher is better).

A candidate's scores form one vector, one entry per anchor architecture in a
fixed order. These are short pure functions over plain lists so that tests can
check them against a brute-force oracle and the web app can reuse them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Vector = Sequence[float]


def dominates(a: Vector, b: Vector) -> bool:
    """True when ``a`` is at least as good as ``b`` everywhere and better somewhere."""
    if len(a) != len(b):
        raise ValueError(f"vectors of different lengths: {len(a)} and {len(b)}")
    better = False
    for x, y in zip(a, b, strict=True):
        if x < y:
            return False
        if x > y:
            better = True
    return better


def non_dominated_sort(points: Sequence[Vector]) -> list[list[int]]:
    """Split point indices into fronts: front 0 is non-dominated, front k is
    non-dominated once fronts 0..k-1 are removed. Indices keep ascending order
    inside each front so results are deterministic.

    Quadratic (Deb's fast non-dominated sort); populations here are ~100.
    """
    n = len(points)
    dominated_by: list[list[int]] = [[] for _ in range(n)]  # i -> points i dominates
    counts = [0] * n  # how many points dominate i
    for i in range(n):
        for j in range(i + 1, n):
            if dominates(points[i], points[j]):
                dominated_by[i].append(j)
                counts[j] += 1
            elif dominates(points[j], points[i]):
                dominated_by[j].append(i)
                counts[i] += 1
    fronts: list[list[int]] = []
    current = [i for i in range(n) if counts[i] == 0]
    while current:
        fronts.append(current)
        following: list[int] = []
        for i in current:
            for j in dominated_by[i]:
                counts[j] -= 1
                if counts[j] == 0:
                    following.append(j)
        current = sorted(following)
    return fronts


def pareto_front(points: Sequence[Vector]) -> list[int]:
    """Indices of the points no other point dominates, ascending."""
    return [
        i
        for i, p in enumerate(points)
        if not any(dominates(q, p) for j, q in enumerate(points) if j != i)
    ]


def score_vector(scores: Mapping[str, float], architectures: Sequence[str]) -> list[float]:
    """Scores in a fixed architecture order; a missing score counts as the worst."""
    return [float(scores.get(arch, float("-inf"))) for arch in architectures]

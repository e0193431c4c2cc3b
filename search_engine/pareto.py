"""Pareto dominance over per-architecture score vectors (higher is better).

A candidate's scores form one vector, one entry per anchor architecture in a
fixed order. These are short pure functions over plain lists so that tests can
check them against a brute-force oracle and the web app can reuse them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import ge

Vector = Sequence[float]


def dominates(a: Vector, b: Vector) -> bool:
    """True when ``a`` is at least as good as ``b`` everywhere and better somewhere."""
    if len(a) != len(b):
        raise ValueError(f"vectors of different lengths: {len(a)} and {len(b)}")
    # >= everywhere and not equal: better somewhere (a NaN entry dominates nothing)
    return all(map(ge, a, b)) and list(a) != list(b)


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
    """Indices of the points no other point dominates, ascending.

    Points are visited in descending lexicographic order: a point's dominator
    is lexicographically greater, so it was visited before, and (dominance
    being transitive) some point already on the front dominates it too. Each
    point is therefore checked against the front found so far only.
    """
    pts = [p if type(p) is tuple else tuple(p) for p in points]
    if not pts:
        return []
    dim = len(pts[0])
    for p in pts:
        if len(p) != dim:
            raise ValueError(f"vectors of different lengths: {sorted({len(q) for q in pts})}")
    order = sorted(range(len(pts)), key=pts.__getitem__, reverse=True)
    front: list[int] = []
    if dim == 3:  # the anchors' usual count, unrolled: this runs for every tournament
        for i in order:
            p0, p1, p2 = p = pts[i]
            for j in front:  # dominates(pts[j], p), inlined
                q = pts[j]
                if q[0] >= p0 and q[1] >= p1 and q[2] >= p2 and q != p:
                    break
            else:
                front.append(i)
    else:
        for i in order:
            p = pts[i]
            for j in front:  # dominates(pts[j], p), inlined
                q = pts[j]
                if q != p and all(map(ge, q, p)):
                    break
            else:
                front.append(i)
    front.sort()
    return front


def score_vector(scores: Mapping[str, float], architectures: Sequence[str]) -> list[float]:
    """Scores in a fixed architecture order; a missing or NaN score counts as the worst."""
    vector = [float(scores.get(arch, float("-inf"))) for arch in architectures]
    return [v if v == v else float("-inf") for v in vector]  # v != v: NaN

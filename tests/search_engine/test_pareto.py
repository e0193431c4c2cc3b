"""Pareto dominance and non-dominated sorting against brute-force oracles."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from search_engine.pareto import dominates, non_dominated_sort, pareto_front, score_vector

# Small value sets on purpose: ties and equal vectors are where sorting goes wrong.
values = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.9, 1.0])


def vectors(dim: int) -> st.SearchStrategy[list[float]]:
    return st.lists(values, min_size=dim, max_size=dim)


def point_sets() -> st.SearchStrategy[list[list[float]]]:
    return st.integers(1, 4).flatmap(lambda d: st.lists(vectors(d), min_size=0, max_size=30))


def brute_dominates(a: list[float], b: list[float]) -> bool:
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(x > y for x, y in zip(a, b, strict=True))


def brute_fronts(points: list[list[float]]) -> list[list[int]]:
    """Peel fronts one at a time by the definition."""
    remaining = list(range(len(points)))
    fronts = []
    while remaining:
        front = [
            i for i in remaining
            if not any(brute_dominates(points[j], points[i]) for j in remaining)
        ]
        fronts.append(front)
        remaining = [i for i in remaining if i not in front]
    return fronts


@given(st.integers(1, 5).flatmap(lambda d: st.tuples(vectors(d), vectors(d))))
def test_dominates_matches_definition(pair: tuple[list[float], list[float]]) -> None:
    a, b = pair
    assert dominates(a, b) == brute_dominates(a, b)
    assert not (dominates(a, b) and dominates(b, a))


def test_dominates_rejects_mismatched_lengths() -> None:
    try:
        dominates([1.0], [1.0, 2.0])
    except ValueError:
        return
    raise AssertionError("expected ValueError")


def test_equal_vectors_do_not_dominate() -> None:
    assert not dominates([0.5, 0.5], [0.5, 0.5])


@settings(max_examples=300)
@given(point_sets())
def test_non_dominated_sort_matches_brute_force(points: list[list[float]]) -> None:
    assert non_dominated_sort(points) == brute_fronts(points)


@settings(max_examples=300)
@given(point_sets())
def test_pareto_front_is_first_front(points: list[list[float]]) -> None:
    front = pareto_front(points)
    assert front == (brute_fronts(points)[0] if points else [])
    # every point off the front is dominated by some front member
    for i in set(range(len(points))) - set(front):
        assert any(dominates(points[j], points[i]) for j in front)


@given(point_sets())
def test_fronts_partition_the_points(points: list[list[float]]) -> None:
    fronts = non_dominated_sort(points)
    flat = list(itertools.chain.from_iterable(fronts))
    assert sorted(flat) == list(range(len(points)))
    # no member of a later front dominates a member of an earlier one
    for earlier, later in itertools.combinations(fronts, 2):
        assert not any(dominates(points[j], points[i]) for i in earlier for j in later)


def test_score_vector_orders_and_fills_missing() -> None:
    assert score_vector({"b": 0.2, "a": 0.1}, ["a", "b"]) == [0.1, 0.2]
    assert score_vector({"a": 0.1}, ["a", "b"]) == [0.1, float("-inf")]

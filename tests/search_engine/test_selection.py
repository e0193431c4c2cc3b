"""Tournament selection: winners always come from the contestants' Pareto front."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search_engine.pareto import dominates
from search_engine.selection import tournament


def population(rng: random.Random, n: int, dim: int) -> list[tuple[str, list[float]]]:
    return [(f"h{i}", [rng.choice([0.1, 0.3, 0.5, 0.7]) for _ in range(dim)]) for i in range(n)]


@settings(max_examples=200)
@given(st.integers(1, 40), st.integers(1, 30), st.integers(1, 3), st.integers(0, 10**6))
def test_winner_is_always_on_the_contestants_front(n: int, k: int, dim: int, seed: int) -> None:
    rng = random.Random(seed)
    members = population(rng, n, dim)
    vec = dict(members)
    result = tournament(members, k, rng)
    contestants = result["contestants"]
    assert len(contestants) == min(n, k) == len(set(contestants))
    assert result["winner"] in result["front"]
    assert set(result["front"]) <= set(contestants)
    for key in contestants:
        beaten = any(dominates(vec[o], vec[key]) for o in contestants if o != key)
        assert (key in result["front"]) == (not beaten)


def test_small_population_takes_part_whole() -> None:
    members = [("a", [0.1]), ("b", [0.9]), ("c", [0.5])]
    result = tournament(members, 25, random.Random(0))
    assert result["contestants"] == ["a", "b", "c"]
    assert result["front"] == ["b"] and result["winner"] == "b"


def test_winner_drawn_from_whole_front() -> None:
    # three mutually non-dominated members: each must win some of the time
    members = [("a", [1.0, 0.0]), ("b", [0.0, 1.0]), ("c", [0.5, 0.5]), ("d", [0.0, 0.0])]
    rng = random.Random(3)
    winners = {tournament(members, 4, rng)["winner"] for _ in range(200)}
    assert winners == {"a", "b", "c"}


def test_same_rng_same_tournament() -> None:
    members = population(random.Random(1), 50, 2)
    assert tournament(members, 10, random.Random(7)) == tournament(members, 10, random.Random(7))


def test_empty_population_is_an_error() -> None:
    with pytest.raises(ValueError):
        tournament([], 5, random.Random(0))

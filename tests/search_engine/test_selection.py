"""Tournament selection: winners always come from the contestants' Pareto front."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search_engine.pareto import dominates
from search_engine.selection import child_share, near_miss_vector, parent_pool, tournament


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


# validation accuracies are fractions correct / total
accuracies = st.integers(0, 10_000).map(lambda k: k / 10_000)
ARCHS = ("a", "b", "c")


@settings(max_examples=200)
@given(st.lists(accuracies, min_size=3, max_size=3),
       st.dictionaries(st.sampled_from(ARCHS), accuracies))
def test_every_survivor_dominates_every_near_miss(scores: list[float], gates: dict) -> None:
    assert dominates(scores, near_miss_vector(gates, ARCHS))


@settings(max_examples=200)
@given(st.dictionaries(st.sampled_from(ARCHS), accuracies),
       st.dictionaries(st.sampled_from(ARCHS), accuracies))
def test_near_misses_rank_by_their_gate_accuracies(g1: dict, g2: dict) -> None:
    worst = float("-inf")
    plain = [[g.get(a, worst) for a in ARCHS] for g in (g1, g2)]
    shifted = [near_miss_vector(g, ARCHS) for g in (g1, g2)]
    assert dominates(*shifted) == dominates(*plain)
    assert dominates(*reversed(shifted)) == dominates(*reversed(plain))


def test_near_misses_join_the_pool_only_while_survivors_cannot_fill_a_tournament() -> None:
    survivors = [("s1", [0.5]), ("s2", [0.6])]
    near = [("n1", [-1.5])]
    assert parent_pool(survivors, near, 3, bootstrap=True) == [*survivors, *near]
    assert parent_pool(survivors, near, 2, bootstrap=True) == survivors
    assert parent_pool(survivors, near, 3, bootstrap=False) == survivors
    assert parent_pool([], near, 3, bootstrap=True) == near
    assert parent_pool([], near, 3, bootstrap=False) == []


def test_a_near_miss_wins_only_a_tournament_without_survivors() -> None:
    pool = parent_pool([("s", [0.2, 0.1])], [("n1", near_miss_vector({"a": 0.9}, "ab")),
                                             ("n2", near_miss_vector({"a": 0.3, "b": 0.1}, "ab"))],
                       5, bootstrap=True)
    rng = random.Random(0)
    assert {tournament(pool, 5, rng)["winner"] for _ in range(50)} == {"s"}
    only_near = pool[1:]
    assert {tournament(only_near, 5, rng)["winner"] for _ in range(50)} == {"n1", "n2"}


def test_kept_members_take_part_in_every_tournament() -> None:
    survivors = [("s1", [0.2]), ("s2", [0.1])]
    near = [(f"n{i}", [-1.5 - i / 100]) for i in range(20)]
    rng = random.Random(3)
    for _ in range(100):
        result = tournament([*survivors, *near], 4, rng, keep=2)
        assert result["contestants"][:2] == ["s1", "s2"]
        assert len(set(result["contestants"])) == 4
        assert result["winner"] == "s1"
    # the other seats are still drawn: every near-miss gets a seat sometimes
    seats = {c for _ in range(300) for c in tournament([*survivors, *near], 4, rng,
                                                       keep=2)["contestants"][2:]}
    assert seats == {key for key, _ in near}
    with pytest.raises(ValueError):
        tournament(near, 4, rng, keep=5)


def test_child_share_grows_with_the_pool_and_stays_at_most_half_without_survivors() -> None:
    assert [child_share(s, 0, 4) for s in range(7)] == [0.0, 0.625, 0.75, 0.875, 1.0, 1.0, 1.0]
    assert [child_share(0, n, 4) for n in (0, 1, 2, 4, 100)] == [0.0, 0.125, 0.25, 0.5, 0.5]
    # from the first survivor on, near-misses no longer count: every parent is a survivor
    assert child_share(1, 2, 4) == child_share(1, 100, 4) == 0.625
    assert child_share(4, 100, 4) == 1.0
    with pytest.raises(ValueError):
        child_share(1, 0, 0)


@settings(max_examples=200)
@given(st.integers(0, 50), st.integers(0, 50), st.integers(1, 30))
def test_child_share_is_monotone_in_the_pool(s: int, n: int, t: int) -> None:
    share = child_share(s, n, t)
    assert 0.0 <= share <= 1.0
    assert child_share(s + 1, n, t) >= share and child_share(s, n + 1, t) >= share
    assert (share == 0.0) == (s == 0 and n == 0)
    if s == 0:
        assert share <= 0.5


@settings(max_examples=300)
@given(st.integers(0, 1500), st.integers(0, 40), st.integers(0, 10**6))
def test_sample_indices_draws_what_random_sample_draws(n: int, k: int, seed: int) -> None:
    """The tournament's index draw is ``sorted(rng.sample(range(n), k))`` draw
    for draw (so a seed gives the searches it gave before), and leaves the
    generator in the same state."""
    from search_engine.selection import sample_indices

    k = min(k, n)
    a, b = random.Random(seed), random.Random(seed)
    drawn = sample_indices(n, k, a)
    assert drawn == sorted(b.sample(range(n), k))
    assert len(set(drawn)) == k and all(0 <= i < n for i in drawn)
    assert a.getstate() == b.getstate()

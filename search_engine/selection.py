"""Tournament selection over a Pareto front (the paper's selection rule).

Draw a random subset of the population; the winners are the contestants no
other contestant beats on every architecture; one of them is picked at random.
A layer that is great on one architecture and broken on another cannot win
just by its best score.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from search_engine.pareto import Vector, pareto_front


def tournament(
    members: Sequence[tuple[str, Vector]], tournament_size: int, rng: random.Random
) -> dict:
    """Run one tournament over ``(key, score_vector)`` members.

    Returns ``{"contestants": [key], "front": [key], "winner": key}``; the
    winner is always a member of the contestants' Pareto front. Contestants
    are drawn without replacement; a population smaller than the tournament
    takes part whole.
    """
    if not members:
        raise ValueError("tournament over an empty population")
    if tournament_size < 1:
        raise ValueError(f"tournament_size must be at least 1, got {tournament_size}")
    k = min(tournament_size, len(members))
    # sorted so the order of contestants does not depend on the sample's order
    picked = sorted(rng.sample(range(len(members)), k))
    contestants = [members[i] for i in picked]
    front = [contestants[i][0] for i in pareto_front([vec for _, vec in contestants])]
    winner = rng.choice(front)
    return {
        "contestants": [key for key, _ in contestants],
        "front": front,
        "winner": winner,
    }

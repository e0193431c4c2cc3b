"""Tournament selection over a Pareto front (the paper's selection rule), and
who may take part before the population can hold a tournament (ours).

Draw a random subset of the population; the winners are the contestants no
other contestant beats on every architecture; one of them is picked at random.
A layer that is great on one architecture and broken on another cannot win
just by its best score.

**Bootstrap (our addition to the paper).** Random layers rarely survive the
rejection protocols, so a small search may never gather ``tournament_size``
survivors and would never evolve. Until it does, the tournament runs over
whatever exists (``tournament`` already takes a small population whole) and
*near-misses* may take part: stable layers that failed only the quality gate.
Each near-miss enters with :func:`near_miss_vector`, which every survivor
dominates, so a near-miss wins only a tournament without survivors, and among
near-misses the higher gate accuracies win. While bootstrapping, every
survivor takes part in every tournament and near-misses fill the other seats
(``tournament(..., keep=len(survivors))``): a near-miss drawn into a
tournament instead of the one survivor would win it, and near-misses at
chance carry little signal. ``SearchConfig.bootstrap = False`` turns this off
(the paper's rule).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence

from search_engine.pareto import Vector, pareto_front

# Survivors score accuracies in [0, 1]; near-miss entries are shifted below -1.
NEAR_MISS_OFFSET = 2.0


def tournament(
    members: Sequence[tuple[str, Vector]], tournament_size: int, rng: random.Random,
    *, keep: int = 0,
) -> dict:
    """Run one tournament over ``(key, score_vector)`` members.

    Returns ``{"contestants": [key], "front": [key], "winner": key}``; the
    winner is always a member of the contestants' Pareto front. Contestants
    are drawn without replacement; a population smaller than the tournament
    takes part whole. The first ``keep`` members always take part (at most
    ``tournament_size`` of them; the survivors while bootstrapping), the rest
    of the seats are drawn from the other members.
    """
    if not members:
        raise ValueError("tournament over an empty population")
    if tournament_size < 1:
        raise ValueError(f"tournament_size must be at least 1, got {tournament_size}")
    if not 0 <= keep <= tournament_size:
        raise ValueError(f"keep must be between 0 and tournament_size, got {keep}")
    n = len(members)
    k = min(tournament_size, n)
    keep = min(keep, k)
    # ascending, so the order of contestants does not depend on the draw's order
    drawn = sample_indices(n - keep, k - keep, rng)
    if keep:
        contestants = [*members[:keep], *(members[x + keep] for x in drawn)]
    else:
        contestants = [members[x] for x in drawn]
    keys = [key for key, _ in contestants]
    front = [keys[i] for i in pareto_front([vec for _, vec in contestants])]
    winner = rng.choice(front)
    return {"contestants": keys, "front": front, "winner": winner}


def sample_indices(n: int, k: int, rng: random.Random) -> list[int]:
    """``sorted(rng.sample(range(n), k))``, draw for draw (CPython's algorithm:
    a partial Fisher-Yates shuffle of a pool, or rejection from a set when n
    is large next to k), without the generic sequence handling: this runs for
    every tournament.

    Invariant: k distinct indices of ``range(n)``, ascending, every k-subset
    equally likely; the same ``rng`` state gives the same indices.
    """
    if not 0 <= k <= n:
        raise ValueError("Sample larger than population or is negative")
    getrandbits = rng.getrandbits
    setsize = 21  # as random.Random.sample: a pool list while smaller than a k-set
    if k > 5:
        setsize += 4 ** math.ceil(math.log(k * 3, 4))
    result = []
    if n <= setsize:
        pool = list(range(n))
        for i in range(k):
            m = n - i
            bits = m.bit_length()
            j = getrandbits(bits)
            while j >= m:
                j = getrandbits(bits)
            result.append(pool[j])
            pool[j] = pool[m - 1]
    else:
        bits = n.bit_length()
        selected: set[int] = set()
        for _ in range(k):
            j = getrandbits(bits)
            while j >= n or j in selected:
                j = getrandbits(bits)
            selected.add(j)
            result.append(j)
    result.sort()
    return result


def near_miss_vector(gate_scores: Mapping[str, float], architectures: Sequence[str]) -> list[float]:
    """A near-miss's score vector: its gate accuracy per architecture, minus
    ``NEAR_MISS_OFFSET``; an architecture it never reached counts as -inf.

    Invariant: for gate accuracies in [0, 1], every entry is below -1, so any
    survivor (accuracies in [0, 1]) dominates every near-miss; between two
    near-misses, dominance is that of their gate accuracies (for accuracies
    that differ by more than float rounding at 2, about 1e-15, as fractions
    correct / total with fewer than 10**14 examples do).
    """
    return [float(gate_scores[a]) - NEAR_MISS_OFFSET if a in gate_scores else float("-inf")
            for a in architectures]


def parent_pool(
    survivors: Sequence[tuple[str, Vector]],
    near_misses: Sequence[tuple[str, Vector]],
    tournament_size: int,
    *,
    bootstrap: bool,
) -> list[tuple[str, Vector]]:
    """The members a tournament draws from: the survivors, plus (with
    ``bootstrap``) the near-misses while fewer than ``tournament_size``
    survivors exist.

    Invariant: without ``bootstrap`` the pool is exactly the survivors; with
    it, near-misses are in the pool if and only if the survivors alone cannot
    fill a tournament.
    """
    if bootstrap and len(survivors) < tournament_size:
        return [*survivors, *near_misses]
    return list(survivors)


def child_share(survivors: int, near_misses: int, tournament_size: int) -> float:
    """With ``bootstrap``, the chance that a proposal is a child rather than a
    random layer. Before the first survivor it comes from the near-misses,
    each counting half a survivor; from the first survivor on it is
    ``1/2 + survivors / (2 * tournament_size)``, and near-misses no longer
    count (every tournament holds every survivor, so a child's parent is a
    survivor).

    Invariant: 0 for an empty pool; at most 1/2 while nothing has survived,
    so at least half of the proposals stay random layers until a layer
    survives (near-misses whose gate accuracy sits at chance carry little
    signal, and breeding only from them would settle on one dead family);
    more than 1/2 from the first survivor on (a survivor's children survive
    far more often than random layers; measured in benchmarks.mutations);
    rising with the pool; 1 once survivors alone fill a tournament.
    """
    if tournament_size < 1:
        raise ValueError(f"tournament_size must be at least 1, got {tournament_size}")
    if survivors >= tournament_size:
        return 1.0
    if survivors:
        return 0.5 + survivors / (2 * tournament_size)
    return min(near_misses / (2 * tournament_size), 0.5)

"""Regularized (aging) evolution with Pareto tournaments, as a steady-state ask/tell engine.

``ask()`` hands out the next candidate to evaluate; ``tell()`` records its
result. Any number of candidates may be in flight. The engine never looks at
the clock and draws every random number from its own ``random.Random``, so
the same seed and the same sequence of asks and tells give the same search,
and ``state_dict()`` / ``from_state_dict()`` (JSON-compatible) let a
restarted process continue exactly where the old one stopped.

Order of proposals: the seed layers first, then random layers until
``population_size`` initial layers have been proposed and at least
``tournament_size`` of them made it into the population, then children: a
tournament over a random subset of the population picks a winner on the
contestants' Pareto front and one of the paper's mutations changes it. The
population fills up to ``population_size`` with evaluated children, then ages.

(Waiting for a full population of random survivors instead would spend the
whole budget of small searches on random layers: about 5 in 6 random layers
fail the numeric probe, so cpu-quick's 50 candidates would fill maybe 8 of
its 16 places and never evolve. Real et al. likewise start from P random
proposals.) A rejected or failed candidate counts toward
the budget and never enters the population. No canonical hash is proposed
twice (an internal set, plus the optional ``is_known`` lookup).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from search_engine.config import SearchConfig
from search_engine.graph import LayerGraph
from search_engine.mutation import MutationError, mutate, prune_dead
from search_engine.pareto import dominates, score_vector
from search_engine.random_layers import random_layer
from search_engine.selection import tournament

STATE_VERSION = 1

# Bounds on the retries for a not-yet-seen hash. A new tournament is drawn
# every TRIES_PER_TOURNAMENT tries so one parent whose children are all known
# cannot stall the search; after MAX_CHILD_TRIES a random layer is proposed.
TRIES_PER_TOURNAMENT = 10
MAX_CHILD_TRIES = 200
MAX_RANDOM_TRIES = 10_000


class EvolutionError(RuntimeError):
    """The engine cannot go on (e.g. every layer it can make was already proposed)."""


@dataclass
class Proposal:
    """One candidate to evaluate."""

    key: str  # canonical hash of the graph
    graph: LayerGraph
    parent: str | None  # parent's canonical hash
    mutation: str  # "random" | "seed" | "op" | "input" | "node"
    tournament: dict | None  # {"contestants": [hash], "front": [hash], "winner": hash}

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "document": self.graph.to_dict(),
            "parent": self.parent,
            "mutation": self.mutation,
            "tournament": self.tournament,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Proposal:
        return cls(d["key"], LayerGraph.from_dict(d["document"]), d["parent"], d["mutation"],
                   d["tournament"])


def rng_state(rng: random.Random) -> list:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def rng_from_state(state: list) -> random.Random:
    rng = random.Random()
    rng.setstate((state[0], tuple(state[1]), state[2]))
    return rng


def add_to_front(front: list[dict], key: str, vector: list[float], scores: dict) -> list[dict]:
    """The running Pareto front of every evaluated candidate, updated with one more.

    Keeping only the front (not every score) is exact: a point dominated once
    stays dominated, since dominance is transitive.
    """
    if any(dominates(m["vector"], vector) for m in front):
        return front
    kept = [m for m in front if not dominates(vector, m["vector"])]
    return [*kept, {"key": key, "scores": scores, "vector": vector}]


class Evolution:
    """Steady-state regularized evolution; see the module docstring."""

    def __init__(
        self,
        config: SearchConfig,
        *,
        seed: int,
        seed_graphs: Sequence[LayerGraph] = (),
        is_known: Callable[[str], bool] | None = None,
    ) -> None:
        self.config = config
        self.seed = seed
        self.is_known = is_known
        self._rng = random.Random(seed)
        self._architectures = tuple(config.eval.architectures)
        self._pending_seeds: list[LayerGraph] = [self._check_seed(g) for g in seed_graphs]
        self._seen: set[str] = set()
        self._in_flight: dict[str, Proposal] = {}  # insertion order = proposal order
        self._population: list[dict] = []  # {key, scores, document}, oldest first
        self._front: list[dict] = []  # {key, scores, vector}
        self._counts = {"proposed": 0, "evaluated": 0, "rejected": 0, "failed": 0}
        self._initial_proposed = 0  # seed and random proposals

    # --- public API --------------------------------------------------------------

    def ask(self) -> Proposal | None:
        """The next candidate to evaluate, or None once ``budget`` proposals are out."""
        if self._counts["proposed"] >= self.config.budget:
            return None
        proposal = self._next_seed()
        if proposal is None:
            proposal = self._random() if self._initialising() else self._child()
        if proposal.parent is None:
            self._initial_proposed += 1
        self._seen.add(proposal.key)
        self._in_flight[proposal.key] = proposal
        self._counts["proposed"] += 1
        return proposal

    def tell(self, key: str | Proposal, result: dict) -> dict:
        """Record the result (``EvalResult.to_dict()``) of an in-flight candidate,
        named by its key (or given as the Proposal itself).

        Returns the population change ``{"added": hash | None, "removed": [hash]}``.
        """
        if isinstance(key, Proposal):
            key = key.key
        proposal = self._in_flight.pop(key, None)
        if proposal is None:
            raise KeyError(f"candidate {key[:12]} is not in flight (never asked, or told before)")
        status = result.get("status")
        if status != "evaluated":
            self._counts["failed" if status == "failed" else "rejected"] += 1
            return {"added": None, "removed": []}
        self._counts["evaluated"] += 1
        scores = {a: float(s) for a, s in (result.get("scores") or {}).items()}
        self._population.append({"key": key, "scores": scores,
                                 "document": proposal.graph.to_dict()})
        self._front = add_to_front(self._front, key, self._vector(scores), scores)
        removed = []
        while len(self._population) > self.config.population_size:
            removed.append(self._population.pop(0)["key"])  # aging: the oldest goes
        return {"added": key, "removed": removed}

    @property
    def population(self) -> list[dict]:
        """``[{key, scores}]``, oldest first."""
        return [{"key": m["key"], "scores": dict(m["scores"])} for m in self._population]

    def pareto_front(self) -> list[str]:
        """Keys of the evaluated candidates on the Pareto front (all evaluated, not
        only the population), in the order they were told."""
        return [m["key"] for m in self._front]

    @property
    def in_flight(self) -> list[Proposal]:
        """Asked but not yet told, oldest first (a resumed runner evaluates these again)."""
        return list(self._in_flight.values())

    @property
    def counts(self) -> dict[str, int]:
        """``proposed, evaluated, rejected, failed, in_flight``."""
        return {**self._counts, "in_flight": len(self._in_flight)}

    @property
    def done(self) -> bool:
        """Every proposal told and the budget spent."""
        return self._counts["proposed"] >= self.config.budget and not self._in_flight

    def seen(self, key: str) -> bool:
        """Whether ``key`` was ever proposed (here, or per ``is_known``)."""
        return key in self._seen or (self.is_known is not None and self.is_known(key))

    # --- proposals -------------------------------------------------------------

    def _check_seed(self, graph: LayerGraph) -> LayerGraph:
        if self.config.mode != "S" or not graph.has_batch_ops():
            return graph
        if graph.mode == "B":
            raise ValueError(f"seed layer {graph.name[:40]!r} uses batch statistics; "
                             "an S search allows none")
        return prune_dead(graph)  # only dead nodes had batch ops: same layer, none in S

    def _next_seed(self) -> Proposal | None:
        while self._pending_seeds:
            graph = self._pending_seeds.pop(0)
            key = graph.canonical_hash()
            if not self.seen(key):  # a duplicate seed is skipped, not evaluated twice
                return Proposal(key, graph, None, "seed", None)
        return None

    def _initialising(self) -> bool:
        # a tournament needs contestants; an empty population can only grow by random layers
        return (self._initial_proposed < self.config.population_size
                or len(self._population) < self.config.tournament_size)

    def _random(self) -> Proposal:
        for _ in range(MAX_RANDOM_TRIES):
            graph = random_layer(self._rng, mode=self.config.mode,
                                 num_nodes=self.config.initial_nodes)
            key = graph.canonical_hash()
            if not self.seen(key):
                return Proposal(key, graph, None, "random", None)
        raise EvolutionError(
            f"no new random layer of {self.config.initial_nodes} nodes in {MAX_RANDOM_TRIES} "
            "tries: nearly every such layer was already proposed"
        )

    def _child(self) -> Proposal:
        members = [(m["key"], self._vector(m["scores"])) for m in self._population]
        documents = {m["key"]: m["document"] for m in self._population}
        for attempt in range(MAX_CHILD_TRIES):
            if attempt % TRIES_PER_TOURNAMENT == 0:
                match = tournament(members, self.config.tournament_size, self._rng)
                parent = LayerGraph.from_dict(documents[match["winner"]])
            try:
                child, kind = mutate(parent, self._rng, self.config.mode, self.config.max_nodes)
            except MutationError:
                continue
            key = child.canonical_hash()
            if not self.seen(key):
                named = LayerGraph.from_nodes(child.nodes, child.output, eps=child.eps,
                                              momentum=child.momentum,
                                              name=f"{kind} mutation of {match['winner'][:8]}")
                return Proposal(key, named, match["winner"], kind, match)
        return self._random()

    def _vector(self, scores: dict) -> list[float]:
        return score_vector(scores, self._architectures)

    # --- persistence -------------------------------------------------------------

    def state_dict(self, *, compact: bool = False) -> dict:
        """JSON-compatible state. ``compact`` drops the set of every hash ever
        proposed (O(search size)); a restored compact state then relies on
        ``is_known`` to avoid proposing old hashes again."""
        state = {
            "version": STATE_VERSION,
            "config": self.config.to_dict(),
            "seed": self.seed,
            "rng": rng_state(self._rng),
            "counts": dict(self._counts),
            "initial_proposed": self._initial_proposed,
            "pending_seeds": [g.to_dict() for g in self._pending_seeds],
            "in_flight": [p.to_dict() for p in self._in_flight.values()],
            "population": [dict(m) for m in self._population],
            "front": [{"key": m["key"], "scores": m["scores"]} for m in self._front],
            "compact": compact,
        }
        if not compact:
            state["seen"] = sorted(self._seen)
        return state

    @classmethod
    def from_state_dict(
        cls, state: dict, *, is_known: Callable[[str], bool] | None = None
    ) -> Evolution:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported evolution state version {state.get('version')!r}")
        evo = cls(SearchConfig.from_dict(state["config"]), seed=state["seed"], is_known=is_known)
        evo._rng = rng_from_state(state["rng"])
        evo._counts = {k: int(v) for k, v in state["counts"].items()}
        evo._initial_proposed = int(state["initial_proposed"])
        evo._pending_seeds = [LayerGraph.from_dict(d) for d in state["pending_seeds"]]
        proposals = [Proposal.from_dict(p) for p in state["in_flight"]]
        evo._in_flight = {p.key: p for p in proposals}
        evo._population = [dict(m) for m in state["population"]]
        evo._front = [{**m, "vector": evo._vector(m["scores"])} for m in state["front"]]
        # what a compact state still knows it has proposed
        known = {m["key"] for m in evo._population} | set(evo._in_flight) | {
            m["key"] for m in evo._front}
        evo._seen = set(state.get("seen", ())) | known
        return evo

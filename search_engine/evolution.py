"""Regularized (aging) evolution with Pareto tournaments, as a steady-state ask/tell engine.

``ask()`` hands out the next candidate to evaluate; ``tell()`` records its
result. Any number of candidates may be in flight. The engine never looks at
the clock and draws every random number from its own ``random.Random``, so
the same seed and the same sequence of asks and tells give the same search,
and ``state_dict()`` / ``from_state_dict()`` (JSON-compatible) let a
restarted process continue exactly where the old one stopped.

**What a proposal costs.** Every layer the engine generates (a random draw
or a mutation child) first meets the free checks, in this order: a hash that
was proposed before, the static checks of :mod:`search_engine.static_checks`
and, when the caller injects one, ``screen(graph) -> reason | None`` (the
numeric probe, which needs torch, so the engine only calls it). A refused
layer is counted and replaced by another draw (or another child); only
proposals handed out can spend the budget. Seed layers are the user's choice and
skip the static checks and the screen.

**What the budget counts: candidates that reach training.** A proposal the
stability test rejects (``unstable``: a few adversarial steps, no training)
gives its budget slot back, up to :data:`UNSTABLE_ALLOWANCE` times the budget
in all; past that allowance each one spends a slot, so a search whose layers
are nearly all unstable still ends. Every other outcome (evaluated, below the
quality gate, diverged, failed) spends its slot. Proposals in flight hold a
slot until they are told.

**Funnel.** :attr:`Evolution.funnel` counts, in this order: ``drawn`` (seed
layers and generated layers, before any check), ``refused_static`` (repeated
hashes included), ``refused_probe``, then the outcome of each proposal handed
out: ``unstable``, ``low_quality``, ``rejected_other``, ``failed``,
``evaluated``, ``in_flight``. ``drawn`` equals the sum of all the others.
:attr:`Evolution.refusals` breaks the free refusals down by reason.

**Order of proposals.** With ``strategy="random"`` (the paper's baseline)
every proposal after the seeds is a random layer. With ``"evolution"``: the
seed layers first, then random layers, then children: a tournament over the
parent pool picks a winner on the contestants' Pareto front and a mutation
changes it. The population (evaluated candidates only) fills up to
``population_size``, then ages: each newcomer pushes out the oldest.

* ``bootstrap=False`` (the paper's rule): random layers until
  ``population_size`` initial layers are out *and* ``tournament_size`` of
  them survived, then children only.
* ``bootstrap=True`` (ours, the default): selection starts at the first
  survivor or near-miss (a stable layer that failed only the quality gate);
  see :mod:`search_engine.selection`. Each proposal is a child with
  probability :func:`~search_engine.selection.child_share` (before the
  first survivor near-misses count half, at most 1/2, so random layers keep
  coming; from the first survivor on more than 1/2; 1 once survivors fill a
  tournament), else a random layer. While the population holds fewer than
  ``tournament_size`` survivors, every tournament holds every survivor and
  near-misses fill the other seats, ranked below every survivor by their gate
  accuracy (so they win only while nothing has survived); the engine keeps
  the latest ``population_size`` near-misses.

A rejected or failed candidate never enters the population. No canonical
hash is proposed twice (an internal set, plus the optional ``is_known``
lookup).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from search_engine.config import SearchConfig
from search_engine.graph import LayerGraph
from search_engine.mutation import MutationError, mutate, prune_dead
from search_engine.pareto import Vector, dominates, score_vector
from search_engine.random_layers import random_layer
from search_engine.selection import child_share, near_miss_vector, parent_pool, tournament
from search_engine.static_checks import static_refusal

STATE_VERSION = 2

# Bounds on the draws for one proposal. A new tournament is drawn after
# TRIES_PER_TOURNAMENT children of one winner (a third per mutation kind) are
# refused, so one parent whose children are all known or refused cannot stall
# the search; after MAX_TOURNAMENTS a random layer is proposed instead.
# MAX_RANDOM_TRIES random draws without one that passes every check means the
# space (or the screen) leaves nothing to propose.
TRIES_PER_TOURNAMENT = 30
# Unstable proposals given back to the budget, at most this many per budget
# slot (module docstring: "What the budget counts").
UNSTABLE_ALLOWANCE = 4
MAX_TOURNAMENTS = 20
MAX_RANDOM_TRIES = 10_000

FUNNEL_KEYS: tuple[str, ...] = (
    "drawn", "refused_static", "refused_probe", "unstable", "low_quality", "rejected_other",
    "failed", "evaluated", "in_flight",
)
# rejection reasons with a funnel entry of their own
_OUTCOME_KEYS = {"unstable": "unstable", "low_quality": "low_quality"}

Screen = Callable[[LayerGraph], "str | None"]


def slots_spent(proposed: int, unstable: int, budget: int) -> int:
    """Budget slots that ``proposed`` proposals spent or hold when ``unstable`` of them
    were told unstable: those give their slot back, at most ``UNSTABLE_ALLOWANCE * budget``
    in all (module docstring: "What the budget counts")."""
    return proposed - min(unstable, UNSTABLE_ALLOWANCE * budget)


class EvolutionError(RuntimeError):
    """The engine cannot go on (e.g. every layer it can make was already proposed)."""


@dataclass
class Proposal:
    """One candidate to evaluate."""

    key: str  # canonical hash of the graph
    graph: LayerGraph
    parent: str | None  # parent's canonical hash
    mutation: str  # "random" | "seed" | one of mutation.MUTATIONS
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


def add_to_front(front: list[dict], key: str, vector: Vector, scores: dict) -> list[dict]:
    """The running Pareto front of every evaluated candidate, updated with one more.

    Keeping only the front (not every score) is exact: a point dominated once
    stays dominated, since dominance is transitive.
    """
    if any(dominates(m["vector"], vector) for m in front):
        return front
    kept = [m for m in front if not dominates(vector, m["vector"])]
    return [*kept, {"key": key, "scores": scores, "vector": vector}]


def outcome(result: dict) -> str:
    """The funnel entry of a told result (``EvalResult.to_dict()`` shape)."""
    status = result.get("status")
    if status == "evaluated":
        return "evaluated"
    if status == "rejected":
        return _OUTCOME_KEYS.get(result.get("rejection_reason") or "", "rejected_other")
    return "failed"


class Evolution:
    """Steady-state regularized evolution; see the module docstring."""

    def __init__(
        self,
        config: SearchConfig,
        *,
        seed: int,
        seed_graphs: Sequence[LayerGraph] = (),
        is_known: Callable[[str], bool] | None = None,
        screen: Screen | None = None,
    ) -> None:
        self.config = config
        self.seed = seed
        self.is_known = is_known
        self.screen = screen
        self._rng = random.Random(seed)
        self._architectures = tuple(config.eval.architectures)
        self._pending_seeds: list[LayerGraph] = [self._check_seed(g) for g in seed_graphs]
        self._seen: set[str] = set()
        self._in_flight: dict[str, Proposal] = {}  # insertion order = proposal order
        # population and near-misses (oldest first, at most population_size each) as
        # the (key, vector) pairs tournaments take; scores and graphs by key
        self._population: list[tuple[str, Vector]] = []
        self._near_misses: list[tuple[str, Vector]] = []
        self._scores: dict[str, dict[str, float]] = {}  # gate accuracies for near-misses
        self._graphs: dict[str, LayerGraph] = {}
        self._front: list[dict] = []  # {key, scores, vector}
        self._counts = {"proposed": 0, "evaluated": 0, "rejected": 0, "failed": 0}
        self._funnel = dict.fromkeys(FUNNEL_KEYS[:-1], 0)
        self._refusals: dict[str, int] = {}
        self._initial_proposed = 0  # seed and random proposals

    # --- public API --------------------------------------------------------------

    def ask(self) -> Proposal | None:
        """The next candidate to evaluate, or None once the budget is spent or held by
        proposals in flight."""
        if self.spent >= self.config.budget:
            return None
        proposal = self._next_seed()
        if proposal is None:
            proposal = self._child() if self._wants_child() else self._random()
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
        entry = outcome(result)
        self._funnel[entry] += 1
        if entry != "evaluated":
            self._counts["failed" if entry == "failed" else "rejected"] += 1
            if entry == "low_quality":
                self._add_near_miss(key, result.get("gate_scores") or {}, proposal.graph)
            return {"added": None, "removed": []}
        self._counts["evaluated"] += 1
        scores = {a: float(s) for a, s in (result.get("scores") or {}).items()}
        vector = score_vector(scores, self._architectures)
        self._enter(self._population, key, vector, scores, proposal.graph)
        self._front = add_to_front(self._front, key, vector, scores)
        removed = []
        while len(self._population) > self.config.population_size:
            removed.append(self._leave(self._population))  # aging: the oldest goes
        return {"added": key, "removed": removed}

    @property
    def population(self) -> list[dict]:
        """``[{key, scores}]``, oldest first."""
        return [{"key": k, "scores": dict(self._scores[k])} for k, _ in self._population]

    @property
    def near_misses(self) -> list[dict]:
        """``[{key, gate_scores}]`` of the near-misses kept as bootstrap parents, oldest first."""
        return [{"key": k, "gate_scores": dict(self._scores[k])} for k, _ in self._near_misses]

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
    def funnel(self) -> dict[str, int]:
        """The funnel of the module docstring: :data:`FUNNEL_KEYS`, in that order."""
        return {**self._funnel, "in_flight": len(self._in_flight)}

    @property
    def refusals(self) -> dict[str, int]:
        """Free refusals by reason (``duplicate``, the static reasons, the screen's reasons)."""
        return dict(self._refusals)

    @property
    def spent(self) -> int:
        """Budget slots spent or held (:func:`slots_spent`)."""
        return slots_spent(self._counts["proposed"], self._funnel["unstable"], self.config.budget)

    @property
    def done(self) -> bool:
        """Every proposal told and the budget spent."""
        return self.spent >= self.config.budget and not self._in_flight

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
                self._funnel["drawn"] += 1
                return Proposal(key, graph, None, "seed", None)
        return None

    def _pool(self) -> list[tuple[str, Vector]]:
        return parent_pool(self._population, self._near_misses, self.config.tournament_size,
                           bootstrap=self.config.bootstrap)

    def _keep(self) -> int:
        """How many leading pool members every tournament holds: all the
        survivors while near-misses fill the pool (see selection), else none."""
        survivors = len(self._population)
        if self.config.bootstrap and survivors < self.config.tournament_size:
            return survivors
        return 0

    def _wants_child(self) -> bool:
        cfg = self.config
        if cfg.strategy == "random":
            return False
        survivors = len(self._population)
        if not cfg.bootstrap:
            return (self._initial_proposed >= cfg.population_size
                    and survivors >= cfg.tournament_size)
        near = len(self._near_misses) if survivors < cfg.tournament_size else 0
        share = child_share(survivors, near, cfg.tournament_size)
        return share >= 1.0 or (share > 0.0 and self._rng.random() < share)

    def _accepts(self, graph: LayerGraph) -> bool:
        """Count ``graph`` as drawn and say whether it passes the free checks
        (counting the refusal when it does not)."""
        self._funnel["drawn"] += 1
        reason = "duplicate" if self.seen(graph.canonical_hash()) else static_refusal(graph)
        stage = "refused_static"
        if reason is None and self.screen is not None:
            reason, stage = self.screen(graph), "refused_probe"
        if reason is None:
            return True
        self._funnel[stage] += 1
        self._refusals[reason] = self._refusals.get(reason, 0) + 1
        return False

    def _random(self) -> Proposal:
        for _ in range(MAX_RANDOM_TRIES):
            graph = random_layer(self._rng, mode=self.config.mode,
                                 num_nodes=self.config.initial_nodes)
            if self._accepts(graph):
                return Proposal(graph.canonical_hash(), graph, None, "random", None)
        raise EvolutionError(
            f"no new random layer of {self.config.initial_nodes} nodes passed the checks in "
            f"{MAX_RANDOM_TRIES} draws: nearly every such layer was proposed or refused already"
        )

    def _child(self) -> Proposal:
        pool = self._pool()
        for _ in range(MAX_TOURNAMENTS):
            match = tournament(pool, self.config.tournament_size, self._rng, keep=self._keep())
            try:
                child, kind = mutate(self._graphs[match["winner"]], self._rng, self.config.mode,
                                     self.config.max_nodes, attempts=TRIES_PER_TOURNAMENT,
                                     accept=self._accepts)
            except MutationError:
                continue
            named = child.renamed(f"{kind} mutation of {match['winner'][:8]}")
            return Proposal(child.canonical_hash(), named, match["winner"], kind, match)
        return self._random()

    def _add_near_miss(self, key: str, gate_scores: dict, graph: LayerGraph) -> None:
        scores = {a: float(s) for a, s in gate_scores.items()}
        vector = near_miss_vector(scores, self._architectures)
        self._enter(self._near_misses, key, vector, scores, graph)
        while len(self._near_misses) > self.config.population_size:
            self._leave(self._near_misses)

    def _enter(self, members: list, key: str, vector: Vector, scores: dict,
               graph: LayerGraph) -> None:
        members.append((key, tuple(vector)))
        self._scores[key] = scores
        self._graphs[key] = graph

    def _leave(self, members: list) -> str:
        key = members.pop(0)[0]
        del self._scores[key], self._graphs[key]
        return key

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
            "funnel": self.funnel,
            "refusals": dict(self._refusals),
            "initial_proposed": self._initial_proposed,
            "pending_seeds": [g.to_dict() for g in self._pending_seeds],
            "in_flight": [p.to_dict() for p in self._in_flight.values()],
            "population": [{"key": k, "scores": self._scores[k],
                            "document": self._graphs[k].to_dict()} for k, _ in self._population],
            "near_misses": [{"key": k, "gate_scores": self._scores[k],
                             "document": self._graphs[k].to_dict()} for k, _ in self._near_misses],
            "front": [{"key": m["key"], "scores": m["scores"]} for m in self._front],
            "compact": compact,
        }
        if not compact:
            state["seen"] = sorted(self._seen)
        return state

    @classmethod
    def from_state_dict(
        cls,
        state: dict,
        *,
        is_known: Callable[[str], bool] | None = None,
        screen: Screen | None = None,
    ) -> Evolution:
        """Restore a state (this version's, or version 1's: that one had no funnel,
        so its funnel is rebuilt from the counts, every rejection as ``rejected_other``)."""
        version = state.get("version")
        if version not in (1, STATE_VERSION):
            raise ValueError(f"unsupported evolution state version {version!r}")
        evo = cls(SearchConfig.from_dict(state["config"]), seed=state["seed"], is_known=is_known,
                  screen=screen)
        evo._rng = rng_from_state(state["rng"])
        evo._counts = {k: int(v) for k, v in state["counts"].items()}
        evo._initial_proposed = int(state["initial_proposed"])
        evo._pending_seeds = [LayerGraph.from_dict(d) for d in state["pending_seeds"]]
        proposals = [Proposal.from_dict(p) for p in state["in_flight"]]
        evo._in_flight = {p.key: p for p in proposals}
        for m in state["population"]:
            scores = {a: float(v) for a, v in m["scores"].items()}
            evo._enter(evo._population, m["key"], score_vector(scores, evo._architectures), scores,
                       LayerGraph.from_dict(m["document"]))
        for m in state.get("near_misses", ()):
            gates = {a: float(v) for a, v in m["gate_scores"].items()}
            evo._enter(evo._near_misses, m["key"], near_miss_vector(gates, evo._architectures),
                       gates, LayerGraph.from_dict(m["document"]))
        evo._front = [{**m, "vector": score_vector(m["scores"], evo._architectures)}
                      for m in state["front"]]
        if "funnel" in state:
            evo._funnel = {k: int(state["funnel"][k]) for k in FUNNEL_KEYS[:-1]}
            evo._refusals = {str(k): int(v) for k, v in state.get("refusals", {}).items()}
        else:
            c = evo._counts
            evo._funnel.update(drawn=c["proposed"], evaluated=c["evaluated"], failed=c["failed"],
                               rejected_other=c["rejected"])
        # what a compact state still knows it has proposed
        known = set(evo._graphs) | set(evo._in_flight) | {m["key"] for m in evo._front}
        evo._seen = set(state.get("seen", ())) | known
        return evo

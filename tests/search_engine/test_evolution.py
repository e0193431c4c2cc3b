"""The ask/tell engine: seeds first, aging, front-only winners, determinism, resumability.

These tests drive Evolution with a fake, deterministic evaluator (scores
derived from the candidate's hash). That is deliberate: they test the engine's
bookkeeping, not training; the CLI test runs real evaluations.
"""

from __future__ import annotations

import json
import random

import pytest

from search_engine.config import EvalConfig, SearchConfig
from search_engine.evolution import Evolution, Proposal
from search_engine.graph import LayerGraph, Node
from search_engine.library import load_reference
from search_engine.pareto import dominates, pareto_front

ARCHS = ("resnet50", "mobilenetv2")


def make_config(**kw) -> SearchConfig:  # noqa: ANN003
    base = dict(mode="B", population_size=10, tournament_size=4, budget=120,
                initial_nodes=3, max_nodes=8,
                eval=EvalConfig(dataset="synthetic", architectures=ARCHS))
    base.update(kw)
    return SearchConfig(**base)


def fake_result(key: str) -> dict:
    """Deterministic per hash: about one in five rejected, one in twenty failed."""
    h = int(key[:12], 16)
    if h % 20 == 0:
        return {"status": "failed", "rejection_reason": "error", "scores": {}}
    if h % 5 == 0:
        return {"status": "rejected", "rejection_reason": "low_quality", "scores": {}}
    return {"status": "evaluated", "rejection_reason": None,
            "scores": {"resnet50": (h % 997) / 997, "mobilenetv2": (h // 997 % 991) / 991}}


def drive(evo: Evolution, *, parallel: int = 3, order_seed: int = 0, stop_after: int | None = None,
          log: list | None = None) -> list:
    """Ask until `parallel` are in flight, tell one (chosen by a seeded rng, so
    tells come out of order), repeat. Returns the log of (event, ...) tuples."""
    log = [] if log is None else log
    order = random.Random(order_seed)
    told = 0
    while not evo.done:
        while len(evo.in_flight) < parallel:
            p = evo.ask()
            if p is None:
                break
            log.append(("ask", p.key, p.parent, p.mutation, json.dumps(p.tournament)))
        if stop_after is not None and told >= stop_after:
            return log
        pick = order.choice(evo.in_flight)
        change = evo.tell(pick.key, fake_result(pick.key))
        log.append(("tell", pick.key, change["added"], tuple(change["removed"])))
        told += 1
    return log


def test_same_seed_same_search_and_different_seed_differs() -> None:
    a = drive(Evolution(make_config(), seed=1))
    b = drive(Evolution(make_config(), seed=1))
    c = drive(Evolution(make_config(), seed=2))
    assert a == b
    assert a != c


def test_budget_no_duplicates_and_done() -> None:
    evo = Evolution(make_config(budget=60), seed=3)
    log = drive(evo)
    asked = [e[1] for e in log if e[0] == "ask"]
    assert len(asked) == 60 == len(set(asked))
    assert evo.ask() is None and evo.done
    counts = evo.counts
    assert counts["proposed"] == 60 == counts["evaluated"] + counts["rejected"] + counts["failed"]


def test_state_round_trip_mid_search_continues_exactly() -> None:
    """Serialize to JSON text with candidates in flight, restore, continue:
    the rest of the search equals the uninterrupted one."""
    full = drive(Evolution(make_config(), seed=5), order_seed=9)
    evo = Evolution(make_config(), seed=5)
    # interrupt mid-search (past the initial phase) with candidates in flight
    first = drive(evo, order_seed=9, stop_after=40)
    assert evo.in_flight
    text = json.dumps(evo.state_dict())
    restored = Evolution.from_state_dict(json.loads(text))
    assert restored.state_dict() == evo.state_dict()
    # the original and the restored engine, driven alike, make the same rest of the search
    assert drive(evo, order_seed=11) == drive(restored, order_seed=11)
    assert full[: len(first)] == first


def test_round_trip_equals_uninterrupted_run() -> None:
    """One driver, same tell order, with and without a JSON round trip halfway."""
    def run(interrupt: bool) -> tuple[list, list[str]]:
        evo = Evolution(make_config(), seed=6)
        order = random.Random(0)
        log = []
        step = 0
        while not evo.done:
            while len(evo.in_flight) < 4 and (p := evo.ask()) is not None:
                log.append((p.key, p.mutation, p.parent))
            pick = order.choice(evo.in_flight)
            evo.tell(pick.key, fake_result(pick.key))
            step += 1
            if interrupt and step in (25, 70):
                evo = Evolution.from_state_dict(json.loads(json.dumps(evo.state_dict())))
        return log, evo.pareto_front()
    assert run(False) == run(True)


def test_compact_state_with_is_known_continues_exactly() -> None:
    def run(compact: bool) -> list:
        evo = Evolution(make_config(budget=80), seed=7)
        proposed: set[str] = set()
        log = []
        order = random.Random(1)
        step = 0
        while not evo.done:
            while len(evo.in_flight) < 2 and (p := evo.ask()) is not None:
                proposed.add(p.key)
                log.append(p.key)
            pick = order.choice(evo.in_flight)
            evo.tell(pick.key, fake_result(pick.key))
            step += 1
            if compact and step == 40:
                state = json.loads(json.dumps(evo.state_dict(compact=True)))
                assert "seen" not in state
                evo = Evolution.from_state_dict(state, is_known=proposed.__contains__)
        return log
    assert run(False) == run(True)


def test_seeds_come_first_then_random_then_children() -> None:
    seeds = [load_reference("evonorm_b0"), load_reference("evonorm_s0"),
             load_reference("evonorm_b0")]  # a duplicate seed is proposed once
    evo = Evolution(make_config(population_size=5, tournament_size=2), seed=8, seed_graphs=seeds)
    log = drive(evo, parallel=1)
    kinds = [e[3] for e in log if e[0] == "ask"]
    assert kinds[:2] == ["seed", "seed"]
    first_child = next(i for i, k in enumerate(kinds) if k not in ("seed", "random"))
    assert all(k in ("seed", "random") for k in kinds[:first_child])
    assert kinds[2:first_child] and set(kinds[2:first_child]) == {"random"}
    assert first_child >= 5
    assert set(kinds[first_child:]) <= {"op", "input", "node", "random"}


def test_evolution_starts_after_population_size_initial_proposals() -> None:
    """Random layers until population_size initial proposals are out and the
    population can fill a tournament; then children, though the population
    is not yet full (it fills with children)."""
    cfg = make_config(population_size=10, tournament_size=3, budget=200)
    evo = Evolution(cfg, seed=16)
    kinds: list[str] = []
    first, members = None, 0
    while (p := evo.ask()) is not None:
        if p.tournament is not None and first is None:
            first, members = len(kinds), len(evo.population)
        kinds.append(p.mutation)
        evo.tell(p.key, fake_result(p.key))
    assert first is not None and first >= 10 and set(kinds[:first]) == {"random"}
    assert 3 <= members < 10  # about 1 in 4 fake results is not evaluated
    assert len(evo.population) == 10


def test_s_search_refuses_batch_seed_and_never_proposes_batch_ops() -> None:
    with pytest.raises(ValueError, match="batch"):
        Evolution(make_config(mode="S"), seed=0, seed_graphs=[load_reference("evonorm_b0")])
    s0 = load_reference("evonorm_s0")
    dead_batch = Node(id="unused", op="batch_mean", inputs=("x",))
    with_dead = LayerGraph.from_nodes([*s0.nodes, dead_batch], s0.output, name="S0+dead")
    evo = Evolution(make_config(mode="S"), seed=0, seed_graphs=[with_dead])
    while (p := evo.ask()) is not None:
        assert not p.graph.has_batch_ops()
        evo.tell(p.key, fake_result(p.key))


def test_population_ages_out_the_oldest_and_only_holds_evaluated() -> None:
    evo = Evolution(make_config(population_size=6, budget=200), seed=9)
    order: list[str] = []
    while (p := evo.ask()) is not None:
        result = fake_result(p.key)
        change = evo.tell(p.key, result)
        if result["status"] == "evaluated":
            order.append(p.key)
            assert change["added"] == p.key
            expected_removed = order[:-6][-1:] if len(order) > 6 else []
            assert change["removed"] == expected_removed
        else:
            assert change == {"added": None, "removed": []}
        assert [m["key"] for m in evo.population] == order[-6:]


def test_tournament_winner_is_on_the_contestants_front() -> None:
    evo = Evolution(make_config(population_size=12, tournament_size=5, budget=200), seed=10)
    children = 0
    while (p := evo.ask()) is not None:
        if p.tournament is not None:
            children += 1
            scores = {m["key"]: [m["scores"][a] for a in ARCHS] for m in evo.population}
            contestants = p.tournament["contestants"]
            assert len(contestants) == 5 and set(contestants) <= set(scores)
            vecs = [scores[k] for k in contestants]
            front = [contestants[i] for i in pareto_front(vecs)]
            assert p.tournament["front"] == front
            assert p.tournament["winner"] in front and p.parent == p.tournament["winner"]
        evo.tell(p.key, fake_result(p.key))
    assert children > 100


def test_pareto_front_covers_every_evaluated_candidate() -> None:
    evo = Evolution(make_config(population_size=5, budget=100), seed=11)
    evaluated: dict[str, list[float]] = {}
    while (p := evo.ask()) is not None:
        r = fake_result(p.key)
        evo.tell(p.key, r)
        if r["status"] == "evaluated":
            evaluated[p.key] = [r["scores"][a] for a in ARCHS]
    keys = list(evaluated)
    brute = [k for k in keys if not any(dominates(evaluated[o], evaluated[k]) for o in keys)]
    assert evo.pareto_front() == brute


def test_all_rejected_keeps_sampling_random_layers() -> None:
    evo = Evolution(make_config(budget=40), seed=12)
    while (p := evo.ask()) is not None:
        assert p.mutation == "random"
        evo.tell(p.key, {"status": "rejected", "rejection_reason": "unstable", "scores": {}})
    assert evo.done and evo.population == []


def test_many_in_flight_before_any_tell() -> None:
    evo = Evolution(make_config(budget=30, population_size=10), seed=13)
    asked = [evo.ask() for _ in range(30)]
    assert all(isinstance(p, Proposal) for p in asked) and evo.ask() is None
    assert not evo.done
    for p in reversed(asked):
        evo.tell(p, fake_result(p.key))  # the Proposal itself names it too
    assert evo.done


def test_tell_unknown_key_is_an_error() -> None:
    evo = Evolution(make_config(), seed=14)
    p = evo.ask()
    evo.tell(p.key, fake_result(p.key))
    with pytest.raises(KeyError):
        evo.tell(p.key, fake_result(p.key))


def test_is_known_hashes_are_never_proposed() -> None:
    first = Evolution(make_config(budget=30), seed=15)
    banned = {p.key for p in (first.ask() for _ in range(10))}
    evo = Evolution(make_config(budget=30), seed=15, is_known=banned.__contains__)
    while (p := evo.ask()) is not None:
        assert p.key not in banned
        evo.tell(p.key, fake_result(p.key))

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
from search_engine.evolution import FUNNEL_KEYS, UNSTABLE_ALLOWANCE, Evolution, Proposal
from search_engine.graph import LayerGraph, Node
from search_engine.library import load_reference
from search_engine.mutation import MUTATIONS
from search_engine.pareto import dominates, pareto_front
from search_engine.selection import near_miss_vector
from search_engine.static_checks import static_refusal

ARCHS = ("resnet50", "mobilenetv2")


def make_config(**kw) -> SearchConfig:  # noqa: ANN003
    base = dict(mode="B", population_size=10, tournament_size=4, budget=120,
                initial_nodes=3, max_nodes=8,
                eval=EvalConfig(dataset="synthetic", architectures=ARCHS))
    base.update(kw)
    return SearchConfig(**base)


def fake_result(key: str) -> dict:
    """Deterministic per hash: about one in five rejected (low quality, with
    gate accuracies, or unstable), one in twenty failed."""
    h = int(key[:12], 16)
    if h % 20 == 0:
        return {"status": "failed", "rejection_reason": "error", "scores": {}}
    if h % 10 == 5:
        return {"status": "rejected", "rejection_reason": "unstable", "scores": {}}
    if h % 5 == 0:
        return {"status": "rejected", "rejection_reason": "low_quality", "scores": {},
                "gate_scores": {"resnet50": (h % 89) / 890}}
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
    unstable = evo.funnel["unstable"]
    assert unstable > 0  # the fake evaluator rejects about one in ten as unstable
    # unstable proposals give their slot back: 60 reached training, and the unstable on top
    assert len(asked) == 60 + unstable == len(set(asked))
    assert evo.ask() is None and evo.done and evo.spent == 60
    counts = evo.counts
    assert counts["proposed"] == 60 + unstable == counts["evaluated"] + counts["rejected"] + counts["failed"]


def test_unstable_proposals_give_their_slot_back_up_to_the_allowance() -> None:
    """A search whose every layer is unstable still ends: after
    UNSTABLE_ALLOWANCE * budget given back, each unstable one spends a slot."""
    evo = Evolution(make_config(budget=5), seed=30)
    asked = 0
    while not evo.done:
        p = evo.ask()
        assert p is not None, "asked for nothing while the budget was not spent"
        asked += 1
        assert evo.spent <= 5
        evo.tell(p.key, {"status": "rejected", "rejection_reason": "unstable", "scores": {}})
    assert asked == 5 + UNSTABLE_ALLOWANCE * 5 and evo.ask() is None


def test_a_proposal_in_flight_holds_its_slot_until_told() -> None:
    evo = Evolution(make_config(budget=2), seed=31)
    first, second = evo.ask(), evo.ask()
    assert evo.ask() is None and evo.spent == 2  # both slots held
    evo.tell(first.key, {"status": "rejected", "rejection_reason": "unstable", "scores": {}})
    third = evo.ask()  # the unstable one gave its slot back
    assert third is not None and evo.ask() is None
    evo.tell(second.key, fake_result(second.key) | {"status": "rejected", "rejection_reason": "low_quality"})
    evo.tell(third.key, {"status": "failed", "rejection_reason": "error", "scores": {}})
    assert evo.done and evo.spent == 2


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
    """The paper's order (bootstrap off): seeds, random layers, then children."""
    seeds = [load_reference("evonorm_b0"), load_reference("evonorm_s0"),
             load_reference("evonorm_b0")]  # a duplicate seed is proposed once
    evo = Evolution(make_config(population_size=5, tournament_size=2, bootstrap=False), seed=8,
                    seed_graphs=seeds)
    log = drive(evo, parallel=1)
    kinds = [e[3] for e in log if e[0] == "ask"]
    assert kinds[:2] == ["seed", "seed"]
    first_child = next(i for i, k in enumerate(kinds) if k not in ("seed", "random"))
    assert all(k in ("seed", "random") for k in kinds[:first_child])
    assert kinds[2:first_child] and set(kinds[2:first_child]) == {"random"}
    assert first_child >= 5
    assert set(kinds[first_child:]) <= {*MUTATIONS, "random"}


def test_evolution_starts_after_population_size_initial_proposals() -> None:
    """Bootstrap off: random layers until population_size initial proposals are
    out and the population can fill a tournament; then children, though the
    population is not yet full (it fills with children)."""
    cfg = make_config(population_size=10, tournament_size=3, budget=200, bootstrap=False)
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


@pytest.mark.parametrize("bootstrap", [False, True])
def test_tournament_winner_is_on_the_contestants_front(bootstrap: bool) -> None:
    """Contestants come from the pool (survivors; with bootstrap, near-misses
    too while survivors cannot fill a tournament); a survivor always beats a
    near-miss."""
    evo = Evolution(make_config(population_size=12, tournament_size=5, budget=200,
                                bootstrap=bootstrap), seed=10)
    children = near_miss_contests = 0
    while (p := evo.ask()) is not None:
        if p.tournament is not None:
            children += 1
            survivors = {m["key"]: [m["scores"][a] for a in ARCHS] for m in evo.population}
            near = {m["key"]: near_miss_vector(m["gate_scores"], ARCHS) for m in evo.near_misses}
            pool = {**survivors, **(near if bootstrap and len(survivors) < 5 else {})}
            contestants = p.tournament["contestants"]
            assert len(contestants) == min(5, len(pool)) and set(contestants) <= set(pool)
            front = [contestants[i] for i in pareto_front([pool[k] for k in contestants])]
            assert p.tournament["front"] == front
            assert p.tournament["winner"] in front and p.parent == p.tournament["winner"]
            if set(contestants) & set(survivors):
                assert p.parent in survivors
            near_miss_contests += bool(set(contestants) & set(near))
        evo.tell(p.key, fake_result(p.key))
    assert children > 100
    if not bootstrap:
        assert near_miss_contests == 0


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
    unstable = evo.funnel["unstable"]
    assert unstable > 0 and evo.spent == 30 - unstable
    assert not evo.done  # the unstable ones gave their slots back
    more = [evo.ask() for _ in range(unstable)]
    assert all(isinstance(p, Proposal) for p in more) and evo.ask() is None


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


def low_quality(key: str) -> dict:
    h = int(key[:12], 16)
    return {"status": "rejected", "rejection_reason": "low_quality", "scores": {},
            "gate_scores": {"resnet50": (h % 101) / 100, "mobilenetv2": (h // 101 % 97) / 96}}


def test_bootstrap_near_misses_are_parents_until_survivors_fill_a_tournament() -> None:
    """Nothing survives at first: near-misses (low quality, stable) become
    parents, and the winner is on the front of their gate accuracies. From the
    first survivor on, every tournament holds every survivor and a survivor
    wins; once survivors fill a tournament, near-misses take no part."""
    evo = Evolution(make_config(population_size=10, tournament_size=3, budget=150), seed=21)
    gates: dict[str, list[float]] = {}
    near_parent = survivor_parent = 0
    while (p := evo.ask()) is not None:
        if p.tournament is not None:
            contestants = p.tournament["contestants"]
            if len(evo.population) < 3:
                near = {m["key"] for m in evo.near_misses}
                survivors = {m["key"] for m in evo.population}
                assert set(contestants) <= near | survivors
                # every survivor sits in every tournament, and one of them wins
                assert survivors <= set(contestants)
                if survivors:
                    assert p.parent in survivors
                    survivor_parent += 1
                if set(contestants) <= near:
                    vecs = [gates[k] for k in contestants]
                    assert p.parent in [contestants[i] for i in pareto_front(vecs)]
                    near_parent += 1
            else:
                assert set(contestants) <= {m["key"] for m in evo.population}
                survivor_parent += 1
        # the first 40 proposals all fail the gate; then every other survives
        result = low_quality(p.key) if evo.counts["proposed"] <= 40 else fake_result(p.key)
        if result["rejection_reason"] == "low_quality":
            gates[p.key] = [result["gate_scores"].get(a, float("-inf")) for a in ARCHS]
        evo.tell(p.key, result)
    assert near_parent > 10 and survivor_parent > 10
    assert len(evo.near_misses) == 10  # the latest population_size are kept


def test_without_bootstrap_near_misses_never_breed() -> None:
    evo = Evolution(make_config(budget=60, bootstrap=False), seed=22)
    while (p := evo.ask()) is not None:
        assert p.mutation == "random"
        evo.tell(p.key, low_quality(p.key))


def test_bootstrap_children_start_at_the_first_survivor() -> None:
    """No child while the pool is empty; both kinds while survivors cannot fill
    a tournament; children only once they can."""
    cfg = make_config(population_size=30, tournament_size=5, budget=200)
    evo = Evolution(cfg, seed=23)
    by_pool: dict[str, list[str]] = {"empty": [], "partial": [], "full": []}
    while (p := evo.ask()) is not None:
        survivors, near = len(evo.population), len(evo.near_misses)
        stage = ("empty" if survivors + near == 0 else "full" if survivors >= 5 else "partial")
        by_pool[stage].append("random" if p.parent is None else "child")
        proposed = evo.counts["proposed"]
        evo.tell(p.key, fake_result(p.key) if proposed > 6 else {"status": "failed", "scores": {}})
    assert by_pool["empty"] == ["random"] * 7
    assert set(by_pool["partial"]) == {"random", "child"}
    assert set(by_pool["full"]) == {"child"} and len(by_pool["full"]) > 100


def test_near_misses_alone_never_crowd_out_random_layers() -> None:
    """Nothing survives: about half of the proposals stay random layers, however
    many near-misses there are (they may all sit at chance accuracy)."""
    evo = Evolution(make_config(population_size=10, tournament_size=3, budget=200), seed=29)
    kinds = []
    while (p := evo.ask()) is not None:
        kinds.append("random" if p.parent is None else "child")
        evo.tell(p.key, low_quality(p.key))
    later = kinds[50:]
    assert 0.35 < later.count("random") / len(later) < 0.65


def test_random_strategy_never_breeds_but_keeps_the_books() -> None:
    evo = Evolution(make_config(strategy="random", budget=80), seed=24,
                    seed_graphs=[load_reference("evonorm_s0")])
    kinds = []
    while (p := evo.ask()) is not None:
        kinds.append(p.mutation)
        assert p.tournament is None and p.parent is None
        evo.tell(p.key, fake_result(p.key))
    assert kinds[0] == "seed" and set(kinds[1:]) == {"random"}
    assert len(evo.population) == 10 and evo.pareto_front()


def test_funnel_counts_every_layer_and_the_budget_only_handed_out_ones() -> None:
    """A screen that refuses about a third of the layers (by hash, as a
    deterministic probe would): refused layers are never proposed and cost no
    budget; drawn is the sum of the other entries."""
    calls: list[str] = []

    def refuses(key: str) -> bool:
        return int(key[:8], 16) % 3 == 0

    def screen(graph: LayerGraph) -> str | None:
        calls.append(graph.canonical_hash())
        return "constant_output" if refuses(calls[-1]) else None

    seeds = [load_reference("evonorm_b0")]
    evo = Evolution(make_config(budget=50), seed=25, screen=screen, seed_graphs=seeds)
    log = drive(evo, parallel=3)
    asked = [e[1] for e in log if e[0] == "ask"]
    assert len(asked) == 50 + evo.funnel["unstable"] and not any(refuses(k) for k in asked[1:])
    assert seeds[0].canonical_hash() not in calls  # seed layers skip the screen
    funnel = evo.funnel
    assert list(funnel) == list(FUNNEL_KEYS)
    refused = sum(refuses(k) for k in calls)
    assert funnel["refused_probe"] == refused == evo.refusals["constant_output"] > 0
    assert funnel["drawn"] == sum(v for k, v in funnel.items() if k != "drawn")
    told = [fake_result(k) for k in asked]
    assert funnel["evaluated"] == sum(r["status"] == "evaluated" for r in told)
    assert funnel["low_quality"] == sum(r.get("rejection_reason") == "low_quality" for r in told)
    assert funnel["unstable"] == sum(r.get("rejection_reason") == "unstable" for r in told)
    assert funnel["failed"] == sum(r["status"] == "failed" for r in told)
    assert funnel["rejected_other"] == 0 and funnel["in_flight"] == 0
    assert funnel["refused_static"] == sum(v for k, v in evo.refusals.items()
                                           if k != "constant_output")


def test_generated_proposals_pass_the_static_checks() -> None:
    evo = Evolution(make_config(budget=150), seed=26)
    while (p := evo.ask()) is not None:
        assert static_refusal(p.graph) is None
        evo.tell(p.key, fake_result(p.key))


def test_funnel_and_near_misses_survive_a_round_trip() -> None:
    evo = Evolution(make_config(budget=60), seed=27, screen=lambda g: None)
    drive(evo, stop_after=30)
    state = json.loads(json.dumps(evo.state_dict(compact=True)))
    assert state["funnel"] == evo.funnel and list(state["funnel"]) == list(FUNNEL_KEYS)
    back = Evolution.from_state_dict(state, is_known=lambda k: False)
    assert back.funnel == evo.funnel and back.near_misses == evo.near_misses
    assert back.state_dict(compact=True) == evo.state_dict(compact=True)


def test_a_version_1_state_loads_with_a_funnel_rebuilt_from_its_counts() -> None:
    evo = Evolution(make_config(budget=40), seed=28)
    drive(evo, stop_after=20)
    state = json.loads(json.dumps(evo.state_dict()))
    for key in ("funnel", "refusals", "near_misses"):
        del state[key]
    del state["config"]["strategy"], state["config"]["bootstrap"]
    state["version"] = 1
    old = Evolution.from_state_dict(state)
    c = evo.counts
    assert old.config == evo.config  # the new fields take their defaults
    assert old.funnel == {"drawn": c["proposed"], "refused_static": 0, "refused_probe": 0,
                          "unstable": 0, "low_quality": 0, "rejected_other": c["rejected"],
                          "failed": c["failed"], "evaluated": c["evaluated"],
                          "in_flight": c["in_flight"]}
    assert drive(old)  # and it goes on to the end
    assert old.done

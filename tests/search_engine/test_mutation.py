"""The three mutations (insert, op, input): each one's invariant as a property
test, and ``mutate``: every child valid, different, within the cap, live."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search_engine.graph import GraphError, LayerGraph, Node
from search_engine.library import load_reference
from search_engine.mutation import (
    MUTATION_FUNCTIONS,
    MUTATIONS,
    MutationError,
    depends_on_x,
    mutate,
    mutate_input,
    mutate_insert,
    mutate_node,
    mutate_op,
    prune_dead,
)
from search_engine.ops import OPS
from search_engine.random_layers import allowed_ops, descendants, random_layer
from search_engine.static_checks import static_refusal
from tests.search_engine.strategies import layer_graphs

OPS_B = allowed_ops("B")
live_graphs = layer_graphs(max_nodes=8).map(prune_dead)


def passes_checks(graph: LayerGraph) -> bool:
    return static_refusal(graph) is None


def attempt(fn: Callable[..., LayerGraph], parent: LayerGraph, seed: int) -> LayerGraph | None:
    """One try of a mutation function; None when no input fits (MutationError)
    or the child's output no longer follows x through element-wise ops (the
    one invalid child a mutation may make; mutate() draws again). Any other
    GraphError (a cycle, a bad reference) is a bug."""
    try:
        return fn(parent, random.Random(seed), OPS_B)
    except MutationError:
        return None
    except GraphError as err:
        assert err.code == "output_independent_of_x", err
        return None


def changed(parent: LayerGraph, child: LayerGraph) -> list[tuple[Node, Node]]:
    """(old, new) for every node id of the parent whose node differs in the child."""
    by_id = {n.id: n for n in child.nodes}
    return [(n, by_id[n.id]) for n in parent.nodes if n.id in by_id and by_id[n.id] != n]


@settings(max_examples=300, deadline=None)
@given(live_graphs, st.integers(0, 10**6))
def test_insert_puts_one_new_node_into_one_edge(parent: LayerGraph, seed: int) -> None:
    child = attempt(mutate_insert, parent, seed)
    if child is None:
        return
    [new] = [n for n in child.nodes if n.id not in {p.id for p in parent.nodes}]
    assert len(child.nodes) == len(parent.nodes) + 1
    rewired = changed(parent, child)
    if child.output == new.id:  # the output edge
        assert parent.output in new.inputs and not rewired
    else:
        assert child.output == parent.output
        [(old, now)] = rewired
        assert (old.op, old.params) == (now.op, now.params)
        [slot] = [k for k, (a, b) in enumerate(zip(old.inputs, now.inputs, strict=True)) if a != b]
        assert now.inputs[slot] == new.id and old.inputs[slot] in new.inputs
    if len(new.inputs) == 2:
        assert new.inputs[0] != new.inputs[1]
        assert "zero" not in new.inputs or new.op == "max"


@settings(max_examples=300, deadline=None)
@given(live_graphs, st.integers(0, 10**6))
def test_op_mutation_changes_one_op_and_keeps_what_fits(parent: LayerGraph, seed: int) -> None:
    child = attempt(mutate_op, parent, seed)
    if child is None:
        return
    [(old, new)] = changed(parent, child)
    assert old.op != new.op and len(new.inputs) == OPS[new.op].arity
    assert {n.id for n in child.nodes} <= {n.id for n in parent.nodes}  # some may fall dead
    if len(new.inputs) < len(old.inputs):  # one of the old inputs survives, one with x if any
        assert new.inputs[0] in old.inputs
        if set(old.inputs) & depends_on_x(parent):
            assert new.inputs[0] in depends_on_x(parent)
    else:  # old inputs kept in place; a new one appended, different, no cycle
        assert new.inputs[: len(old.inputs)] == old.inputs
        appended = set(new.inputs[len(old.inputs):])
        assert not appended & (set(old.inputs) | descendants(parent.nodes, old.id))


@settings(max_examples=300, deadline=None)
@given(live_graphs, st.integers(0, 10**6))
def test_input_mutation_changes_exactly_one_slot(parent: LayerGraph, seed: int) -> None:
    child = attempt(mutate_input, parent, seed)
    if child is None:
        return
    [(old, new)] = changed(parent, child)
    assert old.op == new.op and old.params == new.params
    [slot] = [k for k, (a, b) in enumerate(zip(old.inputs, new.inputs, strict=True)) if a != b]
    fresh = new.inputs[slot]
    assert fresh not in descendants(parent.nodes, old.id)  # no cycle
    assert fresh != "zero" or new.op == "max"
    assert len(set(new.inputs)) == len(new.inputs)
    with_x = depends_on_x(parent)
    if set(old.inputs) & with_x:
        assert set(new.inputs) & with_x  # the node still depends on x


@settings(max_examples=200, deadline=None)
@given(live_graphs, st.integers(0, 10**6))
def test_replace_node_keeps_the_id_and_the_output(parent: LayerGraph, seed: int) -> None:
    child = attempt(mutate_node, parent, seed)
    if child is None:
        return
    assert child.output == parent.output and len(changed(parent, child)) <= 1


def test_walk_of_ten_thousand_children_all_valid_and_every_kind_used() -> None:
    """A random walk (each child becomes the next parent half the time) in both
    modes, children checked by the full validator, not only by construction."""
    rng = random.Random(0)
    kinds: Counter = Counter()
    for mode in ("B", "S"):
        parent = random_layer(rng, mode=mode, num_nodes=4)
        for _ in range(5000):
            child, kind = mutate(parent, rng, mode, 12, accept=passes_checks)
            kinds[kind] += 1
            again = LayerGraph.from_dict(child.to_dict())  # full validation
            assert again.canonical_hash() == child.canonical_hash() != parent.canonical_hash()
            assert len(child.nodes) <= 12 and not child.dead_nodes()
            assert static_refusal(child) is None
            if mode == "S":
                assert not child.has_batch_ops()
            if rng.random() < 0.5:
                parent = child
    assert set(kinds) == set(MUTATIONS)
    # refused children are retried with the same kind, so each keeps about a third
    assert min(kinds.values()) > 0.25 * sum(kinds.values())


def test_a_neutral_walk_grows_and_shrinks_without_padding() -> None:
    """Inserts make layers grow, rewiring makes them shrink; a neutral walk from
    EvoNorm-S0 visits every size up to the cap."""
    rng = random.Random(6)
    parent = load_reference("evonorm_s0")
    sizes: Counter = Counter()
    for _ in range(3000):
        parent, _ = mutate(parent, rng, "B", 10, accept=passes_checks)
        sizes[len(parent.nodes)] += 1
    assert set(sizes) == set(range(1, 11))
    assert sum(n * k for n, k in sizes.items()) / 3000 > 3


def test_accept_sees_every_candidate_child_and_decides() -> None:
    seen: list[str] = []

    def every_fifth(g: LayerGraph) -> bool:
        seen.append(g.canonical_hash())
        return len(seen) % 5 == 0

    child, _ = mutate(load_reference("evonorm_b0"), random.Random(1), "B", 16, accept=every_fifth)
    assert len(seen) == 5 and child.canonical_hash() == seen[-1]


def test_s_mode_never_yields_a_batch_op_from_s_seeds() -> None:
    rng = random.Random(1)
    for slug in ("evonorm_s0", "evonorm_s1", "evonorm_s2", "gn_relu"):
        parent = load_reference(slug)
        for _ in range(300):
            child, _ = mutate(parent, rng, "S", 16)
            assert not child.has_batch_ops()
            parent = child


def test_s_mode_refuses_a_batch_parent() -> None:
    with pytest.raises(ValueError):
        mutate(load_reference("evonorm_b0"), random.Random(0), "S", 16)


def test_s_mode_ignores_a_dead_batch_node() -> None:
    s0 = load_reference("evonorm_s0")
    dead = Node(id="dead", op="batch_var", inputs=("x",))
    g = LayerGraph.from_nodes([*s0.nodes, dead], s0.output)
    child, _ = mutate(g, random.Random(0), "S", 16)
    assert not child.has_batch_ops()


def test_mutated_nodes_are_live() -> None:
    """Dead nodes are never the target (mutating one would change nothing), and
    children hold live nodes only."""
    s0 = load_reference("evonorm_s0")
    dead = Node(id="dead", op="neg", inputs=("x",))
    g = LayerGraph.from_nodes([*s0.nodes, dead], s0.output)
    for fn in (*MUTATION_FUNCTIONS.values(), mutate_node):
        for seed in range(50):
            child = attempt(fn, g, seed)
            if child is not None:  # dropped, or read again by a rewired input; never changed
                assert not child.dead_nodes()
                assert all(old.id != "dead" for old, _ in changed(g, child))


def test_the_cap_holds_and_a_seed_beyond_it_may_still_be_mutated() -> None:
    rng = random.Random(6)
    parent = random_layer(rng, mode="B", num_nodes=2)
    for _ in range(1000):
        parent, _ = mutate(parent, rng, "B", 6)
        assert len(parent.nodes) <= 6
    b0 = load_reference("evonorm_b0")
    child, _ = mutate(b0, random.Random(7), "B", 2)
    assert len(child.nodes) <= len(b0.live_nodes())


def test_impossible_mutation_reports_clearly() -> None:
    g = prune_dead(random_layer(random.Random(8), mode="B", num_nodes=1))
    with pytest.raises(MutationError, match="no valid child"):
        mutate(g, random.Random(0), "B", 1, attempts=0)
    with pytest.raises(MutationError, match="no valid child"):
        mutate(g, random.Random(0), "B", 4, accept=lambda child: False)


def test_same_rng_same_child() -> None:
    g = load_reference("evonorm_b0")
    a = mutate(g, random.Random(9), "B", 16)
    b = mutate(g, random.Random(9), "B", 16)
    assert a[1] == b[1] and a[0].to_dict() == b[0].to_dict()


def test_inputs_never_read_zero_except_max() -> None:
    rng = random.Random(10)
    parent = load_reference("bn_relu")  # max(..., zero): zero is there to be copied
    for _ in range(2000):
        child, _ = mutate(parent, rng, "B", 12)
        for n in child.nodes:
            if n.op != "max" and "zero" in n.inputs:
                # only an op change of a max node keeps its zero; the static checks refuse it
                assert static_refusal(child) is not None
        if static_refusal(child) is None:
            parent = child

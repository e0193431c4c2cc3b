"""The three mutations: every child valid, different, acyclic, within the cap."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from search_engine.graph import LayerGraph, Node
from search_engine.library import load_reference
from search_engine.mutation import (
    MUTATION_FUNCTIONS,
    MutationError,
    mutate,
    mutate_input,
    mutate_node,
    mutate_op,
    prune_dead,
)
from search_engine.ops import OPS
from search_engine.random_layers import allowed_ops, output_follows_x, random_layer


def test_ten_thousand_mutations_all_valid() -> None:
    """A random walk (each child becomes the next parent half the time) in both
    modes; children are checked by the full validator, not only by construction."""
    rng = random.Random(0)
    kinds = set()
    for mode in ("B", "S"):
        parent = random_layer(rng, mode=mode, num_nodes=4)
        for _ in range(5000):
            child, kind = mutate(parent, rng, mode, 12)
            kinds.add(kind)
            again = LayerGraph.from_dict(child.to_dict())  # full validation
            assert again.canonical_hash() == child.canonical_hash() != parent.canonical_hash()
            assert len(child.nodes) <= 12 and not child.dead_nodes()
            assert output_follows_x(child.nodes, child.output)
            if mode == "S":
                assert not child.has_batch_ops()
            if rng.random() < 0.5:
                parent = child
    assert kinds == {"op", "input", "node"}


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


def changed_nodes(parent: LayerGraph, child: LayerGraph) -> list[tuple[Node, Node]]:
    by_id = {n.id: n for n in parent.nodes}
    return [(by_id[n.id], n) for n in child.nodes if n.id in by_id and by_id[n.id] != n]


def single_step(fn, parent: LayerGraph, rng: random.Random) -> LayerGraph | None:  # noqa: ANN001
    try:
        return fn(parent, rng, allowed_ops("B"))
    except ValueError:  # GraphError: e.g. the output lost x; mutate() retries those
        return None


def test_mutate_op_changes_exactly_one_op() -> None:
    rng = random.Random(2)
    for _ in range(500):
        parent = random_layer(rng, mode="B", num_nodes=5)
        child = single_step(mutate_op, parent, rng)
        if child is None:
            continue
        [(old, new)] = changed_nodes(parent, child)
        assert old.op != new.op and len(new.inputs) == OPS[new.op].arity
        if len(new.inputs) <= len(old.inputs):  # a subset of the old inputs survives
            assert not Counter(new.inputs) - Counter(old.inputs)
        else:  # old inputs kept in place, new ones appended
            assert new.inputs[: len(old.inputs)] == old.inputs


def test_mutate_input_changes_exactly_one_slot() -> None:
    rng = random.Random(3)
    for _ in range(500):
        parent = random_layer(rng, mode="B", num_nodes=5)
        child = single_step(mutate_input, parent, rng)
        if child is None:
            continue
        [(old, new)] = changed_nodes(parent, child)
        assert old.op == new.op
        assert sum(a != b for a, b in zip(old.inputs, new.inputs, strict=True)) == 1


def test_mutate_node_keeps_the_id_and_the_output() -> None:
    rng = random.Random(4)
    for _ in range(500):
        parent = random_layer(rng, mode="B", num_nodes=5)
        child = single_step(mutate_node, parent, rng)
        if child is None:
            continue
        assert child.output == parent.output
        assert len(changed_nodes(parent, child)) <= 1


def test_mutated_node_is_live() -> None:
    """Dead nodes are never the target: mutating one would change nothing."""
    s0 = load_reference("evonorm_s0")
    dead = Node(id="dead", op="neg", inputs=("x",))
    g = LayerGraph.from_nodes([*s0.nodes, dead], s0.output)
    rng = random.Random(5)
    for fn in MUTATION_FUNCTIONS.values():
        for _ in range(50):
            child = single_step(fn, g, rng)
            if child is not None:
                assert child.node("dead") == dead


def test_children_can_grow_and_the_cap_holds() -> None:
    rng = random.Random(6)
    parent = random_layer(rng, mode="B", num_nodes=2)
    sizes = set()
    for _ in range(2000):
        parent, _ = mutate(parent, rng, "B", 6)
        sizes.add(len(parent.nodes))
    assert max(sizes) == 6 and min(sizes) >= 1


def test_a_seed_beyond_the_cap_may_still_be_mutated() -> None:
    b0 = load_reference("evonorm_b0")
    child, _ = mutate(b0, random.Random(7), "B", 2)
    assert len(child.nodes) <= len(b0.live_nodes())


def test_impossible_mutation_reports_clearly() -> None:
    # with a cap of 1 node, only the few one-node layers reading x exist;
    # zero tries must fail with a MutationError, not loop or return the parent
    g = prune_dead(random_layer(random.Random(8), mode="B", num_nodes=1))
    with pytest.raises(MutationError, match="no valid child"):
        mutate(g, random.Random(0), "B", 1, attempts=0)


def test_same_rng_same_child() -> None:
    g = load_reference("evonorm_b0")
    a = mutate(g, random.Random(9), "B", 16)
    b = mutate(g, random.Random(9), "B", 16)
    assert a[1] == b[1] and a[0].to_dict() == b[0].to_dict()

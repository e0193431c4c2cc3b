"""Random layers: valid, the requested size, all nodes live, S mode batch-free."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from search_engine.graph import LayerGraph, Node
from search_engine.library import load_reference
from search_engine.ops import OPS
from search_engine.random_layers import (
    allowed_ops,
    ancestors,
    descendants,
    fresh_id,
    output_follows_x,
    random_layer,
    sample_live_nodes,
)


@pytest.mark.parametrize("mode", ["B", "S"])
@pytest.mark.parametrize("num_nodes", [1, 2, 4, 7, 16])
def test_random_layers_are_valid_and_fully_live(mode: str, num_nodes: int) -> None:
    rng = random.Random(num_nodes)
    for _ in range(200):
        g = random_layer(rng, mode=mode, num_nodes=num_nodes)
        assert len(g.nodes) == num_nodes
        assert len(g.live_nodes()) == num_nodes
        assert "x" in ancestors({n.id: n for n in g.nodes}, g.output)
        assert output_follows_x(g.nodes, g.output)
        # round-trips through the document format, i.e. passes full validation
        assert LayerGraph.from_dict(g.to_dict()).canonical_hash() == g.canonical_hash()
        if mode == "S":
            assert not g.has_batch_ops()


@pytest.mark.parametrize("mode", ["B", "S"])
def test_every_node_depends_on_x_and_zero_feeds_only_max(mode: str) -> None:
    rng = random.Random(11)
    for _ in range(2000):
        nodes = sample_live_nodes(rng.randint(1, 9), allowed_ops(mode), rng)
        by_id = {n.id: n for n in nodes}
        for n in nodes:
            assert "x" in ancestors(by_id, n.id), n
            assert "zero" not in n.inputs or n.op == "max", n
            assert len(set(n.inputs)) == len(n.inputs), n
            if OPS[n.op].category == "aggregation":  # so every statistic is one of x
                assert n.inputs[0] == "x" or n.inputs[0] in by_id


def test_parameters_and_zero_still_appear() -> None:
    """The rules keep x-independent structure out, not the format's parameters."""
    rng = random.Random(12)
    read = Counter(i for _ in range(500) for n in random_layer(rng, mode="B", num_nodes=4).nodes
                   for i in n.inputs)
    assert read["v0"] > 50 and read["v1"] > 50 and read["zero"] > 10


def test_s_mode_excludes_every_batch_op_and_b_mode_uses_them() -> None:
    assert not any(OPS[o].batch for o in allowed_ops("S"))
    assert set(allowed_ops("B")) == set(OPS)
    rng = random.Random(0)
    seen = {n.op for _ in range(500) for n in random_layer(rng, mode="B", num_nodes=4).nodes}
    assert any(OPS[o].batch for o in seen)


def test_sampler_reads_every_node_for_many_op_draws() -> None:
    rng = random.Random(1)
    for n in range(1, 12):
        for _ in range(300):
            nodes = sample_live_nodes(n, allowed_ops("B"), rng)
            read = {i for node in nodes for i in node.inputs}
            assert all(node.id in read for node in nodes[:-1])


def test_same_seed_same_layers() -> None:
    a = [random_layer(random.Random(5), mode="B", num_nodes=5).to_dict() for _ in range(3)]
    assert a[0] == a[1] == a[2]


def test_group_ops_get_a_group_count() -> None:
    rng = random.Random(2)
    for _ in range(300):
        for node in random_layer(rng, mode="S", num_nodes=6).nodes:
            if node.op.startswith("group_"):
                assert isinstance(node.params["groups"], int)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        random_layer(random.Random(0), mode="X", num_nodes=3)
    with pytest.raises(ValueError):
        random_layer(random.Random(0), mode="B", num_nodes=0)


def test_graph_helpers() -> None:
    g = random_layer(random.Random(3), mode="B", num_nodes=6)
    first = g.topological_order()[0]
    assert g.output in descendants(g.nodes, first)
    assert fresh_id({"n1", "n2", "x"}) not in {"n1", "n2", "x"}


def test_output_follows_x_needs_an_elementwise_path() -> None:
    s0 = load_reference("evonorm_s0")
    assert output_follows_x(s0.nodes, s0.output)
    stats_only = [Node("m", "instance_mean", ("x",)), Node("s", "sigmoid", ("m",))]
    assert not output_follows_x(stats_only, "s")
    mixed = [*stats_only, Node("o", "mul", ("s", "x"))]
    assert output_follows_x(mixed, "o")
    assert not output_follows_x([Node("c", "sigmoid", ("v0",))], "c")

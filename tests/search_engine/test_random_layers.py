"""Random layers: valid, the requested size, all nodes live, S mode batch-free."""

from __future__ import annotations

import random

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

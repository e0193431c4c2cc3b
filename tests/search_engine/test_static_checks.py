"""Static checks: hand-checked verdicts, the reference layers, and two oracles
(x-dependence by brute-force ancestry, constant steps by running them)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings

from search_engine.compiler import compile_graph
from search_engine.graph import LayerGraph
from search_engine.library import load_reference, reference_catalog
from search_engine.random_layers import ancestors
from search_engine.static_checks import REASONS, static_refusal, step_refusal, x_dependence
from tests.search_engine.strategies import layer_graphs


def layer(*nodes: tuple[str, str, tuple[str, ...]], output: str | None = None) -> LayerGraph:
    doc = {"format": "layer-graph/1",
           "nodes": [{"id": i, "op": op, "inputs": list(args)} for i, op, args in nodes],
           "output": output or nodes[-1][0]}
    return LayerGraph.from_dict(doc)


CASES = [
    # what the format's parameters are for: fine
    (layer(("a", "mul", ("x", "v1"))), None),
    (layer(("a", "mul", ("x", "v1")), ("b", "add", ("a", "v0"))), None),
    (layer(("a", "max", ("x", "zero"))), None),  # ReLU
    (layer(("a", "group_var", ("x",)), ("b", "sqrt", ("a",)), ("c", "div", ("x", "b"))), None),
    (layer(("a", "add", ("x", "x"))), None),
    (layer(("a", "abs", ("x",)), ("b", "neg", ("a",))), None),
    # the output only through statistics
    (layer(("a", "instance_mean", ("x",))), "not_elementwise_from_x"),
    (layer(("a", "batch_var", ("x",)), ("b", "sigmoid", ("a",))), "not_elementwise_from_x"),
    # x-independent sub-expressions
    (layer(("g", "group_var", ("v1",)), ("a", "mul", ("x", "g"))), "x_independent"),
    (layer(("s", "add", ("v0", "v1")), ("a", "mul", ("x", "s"))), "x_independent"),
    (layer(("s", "sigmoid", ("zero",)), ("a", "mul", ("x", "s"))), "x_independent"),
    # zero anywhere but max
    (layer(("a", "mul", ("x", "zero"))), "zero_operand"),
    (layer(("a", "add", ("x", "zero"))), "zero_operand"),
    (layer(("a", "div", ("x", "zero"))), "zero_operand"),
    (layer(("a", "div", ("zero", "x")), ("b", "add", ("a", "x"))), "zero_operand"),
    # constant whatever x is
    (layer(("a", "div", ("x", "x"))), "constant"),
    (layer(("n", "neg", ("x",)), ("a", "add", ("x", "n"))), "constant"),
    (layer(("n", "neg", ("x",)), ("a", "div", ("n", "x"))), "constant"),
    (layer(("m", "layer_mean", ("x",)), ("v", "instance_var", ("m",)), ("a", "mul", ("x", "v"))),
     "constant"),
    # repeats its input or a shorter expression
    (layer(("a", "max", ("x", "x"))), "redundant"),
    (layer(("a", "mul", ("x", "x"))), "redundant"),
    (layer(("n", "neg", ("x",)), ("a", "neg", ("n",))), "redundant"),
    (layer(("s", "square", ("x",)), ("a", "abs", ("s",))), "redundant"),
    (layer(("s", "sigmoid", ("x",)), ("a", "abs", ("s",))), "redundant"),
    (layer(("n", "neg", ("x",)), ("a", "square", ("n",))), "redundant"),
    (layer(("e", "exp", ("x",)), ("a", "log", ("e",))), "redundant"),
    (layer(("s", "square", ("x",)), ("a", "sqrt", ("s",))), "redundant"),
    (layer(("m", "instance_mean", ("x",)), ("n", "instance_mean", ("m",)),
           ("a", "mul", ("x", "n"))), "redundant"),
    (layer(("v", "group_var", ("x",)), ("a", "abs", ("v",)), ("b", "div", ("x", "a"))),
     "redundant"),
]


@pytest.mark.parametrize(("graph", "reason"), CASES, ids=[g.formula() for g, _ in CASES])
def test_hand_checked_verdicts(graph: LayerGraph, reason: str | None) -> None:
    assert static_refusal(graph) == reason
    assert reason is None or reason in REASONS


def test_every_reference_layer_passes() -> None:
    for entry in reference_catalog():
        assert static_refusal(load_reference(entry["slug"])) is None, entry["slug"]


def test_dead_nodes_are_not_judged() -> None:
    """Only the live program counts: a dead x-independent node is no reason."""
    g = layer(("dead", "add", ("v0", "v1")), ("a", "mul", ("x", "v1")), output="a")
    assert static_refusal(g) is None


@settings(max_examples=300, deadline=None)
@given(layer_graphs(max_nodes=8))
def test_x_independence_agrees_with_brute_force_ancestry(g: LayerGraph) -> None:
    nodes = {n.id: n for n in g.nodes}
    independent = any("x" not in ancestors(nodes, n.id) for n in g.live_nodes())
    reason = static_refusal(g)
    if reason == "x_independent":
        assert independent
    if independent:
        assert reason is not None


@settings(max_examples=300, deadline=None)
@given(layer_graphs(max_nodes=6))
def test_steps_judged_constant_are_constant_when_run(g: LayerGraph) -> None:
    """Oracle: run the program up to a step judged constant on two different
    inputs; its value does not change (up to float rounding)."""
    program = g.program()
    depends = x_dependence(program)
    canonical = program.canonical_dict()
    for step in program.steps:
        if step_refusal(program, step.index, depends) != "constant":
            continue
        sub = LayerGraph.from_dict({**canonical, "output": f"t{step.index}"})
        module = compile_graph(sub, 8).train()
        gen = torch.Generator().manual_seed(0)
        a = module(torch.randn(4, 8, 5, 5, generator=gen) + 0.5)
        b = module(3 * torch.randn(4, 8, 5, 5, generator=gen) - 1.0)
        both = torch.isfinite(a) & torch.isfinite(b)
        assert torch.allclose(a[both], b[both], rtol=1e-4, atol=1e-5), sub.formula()

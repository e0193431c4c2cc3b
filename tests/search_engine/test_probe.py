"""numeric_probe: flags broken numerics, passes the reference layers, deterministic."""

from __future__ import annotations

import json

import torch
from hypothesis import HealthCheck, given, settings

from search_engine.graph import LayerGraph, Node
from search_engine.probe import numeric_probe
from tests.search_engine.strategies import layer_graphs


def _codes(report: dict) -> set[str]:
    return {issue["code"] for issue in report["issues"]}


def test_reference_layers_pass(references: dict[str, LayerGraph]) -> None:
    for slug, g in references.items():
        report = numeric_probe(g)
        assert report["ok"], (slug, report["issues"])
        assert len(report["checks"]) == 6  # 3 scales x train/eval
        assert {(c["scale"], c["mode"]) for c in report["checks"]} == {
            (s, m) for s in (1e-3, 1.0, 1e3) for m in ("train", "eval")}
        for check in report["checks"]:
            assert check["finite"] and check["grad_finite"] and check["grad_norm"] > 0


def test_report_shape_is_strict_json(references: dict[str, LayerGraph]) -> None:
    report = numeric_probe(references["evonorm_b0"], num_features=8, batch=2, size=3)
    again = json.loads(json.dumps(report, allow_nan=False))
    assert set(again) == {"ok", "issues", "checks"}
    assert set(again["checks"][0]) == {"scale", "mode", "finite", "mean", "std", "min", "max",
                                       "grad_finite", "grad_norm"}


def test_nan_inf_and_bad_gradients_are_flagged() -> None:
    # log(x) / 0: infinite outputs, NaN gradients; strict JSON despite them.
    g = LayerGraph.from_nodes([Node("a", "log", ("x",)), Node("b", "div", ("a", "zero"))], "b")
    report = numeric_probe(g, num_features=4, batch=2, size=2)
    assert not report["ok"] and {"inf", "nan_grad"} <= _codes(report)
    json.dumps(report, allow_nan=False)
    assert all(i["message"] and i["mode"] in ("train", "eval") for i in report["issues"])
    # sqrt of x - x: exactly zero, so NaN gradients through sign(0) * 1/sqrt(0).
    g = LayerGraph.from_nodes([Node("n", "neg", ("x",)), Node("d", "add", ("x", "n")),
                               Node("s", "sqrt", ("d",)), Node("o", "add", ("s", "x"))], "o")
    assert "nan_grad" in _codes(numeric_probe(g, num_features=4, batch=2, size=2))
    # exp(exp(x)) overflows at scale 1000.
    g = LayerGraph.from_nodes([Node("a", "exp", ("x",)), Node("b", "exp", ("a",))], "b")
    report = numeric_probe(g, num_features=4, batch=2, size=2)
    assert "inf" in _codes(report) and any(i["scale"] == 1e3 for i in report["issues"])


def test_constant_and_input_independent_outputs_are_flagged() -> None:
    # max(0, -x^2) is 0 everywhere: constant, and no gradient reaches x.
    g = LayerGraph.from_nodes([Node("a", "square", ("x",)), Node("b", "neg", ("a",)),
                               Node("c", "max", ("b", "zero"))], "c")
    assert {"constant_output", "zero_grad"} <= _codes(numeric_probe(g, num_features=4))
    # In eval mode batch_mean(x) is the running mean: the input no longer matters.
    g = LayerGraph.from_nodes([Node("a", "batch_mean", ("x",)), Node("b", "mul", ("a", "v1"))], "b")
    report = numeric_probe(g, num_features=4)
    assert {i["mode"] for i in report["issues"] if i["code"] == "zero_grad"} == {"eval"}


def layer(*nodes: tuple[str, str, tuple[str, ...]]) -> LayerGraph:
    return LayerGraph.from_nodes([Node(i, op, args) for i, op, args in nodes], nodes[-1][0])


TINY_NOT_CONSTANT = {
    # at input scale 1e-3 these outputs are ~1e-8 and ~1e-9, and they vary
    "x * instance_var(x)": layer(("v", "instance_var", ("x",)), ("a", "mul", ("x", "v"))),
    "x * x^2": layer(("s", "square", ("x",)), ("a", "mul", ("x", "s"))),
    "x * square(x^2)": layer(("s", "square", ("x",)), ("q", "square", ("s",)),
                             ("a", "mul", ("x", "q"))),
}
TRULY_CONSTANT = {
    "x * 0": layer(("a", "mul", ("x", "zero"))),
    "x / x": layer(("a", "div", ("x", "x"))),
    "x + (-x)": layer(("n", "neg", ("x",)), ("a", "add", ("x", "n"))),
    "x*v1 / (v1*x)": layer(("a", "mul", ("x", "v1")), ("b", "mul", ("v1", "x")),
                          ("c", "div", ("a", "b"))),
}


def test_tiny_outputs_that_vary_are_not_constant() -> None:
    for name, g in TINY_NOT_CONSTANT.items():
        report = numeric_probe(g, scales=(1e-3,))
        assert "constant_output" not in _codes(report), name
        assert max(abs(c["max"]) for c in report["checks"]) < 1e-7, name  # tiny indeed


def test_truly_constant_outputs_are_constant_at_every_scale() -> None:
    for name, g in TRULY_CONSTANT.items():
        report = numeric_probe(g)
        scales = {i["scale"] for i in report["issues"] if i["code"] == "constant_output"}
        assert scales == {1e-3, 1.0, 1e3}, name


def test_constant_is_relative_to_the_outputs_own_magnitude() -> None:
    from search_engine.probe import is_constant

    ramp = torch.linspace(1.0, 2.0, 50, dtype=torch.float64)
    for scale in (1e-30, 1e-9, 1.0, 1e9):
        assert not is_constant(ramp * scale)
        assert is_constant(torch.full((50,), 3.0) * scale)
        assert is_constant((1 + 1e-8 * ramp) * scale)  # rounding-level wiggle
    assert is_constant(torch.zeros(5))


def test_deterministic_and_leaves_global_rng_alone(references: dict[str, LayerGraph]) -> None:
    g = references["evonorm_s0"]
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = numeric_probe(g, seed=5)
    assert torch.equal(torch.get_rng_state(), state)
    assert numeric_probe(g, seed=5) == first
    assert numeric_probe(g, seed=6)["checks"] != first["checks"]


def test_custom_sizes_and_scales(references: dict[str, LayerGraph]) -> None:
    report = numeric_probe(references["gn_relu"], num_features=24, batch=1, size=1, scales=(2.0,))
    assert [c["scale"] for c in report["checks"]] == [2.0, 2.0]
    # GN-ReLU on one pixel: (x - mean) is 0 in every 1-channel group, so the output is constant.
    assert "constant_output" in _codes(report)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer_graphs(max_nodes=8))
def test_any_valid_graph_gets_a_report(g: LayerGraph) -> None:
    report = numeric_probe(g, num_features=4, batch=2, size=2, scales=(1.0, 1e3))
    json.dumps(report, allow_nan=False)
    assert report["ok"] == (not report["issues"])

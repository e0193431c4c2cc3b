"""The op registry: complete, self-consistent, and its kernels self-contained."""

from __future__ import annotations

import ast
import inspect
import json
import math
from collections.abc import Callable

import pytest
import torch

from search_engine import ops
from search_engine.ops import OPS, effective_groups, op_names, op_registry_json

Binary = Callable[..., torch.Tensor]

ELEMENTWISE = {"add": 2, "mul": 2, "div": 2, "max": 2, "neg": 1, "sigmoid": 1, "tanh": 1,
               "exp": 1, "log": 1, "abs": 1, "square": 1, "sqrt": 1}


def test_registry_holds_exactly_the_formats_ops() -> None:
    aggregations = {f"{a}_{s}" for a in ("batch", "instance", "group", "layer")
                    for s in ("mean", "sqmean", "var")}
    assert set(OPS) == set(ELEMENTWISE) | aggregations
    for name, arity in ELEMENTWISE.items():
        assert OPS[name].arity == arity and OPS[name].category == "elementwise"
    for name in aggregations:
        op = OPS[name]
        assert op.arity == 1 and op.category == "aggregation"
        assert op.batch == name.startswith("batch_")
        assert bool(op.params) == name.startswith("group_")
    assert {n for n, op in OPS.items() if op.commutative} == {"add", "mul", "max"}


def test_op_names_filters_batch_ops_for_s_mode() -> None:
    assert not any(n.startswith("batch_") for n in op_names(batch=False))
    assert set(op_names()) == set(OPS)


def test_registry_json_is_complete_and_json_able() -> None:
    doc = json.loads(json.dumps(op_registry_json(), allow_nan=False))
    assert [i["name"] for i in doc["inputs"]] == ["x", "zero", "v0", "v1"]
    assert [i["trainable"] for i in doc["inputs"]] == [False, False, True, True]
    assert all({"name", "description", "shape", "trainable"} <= set(i) for i in doc["inputs"])
    by_name = {o["name"]: o for o in doc["ops"]}
    assert set(by_name) == set(OPS)
    for entry in doc["ops"]:
        assert {"name", "arity", "category", "params", "description", "batch"} <= set(entry)
        assert entry["category"] in ("elementwise", "aggregation") and entry["description"]
    assert by_name["group_var"]["params"]["groups"] == {
        "type": "int", "min": 1, "max": 1024, "default": 32,
        "description": by_name["group_var"]["params"]["groups"]["description"],
    }
    assert by_name["batch_mean"]["batch"] is True and by_name["add"]["params"] == {}
    assert doc["limits"]["max_nodes"] == 256


def _value(name: str, *args: float) -> float:
    return float(OPS[name].impl(*(torch.tensor([a], dtype=torch.float64) for a in args)))


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("add", (2.0, 3.0), 5.0), ("mul", (2.0, 3.0), 6.0), ("div", (3.0, 2.0), 1.5),
        ("max", (2.0, 3.0), 3.0), ("neg", (2.0,), -2.0),
        ("sigmoid", (0.5,), 1 / (1 + math.exp(-0.5))), ("tanh", (0.5,), math.tanh(0.5)),
        ("exp", (0.5,), math.exp(0.5)), ("log", (-math.e,), -1.0), ("log", (math.e,), 1.0),
        ("abs", (-2.0,), 2.0), ("square", (-3.0,), 9.0), ("sqrt", (-4.0,), -2.0),
        ("sqrt", (9.0,), 3.0),
    ],
)
def test_elementwise_values_follow_the_format(name: str, args: tuple, expected: float) -> None:
    assert _value(name, *args) == pytest.approx(expected)


def test_ieee_cases_give_inf_or_nan_instead_of_raising() -> None:
    assert math.isinf(_value("div", 1.0, 0.0))
    assert math.isnan(_value("max", float("nan"), 1.0))
    assert math.isnan(_value("max", 1.0, float("nan")))
    assert math.isnan(_value("log", 0.0))  # sign(0) * ln(0) = 0 * -inf


def test_aggregations_add_eps_and_keep_reduced_axes() -> None:
    x = torch.randn(3, 4, 5, 6, generator=torch.Generator().manual_seed(0))
    eps = 0.01
    inst = ops.reduce_stat(x, ops.AXES["instance"], "var", eps)
    assert inst.shape == (3, 4, 1, 1)
    torch.testing.assert_close(inst, x.var(dim=(2, 3), unbiased=False, keepdim=True) + eps)
    sq = ops.reduce_stat(x, ops.AXES["layer"], "sqmean", eps)
    torch.testing.assert_close(sq, x.square().mean(dim=(1, 2, 3), keepdim=True) + eps)
    # One element per instance (1x1 maps): biased variance is 0, so the value is eps.
    one = ops.reduce_stat(x[:, :, :1, :1], ops.AXES["instance"], "var", eps)
    torch.testing.assert_close(one, torch.full_like(one, eps))


@pytest.mark.parametrize(
    ("channels", "groups", "expected"),
    [(64, 32, 32), (24, 32, 24), (48, 32, 24), (7, 4, 1), (30, 32, 30), (1, 32, 1), (96, 1024, 96),
     (100, 32, 25)],
)
def test_group_fallback_is_largest_divisor_not_above_g(channels: int, groups: int,
                                                       expected: int) -> None:
    assert effective_groups(channels, groups) == expected


def test_group_stat_matches_group_norm() -> None:
    x = torch.randn(2, 24, 3, 3, generator=torch.Generator().manual_seed(1))
    var = ops.group_stat(x, 32, "var", 1e-5)  # 24 channels: falls back to 24 groups
    mean = ops.group_stat(x, 32, "mean", 1e-5)
    torch.testing.assert_close((x - mean) / var.sqrt(), torch.nn.functional.group_norm(x, 24))


def test_kernels_reference_only_torch_and_each_other() -> None:
    """Code generation copies these sources into exported modules that import only torch."""
    kernel_names = {f.__name__ for f in ops.KERNELS}
    allowed = kernel_names | {"torch"}
    for func in ops.KERNELS:
        tree = ast.parse(inspect.getsource(func))
        local = {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
        local |= {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign | ast.AugAssign)
                  for t in ast.walk(n) if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                assert node.id in allowed | local | {"min", "max", "float", "tuple", "int", "str", "bool", "staticmethod"}, (
                    f"{func.__name__} uses {node.id}"
                )
        assert not any(isinstance(n, ast.Import | ast.ImportFrom) for n in ast.walk(tree))
    for op in OPS.values():
        assert set(op.kernels) <= kernel_names


def test_templates_mention_only_their_arguments() -> None:
    for op in OPS.values():
        args = [f"a{i}" for i in range(op.arity)]
        text = op.template.format(*args, eps="E", momentum="M", training="T", running="R",
                                  groups="G")
        ast.parse(text, mode="eval")
        for arg in args:
            assert arg in text


def _grads(f: Binary, *inputs: torch.Tensor, create_graph: bool = False) -> tuple[torch.Tensor, ...]:
    leaves = [t.detach().clone().requires_grad_(True) for t in inputs]
    out = f(*leaves)
    proj = torch.linspace(-2.0, 3.0, out.numel()).reshape(out.shape)
    return (out, *torch.autograd.grad((out * proj).sum(), leaves, create_graph=create_graph))


def test_fast_maximum_has_torchs_value_and_gradient_at_ties_nans_and_broadcasts() -> None:
    """The CPU kernel only computes torch.maximum's backward in fewer passes: a tie splits
    the gradient in halves, a nan passes it whole to both sides, inf ties split it."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(3, 4, 5, 5, generator=gen)
    b = torch.randn(3, 4, 5, 5, generator=gen)
    b[0, 0, 0, :3] = a[0, 0, 0, :3]  # ties
    b_vec = torch.randn(1, 4, 1, 1, generator=gen)
    a_nan = a.clone()
    a_nan[1, 1, 1, 1] = float("nan")
    a_inf, b_inf = a.clone(), b.clone()
    a_inf[2, 2, 2, 2] = b_inf[2, 2, 2, 2] = float("inf")
    zero = torch.zeros(1, 1, 1, 1)
    for x, y in ((a, b), (a, b_vec), (b_vec, a), (a_nan, b), (a_inf, b_inf), (a, zero), (zero, a)):
        fast, ref = _grads(ops.maximum, x, y), _grads(torch.maximum, x, y)
        for got, want in zip(fast, ref, strict=True):
            torch.testing.assert_close(got, want, rtol=0, atol=0, equal_nan=True)


def test_fast_maximum_and_variance_support_double_backward() -> None:
    """The stability test differentiates the gradient norm; the kernels' second derivatives
    match torch's."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(4, 3, 5, 5, generator=gen, dtype=torch.float64)
    y = torch.randn(4, 3, 5, 5, generator=gen, dtype=torch.float64)

    def second(f: Binary) -> list[torch.Tensor]:
        xs, ys = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
        out = f(xs, ys)
        grads = torch.autograd.grad(out.square().sum(), (xs, ys), create_graph=True)
        norm = sum((g**2).sum() for g in grads)
        return list(torch.autograd.grad(norm, (xs, ys)))

    def via(maximum: Binary, var: Callable[[torch.Tensor], torch.Tensor]) -> Binary:
        return lambda a, b: maximum(a, b) / (var(a) + 1e-3).sqrt()

    fast = second(via(ops.maximum, lambda t: ops.variance(t, (0, 2, 3))))
    ref = second(via(torch.maximum, lambda t: torch.var(t, dim=(0, 2, 3), correction=0, keepdim=True)))
    for got, want in zip(fast, ref, strict=True):
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize("dims", [(0, 2, 3), (2, 3), (1, 2, 3), (2, 3, 4)])
def test_fast_variance_matches_torch_var_and_its_gradient(dims: tuple[int, ...]) -> None:
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(3, 4, 5, 6, 2, generator=gen, dtype=torch.float64)[..., 0] + 7.0
    if 4 in dims:
        x = x.reshape(3, 2, 2, 5, 6)
    fast = _grads(lambda t: ops.variance(t, dims), x)
    ref = _grads(lambda t: torch.var(t, dim=dims, correction=0, keepdim=True), x)
    for got, want in zip(fast, ref, strict=True):
        torch.testing.assert_close(got, want)

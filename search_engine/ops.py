"""The op registry: every primitive of the layer graph format in one table.

Validation, mutation, compilation, code generation and the editor's palette
(``GET /api/ops`` via :func:`op_registry_json`) all read :data:`OPS`, so adding
an op is one entry here plus one test.

Each op carries two renderings of the same computation: ``impl`` (a callable
the compiler runs) and ``template`` (the expression code generation writes).
Aggregations share the kernel functions defined below; code generation copies
their source verbatim into the exported module, so the compiled graph and the
exported class run literally the same statistics code.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch

FORMAT = "layer-graph/1"

# The four inputs of every graph, in the order the compiler's value table uses.
INPUT_NAMES: tuple[str, ...] = ("x", "zero", "v0", "v1")
INPUTS: tuple[dict[str, Any], ...] = (
    {
        "name": "x",
        "description": "the layer input (the output of the preceding convolution)",
        "shape": "(B, C, H, W)",
        "trainable": False,
    },
    {"name": "zero", "description": "the constant 0", "shape": "broadcast", "trainable": False},
    {
        "name": "v0",
        "description": "per-channel vector, initialised to 0",
        "shape": "(1, C, 1, 1)",
        "trainable": True,
    },
    {
        "name": "v1",
        "description": "per-channel vector, initialised to 1",
        "shape": "(1, C, 1, 1)",
        "trainable": True,
    },
)

# Bounds of the document's own numbers, shared by validation and the palette.
MAX_NODES = 256
MAX_NAME_LENGTH = 100
ID_PATTERN = r"[A-Za-z0-9_-]{1,32}"
EPS_DEFAULT = 1e-5
EPS_MAX = 0.1
MOMENTUM_DEFAULT = 0.1
MOMENTUM_MAX = 1.0

# Reduced axes of (B, C, H, W) per aggregation family; "group" is special-cased
# in group_stat because it needs a reshape first.
AXES: dict[str, tuple[int, ...]] = {
    "batch": (0, 2, 3),
    "instance": (2, 3),
    "layer": (1, 2, 3),
}
STATS: tuple[str, ...] = ("mean", "sqmean", "var")


# --- kernels -----------------------------------------------------------------
# These functions are copied into generated modules (codegen uses
# inspect.getsource), so they may reference only torch and each other.


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    # float16 cannot hold gradients of size x / eps (its max is 65504): a group
    # of one element makes 0 * inf = NaN. Such inputs run in float32, as
    # autocast runs group_norm; bfloat16 has float32's range and stays as is.
    return torch.float32 if dtype == torch.float16 else dtype


def signed_log(a: torch.Tensor) -> torch.Tensor:
    return torch.sign(a) * torch.log(torch.abs(a))


def signed_sqrt(a: torch.Tensor) -> torch.Tensor:
    return torch.sign(a) * torch.sqrt(torch.abs(a))


class MaximumCpu(torch.autograd.Function):
    # torch.maximum with torch's gradient (a tie splits it in halves, a nan
    # passes it whole to both), computed in a few passes: torch's own backward
    # spends ten (where, masked_fill, comparisons) and was a tenth of a CPU
    # training step. The backward is differentiable, for the stability test.
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return torch.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        d = a - b
        if torch.isnan(d.sum()):
            # a nan, or inf - inf at a tie: torch's formula, element by element
            ga = torch.where(a == b, g / 2, g).masked_fill(a < b, 0)
            gb = torch.where(a == b, g / 2, g).masked_fill(a > b, 0)
        else:
            # sign(d) is -1, 0 or 1, so the weight is exactly 0, 1/2 or 1
            ga = g * (torch.sign(d) * 0.5 + 0.5)
            gb = g - ga
        if ga.shape != a.shape:
            ga = ga.sum_to_size(a.shape)
        if gb.shape != b.shape:
            gb = gb.sum_to_size(b.shape)
        return ga, gb


def maximum(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if a.device.type == "cpu" and not torch.compiler.is_compiling():
        return MaximumCpu.apply(a, b)
    return torch.maximum(a, b)


class VarianceCpu(torch.autograd.Function):
    # The biased variance in two passes (mean, then mean of squared
    # deviations): torch.var's CPU kernel took twice as long per call, and its
    # backward recomputes the deviations the forward has. Under a double
    # backward (the stability test) the deviations are recomputed from the
    # input so that their own gradient is kept.
    @staticmethod
    def forward(ctx, a, dims):
        d = a - a.mean(dim=dims, keepdim=True)
        ctx.save_for_backward(a, d)
        ctx.dims = dims
        return d.square().mean(dim=dims, keepdim=True)

    @staticmethod
    def backward(ctx, g):
        a, d = ctx.saved_tensors
        if torch.is_grad_enabled():
            d = a - a.mean(dim=ctx.dims, keepdim=True)
        # g has the output's shape: the reduced axes kept as size 1
        n = a.numel() // max(g.numel(), 1)
        return d * (g * (2.0 / n)), None


def variance(a: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    # Biased, over `dims`, kept as size 1.
    if a.device.type == "cpu" and not torch.compiler.is_compiling():
        return VarianceCpu.apply(a, dims)
    return torch.var(a, dim=dims, correction=0, keepdim=True)


def reduce_stat(a: torch.Tensor, dims: tuple[int, ...], stat: str, eps: float) -> torch.Tensor:
    # Statistics in float32 whatever the input dtype (bf16 sums lose too much);
    # the variance is biased so a single element (1x1 maps) gives 0 + eps.
    a32 = a.float()
    if stat == "mean":
        r = a32.mean(dim=dims, keepdim=True)
    elif stat == "sqmean":
        r = a32.square().mean(dim=dims, keepdim=True) + eps
    else:
        r = variance(a32, dims) + eps
    return r.to(a.dtype)


def effective_groups(channels: int, groups: int) -> int:
    # The format's fallback: the largest divisor of C not larger than G.
    g = min(channels, groups)
    while channels % g:
        g -= 1
    return g


def group_stat(a: torch.Tensor, groups: int, stat: str, eps: float) -> torch.Tensor:
    b, c, h, w = a.shape
    g = effective_groups(c, groups)
    # reshape, not view: a channels-last input may need a copy here.
    r = reduce_stat(a.reshape(b, g, c // g, h, w), (2, 3, 4), stat, eps)
    return r.expand(b, g, c // g, 1, 1).reshape(b, c, 1, 1)


def batch_stat(
    a: torch.Tensor,
    running: torch.Tensor,
    stat: str,
    eps: float,
    momentum: float,
    training: bool,
) -> torch.Tensor:
    if training:
        a32 = a.float()
        if stat == "mean":
            s = a32.mean(dim=(0, 2, 3), keepdim=True)
        elif stat == "sqmean":
            s = a32.square().mean(dim=(0, 2, 3), keepdim=True)
        else:
            s = variance(a32, (0, 2, 3))
        with torch.no_grad():
            # The running estimate tracks the biased statistic before eps; it
            # is per channel even when the input is constant across channels.
            running.mul_(1.0 - momentum).add_(s.detach().reshape(-1) * momentum)
        r = s if stat == "mean" else s + eps
    else:
        r = running.float().reshape(1, -1, 1, 1)
        r = r if stat == "mean" else r + eps
    return r.to(a.dtype)


# Kernels in dependency order, for code generation.
KERNELS: tuple[Callable[..., Any] | type, ...] = (
    compute_dtype,
    signed_log,
    signed_sqrt,
    MaximumCpu,
    maximum,
    VarianceCpu,
    variance,
    reduce_stat,
    effective_groups,
    group_stat,
    batch_stat,
)


# --- the registry ------------------------------------------------------------


@dataclass(frozen=True)
class ParamSpec:
    """One integer parameter an op accepts (the format has only integers)."""

    name: str
    type: Literal["int"]
    min: int
    max: int
    default: int
    description: str


@dataclass(frozen=True)
class Op:
    """One primitive op.

    ``template`` uses ``{0}``, ``{1}`` for the argument expressions and, for
    aggregations, ``{eps}``, ``{groups}``, ``{running}``, ``{momentum}`` and
    ``{training}``; ``symbol`` drives :mod:`search_engine.formula`.
    """

    name: str
    arity: int
    category: Literal["elementwise", "aggregation"]
    description: str
    impl: Callable[..., torch.Tensor]
    template: str
    params: tuple[ParamSpec, ...] = ()
    batch: bool = False
    commutative: bool = False
    axes: str | None = None  # aggregation family: batch/instance/group/layer
    stat: str | None = None  # aggregation statistic: mean/sqmean/var
    symbol: str | None = None  # infix operator for formulas ("+", "*", "/")
    kernels: tuple[str, ...] = ()  # kernel functions the template calls

    def param(self, name: str) -> ParamSpec | None:
        for spec in self.params:
            if spec.name == name:
                return spec
        return None


GROUPS = ParamSpec(
    name="groups",
    type="int",
    min=1,
    max=1024,
    default=32,
    description="number of channel groups (falls back to the largest divisor of C not above it)",
)


def _elementwise() -> list[Op]:
    e = "elementwise"
    return [
        Op("add", 2, e, "a + b", operator.add, "{0} + {1}", commutative=True, symbol="+"),
        Op("mul", 2, e, "a * b", operator.mul, "{0} * {1}", commutative=True, symbol="*"),
        Op("div", 2, e, "a / b (IEEE: may give inf or nan)", operator.truediv, "{0} / {1}",
           symbol="/"),
        Op("max", 2, e, "elementwise maximum; a nan in either input gives nan", maximum,
           "maximum({0}, {1})", commutative=True, kernels=("MaximumCpu", "maximum")),
        Op("neg", 1, e, "-a", operator.neg, "-{0}"),
        Op("sigmoid", 1, e, "1 / (1 + exp(-a))", torch.sigmoid, "torch.sigmoid({0})"),
        Op("tanh", 1, e, "tanh(a)", torch.tanh, "torch.tanh({0})"),
        Op("exp", 1, e, "exp(a)", torch.exp, "torch.exp({0})"),
        Op("log", 1, e, "sign(a) * ln(abs(a))", signed_log, "signed_log({0})",
           kernels=("signed_log",)),
        Op("abs", 1, e, "abs(a)", torch.abs, "torch.abs({0})"),
        Op("square", 1, e, "a * a", torch.square, "torch.square({0})"),
        Op("sqrt", 1, e, "sign(a) * sqrt(abs(a))", signed_sqrt, "signed_sqrt({0})",
           kernels=("signed_sqrt",)),
    ]


_STAT_TEXT = {
    "mean": "mean of a",
    "sqmean": "mean of a squared, plus eps",
    "var": "biased variance of a, plus eps",
}
_AXES_TEXT = {
    "batch": "over batch, height and width (per channel, like BatchNorm)",
    "instance": "over height and width (per sample and channel, like InstanceNorm)",
    "group": "over height, width and the channels of a group (like GroupNorm)",
    "layer": "over channels, height and width (per sample, like LayerNorm)",
}


def _aggregation(axes: str, stat: str) -> Op:
    name = f"{axes}_{stat}"
    description = f"{_STAT_TEXT[stat]} {_AXES_TEXT[axes]}"
    if axes == "batch":
        # The compiler binds running/momentum/training itself (see compiler.py).
        return Op(name, 1, "aggregation", description, batch_stat,
                  f"batch_stat({{0}}, {{running}}, {stat!r}, {{eps}}, {{momentum}}, {{training}})",
                  batch=True, axes=axes, stat=stat, kernels=("VarianceCpu", "variance", "reduce_stat", "batch_stat"))
    if axes == "group":
        return Op(name, 1, "aggregation", description, group_stat,
                  f"group_stat({{0}}, {{groups}}, {stat!r}, {{eps}})", params=(GROUPS,),
                  axes=axes, stat=stat,
                  kernels=("VarianceCpu", "variance", "reduce_stat", "effective_groups", "group_stat"))
    dims = AXES[axes]
    return Op(name, 1, "aggregation", description, reduce_stat,
              f"reduce_stat({{0}}, {dims!r}, {stat!r}, {{eps}})", axes=axes, stat=stat,
              kernels=("VarianceCpu", "variance", "reduce_stat"))


def _build() -> dict[str, Op]:
    ops = _elementwise()
    for axes in ("batch", "instance", "group", "layer"):
        ops.extend(_aggregation(axes, stat) for stat in STATS)
    return {op.name: op for op in ops}


OPS: dict[str, Op] = _build()


def get_op(name: str) -> Op:
    """The op called ``name``; KeyError if the format has none."""
    return OPS[name]


def op_names(*, batch: bool | None = None) -> list[str]:
    """Op names in registry order; ``batch=False`` leaves out ``batch_*`` ops (S mode)."""
    return [op.name for op in OPS.values() if batch is None or op.batch == batch]


def op_registry_json() -> dict[str, Any]:
    """JSON-able description of the format for the editor palette (``GET /api/ops``)."""
    return {
        "format": FORMAT,
        "inputs": [dict(entry) for entry in INPUTS],
        "ops": [
            {
                "name": op.name,
                "arity": op.arity,
                "category": op.category,
                "params": {
                    p.name: {
                        "type": p.type,
                        "min": p.min,
                        "max": p.max,
                        "default": p.default,
                        "description": p.description,
                    }
                    for p in op.params
                },
                "description": op.description,
                "batch": op.batch,
                "commutative": op.commutative,
            }
            for op in OPS.values()
        ],
        "limits": {
            "max_nodes": MAX_NODES,
            "max_name_length": MAX_NAME_LENGTH,
            "id_pattern": ID_PATTERN,
            "eps": {"min_exclusive": 0.0, "max": EPS_MAX, "default": EPS_DEFAULT},
            "momentum": {"min_exclusive": 0.0, "max": MOMENTUM_MAX, "default": MOMENTUM_DEFAULT},
        },
    }

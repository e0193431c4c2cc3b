"""compile_graph against modules written by hand from the formulas in PAPER.md.

The oracles below share no code with the engine: statistics are written with
torch.var/mean directly, in float64; GN-ReLU goes through F.group_norm and
BN-ReLU through F.batch_norm, independent implementations of the same maths.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from torch import nn

from search_engine.compiler import compile_graph
from search_engine.graph import LayerGraph, Node
from tests.search_engine.strategies import layer_graphs

EPS = 1e-5
MOMENTUM = 0.1


def _bvar(x: torch.Tensor) -> torch.Tensor:
    return x.var(dim=(0, 2, 3), unbiased=False, keepdim=True)


def _groups(c: int, groups: int) -> int:
    return max(d for d in range(1, min(c, groups) + 1) if c % d == 0)


def _group_rms(x: torch.Tensor, groups: int, centre: bool) -> torch.Tensor:
    """sqrt(group_var(x) + eps) (centre=True) or sqrt(group_sqmean(x) + eps), per channel."""
    b, c = x.shape[:2]
    g = _groups(c, groups)
    flat = x.reshape(b, g, -1)
    stat = flat.var(-1, unbiased=False) if centre else flat.square().mean(-1)
    return torch.sqrt(stat + EPS).repeat_interleave(c // g, dim=1).reshape(b, c, 1, 1)


class Oracle(nn.Module):
    """Per-channel v0, v1, weight, bias and one running statistic, as in the paper."""

    def __init__(self, kind: str, c: int) -> None:
        super().__init__()
        self.kind = kind
        self.v0 = nn.Parameter(torch.zeros(c))
        self.v1 = nn.Parameter(torch.ones(c))
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.register_buffer("running_var", torch.ones(c))
        self.register_buffer("running_mean", torch.zeros(c))

    def _vec(self, p: torch.Tensor) -> torch.Tensor:
        return p.reshape(1, -1, 1, 1)

    def _batch_var(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            v = _bvar(x)
            with torch.no_grad():
                self.running_var.mul_(1 - MOMENTUM).add_(MOMENTUM * v.reshape(-1))
            return v
        return self._vec(self.running_var)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v0, v1 = self._vec(self.v0), self._vec(self.v1)
        k = self.kind
        if k == "evonorm_b0":
            inst = torch.sqrt(x.var(dim=(2, 3), unbiased=False, keepdim=True) + EPS)
            out = x / torch.maximum(torch.sqrt(self._batch_var(x) + EPS), v1 * x + inst)
        elif k in ("evonorm_b1", "evonorm_b2"):
            rms = torch.sqrt(x.square().mean(dim=(2, 3), keepdim=True) + EPS)
            other = (x + v1) * rms if k == "evonorm_b1" else rms - x
            out = x / torch.maximum(torch.sqrt(self._batch_var(x) + EPS), other)
        elif k == "evonorm_s0":
            out = x * torch.sigmoid(v1 * x) / _group_rms(x, 32, centre=True)
        elif k == "evonorm_s1":
            out = x * torch.sigmoid(x) / _group_rms(x, 32, centre=True)
        elif k == "evonorm_s2":
            out = x * torch.sigmoid(x) / _group_rms(x, 32, centre=False)
        elif k == "bn_relu":
            if self.training:
                # F.batch_norm would update running_var with the unbiased variance;
                # the format keeps the biased one, so update by hand.
                with torch.no_grad():
                    self.running_mean.mul_(1 - MOMENTUM).add_(
                        MOMENTUM * x.mean(dim=(0, 2, 3)))
                    self.running_var.mul_(1 - MOMENTUM).add_(MOMENTUM * _bvar(x).reshape(-1))
                normed = F.batch_norm(x, None, None, training=True, eps=EPS)
            else:
                normed = F.batch_norm(x, self.running_mean.to(x.dtype),
                                      self.running_var.to(x.dtype), training=False, eps=EPS)
            out = torch.relu(normed * v1 + v0)
        elif k == "gn_relu":
            out = torch.relu(F.group_norm(x, _groups(x.shape[1], 32), eps=EPS) * v1 + v0)
        else:
            raise AssertionError(k)
        return out * self._vec(self.weight) + self._vec(self.bias)


LAYERS = ["evonorm_b0", "evonorm_b1", "evonorm_b2", "evonorm_s0", "evonorm_s1", "evonorm_s2",
          "bn_relu", "gn_relu"]


def _randomise(compiled: nn.Module, oracle: nn.Module, gen: torch.Generator) -> None:
    """Same non-trivial parameters in both (defaults 0/1 would hide mistakes)."""
    with torch.no_grad():
        for name, param in compiled.named_parameters():
            value = torch.rand(param.shape, generator=gen) * 0.5 + 0.75
            if name in ("v0", "bias"):
                value -= 1.0
            param.copy_(value)
            getattr(oracle, name).copy_(value)


def _close_in_norm(got: torch.Tensor, want: torch.Tensor, rel: float) -> None:
    """bf16 gradients: within ``rel`` of the reference in norm, not element by element.

    Rounding x to 8 mantissa bits moves a few values across the kinks of max
    and ReLU (where the gradient jumps), x - mean cancels, and per-channel
    parameter gradients are bf16 sums with cancellation (EvoNorm-B1's v1
    gradient is 3-10% off in norm against float64, GN-ReLU's input gradient
    up to 5.5% over 15 seeds).
    """
    error = (got - want).norm().item()
    assert error <= rel * want.norm().item() + 1e-6, (error, want.norm().item())


def _check(kind: str, references: dict[str, LayerGraph], *, c: int, size: int, batch: int,
           dtype: torch.dtype, channels_last: bool, seed: int = 0) -> None:
    gen = torch.Generator().manual_seed(seed)
    compiled = compile_graph(references[kind], c)
    oracle = Oracle(kind, c).double()
    _randomise(compiled, oracle, gen)
    compiled.to(dtype)
    exact = dtype == torch.float64 or dtype == torch.float32
    atol, rtol = (1e-4, 1e-4) if exact else (5e-2, 5e-2)
    for mode in ("train", "train", "eval"):
        compiled.train(mode == "train")
        oracle.train(mode == "train")
        x64 = torch.randn(batch, c, size, size, generator=gen, dtype=torch.float64) * 2 + 0.5
        x = x64.to(dtype)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x.requires_grad_(True)
        ref_in = x.detach().double().requires_grad_(True)
        y = compiled(x)
        expected = oracle(ref_in)
        assert y.dtype == dtype and y.shape == x.shape
        if channels_last and size > 1:
            assert y.is_contiguous(memory_format=torch.channels_last)
        assert torch.isfinite(y).all()
        torch.testing.assert_close(y.double(), expected, atol=atol, rtol=rtol)
        proj = torch.randn(y.shape, generator=gen, dtype=torch.float64)
        (y.double() * proj).sum().backward()
        (expected * proj).sum().backward()
        assert torch.isfinite(x.grad).all()
        # The float32 runs are the tight check; bf16 bounds catch gross errors only.
        pairs = [(x.grad, ref_in.grad, 0.1)] + [(p.grad, getattr(oracle, n).grad, 0.2)
                                                 for n, p in compiled.named_parameters()]
        for got, want, rel in pairs:
            if exact:
                torch.testing.assert_close(got.double(), want, atol=1e-3, rtol=1e-3)
            else:
                _close_in_norm(got.double(), want, rel)
        compiled.zero_grad()
        oracle.zero_grad()
    for name, buf in compiled.named_buffers():
        # Each compiled running buffer holds the oracle's statistic of the same kind.
        stat = next(s.op.stat for s in references[kind].program().steps if s.running == name)
        theirs = oracle.running_mean if stat == "mean" else oracle.running_var
        torch.testing.assert_close(buf.double(), theirs, atol=atol, rtol=rtol)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("channels_last", [False, True], ids=["contiguous", "channels_last"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_reference_layers_match_the_papers_formulas(
    kind: str, channels_last: bool, dtype: torch.dtype, references: dict[str, LayerGraph]
) -> None:
    _check(kind, references, c=64, size=5, batch=6, dtype=dtype, channels_last=channels_last)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("c", [1, 24, 7])
def test_one_by_one_maps_and_narrow_layers(kind: str, c: int,
                                           references: dict[str, LayerGraph]) -> None:
    # 1x1 maps: the instance variance of one element must be 0 + eps, never NaN.
    _check(kind, references, c=c, size=1, batch=4, dtype=torch.float32, channels_last=False)
    _check(kind, references, c=c, size=3, batch=2, dtype=torch.float32, channels_last=True)


@pytest.mark.parametrize("kind", LAYERS)
def test_float16_runs_in_float32_so_gradients_stay_finite(
    kind: str, references: dict[str, LayerGraph]
) -> None:
    """24 channels in 24 groups on 1x1 maps: each group variance is 0 + eps, and
    d out / d sqrt(var) ~ x / eps overflows float16; computed in float32 it does not."""
    module = compile_graph(references[kind], 24).half()
    gen = torch.Generator().manual_seed(0)
    for size in (1, 4):
        x = torch.randn(4, 24, size, size, generator=gen).half().requires_grad_(True)
        for mode in (True, False):
            module.train(mode)
            y = module(x)
            y.float().sum().backward()
            assert y.dtype == torch.float16 and torch.isfinite(y).all()
            assert torch.isfinite(x.grad).all()
            assert all(torch.isfinite(p.grad).all() for p in module.parameters())
            module.zero_grad()
            x.grad = None


def test_mixed_dtypes_keep_the_input_dtype(references: dict[str, LayerGraph]) -> None:
    """fp32 parameters with a bf16 input (autocast style): output stays bf16."""
    module = compile_graph(references["evonorm_b0"], 8)
    y = module(torch.randn(2, 8, 3, 3, dtype=torch.bfloat16))
    assert y.dtype == torch.bfloat16 and module.running_5.dtype == torch.float32


def test_state_names_and_initial_values(references: dict[str, LayerGraph]) -> None:
    b0 = compile_graph(references["evonorm_b0"], 4)
    assert list(b0.state_dict()) == ["v1", "weight", "bias", "running_5"]
    assert [n for n, _ in b0.named_parameters()] == ["v1", "weight", "bias"]
    bn = compile_graph(references["bn_relu"], 4)
    state = bn.state_dict()
    assert list(state) == ["v0", "v1", "weight", "bias", "running_1", "running_4"]
    assert torch.equal(state["running_1"], torch.zeros(4))  # batch_mean starts at 0
    assert torch.equal(state["running_4"], torch.ones(4))  # batch_var starts at 1
    assert torch.equal(state["v0"], torch.zeros(4)) and torch.equal(state["v1"], torch.ones(4))
    with torch.no_grad():
        bn.v1.fill_(3.0)
        bn.running_1.fill_(2.0)
    bn.reset_parameters()
    assert torch.equal(bn.v1, torch.ones(4)) and torch.equal(bn.running_1, torch.zeros(4))
    s1 = compile_graph(references["evonorm_s1"], 4)
    assert list(s1.state_dict()) == ["weight", "bias"]  # v0, v1 only when used


def test_dead_nodes_are_not_computed() -> None:
    live = [Node("a", "instance_var", ("x",)), Node("b", "div", ("x", "a"))]
    dead = [Node("d1", "batch_var", ("x",)), Node("d2", "exp", ("v0",))]
    g = LayerGraph.from_nodes(live + dead, "b")
    module = compile_graph(g, 3)
    assert len(module._steps) == 2 and list(module.state_dict()) == ["weight", "bias"]
    plain = compile_graph(LayerGraph.from_nodes(live, "b"), 3)
    x = torch.randn(2, 3, 4, 4)
    assert torch.equal(module(x), plain(x))


def test_outputs_that_ignore_an_axis_are_broadcast_to_the_input_shape() -> None:
    g = LayerGraph.from_nodes([Node("a", "instance_mean", ("x",))], "a")
    x = torch.randn(2, 3, 4, 5)
    y = compile_graph(g, 3)(x)
    assert y.shape == x.shape
    assert torch.allclose(y, x.mean(dim=(2, 3), keepdim=True).expand_as(x))


def test_constants_and_parameter_only_subgraphs() -> None:
    nodes = [Node("a", "group_var", ("zero",)), Node("b", "layer_mean", ("v1",)),
             Node("c", "batch_sqmean", ("v0",)), Node("d", "add", ("a", "b")),
             Node("e", "add", ("d", "c")), Node("f", "mul", ("e", "x"))]
    module = compile_graph(LayerGraph.from_nodes(nodes, "f", eps=0.01), 5)
    x = torch.randn(2, 5, 3, 3)
    for mode in (True, False):
        module.train(mode)
        # group_var(0) = eps, layer_mean(v1) = 1, batch_sqmean(v0) = 0 + eps (running: 1 + eps in eval)
        expected = x * (0.01 + 1.0 + (0.01 if mode else 0.9 * 1 + 0.1 * 0 + 0.01))
        torch.testing.assert_close(module(x), expected)


def test_running_statistics_follow_the_format(references: dict[str, LayerGraph]) -> None:
    module = compile_graph(references["bn_relu"], 3)
    x = torch.randn(8, 3, 4, 4) * 3 + 2
    module(x)
    torch.testing.assert_close(module.running_1, 0.1 * x.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(module.running_4, 0.9 + 0.1 * x.var(dim=(0, 2, 3), unbiased=False))
    module.eval()
    before = module.running_4.clone()
    module(x)
    assert torch.equal(module.running_4, before)  # eval mode never updates


def test_rejects_bad_num_features(references: dict[str, LayerGraph]) -> None:
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError):
            compile_graph(references["evonorm_s0"], bad)  # type: ignore[arg-type]


def test_torch_compile_fullgraph_has_no_graph_breaks(references: dict[str, LayerGraph]) -> None:
    """fullgraph=True raises on any graph break. aot_eager traces forward and backward
    through dynamo and AOTAutograd like inductor does, without the minutes of C++
    compilation inductor needs on this CPU machine."""
    # Dynamo's per-code-object cache is shared by every CompiledLayer (see compiler.py).
    torch.compiler.reset()
    for kind in ("evonorm_b0", "evonorm_s0"):
        module = compile_graph(references[kind], 8)
        compiled = torch.compile(module, fullgraph=True, backend="aot_eager")
        x = torch.randn(4, 8, 3, 3).contiguous(memory_format=torch.channels_last)
        for mode in (True, False):
            module.train(mode)
            xc = x.clone().requires_grad_(True)
            xe = x.clone().requires_grad_(True)
            eager_state = {k: v.clone() for k, v in module.state_dict().items()}
            y = compiled(xc)
            y.sum().backward()  # before the state is reloaded: the graph saved the buffers
            compiled_state = {k: v.clone() for k, v in module.state_dict().items()}
            module.load_state_dict(eager_state)
            expected = module(xe)
            expected.sum().backward()
            torch.testing.assert_close(y, expected)
            for k, v in module.state_dict().items():
                torch.testing.assert_close(compiled_state[k], v)  # buffers updated once
            torch.testing.assert_close(xc.grad, xe.grad)


RANDOM = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@RANDOM
@given(layer_graphs())
def test_random_graphs_compile_and_run_in_both_memory_formats(g: LayerGraph) -> None:
    module = compile_graph(g, 6)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 6, 4, 4, generator=gen)
    for mode in (True, False):
        module.train(mode)
        state = {k: v.clone() for k, v in module.state_dict().items()}
        y = module(x)
        module.load_state_dict(state)
        y_cl = module(x.contiguous(memory_format=torch.channels_last))
        assert y.shape == x.shape and y.dtype == x.dtype
        torch.testing.assert_close(y_cl, y, equal_nan=True, atol=1e-5, rtol=1e-4)

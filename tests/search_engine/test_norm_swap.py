"""replace_norm_act as real code (search_engine.norm_swap, the template every export copies).

The oracle: swapping in BatchNorm2d+ReLU itself (``oracle_layer``) must leave
the model's function unchanged, which only holds when every ReLU removed was a
pair's and nothing else moved. The anchors' pairs are counted by the factory
that built them, not by the function under test.
"""

from __future__ import annotations

import copy
import io
import re
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
import torch
from torch import nn

from search_engine.anchors import ARCHITECTURES, bn_relu, build_anchor, candidate_factory
from search_engine.codegen import generate_source
from search_engine.compiler import compile_graph
from search_engine.graph import LayerGraph
from search_engine.norm_swap import ChannelAffine, replace_norm_act
from tests.search_engine.conftest import load_generated
from tests.search_engine.swap_models import (
    BranchyNet,
    CallerNet,
    FunctionalNet,
    HiddenPairNet,
    oracle_layer,
    untraceable,
)

# Pairs in each anchor at full depth, from its definition: ResNet-50 has a stem
# and 3+4+6+3 bottlenecks of two; MobileNetV2 a stem, one block without
# expansion, 2+3+4+3+3+1 blocks of two, a head; EfficientNet-B0 a stem, one
# block without expansion, 2+2+3+3+4+1 blocks of two, a head.
ANCHOR_PAIRS = {"resnet50": 1 + 2 * 16, "mobilenetv2": 1 + 1 + 2 * 16 + 1,
                "efficientnet_b0": 1 + 1 + 2 * 15 + 1}
ANCHOR_SIZE = {"num_classes": 10, "width": 0.25, "depth": 1.0}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def exported(references: dict[str, LayerGraph]) -> dict[str, type[nn.Module]]:
    """The exported classes of EvoNorm-S0 and -B0, run from their generated source."""
    return {k: load_generated(generate_source(references[k])).EvolvedNorm
            for k in ("evonorm_s0", "evonorm_b0")}


def counted_anchor(arch: str) -> tuple[nn.Module, int]:
    """The anchor built with BN-ReLU, and how many pairs its factory made."""
    made = []

    def factory(c: int) -> nn.Module:
        made.append(c)
        return bn_relu(c)

    return build_anchor(arch, factory, **ANCHOR_SIZE), len(made)


def convert(model: nn.Module, layer: Callable[[int], nn.Module], **kw: Any) -> tuple[nn.Module, int]:
    """replace_norm_act, failing on any warning (the tests that expect one catch it themselves)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return replace_norm_act(model, layer=layer, **kw)


def relu_calls(gm: torch.fx.GraphModule) -> int:
    def is_relu(node: torch.fx.Node) -> bool:
        if node.op == "call_module":
            return isinstance(gm.get_submodule(node.target), nn.ReLU)
        return node.target in (torch.relu, nn.functional.relu, "relu", "relu_")

    return sum(map(is_relu, gm.graph.nodes))


def params_outside(model: nn.Module, sites: set[str]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in model.state_dict().items()
            if not any(k.startswith(s + ".") for s in sites)}


def assert_same_function(a: nn.Module, b: nn.Module, x: torch.Tensor) -> None:
    """Equal outputs in training mode (batch statistics, running stats updated) then in eval."""
    for mode in (True, False):
        a.train(mode)
        b.train(mode)
        torch.testing.assert_close(a(x.clone()), b(x.clone()))


def sgd_step_is_finite(model: nn.Module, x: torch.Tensor, classes: int) -> None:
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    out = model(x)
    assert out.shape == (x.shape[0], classes)
    loss = nn.functional.cross_entropy(out, torch.arange(x.shape[0]) % classes)
    loss.backward()
    opt.step()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_anchors_every_pair_swapped(arch: str, exported: dict[str, type[nn.Module]]) -> None:
    model, made = counted_anchor(arch)
    assert made == ANCHOR_PAIRS[arch]
    sites = {n for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)}
    assert len(sites) == made  # every norm in an anchor is one of the factory's pairs
    before = copy.deepcopy(model.state_dict())
    layer = exported["evonorm_s0"]
    new, n = convert(model, layer)
    assert n == made
    assert isinstance(new, torch.fx.GraphModule)  # the anchors trace
    assert {n for n, m in new.named_modules() if isinstance(m, layer)} == sites
    assert not any(isinstance(m, nn.BatchNorm2d) for m in new.modules())
    # The ReLU after each residual addition stays (ResNet); the pairs' ReLUs go.
    relus = sum(isinstance(m, nn.ReLU) for m in new.modules())
    assert relus == (16 if arch == "resnet50" else 0)
    # Nothing else changed, and the argument was left as it was.
    outside = params_outside(new, sites)
    assert outside.keys() == params_outside(model, sites).keys()
    assert all(torch.equal(v, before[k]) for k, v in outside.items())
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    sgd_step_is_finite(new, torch.randn(4, 3, 24, 24), classes=10)


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_anchors_fx_and_walk_agree_with_hand_placed_layers(arch: str, references: dict[str, LayerGraph]) -> None:
    """Two oracles, by torch.fx and (every forward made untraceable) by the walk alone:

    - BN-ReLU swapped in computes what the model did: no ReLU outside a pair went;
    - EvoNorm-S0 swapped in computes what the engine's anchor with S0 placed by
      hand computes (same convolution weights): every pair's ReLU went, since
      S0's output has negative values a kept ReLU would clip.
    """
    model, made = counted_anchor(arch)
    s0 = references["evonorm_s0"]
    by_hand = build_anchor(arch, candidate_factory(s0), **ANCHOR_SIZE)
    x = torch.randn(3, 3, 24, 24)
    for walk in (False, True):
        wrap = untraceable if walk else (lambda m: m)
        same, n = convert(wrap(copy.deepcopy(model)), oracle_layer)
        assert n == made
        assert_same_function(wrap(copy.deepcopy(model)), same, x)
        swapped, n = convert(wrap(copy.deepcopy(model)), partial(compile_graph, s0))
        assert n == made
        assert any(isinstance(m, torch.fx.GraphModule) for m in swapped.modules()) is not walk
        assert_same_function(wrap(copy.deepcopy(by_hand)), swapped, x)


def test_functional_relus_found_by_fx(exported: dict[str, type[nn.Module]]) -> None:
    torch.manual_seed(0)
    model = FunctionalNet()
    new, n = convert(model, oracle_layer)
    assert n == FunctionalNet.PAIRS
    assert_same_function(copy.deepcopy(model), new, torch.randn(4, 3, 6, 6))
    # Six ReLU calls before; after, the one after the addition and the one beside a skip.
    assert relu_calls(torch.fx.symbolic_trace(model)) == 6
    assert relu_calls(new) == 2
    layer = exported["evonorm_s0"]
    new, n = convert(model, layer)
    assert n == FunctionalNet.PAIRS
    assert {k for k, m in new.named_modules() if isinstance(m, layer)} == set(FunctionalNet.PAIR_SITES)
    assert {k for k, m in new.named_modules() if isinstance(m, nn.BatchNorm2d)} == set(
        FunctionalNet.LONE_SITES)
    assert new.width == model.width
    sites = set(FunctionalNet.PAIR_SITES)
    assert sum(p.numel() for p in params_outside(new, sites).values()) == sum(
        p.numel() for p in params_outside(model, sites).values())
    sgd_step_is_finite(new, torch.randn(4, 3, 6, 6), classes=3)


def test_untraceable_model_pairs_found_by_the_walk(exported: dict[str, type[nn.Module]]) -> None:
    torch.manual_seed(0)
    model = BranchyNet()
    with pytest.raises(torch.fx.proxy.TraceError):
        torch.fx.symbolic_trace(model)
    new, n = convert(model, oracle_layer)
    assert n == BranchyNet.PAIRS
    assert type(new) is BranchyNet  # the root stays what it was; children were edited in place
    assert_same_function(copy.deepcopy(model), new, torch.randn(4, 3, 6, 6))
    layer = exported["evonorm_s0"]
    new, n = convert(model, layer)
    assert n == BranchyNet.PAIRS
    assert {k for k, m in new.named_modules() if isinstance(m, layer)} == set(BranchyNet.PAIR_SITES)
    assert isinstance(new.stem, nn.Sequential) and isinstance(new.stem[2], nn.Identity)
    sites = set(BranchyNet.PAIR_SITES)
    assert sum(p.numel() for p in params_outside(new, sites).values()) == sum(
        p.numel() for p in params_outside(model, sites).values())
    sgd_step_is_finite(new, torch.randn(4, 3, 6, 6), classes=3)
    # The child that reads self.training was walked, not traced: both its modes remain.
    x = torch.randn(2, 8, 4, 4)
    new.mode.train()
    torch.testing.assert_close(new.mode(x), new.mode.body(x) * 0.5)
    new.mode.eval()
    torch.testing.assert_close(new.mode(x), new.mode.body(x))


def test_pair_in_an_untraceable_forward_is_reported() -> None:
    model = HiddenPairNet()
    with pytest.warns(UserWarning, match=r"1 BatchNorm2d left as they are.*hidden.*not traced"):
        new, n = replace_norm_act(model, layer=oracle_layer)
    assert n == 1
    assert isinstance(new.hidden, nn.BatchNorm2d)


def test_pair_across_a_module_boundary() -> None:
    """fx sees a norm ending a block and the caller's F.relu; under a caller that does not
    trace, the block alone cannot tell, so the norm is named, not called lone."""
    new, n = convert(CallerNet(branchy=False), oracle_layer)
    assert n == 1 and not isinstance(new.block.bn, nn.BatchNorm2d)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        new, n = replace_norm_act(CallerNet(branchy=True), layer=oracle_layer, lone_norm="affine")
    assert n == 0 and isinstance(new.block.bn, nn.BatchNorm2d)  # not taken for a lone norm
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert re.search(r"1 BatchNorm2d left as they are.*block\.bn", messages[0]), messages
    assert "no BatchNorm2d followed by a ReLU" in messages[1], messages


def test_no_pair_returns_the_model_and_warns() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 3))
    with pytest.warns(UserWarning, match="no BatchNorm2d followed by a ReLU.*unchanged"):
        new, n = replace_norm_act(model, layer=oracle_layer)
    assert new is model and n == 0
    plain = nn.Linear(3, 3)
    with pytest.warns(UserWarning, match="no BatchNorm2d followed by a ReLU"):
        assert replace_norm_act(plain, layer=oracle_layer) == (plain, 0)
    # A converted model has nothing left to convert.
    done, _ = convert(FunctionalNet(), ChannelAffine)
    with pytest.warns(UserWarning, match="no BatchNorm2d followed by a ReLU"):
        assert replace_norm_act(done, layer=oracle_layer)[0] is done


@pytest.mark.parametrize("model_cls", [FunctionalNet, BranchyNet])
def test_lone_norms_become_affine_or_layer_on_request(model_cls: type[FunctionalNet | BranchyNet], exported: dict[str, type[nn.Module]]) -> None:
    model = model_cls()
    lone = {k: m for k, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)
            and k not in model_cls.PAIR_SITES}
    assert lone
    for m in lone.values():
        nn.init.zeros_(m.weight)  # a zero-initialised residual scale must carry over
    layer = exported["evonorm_s0"]
    new, n = convert(model, layer, lone_norm="affine")
    assert n == model_cls.PAIRS
    for k in lone:
        step = new.get_submodule(k)
        assert isinstance(step, ChannelAffine) and not step.weight.any()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in new.modules())
    new, n = convert(model, layer, lone_norm="layer")
    assert n == model_cls.PAIRS
    assert all(isinstance(new.get_submodule(k), layer) for k in (*lone, *model_cls.PAIR_SITES))
    sgd_step_is_finite(new, torch.randn(4, 3, 6, 6), classes=3)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="lone_norm"):
        replace_norm_act(FunctionalNet(), layer=oracle_layer, lone_norm="drop")
    with pytest.raises(TypeError):
        replace_norm_act(lambda x: x, layer=oracle_layer)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="layer="):
        replace_norm_act(FunctionalNet())  # the engine's copy has no default layer


@pytest.mark.parametrize("model_cls", [FunctionalNet, BranchyNet])
def test_batch_layer_starts_fresh_and_follows_train_eval(model_cls: type[FunctionalNet | BranchyNet], exported: dict[str, type[nn.Module]],
                                                        references: dict[str, LayerGraph]) -> None:
    model = model_cls()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(4, 3, 6, 6) * 3 + 2)  # the norms' running statistics move
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 0.5)
    layer = exported["evonorm_b0"]
    new, _ = convert(model, layer)
    fresh = compile_graph(references["evonorm_b0"], 8)
    swapped = [m for m in new.modules() if isinstance(m, layer)]
    assert len(swapped) == model_cls.PAIRS
    for m in swapped:
        state = m.state_dict()
        for k, v in fresh.state_dict().items():
            # The format's initial values, except the affine values, taken from the norm.
            expected = torch.full_like(v, 0.5) if k == "weight" else v
            torch.testing.assert_close(state[k], expected)
    running = [b for m in swapped for k, b in m.named_buffers() if k.startswith("running")]
    assert running and all(torch.equal(b, torch.ones_like(b)) for b in running)  # batch_var starts at 1
    new.eval()
    assert not any(m.training for m in swapped)
    snapshot = [b.clone() for b in running]
    with torch.no_grad():
        new(torch.randn(4, 3, 6, 6))
    assert all(torch.equal(a, b) for a, b in zip(running, snapshot, strict=True))  # eval: frozen
    new.train()
    assert all(m.training for m in swapped)
    with torch.no_grad():
        new(torch.randn(4, 3, 6, 6))
    assert all(not torch.equal(a, b) for a, b in zip(running, snapshot, strict=True))


def test_each_new_module_follows_its_norm_dtype_and_mode() -> None:
    model = FunctionalNet().double()
    model.bn2.eval()  # a frozen norm in a training model stays frozen
    new, _ = convert(model, oracle_layer)
    assert new.bn2.training is False and new.bn1.training is True
    assert all(p.dtype == torch.float64 for p in new.parameters())
    assert new(torch.randn(2, 3, 5, 5, dtype=torch.float64)).dtype == torch.float64
    # A norm with no tensor of its own: the model's tensors tell the dtype.
    bare = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4, affine=False, track_running_stats=False),
                         nn.ReLU()).double()
    new, n = convert(bare, oracle_layer)
    assert n == 1 and all(p.dtype == torch.float64 for p in new.parameters())


@pytest.mark.parametrize("model_cls", [FunctionalNet, BranchyNet])
def test_state_dict_saves_and_loads(model_cls: type[FunctionalNet | BranchyNet], exported: dict[str, type[nn.Module]]) -> None:
    layer = exported["evonorm_b0"]
    torch.manual_seed(0)
    a, _ = convert(model_cls(), layer)
    sgd_step_is_finite(a, torch.randn(4, 3, 6, 6), classes=3)  # trained: state differs from fresh
    buffer = io.BytesIO()
    torch.save(a.state_dict(), buffer)
    torch.manual_seed(1)
    b, _ = convert(model_cls(), layer)
    buffer.seek(0)
    b.load_state_dict(torch.load(buffer, weights_only=True), strict=True)
    a.eval()
    b.eval()
    x = torch.randn(3, 3, 6, 6)
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)

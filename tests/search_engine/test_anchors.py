"""Anchors: shapes, multipliers, the reference placement of the layer, determinism."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from search_engine.anchors import (
    ARCHITECTURES,
    AffineOnly,
    bn_relu,
    build_anchor,
    candidate_factory,
    gn_relu,
)
from search_engine.anchors.mobilenetv2 import InvertedResidual
from search_engine.anchors.resnet import Bottleneck
from search_engine.library import load_reference

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = {"num_classes": 10, "width": 0.125, "depth": 0.2}


class Marker(nn.Module):
    """A layer that records it was placed, to count placements."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.c = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[1] == self.c
        return torch.relu(x)


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
@pytest.mark.parametrize("factory", [bn_relu, gn_relu], ids=["bn_relu", "gn_relu"])
def test_forward_shapes_train_crop_and_full_image(arch: str, factory: Callable[[int], nn.Module]) -> None:
    model = build_anchor(arch, factory, **TINY)
    assert model(torch.randn(4, 3, 24, 24)).shape == (4, 10)
    model.eval()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_candidate_layers_replace_every_norm(arch: str) -> None:
    model = build_anchor(arch, candidate_factory(load_reference("evonorm_s0")), **TINY)
    kinds = {type(m).__name__ for m in model.modules()}
    assert not kinds & {"BatchNorm2d", "GroupNorm", "ReLU6"}
    out = model.to(memory_format=torch.channels_last)(
        torch.randn(3, 3, 24, 24).contiguous(memory_format=torch.channels_last))
    assert out.shape == (3, 10) and torch.isfinite(out).all()
    # batch-statistics layers work at batch size 2
    b0 = build_anchor(arch, candidate_factory(load_reference("evonorm_b0")), **TINY)
    assert torch.isfinite(b0(torch.randn(2, 3, 24, 24))).all()


def test_residual_branches_end_in_zero_scale_affine() -> None:
    model = build_anchor("resnet50", Marker, num_classes=10, width=0.25, depth=0.34)
    blocks = [m for m in model.modules() if isinstance(m, Bottleneck)]
    assert len(blocks) == 1 + 1 + 2 + 1  # round(3, 4, 6, 3 x 0.34), at least one each
    for b in blocks:
        last = b.branch[-1]
        assert isinstance(last, AffineOnly) and last.zero_init and not last.weight.any()
        assert isinstance(b.act, nn.ReLU)  # the activation after the addition stays
        assert sum(isinstance(m, Marker) for m in b.branch) == 2
        if not isinstance(b.shortcut, nn.Identity):
            aff = b.shortcut[-1]
            assert isinstance(aff, AffineOnly) and not aff.zero_init
    # at initialisation a block with an identity shortcut is the identity on ReLU outputs
    b = next(b for b in blocks if isinstance(b.shortcut, nn.Identity))
    x = torch.relu(torch.randn(2, b.branch[0].in_channels, 6, 6))
    assert torch.allclose(b(x), x)


@pytest.mark.parametrize("arch", ["resnet50", "mobilenetv2"])
def test_branch_init_sets_only_the_residual_branch_scales(arch: str) -> None:
    paper = build_anchor(arch, Marker, num_classes=10, width=0.25, depth=0.34)
    ours = build_anchor(arch, Marker, num_classes=10, width=0.25, depth=0.34, branch_init=0.25)
    ends = [m for m in ours.modules() if isinstance(m, AffineOnly) and m.zero_init]
    assert ends and all(torch.equal(m.weight, torch.full_like(m.weight, 0.25)) for m in ends)
    # everything else, convolutions included, is drawn exactly as with the paper's zero scales
    same = {k for k, v in paper.state_dict().items() if torch.equal(v, ours.state_dict()[k])}
    changed = set(paper.state_dict()) - same
    assert changed == {k for k, m in ours.named_modules() if m in ends for k in [f"{k}.weight"]}


def test_mobilenet_projection_is_affine_only() -> None:
    model = build_anchor("mobilenetv2", Marker, num_classes=10, width=1.0, depth=1.0)
    blocks = [m for m in model.modules() if isinstance(m, InvertedResidual)]
    assert len(blocks) == 17
    for b in blocks:
        last = b.block[-1]
        assert isinstance(last, AffineOnly) and last.zero_init == b.residual


def test_efficientnet_keeps_squeeze_excite_and_places_layers() -> None:
    model = build_anchor("efficientnet_b0", Marker, num_classes=10, width=1.0, depth=1.0)
    names = [type(m).__name__ for m in model.modules()]
    assert names.count("MBConv") == 16 and names.count("SqueezeExcite") == 16
    # stem + head + (expansion if any) + depthwise per block
    assert names.count("Marker") == 2 + 16 + 15


def test_width_and_depth_multipliers() -> None:
    def count(m: nn.Module) -> int:
        return sum(p.numel() for p in m.parameters())

    small = build_anchor("resnet50", bn_relu, num_classes=10, width=0.25, depth=0.34)
    wide = build_anchor("resnet50", bn_relu, num_classes=10, width=0.5, depth=0.34)
    deep = build_anchor("resnet50", bn_relu, num_classes=10, width=0.25, depth=1.0)
    assert count(small) < count(wide) and count(small) < count(deep)
    convs = [m for m in wide.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.out_channels % 8 == 0 for c in convs)


def test_same_generator_same_weights() -> None:
    def make(seed: int) -> nn.Module:
        return build_anchor("mobilenetv2", bn_relu, generator=torch.Generator().manual_seed(seed), **TINY)

    a, b, c = make(1), make(1), make(2)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa)


def test_unknown_architecture() -> None:
    with pytest.raises(ValueError, match="unknown architecture"):
        build_anchor("vgg", bn_relu, num_classes=10)

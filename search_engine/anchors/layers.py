"""Where the layer under test goes in an anchor, and the baseline layers.

A *layer factory* maps a channel count to a module applied after a
convolution. Anchors call it at every norm+activation pair; at every norm
without an activation they use `AffineOnly` instead (PAPER.md: the reference
ResNet replaces such norms by the per-channel affine step alone, with the
residual branch's last scale initialised to zero so that each block starts as
the identity; without it EvoNorm networks diverged at learning rate 0.1).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

LayerFactory = Callable[[int], nn.Module]


class AffineOnly(nn.Module):
    """y = x * weight + bias per channel; `zero_init` (a residual branch's end) starts the scale at 0.

    `build_anchor(..., branch_init=s)` sets those scales to `s` instead.
    """

    def __init__(self, num_features: int, *, zero_init: bool = False) -> None:
        super().__init__()
        self.zero_init = zero_init
        self.weight = nn.Parameter(torch.zeros(num_features) if zero_init else torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # view(1, C, 1, 1) broadcasts along dim 1 whatever the memory format.
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


def group_count(channels: int, groups: int = 32) -> int:
    """The largest divisor of `channels` not above `groups` (24 channels, 32 groups -> 24)."""
    for g in range(min(groups, channels), 0, -1):
        if channels % g == 0:
            return g
    return 1


def bn_relu(num_features: int) -> nn.Module:
    return nn.Sequential(nn.BatchNorm2d(num_features), nn.ReLU())


def gn_relu(num_features: int) -> nn.Module:
    return nn.Sequential(nn.GroupNorm(group_count(num_features), num_features), nn.ReLU())


BASELINES: dict[str, LayerFactory] = {"bn_relu": bn_relu, "gn_relu": gn_relu}


def candidate_factory(graph) -> LayerFactory:  # noqa: ANN001 - LayerGraph; imported lazily
    """A factory compiling `graph` for each channel count it is asked for."""
    from search_engine.compiler import compile_graph

    return lambda num_features: compile_graph(graph, num_features)


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round channels to a multiple of `divisor`, never down by more than 10% (MobileNet rule)."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def scaled_repeats(n: int, depth: float) -> int:
    """Block repeats under a depth multiplier, at least one."""
    return max(1, int(round(n * depth)))


def conv(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False)


def init_weights(model: nn.Module, generator: torch.Generator) -> None:
    """Deterministic initialisation from `generator` (torch's constructors use the global RNG).

    Convolutions use He initialisation over the fan-in, as the TF reference's
    variance scaling does: un-normalised paths (projection shortcuts followed
    by the affine step alone) then keep their signal scale instead of shrinking
    at every channel expansion. Only convolutions and the classifier are random; layer parameters keep the
    constant values their modules set (v0 = 0, v1 = 1, affine 1/0 or zero-init).
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu", generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, m.in_features**-0.5, generator=generator)
            nn.init.zeros_(m.bias)

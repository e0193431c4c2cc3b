"""The inverted residual block MobileNetV2 and EfficientNet-B0 share.

1x1 expansion -> layer -> kxk depthwise -> layer -> [squeeze-excite] ->
1x1 projection -> affine. The projection has no activation in the originals,
so it takes the affine step alone, with scale 0 where it ends a residual
branch (the reference placement, PAPER.md).
"""

from __future__ import annotations

import torch
from torch import nn

from search_engine.anchors.layers import AffineOnly, LayerFactory, conv


class SqueezeExcite(nn.Module):
    """EfficientNet's channel gate; keeps its own SiLU and sigmoid (not a norm+activation pair)."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeeze, 1)
        self.expand = nn.Conv2d(squeeze, channels, 1)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(2, 3), keepdim=True)
        return x * torch.sigmoid(self.expand(self.act(self.reduce(s))))


class InvertedResidual(nn.Module):
    def __init__(
        self,
        cin: int,
        cout: int,
        stride: int,
        expand: int,
        layer: LayerFactory,
        *,
        kernel: int = 3,
        squeeze: int | None = None,
    ) -> None:
        super().__init__()
        hidden = cin * expand
        self.residual = stride == 1 and cin == cout
        mods: list[nn.Module] = []
        if expand != 1:
            mods += [conv(cin, hidden, 1), layer(hidden)]
        mods += [conv(hidden, hidden, kernel, stride, groups=hidden), layer(hidden)]
        if squeeze is not None:
            mods.append(SqueezeExcite(hidden, squeeze))
        mods += [conv(hidden, cout, 1), AffineOnly(cout, zero_init=self.residual)]
        self.block = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.residual else out

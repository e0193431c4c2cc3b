"""EfficientNet-B0 adapted to CIFAR: stride-1 stem and 24-channel stage, three downsamplings.

MBConv: 1x1 expansion -> layer -> kxk depthwise -> layer -> squeeze-excite ->
1x1 projection -> affine (scale 0 on a residual branch). Every BN+SiLU pair
takes the candidate layer; squeeze-excite keeps its own SiLU and sigmoid.
Dropout and stochastic depth are left out: they draw from the global RNG and
barely matter in a few hundred proxy steps.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from search_engine.anchors.blocks import InvertedResidual
from search_engine.anchors.layers import LayerFactory, conv, make_divisible

# expansion, kernel, stride, channels out, repeats (CIFAR: the 24-channel stage keeps stride 1)
SETTINGS = (
    (1, 3, 1, 16, 1),
    (6, 3, 1, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)


class MBConv(InvertedResidual):
    """An inverted residual with a kxk depthwise convolution and squeeze-excite."""

    def __init__(
        self, cin: int, cout: int, kernel: int, stride: int, expand: int, layer: LayerFactory
    ) -> None:
        super().__init__(cin, cout, stride, expand, layer, kernel=kernel, squeeze=max(1, cin // 4))


class EfficientNetB0(nn.Module):
    def __init__(self, layer: LayerFactory, *, num_classes: int, width: float, depth: float) -> None:
        super().__init__()
        stem = make_divisible(32 * width)
        mods: list[nn.Module] = [conv(3, stem, 3), layer(stem)]
        cin = stem
        for t, k, s, c, n in SETTINGS:
            cout = make_divisible(c * width)
            # EfficientNet scales depth with ceil; a multiplier below 1 still keeps one block.
            for i in range(max(1, math.ceil(n * depth - 1e-9))):
                mods.append(MBConv(cin, cout, k, s if i == 0 else 1, t, layer))
                cin = cout
        head = make_divisible(1280 * width)
        mods += [conv(cin, head, 1), layer(head)]
        self.features = nn.Sequential(*mods)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(head, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))

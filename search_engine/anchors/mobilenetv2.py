"""MobileNetV2 adapted to CIFAR: stride-1 stem and first 24-channel stage, three downsamplings.

Inverted residual (anchors/blocks.py): 1x1 expansion -> layer -> 3x3 depthwise
-> layer -> 1x1 projection -> affine, scale 0 where it ends a residual branch.
"""

from __future__ import annotations

import torch
from torch import nn

from search_engine.anchors.blocks import InvertedResidual
from search_engine.anchors.layers import LayerFactory, conv, make_divisible, scaled_repeats

# expansion t, channels c, repeats n, stride s (CIFAR: the 24-channel stage keeps stride 1)
SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 1),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


class MobileNetV2(nn.Module):
    def __init__(self, layer: LayerFactory, *, num_classes: int, width: float, depth: float) -> None:
        super().__init__()
        stem = make_divisible(32 * width)
        # torchvision keeps 1280 head channels below width 1; we scale them like
        # EfficientNet does, so that a narrow CPU variant is narrow throughout.
        last = make_divisible(1280 * width)
        mods: list[nn.Module] = [conv(3, stem, 3), layer(stem)]
        cin = stem
        for t, c, n, s in SETTINGS:
            cout = make_divisible(c * width)
            for i in range(scaled_repeats(n, depth)):
                mods.append(InvertedResidual(cin, cout, s if i == 0 else 1, t, layer))
                cin = cout
        mods += [conv(cin, last, 1), layer(last)]
        self.features = nn.Sequential(*mods)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(last, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))

"""ResNet-50 adapted to CIFAR: 3x3 stride-1 stem, no max-pool, three downsamplings.

Bottleneck block: 1x1 -> layer -> 3x3 (stride) -> layer -> 1x1 -> affine
(scale 0), plus a shortcut that is the identity or a 1x1 projection followed by
the affine step; the ReLU after the addition stays (the reference placement).
"""

from __future__ import annotations

import torch
from torch import nn

from search_engine.anchors.layers import (
    AffineOnly,
    LayerFactory,
    conv,
    make_divisible,
    scaled_repeats,
)

STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))  # planes, blocks, stride
EXPANSION = 4


class Bottleneck(nn.Module):
    def __init__(self, cin: int, planes: int, stride: int, layer: LayerFactory) -> None:
        super().__init__()
        cout = planes * EXPANSION
        self.branch = nn.Sequential(
            conv(cin, planes, 1),
            layer(planes),
            conv(planes, planes, 3, stride),
            layer(planes),
            conv(planes, cout, 1),
            AffineOnly(cout, zero_init=True),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            # ResNet-D shortcut: average-pool then 1x1, so the identity path sees every pixel.
            pool: list[nn.Module] = [nn.AvgPool2d(stride, ceil_mode=True)] if stride != 1 else []
            self.shortcut = nn.Sequential(*pool, conv(cin, cout, 1), AffineOnly(cout))
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.branch(x) + self.shortcut(x))


class ResNet50(nn.Module):
    def __init__(self, layer: LayerFactory, *, num_classes: int, width: float, depth: float) -> None:
        super().__init__()
        stem = make_divisible(64 * width)
        blocks: list[nn.Module] = [conv(3, stem, 3), layer(stem)]
        cin = stem
        for planes, n, stride in STAGES:
            p = make_divisible(planes * width)
            for i in range(scaled_repeats(n, depth)):
                blocks.append(Bottleneck(cin, p, stride if i == 0 else 1, layer))
                cin = p * EXPANSION
        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))

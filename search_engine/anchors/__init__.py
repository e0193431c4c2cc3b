"""Anchor architectures for the proxy task, built around a layer factory.

`build_anchor("resnet50", factory, num_classes=10, width=0.25, depth=0.34)`
returns a CIFAR-adapted model in which every norm+activation pair is
`factory(channels)` and every norm without an activation is `AffineOnly`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from search_engine.anchors.efficientnet import EfficientNetB0
from search_engine.anchors.layers import (
    BASELINES,
    AffineOnly,
    LayerFactory,
    bn_relu,
    candidate_factory,
    gn_relu,
    init_weights,
)
from search_engine.anchors.mobilenetv2 import MobileNetV2
from search_engine.anchors.resnet import ResNet50

ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "resnet50": ResNet50,
    "mobilenetv2": MobileNetV2,
    "efficientnet_b0": EfficientNetB0,
}


def build_anchor(
    name: str,
    layer_factory: LayerFactory,
    *,
    num_classes: int,
    width: float = 1.0,
    depth: float = 1.0,
    generator: torch.Generator | None = None,
    branch_init: float = 0.0,
) -> nn.Module:
    """The named anchor with `layer_factory` placed; weights drawn from `generator` (seed 0 if None).

    `branch_init` is the initial scale of the affine step that ends each
    residual branch: 0 is the paper's reference placement (each block starts
    as the identity); cpu-quick departs from it (presets.py says why).
    """
    try:
        cls = ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}") from None
    model = cls(layer_factory, num_classes=num_classes, width=width, depth=depth)
    init_weights(model, generator if generator is not None else torch.Generator().manual_seed(0))
    if branch_init:
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, AffineOnly) and m.zero_init:
                    m.weight.fill_(branch_init)
    return model


__all__ = [
    "ARCHITECTURES",
    "BASELINES",
    "AffineOnly",
    "LayerFactory",
    "bn_relu",
    "build_anchor",
    "candidate_factory",
    "gn_relu",
]

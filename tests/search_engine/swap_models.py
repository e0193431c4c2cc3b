"""Small models for the replace_norm_act tests, each with its pairs known by construction.

``PAIRS`` on each class is the number of BatchNorm2d modules followed by a ReLU,
counted by hand from the code below, and ``PAIR_SITES`` their names.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn


def conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1, bias=False)


class FunctionalNet(nn.Module):
    """Pairs written every way forward can: F.relu(inplace), torch.relu, .relu(), a shared nn.ReLU.

    Not pairs: bn5 feeds an addition; bn6's output also goes to a skip connection.
    The shared ``act`` also runs after the addition, where it must stay.
    """

    PAIRS = 4
    PAIR_SITES = ("bn1", "bn2", "bn3", "bn4")
    LONE_SITES = ("bn5", "bn6")

    def __init__(self, c: int = 8, classes: int = 3, cin: int = 3) -> None:
        super().__init__()
        self.width = c  # a plain attribute, to see that it survives
        self.conv1, self.bn1 = conv(cin, c), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = conv(c, c), nn.BatchNorm2d(c)
        self.conv3, self.bn3 = conv(c, c), nn.BatchNorm2d(c)
        self.conv4, self.bn4 = conv(c, c), nn.BatchNorm2d(c)
        self.conv5, self.bn5 = conv(c, c), nn.BatchNorm2d(c)
        self.conv6, self.bn6 = conv(c, c), nn.BatchNorm2d(c)
        self.act = nn.ReLU(inplace=True)
        self.fc = nn.Linear(c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)
        x = torch.relu(self.bn2(self.conv2(x)))
        x = self.bn3(self.conv3(x)).relu()
        y = self.conv4(x)
        y = self.bn4(y)
        y = self.act(y)
        x = self.act(x + self.bn5(self.conv5(y)))
        z = self.bn6(self.conv6(x))
        x = F.relu(z) + z
        return self.fc(x.mean(dim=(2, 3)))


class ModeBlock(nn.Module):
    """Reads self.training in forward: a trace would freeze one mode, so fx must not rewrite it."""

    PAIRS = 1

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv(c, c), nn.BatchNorm2d(c), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return y * 0.5 if self.training else y


class BranchyNet(nn.Module):
    """Data-dependent control flow at the top, so torch.fx cannot trace it.

    Its pairs sit where the module walk finds them: a plain Sequential, a
    traceable child using F.relu, a pair split across nested Sequentials, and
    a child whose forward reads self.training. The lone BatchNorm2d in
    ``tail`` has a convolution after it.
    """

    PAIRS = 1 + FunctionalNet.PAIRS + 1 + ModeBlock.PAIRS
    PAIR_SITES = ("stem.1", *(f"block.{s}" for s in FunctionalNet.PAIR_SITES), "nested.0.1",
                  "mode.body.1")

    def __init__(self, c: int = 8, classes: int = 3) -> None:
        super().__init__()
        self.stem = nn.Sequential(conv(3, c), nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.block = FunctionalNet(c, classes=c, cin=c)
        self.nested = nn.Sequential(nn.Sequential(conv(c, c), nn.BatchNorm2d(c)), nn.ReLU())
        self.mode = ModeBlock(c)
        self.tail = nn.Sequential(conv(c, c), nn.BatchNorm2d(c), conv(c, c))
        self.head = nn.Linear(c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        if x.mean() > 0:  # a Python bool of a tensor: torch.fx cannot trace this
            x = x.flip(-1)
        # The child's plain attribute is read here, after the child may have become a GraphModule.
        y = self.block(x)[:, : self.block.width].reshape(x.shape[0], -1, 1, 1)
        x = self.tail(self.mode(self.nested(x + y)))
        return self.head(x.mean(dim=(2, 3)))


class HiddenPairNet(nn.Module):
    """A pair written in an untraceable forward itself: the walk cannot see it, and says so."""

    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.stem = nn.Sequential(conv(3, c), nn.BatchNorm2d(c), nn.ReLU())
        self.conv = conv(c, c)
        self.hidden = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        if x.sum() > 0:
            x = -x
        return F.relu(self.hidden(self.conv(x)))


class EndsInNorm(nn.Module):
    """A block whose value is its BatchNorm2d's: the ReLU, if any, is in the caller."""

    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.conv = conv(3, c)
        self.bn = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class CallerNet(nn.Module):
    """One pair across a module boundary: EndsInNorm's norm, then F.relu here."""

    def __init__(self, branchy: bool) -> None:
        super().__init__()
        self.branchy = branchy
        self.block = EndsInNorm()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block(x)
        if self.branchy and x.sum() > 0:  # data-dependent only when asked
            x = x.flip(-1)
        return F.relu(x)


def untraceable(model: nn.Module) -> nn.Module:
    """``model`` with data-dependent control flow added to its own and every block's forward.

    Only modules of torch.nn (Sequential, the norms, convolutions) keep their
    class, so torch.fx traces nothing and all the work falls to the walk.
    """
    for m in model.modules():
        if not type(m).__module__.startswith("torch."):
            m.__class__ = _untraceable_class(type(m))
    return model


@functools.cache
def _untraceable_class(cls: type[nn.Module]) -> type[nn.Module]:
    def forward(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if x.mean() > 1e9:  # never true here, but a trace cannot know
            x = x * 0
        return cls.forward(self, x)

    return type(f"Untraceable{cls.__name__}", (cls,), {"forward": forward})


def oracle_layer(c: int) -> nn.Module:
    """BatchNorm2d then ReLU as one module: swapped in, the model must compute what it did."""
    return nn.Sequential(nn.BatchNorm2d(c), nn.ReLU())

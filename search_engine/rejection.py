"""Rejection protocols, cheapest first: numeric probe, stability test, quality test.

- Numeric probe: `search_engine.probe.numeric_probe` (random inputs at scales
  1e-3, 1 and 1e3, training and evaluation mode); its issue codes map to the
  reasons ``numeric_nan``, ``numeric_inf`` and ``constant_output``.
- Stability (PAPER.md): an adversary adjusts the anchor's convolution weights
  to *maximise* the norm of the loss gradient with respect to all trainable
  parameters, on one fixed batch of `STABILITY_BATCH` training crops. The
  adversary is Adam at learning rate `ADVERSARY_LR` on -log(gradient norm)
  (the log keeps the objective finite-scaled while the norm grows by orders
  of magnitude; Adam makes the step size independent of that scale). The
  gradient norm needs a double backward. After every step each convolution's
  weight is rescaled to its initial norm: the adversary may turn the weights
  but not shrink them. Without that constraint it wins against every
  scale-invariant layer by shrinking all weights (the gradient grows like
  1/|w| per layer, so like 1/|w|^depth): on the full-size ResNet-50 BN-ReLU
  itself crossed 1e8 within 50 steps (H100 run, 2026-11-27), which says
  nothing about the layer. A layer is rejected (``unstable``)
  when the largest norm seen exceeds the threshold (1e8) or becomes non-finite.
- Quality: the first `quality_steps` of the real training run, then validation;
  below the gate (default twice chance) the layer is rejected (``low_quality``).
  That run lives in `evaluate`, which continues it into the full training.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from search_engine.datasets import BatchSampler, Dataset

STABILITY_BATCH = 16
ADVERSARY_LR = 0.01
# The adversary's progress is read (one device sync) this often, to stop early
# once a layer has clearly failed instead of finishing all steps on NaNs.
_CHECK_EVERY = 10

# probe issue code -> rejection reason; the first issue in this order decides.
_PROBE_REASONS = (
    ("nan", "numeric_nan"),
    ("nan_grad", "numeric_nan"),
    ("inf", "numeric_inf"),
    ("inf_grad", "numeric_inf"),
    ("constant_output", "constant_output"),
    ("zero_grad", "constant_output"),
)


@dataclass
class Verdict:
    """The outcome of one protocol: `reason` is None when the layer passes."""

    reason: str | None
    message: str
    value: float | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.reason is None


def probe_verdict(graph, *, seed: int) -> Verdict:  # noqa: ANN001 - LayerGraph
    """Run the numeric probe and map its first issue to a rejection reason."""
    from search_engine.probe import numeric_probe

    start = time.perf_counter()
    report = numeric_probe(graph, seed=seed)
    seconds = time.perf_counter() - start
    issues = report.get("issues", [])
    if report.get("ok", not issues):
        return Verdict(None, "numeric probe passed", seconds=seconds)
    codes = {i.get("code"): i for i in issues}
    for code, reason in _PROBE_REASONS:
        if code in codes:
            return Verdict(reason, f"numeric probe: {codes[code].get('message', code)}", seconds=seconds)
    first = issues[0]
    return Verdict("error", f"numeric probe: {first.get('message', first.get('code'))}", seconds=seconds)


def probe_screen(seed: int) -> Callable[[object], str | None]:
    """The numeric probe as the search's proposal-time screen
    (``Evolution(..., screen=probe_screen(seed))``): the rejection reason
    :func:`probe_verdict` gives, or None to accept.

    Use the seed the candidate's evaluation will use, so that the probe at
    proposal time and the one ``evaluate`` repeats see the same inputs.
    """

    def screen(graph) -> str | None:  # noqa: ANN001 - LayerGraph
        return probe_verdict(graph, seed=seed).reason

    return screen


def stability_test(
    model: nn.Module,
    data: Dataset,
    *,
    steps: int,
    threshold: float,
    generator: torch.Generator,
    batch_size: int = STABILITY_BATCH,
    lr: float = ADVERSARY_LR,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[dict], None] | None = None,
) -> Verdict:
    """Adversarially maximise the gradient norm over the conv weights of `model`.

    `model` is modified (its conv weights are the adversary's variables), so
    pass a throwaway copy.
    """
    start = time.perf_counter()
    model = model.to(data.device).train()
    x, y = BatchSampler(data, batch_size, generator=generator).next()
    convs = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d)]
    params = [p for p in model.parameters() if p.requires_grad]
    adversary = torch.optim.Adam(convs, lr=lr)
    with torch.no_grad():
        norms = [w.norm() for w in convs]
    worst = torch.zeros((), device=data.device)
    done = 0
    for step in range(steps):
        loss = F.cross_entropy(model(x).float(), y)
        grads = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
        norm = torch.sqrt(sum((g.float() ** 2).sum() for g in grads if g is not None))
        # torch.maximum propagates NaN, so a NaN norm is remembered as the worst.
        worst = torch.maximum(worst, norm.detach())
        adversary.zero_grad(set_to_none=True)
        # The tiny offset keeps log finite if a layer's gradient vanishes entirely.
        (-torch.log(norm + 1e-30)).backward(inputs=convs)
        adversary.step()
        with torch.no_grad():
            for w, n in zip(convs, norms, strict=True):
                w.mul_(n / w.norm().clamp_min(1e-12))
        done = step + 1
        if done % _CHECK_EVERY == 0 or done == steps:
            value = worst.item()
            if progress is not None:
                progress({"step": done, "total": steps, "loss": value, "accuracy": None})
            if not math.isfinite(value) or value > threshold:
                break
            if should_stop is not None and should_stop():
                return Verdict("stopped", "stopped during the stability test", value,
                               time.perf_counter() - start)
    value = worst.item()
    seconds = time.perf_counter() - start
    if not math.isfinite(value):
        return Verdict("unstable", f"gradient norm became non-finite within {done} adversarial steps",
                       None, seconds)
    if value > threshold:
        return Verdict("unstable", f"gradient norm {value:.3g} exceeds {threshold:.3g} after "
                       f"{done} adversarial steps", value, seconds)
    return Verdict(None, f"worst gradient norm {value:.3g} over {done} adversarial steps",
                   value, seconds)


def quality_verdict(accuracy: float, gate: float, steps: int) -> Verdict:
    """Pass when validation accuracy after `steps` training steps reaches `gate`."""
    if accuracy < gate:
        return Verdict("low_quality", f"validation accuracy {accuracy:.1%} after {steps} steps "
                       f"is below the {gate:.1%} gate", accuracy)
    return Verdict(None, f"validation accuracy {accuracy:.1%} after {steps} steps", accuracy)

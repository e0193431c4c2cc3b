"""A quick numeric check of a layer: forward and backward on random inputs.

Used by the search's rejection protocol and by the web API's "check numerics"
action. For each input scale it runs the layer in training mode, then in
evaluation mode with running statistics calibrated on that same input (one
training pass with momentum 1, so eval mode sees the statistics the layer
would have converged to instead of their initial values), each with a
backward pass of a random projection of the output.

Verdicts are judged relative to scale: an output is constant when its spread
is tiny next to its own magnitude (which follows the input's), so a layer
whose output is small at input scale 1e-3 but varies passes (``is_constant``).

Everything is deterministic given ``seed``: inputs come from a private
``torch.Generator``, never the global RNG.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from search_engine.compiler import compile_graph
from search_engine.graph import LayerGraph

# An output counts as constant when its spread (max - min) is at most this
# fraction of its own largest magnitude: a few float32 ulps (2**-23 ~ 1.2e-7),
# so x / x computed with rounding is constant while x**3 at input scale 1e-3
# (values ~1e-9) is not. The tolerance used to be absolute below magnitude 1,
# max(1, |y|): 40% of the layers it called constant were merely small at input
# scale 1e-3, such as x * instance_var(x).
_CONSTANT_RTOL = 1e-6


def _finite_or_none(value: float) -> float | None:
    # NaN and inf are not JSON; "finite" fields say when a statistic was lost.
    return value if math.isfinite(value) else None


def _summary(t: torch.Tensor) -> dict[str, Any]:
    t = t.detach().double()
    return {
        "finite": bool(torch.isfinite(t).all()),
        "mean": _finite_or_none(t.mean().item()),
        "std": _finite_or_none(t.std(correction=0).item()),
        "min": _finite_or_none(t.min().item()),
        "max": _finite_or_none(t.max().item()),
    }


def is_constant(y: torch.Tensor) -> bool:
    """Whether a finite output is constant relative to its own magnitude (which
    follows the input's scale), not to 1: see ``_CONSTANT_RTOL``."""
    y = y.detach().double()
    spread = (y.max() - y.min()).item()
    return spread <= _CONSTANT_RTOL * y.abs().max().item()


def _issue(code: str, message: str, scale: float, mode: str) -> dict[str, Any]:
    return {"code": code, "message": message, "scale": scale, "mode": mode}


def _run(module: torch.nn.Module, x: torch.Tensor, proj: torch.Tensor,
         scale: float, mode: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    where = f"at input scale {scale:g} in {'training' if mode == 'train' else 'evaluation'} mode"
    module.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_(True)
    check: dict[str, Any] = {"scale": scale, "mode": mode}
    issues: list[dict[str, Any]] = []
    try:
        y = module(x)
        (y * proj).sum().backward()
    except RuntimeError as exc:  # e.g. shape errors in a torch kernel
        check.update(finite=False, mean=None, std=None, min=None, max=None,
                     grad_finite=False, grad_norm=None)
        return check, [_issue("error", f"{type(exc).__name__} {where}: {exc}", scale, mode)]
    check.update(_summary(y))
    grads = [x.grad] + [p.grad for p in module.parameters() if p.grad is not None]
    flat = torch.cat([g.detach().double().reshape(-1) for g in grads if g is not None])
    check["grad_finite"] = bool(torch.isfinite(flat).all())
    check["grad_norm"] = _finite_or_none(flat.norm().item())

    if torch.isnan(y).any():
        issues.append(_issue("nan", f"the output has NaN {where}", scale, mode))
    if torch.isinf(y).any():
        issues.append(_issue("inf", f"the output has inf {where}", scale, mode))
    if check["finite"] and is_constant(y):
        issues.append(_issue("constant_output", f"the output is constant {where}", scale, mode))
    if torch.isnan(flat).any():
        issues.append(_issue("nan_grad", f"a gradient has NaN {where}", scale, mode))
    if torch.isinf(flat).any():
        issues.append(_issue("inf_grad", f"a gradient has inf {where}", scale, mode))
    if x.grad is None or not bool((x.grad != 0).any()):
        issues.append(_issue("zero_grad", f"no gradient reaches the input {where}", scale, mode))
    return check, issues


def numeric_probe(
    graph: LayerGraph,
    *,
    num_features: int = 32,
    batch: int = 8,
    size: int = 8,
    seed: int = 0,
    scales: Sequence[float] = (1e-3, 1.0, 1e3),
    device: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Probe ``graph`` numerically; returns JSON-able ``{"ok", "issues", "checks"}``.

    ``issues`` entries have ``code`` (``nan``, ``inf``, ``constant_output``,
    ``nan_grad``, ``inf_grad``, ``zero_grad``, ``error``), ``message``,
    ``scale`` and ``mode``; ``checks`` has one summary per scale and mode.
    """
    generator = torch.Generator().manual_seed(seed)
    checks: list[dict[str, Any]] = []
    issues: list[dict[str, Any]] = []
    with torch.enable_grad():
        for scale in scales:
            x = torch.randn(batch, num_features, size, size, generator=generator) * scale
            proj = torch.randn(batch, num_features, size, size, generator=generator)
            x, proj = x.to(device), proj.to(device)
            module = compile_graph(graph, num_features).to(device)
            for mode in ("train", "eval"):
                if mode == "eval":
                    with torch.no_grad():
                        module.train()
                        module.momentum = 1.0  # calibrate running stats on this input
                        module(x)
                        module.momentum = graph.momentum
                module.train(mode == "train")
                check, found = _run(module, x, proj, float(scale), mode)
                checks.append(check)
                issues.extend(found)
    return {"ok": not issues, "issues": issues, "checks": checks}

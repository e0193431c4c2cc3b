"""Trainer: learns, reports progress, stops cleanly on divergence, deterministic on CPU."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

from search_engine.anchors import bn_relu, build_anchor
from search_engine.compiler import compile_graph
from search_engine.config import EvalConfig
from search_engine.datasets import BatchSampler, load_dataset
from search_engine.library import load_reference
from search_engine.trainer import (
    Trainer,
    TrainSettings,
    learning_rate,
    recompute_batch_stats,
    thin_curve,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _trainer(steps: int = 30, progress: Callable[[dict], None] | None = None, lr: float = 0.05, seed: int = 0,
             **kw: Any) -> Trainer:
    data = load_dataset("synthetic")
    model = build_anchor("resnet50", bn_relu, num_classes=10, width=0.125, depth=0.2,
                         generator=torch.Generator().manual_seed(seed))
    settings = TrainSettings(total_steps=steps, batch_size=32, lr=lr, schedule="cosine",
                             progress_every=10, **kw)
    return Trainer(model, data, settings, generator=torch.Generator().manual_seed(seed),
                   progress=progress)


def test_learns_above_chance_and_reports_every_k_steps() -> None:
    seen: list[dict] = []
    tr = _trainer(steps=40, progress=seen.append)
    state = tr.run(40)
    assert state.status == "done" and state.step == 40
    assert [p["step"] for p in seen] == [10, 20, 30, 40]
    assert all(set(p) == {"step", "total", "loss", "accuracy"} for p in seen)
    assert seen[-1]["loss"] < seen[0]["loss"]
    assert tr.validate() > 0.25  # chance is 0.10


def test_resumes_in_chunks_like_one_run() -> None:
    a, b = _trainer(steps=20), _trainer(steps=20)
    a.run(20)
    b.run(7)
    b.run(20)
    assert a.state.step == b.state.step == 20
    for pa, pb in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_same_seed_same_result() -> None:
    a, b = _trainer(steps=10, seed=3), _trainer(steps=10, seed=3)
    assert a.run(10).curve == b.run(10).curve
    assert a.validate() == b.validate()


class NaNAfter(nn.Module):
    """A model whose output turns NaN after a few calls (a divergence stand-in)."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 10)
        self.calls = 0
        self.after = after

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        out = self.lin(x.mean(dim=(2, 3)))
        return out * float("nan") if self.calls > self.after else out


def test_non_finite_loss_stops_with_diverged() -> None:
    data = load_dataset("synthetic")
    tr = Trainer(NaNAfter(12), data, TrainSettings(total_steps=100, batch_size=8, progress_every=10),
                 generator=torch.Generator().manual_seed(0))
    state = tr.run(100)
    assert state.status == "diverged"
    assert state.step == 20  # noticed at the first progress point after step 13
    assert math.isnan(state.curve[-1]["loss"])


def test_should_stop_is_honoured() -> None:
    tr = _trainer(steps=30)
    tr.should_stop = lambda: True
    assert tr.run(30).status == "stopped" and tr.state.step == 10


@pytest.mark.parametrize(("schedule", "step", "expected"),
                         [("constant", 50, 0.1), ("cosine", 0, 0.1), ("cosine", 50, 0.05),
                          ("cosine", 100, 0.0)])
def test_learning_rate(schedule: str, step: int, expected: float) -> None:
    s = TrainSettings(total_steps=100, lr=0.1, schedule=schedule)
    assert learning_rate(step, s) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("schedule", "step", "expected"),
                         [("constant", 0, 0.01), ("constant", 4, 0.05), ("constant", 9, 0.1),
                          ("constant", 10, 0.1), ("constant", 99, 0.1),
                          ("cosine", 0, 0.01), ("cosine", 9, 0.1), ("cosine", 10, 0.1),
                          ("cosine", 55, 0.05), ("cosine", 100, 0.0)])
def test_learning_rate_with_warmup(schedule: str, step: int, expected: float) -> None:
    # Linear from lr/10 to lr over 10 steps; cosine then decays over steps 10..100.
    s = TrainSettings(total_steps=100, lr=0.1, schedule=schedule, warmup_steps=10)
    assert learning_rate(step, s) == pytest.approx(expected, abs=1e-12)


class _Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x.mean(dim=(2, 3)))


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_optimizer_lr_follows_warmup_across_chunks(schedule: str) -> None:
    """The rate the optimiser really used at each step, read between 1-step runs."""
    data = load_dataset("synthetic")
    s = TrainSettings(total_steps=12, batch_size=4, lr=0.1, schedule=schedule, warmup_steps=4,
                      progress_every=100)
    tr = Trainer(_Tiny(), data, s, generator=torch.Generator().manual_seed(0))
    used = []
    for step in range(12):
        used.append(tr.opt.param_groups[0]["lr"])
        tr.run(step + 1)
    assert used == pytest.approx([learning_rate(k, s) for k in range(12)], abs=1e-12)
    assert used[:5] == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1])  # cosine starts at lr too
    assert tr.state.status == "done"


def test_eval_config_warmup_reaches_the_trainer() -> None:
    from search_engine.config import EvalConfig

    cfg = EvalConfig(steps=100, quality_steps=10, warmup_steps=25)
    assert TrainSettings.from_eval_config(cfg).warmup_steps == 25


def _one_step_update(grad_clip: float | None) -> float:
    """Global L2 norm of the parameter change made by one plain SGD step (no momentum, no decay)."""
    data = load_dataset("synthetic")
    s = TrainSettings(total_steps=1, batch_size=8, lr=0.1, momentum=0.0, nesterov=False,
                      weight_decay=0.0, grad_clip=grad_clip, progress_every=100)
    torch.manual_seed(0)
    tr = Trainer(_Tiny(), data, s, generator=torch.Generator().manual_seed(0))
    before = [p.detach().clone() for p in tr.model.parameters()]
    tr.run(1)
    return math.sqrt(sum(float(((p.detach() - b) ** 2).sum()) for p, b in zip(tr.model.parameters(), before,
                                                                       strict=True)))


def test_grad_clip_bounds_the_global_gradient_norm() -> None:
    free = _one_step_update(None)
    assert free > 10 * 0.1 * 0.01  # the unclipped step is well above the clipped one below
    # lr * clip: the step is the clipped gradient times the rate.
    assert _one_step_update(0.01) == pytest.approx(0.1 * 0.01, rel=1e-4)
    # A clip above the gradient's norm leaves the step alone.
    assert _one_step_update(1e6) == pytest.approx(free, rel=1e-6)


def test_eval_config_grad_clip_reaches_the_trainer() -> None:
    from search_engine.config import EvalConfig

    assert TrainSettings.from_eval_config(EvalConfig(grad_clip=2.5)).grad_clip == 2.5
    assert TrainSettings.from_eval_config(EvalConfig()).grad_clip is None


def test_bf16_autocast_runs_on_cpu() -> None:
    tr = _trainer(steps=4, bf16=True)
    assert tr.run(4).status == "done"
    assert 0.0 <= tr.validate() <= 1.0


def test_thin_curve() -> None:
    curve = [{"step": i} for i in range(1000)]
    thin = thin_curve(curve, 200)
    assert len(thin) <= 200 and thin[-1]["step"] == 999 and thin[0]["step"] == 0
    assert thin_curve(curve[:5]) == curve[:5]


def _stats_model() -> tuple[nn.Module, list[torch.Tensor]]:
    """A model with one compiled BN-ReLU (running_* buffers) and one torch BatchNorm2d."""
    layer = compile_graph(load_reference("bn_relu"), 3)
    model = nn.Sequential(layer, nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    buffers = [b for n, b in model.named_buffers() if "running" in n]
    return model, buffers


def _sampler(seed: int) -> BatchSampler:
    return BatchSampler(load_dataset("synthetic"), 16, generator=torch.Generator().manual_seed(seed))


def test_recompute_batch_stats_is_the_plain_average_over_the_batches() -> None:
    model, buffers = _stats_model()
    # oracle: momentum 1 keeps exactly the last batch's statistic; average those by hand
    per_batch = []
    sampler = _sampler(4)
    with torch.no_grad():
        model[0].momentum, model[2].momentum = 1.0, 1.0
        for _ in range(5):
            model(sampler.next()[0])
            per_batch.append([b.clone() for b in buffers])
    expected = [torch.stack(col).mean(0) for col in zip(*per_batch, strict=True)]

    model[0].momentum, model[2].momentum = 0.1, 0.1
    for b in buffers:
        if b.is_floating_point():
            b.fill_(123.0)  # stale estimates must not matter
    model.eval()
    assert recompute_batch_stats(model, _sampler(4), 5) == 2
    for got, want in zip(buffers, expected, strict=True):
        if got.is_floating_point():
            torch.testing.assert_close(got, want)
    assert model[0].momentum == 0.1 and model[2].momentum == 0.1 and not model.training


def test_recompute_batch_stats_without_running_estimates_runs_nothing() -> None:
    model = nn.Sequential(compile_graph(load_reference("gn_relu"), 3))
    calls = []
    model.register_forward_hook(lambda *a: calls.append(1))
    assert recompute_batch_stats(model, _sampler(0), 5) == 0 and calls == []


def test_stats_batches_change_validation_not_the_training_stream() -> None:
    """Precise statistics recompute the running estimates before validation
    from batches of their own: training is the same with and without."""
    plain, precise = _trainer(steps=12), _trainer(steps=12, stats_batches=4)
    assert plain.run(12).curve == precise.run(12).curve
    before = [b.clone() for n, b in precise.model.named_buffers() if "running_mean" in n]
    precise.validate()
    after = [b for n, b in precise.model.named_buffers() if "running_mean" in n]
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    for pa, pb in zip(plain.model.parameters(), precise.model.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_eval_config_stats_batches_reach_the_trainer() -> None:
    config = EvalConfig(dataset="synthetic", stats_batches=7)
    assert TrainSettings.from_eval_config(config).stats_batches == 7
    assert EvalConfig.from_dict({k: v for k, v in config.to_dict().items() if k != "stats_batches"}).stats_batches == 0

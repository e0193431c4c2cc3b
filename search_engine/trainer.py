"""The proxy task's trainer: SGD with Nesterov momentum on device-resident data.

The step loop never synchronises with the device: the batch comes from
`BatchSampler` (device ops only), the learning rate is set by a
`torch.optim.lr_scheduler.LambdaLR` from the step number (host floats only),
and loss/accuracy are summed into device tensors that
are read (one sync) only every `progress_every` steps. A non-finite loss is
therefore noticed at the next progress point or at the end, and training stops
there with status ``diverged``.

Warmup (`warmup_steps`, our addition, not the paper's): the rate rises
linearly, lr * (step + 1) / warmup_steps, over the first warmup_steps steps,
then the constant or cosine schedule runs over the remaining steps (cosine
decays from the end of warmup to 0 at total_steps). The quality test is the
start of the full run, so it trains under the warmup too.

Gradient clipping (`grad_clip`, also ours): the global L2 norm of the
gradients is clipped before each optimiser step, on the device. The paper
presets use it instead of a warmup: at lr 0.1 from step 0 the classifier's
logits otherwise swing by tens per step and the 100-step quality snapshot
rejects reference layers (benchmarks/results/calibration_paper_b_cpu_digits.txt).

Precise statistics (`stats_batches`, ours): before each validation the
running estimates of every batch statistic are recomputed as the plain
average over that many training batches (training-mode forwards without
gradients, from a sampler of their own so the training stream is the same
with and without), then the model is validated. See `recompute_batch_stats`.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from search_engine.datasets import BatchSampler, Dataset, validation_batches

Progress = Callable[[dict], None]


@dataclass
class TrainSettings:
    """The optimiser and schedule; EvalConfig carries the same names."""

    total_steps: int
    batch_size: int = 128
    eval_batch_size: int = 512
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 1e-4
    schedule: str = "constant"
    warmup_steps: int = 0
    grad_clip: float | None = None
    bf16: bool = False
    progress_every: int = 50
    channels_last: bool = False
    stats_batches: int = 0

    @classmethod
    def from_eval_config(cls, config, *, total_steps: int | None = None) -> TrainSettings:  # noqa: ANN001
        return cls(
            total_steps=total_steps if total_steps is not None else config.steps,
            batch_size=config.batch_size,
            eval_batch_size=config.eval_batch_size,
            lr=config.lr,
            momentum=config.momentum,
            nesterov=config.nesterov,
            weight_decay=config.weight_decay,
            schedule=config.schedule,
            warmup_steps=config.warmup_steps,
            grad_clip=config.grad_clip,
            bf16=config.bf16,
            progress_every=config.progress_every,
            stats_batches=config.stats_batches,
        )


def learning_rate(step: int, s: TrainSettings) -> float:
    """The rate used for step `step` (0-based): linear warmup, then constant or cosine.

    Warmup: lr * (step + 1) / warmup_steps for step < warmup_steps. After it,
    constant lr, or cosine from lr (at the end of warmup) to 0 at total_steps.
    """
    warm = max(0, min(s.warmup_steps, s.total_steps - 1))
    if step < warm:
        return s.lr * (step + 1) / warm
    if s.schedule == "cosine":
        span = s.total_steps - warm
        t = min(step - warm, span) / span
        return 0.5 * s.lr * (1.0 + math.cos(math.pi * t))
    return s.lr


@dataclass
class TrainState:
    status: str = "running"  # "running" | "diverged" | "stopped" | "done"
    step: int = 0
    loss: float | None = None
    accuracy: float | None = None
    curve: list[dict] = field(default_factory=list)
    seconds: float = 0.0


class Trainer:
    """Trains `model` on `data` in resumable chunks: `run(until)` then `validate()`.

    The quality test runs the first `quality_steps` and validates; the full
    training then continues from there instead of starting over.
    """

    def __init__(
        self,
        model: nn.Module,
        data: Dataset,
        settings: TrainSettings,
        *,
        generator: torch.Generator,
        progress: Progress | None = None,
        should_stop: Callable[[], bool] | None = None,
        stats_generator: torch.Generator | None = None,
    ) -> None:
        self.device = data.device
        self.model = model.to(self.device)
        if settings.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.data = data
        self.s = settings
        self.progress = progress
        self.should_stop = should_stop
        self.sampler = BatchSampler(
            data, settings.batch_size, generator=generator, channels_last=settings.channels_last
        )
        self.opt = torch.optim.SGD(
            self.model.parameters(),
            lr=settings.lr,
            momentum=settings.momentum,
            nesterov=settings.nesterov,
            weight_decay=settings.weight_decay,
            # one fused update over all parameters instead of a Python loop per
            # tensor (torch picks this on GPUs by itself, not on CPUs)
            foreach=True,
        )
        # The rate for step k is learning_rate(k); LambdaLR sets step 0's now and
        # each later one after opt.step(). Host arithmetic only, no device sync.
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda step: learning_rate(step, settings) / settings.lr
        )
        # batches for recompute_batch_stats, drawn apart from the training stream
        self.stats_sampler = None if not settings.stats_batches else BatchSampler(
            data, settings.batch_size, channels_last=settings.channels_last,
            generator=stats_generator if stats_generator is not None
            else torch.Generator(device=self.device).manual_seed(0),
        )
        self.state = TrainState()
        self._loss_sum = torch.zeros((), device=self.device)
        self._correct = torch.zeros((), device=self.device)
        self._seen = 0

    def _autocast(self) -> contextlib.AbstractContextManager:
        if not self.s.bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def _report(self) -> None:
        """Read the window's sums (the one sync) and record a curve point."""
        loss = (self._loss_sum / max(self._seen, 1)).item()
        acc = (self._correct / max(self._seen * self.s.batch_size, 1)).item()
        self._loss_sum.zero_()
        self._correct.zero_()
        self._seen = 0
        st = self.state
        st.loss, st.accuracy = loss, acc
        st.curve.append({"step": st.step, "loss": loss, "accuracy": acc})
        if not math.isfinite(loss):
            st.status = "diverged"
        if self.progress is not None:
            self.progress({"step": st.step, "total": self.s.total_steps, "loss": loss, "accuracy": acc})

    def run(self, until: int) -> TrainState:
        """Train up to step `until` (capped at total_steps) unless diverged or stopped."""
        st = self.state
        until = min(until, self.s.total_steps)
        start = time.perf_counter()
        self.model.train()
        every = self.s.progress_every
        while st.step < until and st.status == "running":
            x, y = self.sampler.next()
            with self._autocast():
                logits = self.model(x)
            loss = F.cross_entropy(logits.float(), y)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            if self.s.grad_clip is not None:
                # Device ops only: the norm is never read back on the host.
                nn.utils.clip_grad_norm_(self.model.parameters(), self.s.grad_clip, foreach=True)
            self.opt.step()
            self.sched.step()
            self._loss_sum += loss.detach()
            self._correct += (logits.detach().argmax(1) == y).sum()
            self._seen += 1
            st.step += 1
            if st.step % every == 0 or st.step == until:
                self._report()
                if self.should_stop is not None and self.should_stop():
                    st.status = "stopped"
        if st.step >= self.s.total_steps and st.status == "running":
            st.status = "done"
        st.seconds += time.perf_counter() - start
        return st

    @torch.no_grad()
    def validate(self) -> float:
        """Accuracy on the full 32x32 validation images in evaluation mode (after
        recomputing the batch statistics' running estimates when `stats_batches`)."""
        if self.stats_sampler is not None:
            with self._autocast():
                recompute_batch_stats(self.model, self.stats_sampler, self.s.stats_batches)
        self.model.eval()
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        total = 0
        for x, y in validation_batches(self.data, self.s.eval_batch_size):
            if self.s.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with self._autocast():
                logits = self.model(x)
            correct += (logits.argmax(1) == y).sum()
            total += y.shape[0]
        self.model.train()
        return correct.item() / max(total, 1)


@torch.no_grad()
def recompute_batch_stats(model: nn.Module, sampler: BatchSampler, batches: int) -> int:
    """Set every running estimate of a batch statistic in `model` to its plain
    average over `batches` batches from `sampler`; returns how many modules hold one.

    Invariant: the result does not depend on the estimates before the call
    (each module's momentum is 1/(k+1) for its k-th batch: a cumulative
    average, so the first batch overwrites the old value). Compiled layers
    (``running_*`` buffers, :mod:`search_engine.compiler`) and torch's own
    batch norms are both handled; momenta and the training flag are restored.
    Modules without running estimates make this a no-op (no forward runs).
    """
    layers = [m for m in model.modules()
              if any(n.startswith("running_") for n, _ in m.named_buffers(recurse=False))
              and not isinstance(m, nn.modules.batchnorm._BatchNorm)]
    norms = [m for m in model.modules()
             if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not layers and not norms:
        return 0
    saved = [(m, m.momentum) for m in layers + norms]
    was_training = model.training
    model.train()
    try:
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # torch's cumulative average
        for k in range(batches):
            for m in layers:
                m.momentum = 1.0 / (k + 1)
            x, _ = sampler.next()
            model(x)
    finally:
        for m, momentum in saved:
            m.momentum = momentum
        model.train(was_training)
    return len(layers) + len(norms)


def thin_curve(curve: list[dict], max_points: int = 200) -> list[dict]:
    """At most `max_points` evenly spaced points, always keeping the last."""
    if len(curve) <= max_points:
        return list(curve)
    stride = math.ceil(len(curve) / max_points)
    kept = curve[::stride]
    if kept[-1] is not curve[-1]:
        kept = kept[: max_points - 1] + [curve[-1]]
    return kept

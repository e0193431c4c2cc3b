"""Evaluate one candidate layer: rejection protocols, then the proxy training per anchor.

Order, cheapest first: the numeric probe (milliseconds, no anchor), the
stability test on every architecture (a few double-backward steps each), then
per architecture the quality test, whose training run continues into the full
training instead of starting over. The first failure rejects the candidate
and nothing after it runs. Any exception (a shape error from an odd layer, out
of memory) becomes status ``failed`` with reason ``error``; only
KeyboardInterrupt escapes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

import torch

from search_engine.anchors import build_anchor, candidate_factory
from search_engine.config import EvalConfig
from search_engine.datasets import load_dataset
from search_engine.rejection import probe_verdict, quality_verdict, stability_test
from search_engine.trainer import Trainer, TrainSettings, thin_curve

log = logging.getLogger(__name__)

Progress = Callable[[dict], None]


@dataclass
class EvalResult:
    status: str  # "evaluated" | "rejected" | "failed"
    rejection_reason: str | None
    message: str
    scores: dict[str, float] = field(default_factory=dict)
    curves: dict[str, list[dict]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    # validation accuracy at the quality gate per architecture trained so far
    # (evaluated and low_quality candidates; the search ranks near-misses by it)
    gate_scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> EvalResult:
        return cls(
            status=d["status"],
            rejection_reason=d.get("rejection_reason"),
            message=d.get("message", ""),
            scores=dict(d.get("scores", {})),
            curves={k: list(v) for k, v in d.get("curves", {}).items()},
            timings=dict(d.get("timings", {})),
            device=d.get("device", "cpu"),
            gate_scores=dict(d.get("gate_scores") or {}),
        )


class _Stop(Exception):
    """Internal: end the evaluation early with this status and reason."""

    def __init__(self, status: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


def resolve_device(device: str | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def arch_seeds(seed: int, index: int) -> tuple[int, int]:
    """(weight-init seed, data seed) for the index-th architecture of a candidate;
    data seed + 1 seeds the batches that recompute batch statistics."""
    base = (seed * 1_000_003 + index * 7919) % (2**62)
    return base, base + 1


def evaluate(
    graph,  # noqa: ANN001 - LayerGraph
    config: EvalConfig,
    *,
    seed: int,
    device: str | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> EvalResult:
    """Score `graph` on each of `config.architectures`, or say why it was rejected."""
    dev = resolve_device(device)
    result = EvalResult("evaluated", None, "", device=str(dev))
    start = time.perf_counter()
    try:
        _run(graph, config, seed, dev, result, progress, should_stop)
    except _Stop as stop:
        result.status, result.rejection_reason, result.message = stop.status, stop.reason, stop.message
        # Scores belong to a candidate that finished every anchor; an earlier
        # anchor's score would read as if this one had been scored. Gate
        # accuracies and curves still say how far it got.
        result.scores = {}
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - one bad candidate must never end a search
        result.status, result.rejection_reason = "failed", "error"
        # The message is shown to whoever launched the search: what went wrong,
        # not where in our source; the traceback goes to this process's log.
        log.exception("evaluation failed")
        result.message = f"{type(exc).__name__}: {exc}"[:2000]
        result.scores = {}
        if dev.type == "cuda":
            torch.cuda.empty_cache()  # after an OOM the next candidate needs the memory
    result.timings["total"] = time.perf_counter() - start
    return result


def _run(graph, config: EvalConfig, seed: int, dev: torch.device, result: EvalResult,  # noqa: ANN001
         progress: Progress | None, should_stop: Callable[[], bool] | None) -> None:
    timings = result.timings

    def emit(arch: str | None, stage: str) -> Progress | None:
        if progress is None:
            return None
        return lambda p: progress({"arch": arch, "stage": stage, **p})

    def check_stop() -> None:
        if should_stop is not None and should_stop():
            raise _Stop("failed", "stopped", "stopped on request")

    # 1. numeric probe
    verdict = probe_verdict(graph, seed=seed)
    timings["probe"] = verdict.seconds
    if progress is not None:
        progress({"arch": None, "stage": "probe", "step": 1, "total": 1, "loss": None, "accuracy": None})
    if verdict.reason == "error":
        raise _Stop("failed", "error", verdict.message)
    if not verdict.passed:
        raise _Stop("rejected", verdict.reason, verdict.message)
    check_stop()

    t = time.perf_counter()
    data = load_dataset(config.dataset, data_dir=config.data_dir, device=dev,
                        train_examples=config.train_examples, val_examples=config.val_examples,
                        image_size=config.image_size)
    timings["data"] = time.perf_counter() - t
    factory = candidate_factory(graph)

    def model_for(index: int, arch: str) -> torch.nn.Module:
        init_seed, _ = arch_seeds(seed, index)
        return build_anchor(arch, factory, num_classes=data.num_classes, width=config.width,
                            depth=config.depth, generator=torch.Generator().manual_seed(init_seed),
                            branch_init=config.branch_init)

    def data_generator(index: int, offset: int = 0) -> torch.Generator:
        return torch.Generator(device=dev).manual_seed(arch_seeds(seed, index)[1] + offset)

    # 2. stability, every architecture before any training (it is much cheaper)
    if config.stability_steps > 0:
        timings["stability"] = 0.0
        for i, arch in enumerate(config.architectures):
            v = stability_test(model_for(i, arch), data, steps=config.stability_steps,
                               threshold=config.stability_threshold, generator=data_generator(i),
                               should_stop=should_stop, progress=emit(arch, "stability"))
            timings["stability"] += v.seconds
            timings[f"{arch}.stability"] = v.seconds
            if v.reason == "stopped":
                raise _Stop("failed", "stopped", "stopped on request")
            if not v.passed:
                raise _Stop("rejected", v.reason, f"{arch}: {v.message}")

    # 3. quality test continued into 4. full training, per architecture
    gate = config.quality_gate(data.num_classes)
    settings = TrainSettings.from_eval_config(config)
    timings.setdefault("quality", 0.0)
    timings.setdefault("train", 0.0)
    for i, arch in enumerate(config.architectures):
        check_stop()
        trainer = Trainer(model_for(i, arch), data, settings, generator=data_generator(i),
                          should_stop=should_stop, stats_generator=data_generator(i, 1))
        if config.quality_steps > 0:
            trainer.progress = emit(arch, "quality")
            t = time.perf_counter()
            _advance(trainer, config.quality_steps, arch, result)
            acc = trainer.validate()
            timings["quality"] += time.perf_counter() - t
            result.gate_scores[arch] = acc
            v = quality_verdict(acc, gate, config.quality_steps)
            if not v.passed:
                result.curves[arch] = thin_curve(trainer.state.curve)
                raise _Stop("rejected", v.reason, f"{arch}: {v.message}")
        trainer.progress = emit(arch, "train")
        t = time.perf_counter()
        _advance(trainer, config.steps, arch, result)
        acc = trainer.validate()
        elapsed = time.perf_counter() - t
        timings["train"] += elapsed
        timings[f"{arch}.train"] = trainer.state.seconds
        result.scores[arch] = acc
        result.curves[arch] = thin_curve(trainer.state.curve)
        # release the model before building the next one (GPU memory)
        del trainer
    result.message = ", ".join(f"{a} {s:.1%}" for a, s in result.scores.items())


def _advance(trainer: Trainer, until: int, arch: str, result: EvalResult) -> None:
    state = trainer.run(until)
    if state.status == "diverged":
        result.curves[arch] = thin_curve(state.curve)
        raise _Stop("rejected", "diverged", f"{arch}: non-finite loss by step {state.step}")
    if state.status == "stopped":
        raise _Stop("failed", "stopped", "stopped on request")


def rerank(
    graphs: Sequence,
    config: EvalConfig,
    *,
    seeds: Sequence[int],
    steps: int,
    device: str | None = None,
    progress: Progress | None = None,
) -> list[dict]:
    """Retrain each graph for `steps` over `seeds`; best mean accuracy first.

    The rejection gates are off here (the candidates passed them already);
    a seed that fails or diverges counts as accuracy 0 on every architecture.
    """
    cfg = replace(config, steps=steps, quality_steps=0, stability_steps=0)
    ranking = []
    for index, graph in enumerate(graphs):
        per_seed = []
        for s in seeds:
            cb = None if progress is None else (lambda p, i=index, s=s: progress({"graph": i, "seed": s, **p}))
            r = evaluate(graph, cfg, seed=s, device=device, progress=cb)
            scores = r.scores if r.status == "evaluated" else {a: 0.0 for a in cfg.architectures}
            per_seed.append({"seed": s, "status": r.status, "rejection_reason": r.rejection_reason,
                             "scores": scores, "mean": _mean(scores.values())})
        arch_means = {a: _mean(p["scores"][a] for p in per_seed) for a in cfg.architectures}
        ranking.append({"index": index, "key": graph.canonical_hash(), "per_seed": per_seed,
                        "scores": arch_means, "mean": _mean(p["mean"] for p in per_seed)})
    ranking.sort(key=lambda r: (-r["mean"], r["index"]))
    for rank, entry in enumerate(ranking, start=1):
        entry["rank"] = rank
    return ranking


def _mean(values) -> float:  # noqa: ANN001
    values = list(values)
    return sum(values) / len(values) if values else 0.0

"""A small reproduction of the paper's batch-size claim on the offline data.

Trains one anchor with BN-ReLU and with EvoNorm-S0 (both as layer graphs, in
the same placement) at batch sizes 2, 8 and 128 and prints the validation
accuracies side by side. Every run sees the same number of training examples
(so small batches take more steps; at least --min-steps, so batch 128 sees
more), and the learning rate follows the linear
scaling rule lr = base_lr * batch / 128, as in the paper's batch-size study.
BN-ReLU's batch statistics are noisy at batch 2 and its running averages do
not match them at evaluation time; the batch-free S0 should hold up.

    python -m benchmarks.batch_size                       # digits, MobileNetV2, CPU
    python -m benchmarks.batch_size --seeds 3             # mean and spread over 3 seeds
    python -m benchmarks.batch_size --dataset synthetic --device cuda --examples 60000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context


def run_one(layer: str, batch: int, seed: int, args: dict) -> dict:
    import torch

    torch.set_num_threads(args["threads"])
    from search_engine.anchors import build_anchor, candidate_factory
    from search_engine.datasets import load_dataset
    from search_engine.library import load_reference
    from search_engine.trainer import Trainer, TrainSettings

    data = load_dataset(args["dataset"], device=args["device"])
    model = build_anchor(args["arch"], candidate_factory(load_reference(layer)),
                         num_classes=data.num_classes, width=args["width"], depth=args["depth"],
                         generator=torch.Generator().manual_seed(seed))
    steps = max(args["min_steps"], args["examples"] // batch)
    settings = TrainSettings(total_steps=steps, batch_size=batch, lr=args["lr"] * batch / 128,
                             schedule="cosine", progress_every=max(1, steps // 10))
    trainer = Trainer(model, data, settings,
                      generator=torch.Generator(device=args["device"]).manual_seed(seed))
    start = time.perf_counter()
    state = trainer.run(steps)
    acc = trainer.validate() if state.status == "done" else None
    return {"layer": layer, "batch": batch, "seed": seed, "steps": steps, "status": state.status,
            "accuracy": acc, "seconds": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="mobilenetv2")
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--width", type=float, default=0.125)
    ap.add_argument("--depth", type=float, default=0.25)
    ap.add_argument("--batches", default="2,8,128")
    ap.add_argument("--examples", type=int, default=3200, help="training examples seen per run")
    ap.add_argument("--min-steps", type=int, default=100,
                    help="at least this many steps (large batches then see more examples)")
    ap.add_argument("--lr", type=float, default=0.1, help="learning rate at batch 128")
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--seeds", type=int, default=1, help="how many seeds (seed, seed+1, ...)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    opts = vars(args)
    batches = [int(b) for b in args.batches.split(",")]
    layers = ["bn_relu", "evonorm_s0"]
    seeds = [args.seed + i for i in range(args.seeds)]
    jobs = [(layer, b, seed) for seed in seeds for b in batches for layer in layers]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        rows = list(pool.map(run_one, *zip(*jobs, strict=True), [opts] * len(jobs)))

    def accs(layer: str, batch: int) -> list[float | None]:
        return [r["accuracy"] for r in rows if r["layer"] == layer and r["batch"] == batch]

    def cell(values: list[float | None]) -> str:
        if any(v is None for v in values):
            return f"{sum(v is None for v in values)} diverged"
        if len(values) == 1:
            return f"{values[0]:.3f}"
        return f"{statistics.mean(values):.3f}±{statistics.stdev(values):.3f}"

    lines = [
        f"# batch-size study: {args.arch} (width {args.width}, depth {args.depth}) on "
        f"{args.dataset}, max({args.examples} examples / batch, {args.min_steps}) steps, lr {args.lr} x batch/128, "
        f"cosine, seeds {seeds}, device {args.device}; {time.perf_counter() - start:.0f} s "
        f"with {args.workers} worker(s), load average {os.getloadavg()[0]:.1f}",
        "# cells: validation accuracy, mean±sd over seeds; wins: seeds where S0 beat BN-ReLU",
        "",
        f"{'batch':>5} {'steps':>6} {'BN-ReLU':>12} {'EvoNorm-S0':>12} {'S0 - BN':>8} {'wins':>5}",
    ]
    for b in batches:
        bn, s0 = accs("bn_relu", b), accs("evonorm_s0", b)
        steps = next(r["steps"] for r in rows if r["batch"] == b)
        diff = wins = ""
        if None not in bn and None not in s0:
            diff = f"{statistics.mean(s0) - statistics.mean(bn):+.3f}"
            wins = f"{sum(x > y for x, y in zip(s0, bn, strict=True))}/{len(seeds)}"
        lines.append(f"{b:>5} {steps:>6} {cell(bn):>12} {cell(s0):>12} {diff:>8} {wins:>5}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n# raw: " + json.dumps(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Trainer throughput: steps per second per anchor, BN-ReLU vs EvoNorm-S0, and in parallel.

Two tables:

1. per anchor, training steps per second with torch's own BatchNorm2d+ReLU
   (cuDNN on a GPU) and with EvoNorm-S0 compiled from its graph, and their
   ratio (how much the eager candidate layer costs);
2. aggregate steps per second with N evaluations running at once in separate
   processes (spawned, started together behind a barrier) on one device.

Needs only torch and numpy (scikit-learn for the default digits data; pass
``--dataset synthetic`` where it is missing, e.g. on a GPU host).

    python -m benchmarks.trainer                              # CPU, quick
    python -m benchmarks.trainer --device cuda --dataset synthetic --preset paper-b \
        --concurrent 1,4,8
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from multiprocessing import get_context

LAYERS = {"bn_relu(nn)": "nn:bn_relu", "evonorm_s0": "evonorm_s0", "bn_relu(graph)": "bn_relu"}


def _factory(layer: str):  # noqa: ANN202
    from search_engine.anchors import BASELINES, candidate_factory
    from search_engine.library import load_reference

    if layer.startswith("nn:"):
        return BASELINES[layer[3:]]
    return candidate_factory(load_reference(layer))


def measure(arch: str, layer: str, eval_dict: dict, device: str, steps: int, warmup: int,
            threads: int, barrier=None, channels_last: bool = False) -> dict:  # noqa: ANN001
    """Steps per second of `steps` training steps after `warmup` untimed ones."""
    import torch

    torch.set_num_threads(threads)
    from search_engine.anchors import build_anchor
    from search_engine.config import EvalConfig
    from search_engine.datasets import load_dataset
    from search_engine.trainer import Trainer, TrainSettings

    cfg = EvalConfig.from_dict(eval_dict)
    data = load_dataset(cfg.dataset, data_dir=cfg.data_dir, device=device, image_size=cfg.image_size)
    model = build_anchor(arch, _factory(layer), num_classes=data.num_classes, width=cfg.width,
                         depth=cfg.depth, generator=torch.Generator().manual_seed(0),
                         branch_init=cfg.branch_init)
    settings = TrainSettings.from_eval_config(cfg, total_steps=warmup + steps)
    settings.progress_every = warmup + steps + 1  # no syncs inside the timed loop
    settings.channels_last = channels_last
    trainer = Trainer(model, data, settings, generator=torch.Generator(device=device).manual_seed(0))
    trainer.run(warmup)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    if barrier is not None:
        barrier.wait()
    start = time.perf_counter()
    state = trainer.run(warmup + steps)  # ends with one sync (the loss read-back)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"arch": arch, "layer": layer, "steps": steps, "seconds": seconds,
            "steps_per_s": steps / seconds, "status": state.status}


def _concurrent(n: int, arch: str, layer: str, eval_dict: dict, device: str, steps: int,
                warmup: int, threads: int) -> dict:
    ctx = get_context("spawn")
    barrier = ctx.Manager().Barrier(n)
    with ctx.Pool(n) as pool:
        start = time.perf_counter()
        rows = pool.starmap(measure, [(arch, layer, eval_dict, device, steps, warmup, threads,
                                       barrier)] * n)
        wall = time.perf_counter() - start
    per = [r["steps_per_s"] for r in rows]
    return {"concurrent": n, "aggregate_steps_per_s": sum(per), "per_process": per,
            "wall_incl_startup": wall}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="cpu-quick")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dataset", help="override the preset's data set (synthetic needs no files)")
    ap.add_argument("--archs", help="comma list; default: the preset's architectures")
    ap.add_argument("--width", type=float)
    ap.add_argument("--depth", type=float)
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--grad-clip", help="override the preset's gradient-norm clip: a number, or 'none'")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process")
    ap.add_argument("--concurrent", default="1,2", help="comma list of process counts")
    ap.add_argument("--concurrent-arch", default="resnet50")
    ap.add_argument("--concurrent-layer", default="evonorm_s0")
    ap.add_argument("--layers", default="bn_relu(nn),evonorm_s0")
    ap.add_argument("--out", help="also write the tables here")
    args = ap.parse_args(argv)

    from search_engine.presets import build_config

    over: dict = {}
    for key, value in (("dataset", args.dataset), ("width", args.width), ("depth", args.depth),
                       ("batch_size", args.batch_size)):
        if value is not None:
            over[key] = value
    if args.bf16:
        over["bf16"] = True
    if args.grad_clip is not None:
        try:
            over["grad_clip"] = None if args.grad_clip.lower() == "none" else float(args.grad_clip)
        except ValueError:
            ap.error(f"--grad-clip must be a number or 'none', got {args.grad_clip!r}")
    from search_engine.config import ConfigError

    try:
        cfg = build_config(args.preset, {"eval": over}).eval
    except ConfigError as err:
        ap.error(str(err))
    archs = args.archs.split(",") if args.archs else list(cfg.architectures)
    layers = args.layers.split(",")
    ed = cfg.to_dict()

    import torch

    dev_name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"
    lines = [
        f"# trainer benchmark: preset {args.preset}, device {args.device} ({dev_name}), "
        f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
        f"# data {cfg.dataset}, batch {cfg.batch_size}, width {cfg.width}, depth {cfg.depth}, "
        f"bf16 {cfg.bf16}, grad_clip {cfg.grad_clip}, channels_last {args.channels_last}, "
        f"{args.steps} timed steps after "
        f"{args.warmup} warm-up, {args.threads} torch thread(s) per process",
        "",
        f"{'anchor':<16} " + " ".join(f"{name + ' st/s':>20}" for name in layers)
        + f" {'ratio S0/BN':>12}",
    ]
    print("\n".join(lines), flush=True)
    for arch in archs:
        rates = {}
        for name in layers:
            r = measure(arch, LAYERS.get(name, name), ed, args.device, args.steps, args.warmup,
                        args.threads, None, args.channels_last)
            rates[name] = r["steps_per_s"]
        ratio = rates.get("evonorm_s0", float("nan")) / rates.get("bn_relu(nn)", float("nan"))
        line = f"{arch:<16} " + " ".join(f"{rates[n]:20.2f}" for n in layers) + f" {ratio:12.2f}"
        lines.append(line)
        print(line, flush=True)

    lines += ["", f"# concurrent evaluations: {args.concurrent_arch} with {args.concurrent_layer}, "
              "separate spawned processes on one device",
              f"{'processes':>9} {'aggregate st/s':>15} {'per process st/s':>30}"]
    print("\n".join(lines[-3:]), flush=True)
    results = []
    for n in [int(v) for v in args.concurrent.split(",") if v]:
        c = _concurrent(n, args.concurrent_arch, LAYERS.get(args.concurrent_layer, args.concurrent_layer),
                        ed, args.device, args.steps, args.warmup, args.threads)
        results.append(c)
        per = ", ".join(f"{p:.1f}" for p in c["per_process"])
        line = f"{n:>9} {c['aggregate_steps_per_s']:15.2f}   {per}"
        lines.append(line)
        print(line, flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write("\n".join(lines) + "\n")
            fh.write("# raw: " + json.dumps(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

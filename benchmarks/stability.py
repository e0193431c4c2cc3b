"""How far each layer stays from the stability test's threshold, per anchor.

`benchmarks.calibrate` says pass or reject; this prints the worst gradient
norm the adversary reached (search_engine.rejection.stability_test, with the
preset's steps and threshold and the same model and batch seeds as an
evaluation) and the margin to the threshold, so a preset's stability
setting can be judged before a search depends on it.

    python -m benchmarks.stability --preset paper-b --dataset digits --workers 2
    python -m benchmarks.stability --preset paper-b --device cuda --set stability_steps=100
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from benchmarks.calibrate import (
    add_preset_arguments,
    bad_graph,
    layer_names,
    preset_eval_config,
    run_tasks,
)


def _task(kind: str, name: str, index: int, arch: str, eval_dict: dict, seed: int,
          device: str | None, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from search_engine.anchors import build_anchor, candidate_factory
    from search_engine.config import EvalConfig
    from search_engine.datasets import load_dataset
    from search_engine.evaluate import arch_seeds, resolve_device
    from search_engine.library import load_reference
    from search_engine.rejection import stability_test

    cfg = EvalConfig.from_dict(eval_dict)
    dev = resolve_device(device)
    graph = load_reference(name) if kind == "ref" else bad_graph(name)
    data = load_dataset(cfg.dataset, data_dir=cfg.data_dir, device=dev,
                        train_examples=cfg.train_examples, val_examples=cfg.val_examples,
                        image_size=cfg.image_size)
    init_seed, data_seed = arch_seeds(seed, index)
    model = build_anchor(arch, candidate_factory(graph), num_classes=data.num_classes,
                         width=cfg.width, depth=cfg.depth,
                         generator=torch.Generator().manual_seed(init_seed),
                         branch_init=cfg.branch_init)
    v = stability_test(model, data, steps=cfg.stability_steps, threshold=cfg.stability_threshold,
                       generator=torch.Generator(device=dev).manual_seed(data_seed))
    return {"kind": kind, "layer": name, "arch": arch, "reason": v.reason, "message": v.message,
            "worst": v.value, "seconds": v.seconds, "device": str(dev)}


def _report(row: dict) -> None:
    print(f"done: {row['layer']} on {row['arch']}: {row['reason'] or 'pass'} {row['message']} "
          f"({row['seconds']:.0f} s)", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_preset_arguments(ap)
    args = ap.parse_args(argv)

    overrides, config = preset_eval_config(args)
    if config.stability_steps <= 0:
        ap.error(f"preset {args.preset} runs no stability test (stability_steps is 0)")
    tasks = [(k, n, i, a) for k, n in layer_names(args) for i, a in enumerate(config.architectures)]
    common = (config.to_dict(), args.seed, args.device, args.threads)

    start = time.perf_counter()
    rows = run_tasks(_task, tasks, common, args.workers, _report)
    elapsed = time.perf_counter() - start

    threshold = config.stability_threshold
    lines = [
        f"# stability: preset {args.preset}, overrides {json.dumps(overrides)}, seed {args.seed}",
        f"# {config.stability_steps} adversarial steps, threshold {threshold:.3g}, anchors at width "
        f"{config.width} depth {config.depth}, data {config.dataset}",
        f"# device {rows[0]['device'] if rows else '?'}, {args.workers} worker(s) x {args.threads} "
        f"thread(s), {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end, "
        f"{elapsed:.0f} s in all",
        "",
        f"{'layer':<24} {'anchor':<16} {'verdict':<10} {'worst norm':>10} {'margin':>8} {'s':>6}",
    ]
    for r in rows:
        worst = r["worst"]
        shown = "non-finite" if worst is None else f"{worst:.3g}"
        margin = "" if not worst else f"{threshold / worst:.3g}x"
        lines.append(f"{r['layer']:<24} {r['arch']:<16} {r['reason'] or 'pass':<10} {shown:>10} "
                     f"{margin:>8} {r['seconds']:6.0f}")
    ok_refs = all(r["reason"] is None for r in rows if r["kind"] == "ref")
    lines += ["", f"reference layers all pass: {ok_refs}; margin = threshold / worst norm"]
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    return 0 if ok_refs else 1


if __name__ == "__main__":
    sys.exit(main())

"""CPU seconds per candidate under cpu-quick: main's settings and code against the current ones, side by side.

A *trained candidate* is one that reaches training: the numeric probe, the
stability test on every anchor, the quality test, and training to the end on
every anchor. A *gate-rejected candidate* is stopped by the quality gate on
its first anchor (forced here with a gate of 100%), which is what most
candidates of a random search cost. Each cell is measured in its own fresh
Python process with one torch thread (as the search runs them), in CPU
seconds of that process (`time.process_time`), so other work on a shared
machine shows up as noise, not as cost. Configurations alternate within each
repeat, so a noisy minute hurts both columns alike.

The `main` column runs main's cpu-quick settings (BEFORE_CPU_QUICK, main at
6945b45, 2026-11-30) and, with `--baseline-tree DIR`, main's code too (an
unpacked `git archive` of that commit), so kernel changes count as well as
settings; without it both columns run this tree's code.

    git archive 6945b45 | tar -x -C /tmp/main_tree
    python -m benchmarks.proxy_cost --baseline-tree /tmp/main_tree --repeats 2
    python -m benchmarks.proxy_cost --layers evonorm_s0 --repeats 3 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

# cpu-quick's eval settings on main before this recalibration (6945b45,
# 2026-11-30): two anchors, 32x32 images (24x24 crops), batch 32, 150 steps,
# quality gate at step 75.
BEFORE_CPU_QUICK: dict = {
    "dataset": "digits", "data_dir": None, "architectures": ["mobilenetv2", "efficientnet_b0"],
    "width": 0.125, "depth": 0.25, "steps": 150, "batch_size": 32, "eval_batch_size": 32, "lr": 0.05,
    "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4, "schedule": "cosine",
    "warmup_steps": 0, "grad_clip": None, "bf16": False, "quality_steps": 75,
    "quality_threshold": 0.15, "stability_steps": 10, "stability_threshold": 1e8,
    "progress_every": 25, "train_examples": None, "val_examples": None, "image_size": 32,
    "branch_init": 0.0,
}


def current_cpu_quick() -> dict:
    from search_engine.presets import get_preset

    return get_preset("cpu-quick").eval.to_dict()


def _cell(layer: str, eval_dict: dict, seed: int, threads: int, gate_only: bool) -> dict:
    """One evaluation in this (fresh) process: CPU seconds, with the data load counted apart."""
    import torch

    torch.set_num_threads(threads)
    from search_engine.config import EvalConfig
    from search_engine.datasets import load_dataset
    from search_engine.evaluate import evaluate
    from search_engine.library import load_reference

    cfg = EvalConfig.from_dict({**eval_dict, **({"quality_threshold": 1.0} if gate_only else {})})
    c0 = time.process_time()
    load_dataset(cfg.dataset, data_dir=cfg.data_dir, image_size=cfg.image_size)
    load_cpu = time.process_time() - c0
    c0, w0 = time.process_time(), time.perf_counter()
    r = evaluate(load_reference(layer), cfg, seed=seed)
    return {"layer": layer, "status": r.status, "reason": r.rejection_reason,
            "cpu": time.process_time() - c0, "wall": time.perf_counter() - w0, "load_cpu": load_cpu,
            "scores": r.scores, "timings": r.timings}


def _run_cell(tree: str, layer: str, eval_dict: dict, seed: int, threads: int, gate_only: bool) -> dict:
    """`_cell` in a fresh interpreter importing the code in `tree`; its JSON row."""
    code = ("import json, sys; from benchmarks.proxy_cost import _cell; "
            "print(json.dumps(_cell(*json.loads(sys.argv[1]))))")
    env = {**os.environ, "PYTHONPATH": tree}
    out = subprocess.run([sys.executable, "-c", code, json.dumps([layer, eval_dict, seed, threads, gate_only])],
                         cwd=tree, env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"cell {layer} in {tree} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", default="bn_relu,gn_relu,evonorm_b0,evonorm_s0")
    ap.add_argument("--repeats", type=int, default=1, help="measurements per cell (seeds 0..N-1)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per evaluation process")
    ap.add_argument("--baseline-tree", metavar="DIR",
                    help="run the main column with the code in DIR (main's tree), not this one")
    ap.add_argument("--out", help="also write the table here")
    args = ap.parse_args(argv)

    configs = {"main": BEFORE_CPU_QUICK, "current": current_cpu_quick()}
    layers = [n for n in args.layers.split(",") if n]
    tasks = [(name, layer, seed, gate_only) for seed in range(args.repeats) for layer in layers
             for gate_only in (False, True) for name in configs]
    start = time.perf_counter()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    trees = {"main": args.baseline_tree or here, "current": here}
    rows = []
    for name, layer, seed, gate_only in tasks:
        row = {"config": name, "seed": seed, "gate_only": gate_only,
               **_run_cell(trees[name], layer, configs[name], seed, args.threads, gate_only)}
        rows.append(row)
        print(f"done: {name} {layer} seed {seed} {'gate-rejected' if gate_only else 'trained'}: "
              f"{row['status']} {row['reason'] or ''} {row['cpu']:.1f} CPU-s", file=sys.stderr,
              flush=True)
    elapsed = time.perf_counter() - start

    def cell(name: str, layer: str, gate_only: bool) -> list[float]:
        return [r["cpu"] for r in rows
                if r["config"] == name and r["layer"] == layer and r["gate_only"] == gate_only]

    def fmt(values: list[float]) -> str:
        mean = statistics.fmean(values)
        return f"{mean:6.1f}" + (f" +-{statistics.stdev(values):4.1f}" if len(values) > 1 else "      ")

    lines = [
        f"# proxy cost: CPU seconds per candidate, {args.threads} torch thread(s) per process, "
        f"main's column run with {'the code in ' + args.baseline_tree if args.baseline_tree else 'this tree'}, "
        f"one at a time, {args.repeats} repeat(s), {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at the end, {elapsed:.0f} s in all",
    ]
    for name, cfg in configs.items():
        lines.append(f"# {name}: anchors {','.join(cfg['architectures'])}, image {cfg['image_size']}, "
                     f"batch {cfg['batch_size']}, steps {cfg['steps']} (gate {cfg['quality_threshold']} at "
                     f"{cfg['quality_steps']}), stability {cfg['stability_steps']} steps, "
                     f"gradient clip {cfg.get('grad_clip')}")
    lines += ["", f"{'layer':<12} {'trained: main':>18} {'current':>13} {'ratio':>6}   "
              f"{'gate-rejected: main':>24} {'current':>13} {'ratio':>6}"]
    totals: dict[tuple[str, bool], list[float]] = {}
    for layer in layers:
        parts = [f"{layer:<12}"]
        for gate_only in (False, True):
            prev, cur = cell("main", layer, gate_only), cell("current", layer, gate_only)
            totals.setdefault(("main", gate_only), []).extend(prev)
            totals.setdefault(("current", gate_only), []).extend(cur)
            ratio = statistics.fmean(cur) / statistics.fmean(prev)
            parts.append(f"{fmt(prev):>18} {fmt(cur):>13} {ratio:6.2f}")
        lines.append(" ".join(parts[:2]) + "   " + parts[2])
    summary = [f"{'mean':<12}"]
    for gate_only in (False, True):
        prev, cur = totals[("main", gate_only)], totals[("current", gate_only)]
        summary.append(f"{fmt(prev):>18} {fmt(cur):>13} {statistics.fmean(cur) / statistics.fmean(prev):6.2f}")
    lines.append(" ".join(summary[:2]) + "   " + summary[2])
    load = statistics.fmean(r["load_cpu"] for r in rows if r["config"] == "current")
    lines.append(f"# data load per process (once per worker, not per candidate): {load:.1f} CPU-s")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n# raw: " + json.dumps([{k: v for k, v in r.items() if k != "timings"}
                                                       for r in rows]) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

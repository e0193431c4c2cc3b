"""Calibration table: does a preset rank layers sensibly?

Each reference layer (BN-ReLU, GN-ReLU, EvoNorm-B0, EvoNorm-S0) and each
known-bad layer is evaluated under the preset on every anchor *separately*
(so one rejection does not hide the other anchors' numbers), and the table
prints accuracy, verdict and time per (layer, anchor). A preset is calibrated
when every reference layer passes everywhere, clearly above chance, and every
bad layer is rejected.

    python -m benchmarks.calibrate --preset cpu-quick --workers 2
    python -m benchmarks.calibrate --preset paper-b --device cuda --dataset synthetic \
        --set steps=200
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from multiprocessing import get_context

REFERENCES = ("bn_relu", "gn_relu", "evonorm_b0", "evonorm_s0")

# Layers that must never survive: each with the reason we expect.
BAD_LAYERS: dict[str, tuple[dict, str]] = {
    "exp(exp(x))": (
        {"nodes": [{"id": "a", "op": "exp", "inputs": ["x"]},
                   {"id": "b", "op": "exp", "inputs": ["a"]}], "output": "b"},
        "numeric",
    ),
    "x / instance_mean(x)": (
        {"nodes": [{"id": "a", "op": "instance_mean", "inputs": ["x"]},
                   {"id": "b", "op": "div", "inputs": ["x", "a"]}], "output": "b"},
        "unstable/diverged/low_quality",
    ),
    "x * 0": (
        {"nodes": [{"id": "a", "op": "mul", "inputs": ["x", "zero"]}], "output": "a"},
        "constant_output",
    ),
    "x * x * x (no norm)": (
        {"nodes": [{"id": "a", "op": "square", "inputs": ["x"]},
                   {"id": "b", "op": "mul", "inputs": ["a", "x"]}], "output": "b"},
        "any rejection",
    ),
}


def bad_graph(name: str):  # noqa: ANN201 - LayerGraph
    from search_engine.graph import LayerGraph

    doc, _ = BAD_LAYERS[name]
    return LayerGraph.from_dict({"format": "layer-graph/1", "name": name, **doc})


def _task(kind: str, name: str, arch: str, eval_dict: dict, seed: int, device: str | None,
          threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from search_engine.config import EvalConfig
    from search_engine.evaluate import evaluate
    from search_engine.library import load_reference

    cfg = replace(EvalConfig.from_dict(eval_dict), architectures=(arch,))
    graph = load_reference(name) if kind == "ref" else bad_graph(name)
    cpu0 = time.process_time()
    r = evaluate(graph, cfg, seed=seed, device=device)
    return {"kind": kind, "layer": name, "arch": arch, "status": r.status,
            "reason": r.rejection_reason, "message": r.message,
            "accuracy": r.scores.get(arch), "wall": r.timings.get("total", 0.0),
            "cpu": time.process_time() - cpu0, "timings": r.timings, "device": r.device,
            # training loss and accuracy every progress_every steps: tells a blow-up from a slow start
            "curve": [[c["step"], c["loss"], c["accuracy"]] for c in r.curves.get(arch, [])]}


def _report(row: dict) -> None:
    """Print a finished (layer, anchor) to stderr at once: a full-size run takes hours."""
    print(f"done: {row['layer']} on {row['arch']}: {row['status']} {row['reason'] or ''} "
          f"{row['message'] or ''} ({row['wall']:.0f} s)", file=sys.stderr, flush=True)


def parse_sets(items: list[str]) -> dict:
    out: dict = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def add_preset_arguments(ap: argparse.ArgumentParser) -> None:
    """The options calibrate and stability share: which preset, overrides, layers, parallelism."""
    ap.add_argument("--preset", default="cpu-quick")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                    help="override an eval setting, e.g. steps=300")
    ap.add_argument("--dataset", help="override the data set (e.g. synthetic on a GPU host)")
    ap.add_argument("--device")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--layers", default=",".join(REFERENCES))
    ap.add_argument("--no-bad", action="store_true")
    ap.add_argument("--out", help="also write the table to this file")


def preset_eval_config(args: argparse.Namespace):  # noqa: ANN201 - (dict, EvalConfig)
    """(the --set/--dataset overrides, the preset's EvalConfig with them applied)."""
    from search_engine.presets import build_config

    overrides = parse_sets(args.set)
    if args.dataset:
        overrides["dataset"] = args.dataset
    return overrides, build_config(args.preset, {"eval": overrides}).eval


def layer_names(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(kind, name) for the chosen reference layers, then the bad layers unless --no-bad."""
    names = [("ref", n) for n in args.layers.split(",") if n]
    if not args.no_bad:
        names += [("bad", n) for n in BAD_LAYERS]
    return names


def run_tasks(task: Callable[..., dict], tasks: list[tuple], common: tuple, workers: int,
              report: Callable[[dict], None]) -> list[dict]:
    """task(*t, *common) for each t, in `workers` spawned processes; rows in task order,
    each reported as soon as it finishes."""
    rows: list[dict] = [{}] * len(tasks)
    if workers > 1:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(task, *t, *common): i for i, t in enumerate(tasks)}
            for future in as_completed(futures):
                rows[futures[future]] = future.result()
                report(rows[futures[future]])
    else:
        for i, t in enumerate(tasks):
            rows[i] = task(*t, *common)
            report(rows[i])
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_preset_arguments(ap)
    ap.add_argument("--json", help="write raw rows as JSON here")
    args = ap.parse_args(argv)

    overrides, config = preset_eval_config(args)
    tasks = [(k, n, a) for k, n in layer_names(args) for a in config.architectures]

    start = time.perf_counter()
    common = (config.to_dict(), args.seed, args.device, args.threads)
    rows = run_tasks(_task, tasks, common, args.workers, _report)
    elapsed = time.perf_counter() - start

    lines = [
        f"# calibration: preset {args.preset}, overrides {json.dumps(overrides)}, seed {args.seed}",
        f"# eval config: {json.dumps(config.to_dict())}",
        f"# device {rows[0]['device'] if rows else '?'}, {args.workers} worker(s) x {args.threads} "
        f"thread(s), {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end, "
        f"{elapsed:.0f} s in all",
        "# each (layer, anchor) evaluated alone: probe -> stability -> quality -> full training",
        "",
        f"{'layer':<24} {'anchor':<16} {'verdict':<24} {'accuracy':>8} {'wall s':>7} {'cpu s':>7}"
        "  why rejected",
    ]
    for r in rows:
        verdict = "pass" if r["status"] == "evaluated" else f"{r['status']}:{r['reason']}"
        acc = "" if r["accuracy"] is None else f"{r['accuracy']:.3f}"
        note = f"  {r['message']}" if r["status"] != "evaluated" and r["message"] else ""
        lines.append(f"{r['layer']:<24} {r['arch']:<16} {verdict:<24} {acc:>8} "
                     f"{r['wall']:7.1f} {r['cpu']:7.1f}{note}")
    ref_rows = [r for r in rows if r["kind"] == "ref"]
    bad_rows = [r for r in rows if r["kind"] == "bad"]
    ok_refs = all(r["status"] == "evaluated" for r in ref_rows)
    ok_bad = all(r["status"] != "evaluated" for r in bad_rows)
    per_candidate = {}
    for r in ref_rows:
        per_candidate[r["layer"]] = per_candidate.get(r["layer"], 0.0) + r["cpu"]
    verdicts = ([f"reference layers all pass: {ok_refs}"] if ref_rows else []) + (
        [f"bad layers all rejected: {ok_bad}"] if bad_rows else [])
    lines += ["", "; ".join(verdicts)]
    if per_candidate:
        lines.append("CPU seconds per full evaluation (all anchors): "
                     + ", ".join(f"{k} {v:.1f}" for k, v in per_candidate.items()))
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0 if ok_refs and ok_bad else 1


if __name__ == "__main__":
    sys.exit(main())

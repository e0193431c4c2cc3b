"""Yield per stage of random layers drawn the way the search draws them.

Cheap stages on many layers, expensive ones on a sample:

1. draw ``--draws`` random layers with the search's generator
   (``random_layer`` with the preset's mode and ``initial_nodes``), one seeded
   ``random.Random``, repeated hashes skipped as the search skips them;
2. static checks (:mod:`search_engine.static_checks`) and the numeric probe
   (the evaluation's probe, at the evaluation's seed) on every layer;
3. ``evaluate`` under the preset (probe, stability, quality gate, training)
   on ``--sample`` of the layers that pass both, in ``--workers`` processes.

It also counts what the layers are made of: steps that do not depend on x,
layers that compute a statistic of x (an aggregation of a value that depends
on x), and layers that divide by one (a ``div`` whose denominator depends on a
statistic of x).

    python -m benchmarks.yields --draws 2000 --sample 48 --workers 2 \
        --out benchmarks/results/yields_after.txt --json benchmarks/results/yields_after.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from search_engine.canonical import Program


def structure(program: Program) -> dict:
    """What a layer's canonical program is made of (pure; see the module docstring)."""
    depends = {"x": True, "zero": False, "v0": False, "v1": False}
    stat_of_x = {"x": False, "zero": False, "v0": False, "v1": False}
    independent = 0
    has_stat = normalizes = False
    for s in program.steps:
        depends[s.index] = any(depends[a] for a in s.args)
        independent += not depends[s.index]
        own = s.op.category == "aggregation" and depends[s.args[0]]
        has_stat = has_stat or own
        stat_of_x[s.index] = own or any(stat_of_x[a] for a in s.args)
        if s.op.name == "div" and depends[s.args[0]] and stat_of_x[s.args[1]]:
            normalizes = True
    return {"steps": len(program.steps), "x_independent_steps": independent,
            "stat_of_x": has_stat, "normalizes": normalizes}


def _evaluate(document: dict, eval_dict: dict, seed: int) -> dict:
    import torch

    torch.set_num_threads(1)
    from search_engine.config import EvalConfig
    from search_engine.evaluate import evaluate
    from search_engine.graph import LayerGraph

    cpu0 = time.process_time()
    r = evaluate(LayerGraph.from_dict(document), EvalConfig.from_dict(eval_dict), seed=seed,
                 device="cpu")
    return {"status": r.status, "reason": r.rejection_reason, "scores": r.scores,
            "gate_scores": getattr(r, "gate_scores", {}), "message": r.message,
            "cpu": time.process_time() - cpu0, "timings": r.timings}


def draw(config, rng: random.Random, count: int) -> list:  # noqa: ANN001 - SearchConfig
    """``count`` distinct random layers, drawn as the search draws them."""
    from search_engine.random_layers import random_layer

    seen: set[str] = set()
    layers = []
    while len(layers) < count:
        graph = random_layer(rng, mode=config.mode, num_nodes=config.initial_nodes)
        key = graph.canonical_hash()
        if key not in seen:
            seen.add(key)
            layers.append(graph)
    return layers


def _pct(n: int, d: int) -> str:
    return f"{n}/{d} = {100 * n / d:.1f}%" if d else f"{n}/0"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="cpu-quick")
    ap.add_argument("--draws", type=int, default=2000)
    ap.add_argument("--sample", type=int, default=48,
                    help="layers passing static checks and probe to evaluate fully")
    ap.add_argument("--seed", type=int, default=0, help="draw and evaluation seed")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                    help="override a search setting, e.g. initial_nodes=6 or eval.steps=50")
    ap.add_argument("--out", help="also write the table here")
    ap.add_argument("--json", help="write per-layer rows here")
    args = ap.parse_args(argv)

    from search_engine.presets import build_config
    from search_engine.rejection import probe_verdict
    from search_engine.static_checks import static_refusal

    overrides: dict = {}
    for item in args.set:
        key, _, raw = item.partition("=")
        target = overrides
        *parents, leaf = key.split(".")
        for p in parents:
            target = target.setdefault(p, {})
        try:
            target[leaf] = json.loads(raw)
        except json.JSONDecodeError:
            target[leaf] = raw
    config = build_config(args.preset, overrides)

    t0, cpu0 = time.perf_counter(), time.process_time()
    layers = draw(config, random.Random(args.seed), args.draws)
    draw_cpu = time.process_time() - cpu0
    rows = []
    probe_cpu = 0.0
    for g in layers:
        static = static_refusal(g)
        c = time.process_time()
        probe = probe_verdict(g, seed=args.seed)
        probe_cpu += time.process_time() - c
        rows.append({"key": g.canonical_hash(), "formula": g.formula(), "document": g.to_dict(),
                     "static": static, "probe": probe.reason, **structure(g.program())})

    passers = [r for r in rows if r["static"] is None and r["probe"] is None]
    sample = random.Random(args.seed + 1).sample(passers, min(args.sample, len(passers)))
    eval_dict = config.eval.to_dict()
    print(f"cheap stages done ({len(rows)} layers, {time.perf_counter() - t0:.0f} s); "
          f"evaluating {len(sample)} in {args.workers} process(es)", file=sys.stderr, flush=True)
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(_evaluate, r["document"], eval_dict, args.seed): r
                       for r in sample}
            for f in as_completed(futures):
                futures[f]["evaluation"] = f.result()
                e = futures[f]["evaluation"]
                print(f"  {e['status']:<9} {e['reason'] or '':<16} {futures[f]['formula']}",
                      file=sys.stderr, flush=True)
    else:
        for r in sample:
            r["evaluation"] = _evaluate(r["document"], eval_dict, args.seed)
    elapsed = time.perf_counter() - t0

    n = len(rows)
    static_ok = [r for r in rows if r["static"] is None]
    probe_ok = [r for r in rows if r["probe"] is None]
    evals = [r["evaluation"] for r in sample]
    stable = [e for e in evals if e["reason"] not in ("unstable",) and e["status"] != "failed"
              and e["reason"] not in ("numeric_nan", "numeric_inf", "constant_output")]
    survived = [e for e in evals if e["status"] == "evaluated"]
    steps = sum(r["steps"] for r in rows)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip()
    lines = [
        f"# yields: preset {args.preset}, overrides {json.dumps(overrides)}, mode {config.mode}, "
        f"initial_nodes {config.initial_nodes}, seed {args.seed}, commit {commit}",
        f"# {n} distinct random layers; {len(sample)} of the static+probe passers evaluated "
        f"fully; {elapsed:.0f} s wall, {os.cpu_count()} CPUs",
        "",
        "## cheap stages (every layer)",
        f"static checks pass:            {_pct(len(static_ok), n)}",
        "  refusals: " + ", ".join(f"{k} {v}" for k, v in
                                   Counter(r["static"] for r in rows if r["static"]).most_common()),
        f"numeric probe pass (all):      {_pct(len(probe_ok), n)}",
        "  refusals: " + ", ".join(f"{k} {v}" for k, v in
                                   Counter(r["probe"] for r in rows if r["probe"]).most_common()),
        f"probe pass | static pass:      {_pct(len(passers), len(static_ok))}",
        f"static and probe pass:         {_pct(len(passers), n)}",
        f"static refuses | probe passes: {_pct(sum(r['static'] is not None for r in probe_ok), len(probe_ok))}",
        "",
        "## what the layers are made of",
        f"layers with an x-independent step: {_pct(sum(r['x_independent_steps'] > 0 for r in rows), n)}"
        f"; x-independent steps {_pct(sum(r['x_independent_steps'] for r in rows), steps)}",
        f"compute a statistic of x:      all {_pct(sum(r['stat_of_x'] for r in rows), n)}; "
        f"probe passers {_pct(sum(r['stat_of_x'] for r in probe_ok), len(probe_ok))}; "
        f"static+probe passers {_pct(sum(r['stat_of_x'] for r in passers), len(passers))}",
        f"divide by a statistic of x:    all {_pct(sum(r['normalizes'] for r in rows), n)}; "
        f"static+probe passers {_pct(sum(r['normalizes'] for r in passers), len(passers))}",
        f"mean steps per layer (canonical): {steps / max(n, 1):.2f}",
        "",
        "## expensive stages (sample of static+probe passers, full evaluation)",
        f"stable (passed probe and stability): {_pct(len(stable), len(evals))}",
        f"survived (passed the quality gate on every anchor): {_pct(len(survived), len(evals))}"
        f"; of the stable {_pct(len(survived), len(stable))}",
        "  outcomes: " + ", ".join(f"{k} {v}" for k, v in Counter(
            e["reason"] or e["status"] for e in evals).most_common()),
        f"  stat of x among survivors: {_pct(sum(r['stat_of_x'] for r in sample if r['evaluation']['status'] == 'evaluated'), len(survived))}",
        "",
        "## cost",
        f"CPU s: drawing {draw_cpu:.2f} ({1000 * draw_cpu / max(n, 1):.2f} ms/layer), "
        f"probe {probe_cpu:.1f} ({1000 * probe_cpu / max(n, 1):.1f} ms/layer), "
        f"full evaluations {sum(e['cpu'] for e in evals):.0f} "
        f"({sum(e['cpu'] for e in evals) / max(len(evals), 1):.1f}/layer)",
        "",
        "## survivors",
    ]
    for r in sample:
        e = r["evaluation"]
        if e["status"] == "evaluated":
            lines.append("  " + " ".join(f"{a} {s:.3f}" for a, s in e["scores"].items())
                         + f"  {r['formula']}")
    if args.sample and len(passers) >= args.sample:
        lines.append(f"\nestimated budget yield (survivors per trained candidate): "
                     f"{_pct(len(survived), len(evals))}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.json:  # the evaluated sample only: the table has the counts of the rest
        Path(args.json).write_text(json.dumps(sample, indent=0))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Random survivors: random layers, drawn as a search draws them, that pass every rejection protocol.

Layers come from `search_engine.random_layers.random_layer` (the preset's
mode and initial node count, a seeded `random.Random`), are screened by the
static checks and the numeric probe as a search screens its proposals, then
evaluated under the preset (stability, quality gate,
training on every anchor) until `--want` have survived or `--draws` layers
were drawn. The survivors, with their scores, go to a JSON file that
`benchmarks.calibrate --survivors FILE` ranks next to the reference layers,
so a calibration also covers the kind of layer a search actually meets.
The yield per stage is printed too.

    python -m benchmarks.survivors --preset cpu-quick --want 8 --workers 2 \
        --out benchmarks/results/random_survivors.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context

from benchmarks.calibrate import parse_sets


def _evaluate(doc: dict, eval_dict: dict, seed: int) -> dict:
    import torch

    torch.set_num_threads(1)
    from search_engine.config import EvalConfig
    from search_engine.evaluate import evaluate
    from search_engine.graph import LayerGraph

    cpu0 = time.process_time()
    r = evaluate(LayerGraph.from_dict(doc), EvalConfig.from_dict(eval_dict), seed=seed)
    return {"status": r.status, "reason": r.rejection_reason, "scores": r.scores,
            "gate_scores": r.gate_scores, "cpu": time.process_time() - cpu0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="cpu-quick")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                    help="override an eval setting, e.g. steps=300")
    ap.add_argument("--seed", type=int, default=0, help="seed of the layer draws and evaluations")
    ap.add_argument("--want", type=int, default=8, help="stop after this many survivors")
    ap.add_argument("--draws", type=int, default=3000, help="stop after this many random layers")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-minutes", type=float, default=25.0,
                    help="stop drawing after this long (the file is written after every survivor)")
    ap.add_argument("--out", required=True, help="JSON file for the survivors")
    args = ap.parse_args(argv)

    from search_engine.presets import build_config
    from search_engine.random_layers import random_layer
    from search_engine.rejection import probe_verdict
    from search_engine.static_checks import static_refusal

    config = build_config(args.preset, {"eval": parse_sets(args.set)})
    eval_dict = config.eval.to_dict()
    rng = random.Random(args.seed)
    counts = {"drawn": 0, "refused_static": 0, "refused_probe": 0, "trained": 0}
    outcomes: dict[str, int] = {}
    survivors: list[dict] = []
    start = time.perf_counter()
    cpu_total = 0.0

    def save() -> dict:
        summary = {"preset": args.preset, "overrides": parse_sets(args.set), "seed": args.seed,
                   "counts": counts, "outcomes": outcomes, "cpu_seconds_in_evaluations": cpu_total,
                   "wall_seconds": time.perf_counter() - start, "cpus": os.cpu_count()}
        with open(args.out, "w") as fh:
            json.dump({**summary, "survivors": survivors}, fh, indent=1)
        return summary

    deadline = start + 60 * args.max_minutes
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        pending: dict = {}
        while len(survivors) < args.want:
            while (len(pending) < args.workers and counts["drawn"] < args.draws
                   and time.perf_counter() < deadline):
                graph = random_layer(rng, mode=config.mode, num_nodes=config.initial_nodes,
                                     name=f"random {args.seed}:{counts['drawn']}")
                counts["drawn"] += 1
                if static_refusal(graph) is not None:
                    counts["refused_static"] += 1
                    continue
                if probe_verdict(graph, seed=args.seed).reason is not None:
                    counts["refused_probe"] += 1
                    continue
                counts["trained"] += 1
                pending[pool.submit(_evaluate, graph.to_dict(), eval_dict, args.seed)] = graph
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                graph = pending.pop(future)
                r = future.result()
                cpu_total += r["cpu"]
                key = "evaluated" if r["status"] == "evaluated" else r["reason"] or r["status"]
                outcomes[key] = outcomes.get(key, 0) + 1
                if r["status"] == "evaluated":
                    survivors.append({"label": f"random#{len(survivors) + 1}",
                                      "formula": graph.formula(), "document": graph.to_dict(),
                                      "scores": r["scores"], "gate_scores": r["gate_scores"]})
                    print(f"survivor {len(survivors)}: {graph.formula()} {r['scores']}",
                          file=sys.stderr, flush=True)
                    save()
        for future in pending:
            future.cancel()
    print(json.dumps(save()))
    for s in survivors:
        print(f"{s['label']:<10} {s['formula']}  "
              + " ".join(f"{a} {v:.3f}" for a, v in s["scores"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

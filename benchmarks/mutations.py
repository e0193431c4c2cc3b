"""Children per mutation kind: how often each kind's children pass the checks
and the rejection protocols, and how they score next to their parent.

Parents are layers that survive the preset (by default the reference layers,
which pass cpu-quick's gates; this measures the mutations, it seeds no
search). For each kind (the three of ``MUTATIONS``, and ``node``, replacing a
node by a fresh one) it draws ``--children`` children per parent with
``mutate(kinds=(kind,))`` (new hashes only), counts static and probe passes on
all of them, and evaluates ``--sample`` of the passers per kind fully.

    python -m benchmarks.mutations --children 200 --sample 12 --workers 2 \
        --out benchmarks/results/mutations.txt
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from benchmarks.yields import _evaluate, _pct

KINDS = ("insert", "op", "input", "node")
PARENTS = ("bn_relu", "gn_relu", "evonorm_b0", "evonorm_s0")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="cpu-quick")
    ap.add_argument("--parents", default=",".join(PARENTS))
    ap.add_argument("--children", type=int, default=200, help="children per parent and kind")
    ap.add_argument("--sample", type=int, default=12, help="passers per kind to evaluate fully")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", help="also write the table here")
    ap.add_argument("--json", help="write every child's verdicts here")
    args = ap.parse_args(argv)

    from search_engine.library import load_reference
    from search_engine.mutation import MutationError, mutate
    from search_engine.presets import build_config
    from search_engine.rejection import probe_screen
    from search_engine.static_checks import static_refusal

    config = build_config(args.preset)
    screen = probe_screen(args.seed)
    rng = random.Random(args.seed)
    parents = [load_reference(p) for p in args.parents.split(",") if p]
    rows: dict[str, list[dict]] = defaultdict(list)
    t0 = time.perf_counter()
    for parent in parents:
        for kind in KINDS:
            seen = {parent.canonical_hash()}
            for _ in range(args.children):
                try:
                    child, _ = mutate(parent, rng, config.mode, config.max_nodes, kinds=(kind,),
                                      accept=lambda g, seen=seen: g.canonical_hash() not in seen)
                except MutationError:
                    continue
                seen.add(child.canonical_hash())
                static = static_refusal(child)
                probe = screen(child) if static is None else None
                rows[kind].append({"parent": parent.name, "formula": child.formula(),
                                   "document": child.to_dict(), "static": static, "probe": probe,
                                   "size": len(child.nodes) - len(parent.nodes)})
    print(f"cheap stages done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)

    sample_rng = random.Random(args.seed + 1)
    todo = []
    for kind in KINDS:
        passers = [r for r in rows[kind] if r["static"] is None and r["probe"] is None]
        todo += [(kind, r) for r in sample_rng.sample(passers, min(args.sample, len(passers)))]
    parent_scores = {}
    with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
        eval_dict = config.eval.to_dict()
        futures = {pool.submit(_evaluate, r["document"], eval_dict, args.seed): r
                   for _, r in todo}
        futures.update({pool.submit(_evaluate, p.to_dict(), eval_dict, args.seed): p.name
                        for p in parents})
        for f in as_completed(futures):
            target = futures[f]
            if isinstance(target, str):
                parent_scores[target] = f.result()
            else:
                target["evaluation"] = f.result()
                e = target["evaluation"]
                print(f"  {e['status']:<9} {e['reason'] or '':<14} {target['formula']}",
                      file=sys.stderr, flush=True)

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip()
    lines = [f"# mutations: preset {args.preset}, parents {args.parents}, seed {args.seed}, "
             f"commit {commit}, {os.cpu_count()} CPUs, {time.perf_counter() - t0:.0f} s",
             "# parents' scores: " + "; ".join(
                 f"{n} {e['status']} " + " ".join(f"{a} {s:.3f}" for a, s in e["scores"].items())
                 for n, e in parent_scores.items()),
             "",
             f"{'kind':<8} {'children':>8} {'static':>16} {'probe|static':>16} "
             f"{'size +-':>8} {'evaluated':>9} {'stable':>12} {'survived':>12} "
             f"{'mean/parent':>11}"]
    for kind in KINDS:
        rs = rows[kind]
        static_ok = [r for r in rs if r["static"] is None]
        probe_ok = [r for r in static_ok if r["probe"] is None]
        evals = [r for r in rs if "evaluation" in r]
        stable = [r for r in evals if r["evaluation"]["reason"] not in
                  ("unstable", "numeric_nan", "numeric_inf", "constant_output")
                  and r["evaluation"]["status"] != "failed"]
        alive = [r for r in evals if r["evaluation"]["status"] == "evaluated"]
        ratios = []
        for r in alive:
            parent = parent_scores.get(r["parent"])
            if parent and parent["status"] == "evaluated":
                mine = r["evaluation"]["scores"]
                ratios.append(sum(mine.values()) / max(sum(parent["scores"].values()), 1e-9))
        sizes = Counter(r["size"] for r in rs)
        lines.append(
            f"{kind:<8} {len(rs):>8} {_pct(len(static_ok), len(rs)):>16} "
            f"{_pct(len(probe_ok), len(static_ok)):>16} "
            f"{sum(k * v for k, v in sizes.items()) / max(len(rs), 1):>+8.2f} {len(evals):>9} "
            f"{_pct(len(stable), len(evals)):>12} {_pct(len(alive), len(evals)):>12} "
            f"{(sum(ratios) / len(ratios)) if ratios else float('nan'):>11.2f}")
    lines += ["", "static refusals by kind: " + "; ".join(
        f"{k}: " + ", ".join(f"{r} {n}" for r, n in Counter(
            x["static"] for x in rows[k] if x["static"]).most_common()) for k in KINDS),
        "probe refusals by kind: " + "; ".join(
        f"{k}: " + ", ".join(f"{r} {n}" for r, n in Counter(
            x["probe"] for x in rows[k] if x["probe"]).most_common()) for k in KINDS)]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {k: [{kk: vv for kk, vv in r.items() if kk != "document"} for r in v]
             for k, v in rows.items()}, indent=0))
    return 0


if __name__ == "__main__":
    sys.exit(main())

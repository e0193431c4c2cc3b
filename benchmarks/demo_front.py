"""The demo preset: how long from launch to a non-empty Pareto front?

Runs the ``demo`` preset (cpu-quick's training, a dozen candidates, two at a
time) with the seed layers it suggests (as the launch form ticks them;
``--no-seeds``: from random layers only), once per seed, with the CLI's runner in
``--workers`` processes (``manage.py lab`` runs one evaluation process per
core the same way), and prints per seed: the wall time and CPU-seconds (all
processes) to the first survivor, i.e. to a non-empty front, the front's size
at the end, the funnel, and the whole search's wall time. Also the share of
seeds whose search ended with a non-empty front: the demo's promise.

    python -m benchmarks.demo_front --seeds 1,2,3 --out benchmarks/results/demo_front.txt
    python -m benchmarks.demo_front --seeds 1,2,3 --no-seeds
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.search_quality import parse_seeds, parse_sets


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--seeds", default="1,2,3", help="N (seeds 1..N) or a comma-separated list")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a search setting, e.g. budget=20")
    ap.add_argument("--no-seeds", action="store_true",
                    help="from random layers only, without the preset's suggested seeds")
    ap.add_argument("--out", help="also write the table here")
    args = ap.parse_args(argv)

    from search_engine.library import load_reference
    from search_engine.presets import PRESET_SEEDS, build_config
    from search_engine.runner import run_search

    config = build_config(args.preset, parse_sets(args.set))
    seed_names = () if args.no_seeds else PRESET_SEEDS.get(args.preset, ())
    lines = [
        f"# demo front: preset {args.preset}, overrides {args.set or 'none'}, budget "
        f"{config.budget}, {args.workers} worker process(es), commit {_commit()}, "
        f"{os.cpu_count()} CPUs",
        f"# seed layers: {', '.join(seed_names) or 'none (random layers only)'}; times from "
        "launch; CPU-seconds of all processes",
        "",
        f"{'seed':>4} {'1st survivor: wall s':>20} {'cpu s':>7} {'front':>5} {'trained':>7} "
        f"{'unstable':>8} {'survived':>8} {'drawn':>6} {'search wall s':>13}",
    ]
    non_empty = 0
    seeds = parse_seeds(args.seeds)
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            doc = run_search(config, seed, out_path=Path(tmp) / "results.json",
                             workers=args.workers,
                             seed_graphs=[load_reference(n) for n in seed_names])
            wall = time.perf_counter() - start
        alive = [c for c in doc["candidates"] if c["status"] == "evaluated"]
        first = alive[0] if alive else None
        unstable = sum(c["rejection_reason"] == "unstable" for c in doc["candidates"])
        front = len(doc["pareto_front"])
        non_empty += front > 0
        lines.append(
            f"{seed:>4} {(first['elapsed'] if first else float('nan')):>20.0f} "
            f"{(first['cpu'] if first else float('nan')):>7.0f} {front:>5} "
            f"{len(doc['candidates']) - unstable:>7} {unstable:>8} {len(alive):>8} "
            f"{doc['funnel']['drawn']:>6} {wall:>13.0f}")
        print(lines[-1], file=sys.stderr, flush=True)
    lines += ["", f"non-empty front at the end: {non_empty} of {len(seeds)} seeds"]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


def _commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, cwd=Path(__file__).parent).stdout.strip()


if __name__ == "__main__":
    raise SystemExit(main())

"""Engine overhead: candidates per CPU-second of ask/tell with a fake evaluator.

The evaluator is a hash lookup (no training, no probe), so the figure is what
the search itself costs per candidate: drawing or mutating a layer, its
validation, canonical hash and static checks, the tournament, the population
and the Pareto front. Population 100, tournament 25 (the paper presets'),
three anchors. The fake results mimic a real search's mix: about 35%
evaluated, 25% below the quality gate (with gate accuracies), 30% unstable,
10% failed.

It then runs the CLI's runner with the same fake evaluator, writing its
results files as a real search does, and prints that figure too, then the top
hotspots of the engine loop (cProfile, by own time).

    python -m benchmarks.engine                    # 20,000 candidates
    python -m benchmarks.engine --budget 50000 --top 20
    python -m benchmarks.engine --budget 20000 --chunks 5   # is the cost per candidate flat?
    git worktree add --detach /tmp/before d070644  # the engine as it was, side by side
    python -m benchmarks.engine --tree /tmp/before --repeat 3

Figures are candidates per CPU-second of this process (best of ``--repeat``
runs: other processes on a shared machine only ever slow a run down).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARCHS = ("resnet50", "mobilenetv2", "efficientnet_b0")


def fake_result(key: str) -> dict:
    """A deterministic result per hash with a realistic mix of outcomes."""
    h = int(key[:12], 16)
    r = h % 20
    if r < 2:
        return {"status": "failed", "rejection_reason": "error", "scores": {}}
    if r < 8:
        return {"status": "rejected", "rejection_reason": "unstable", "scores": {}}
    if r < 13:
        return {"status": "rejected", "rejection_reason": "low_quality", "scores": {},
                "gate_scores": {ARCHS[0]: (h >> 8) % 97 / 970}}
    return {"status": "evaluated", "rejection_reason": None,
            "scores": {a: (h >> (8 * i)) % 997 / 997 for i, a in enumerate(ARCHS)}}


def fake_evaluate(document: dict, eval_config: dict, seed: int, device, deadline) -> dict:  # noqa: ANN001
    from search_engine.graph import LayerGraph

    out = fake_result(LayerGraph.from_dict(document).canonical_hash())
    return {"message": "", "curves": {}, "timings": {}, "device": "cpu", **out}


def config(budget: int):  # noqa: ANN201 - SearchConfig
    from search_engine.presets import build_config

    return build_config("paper-b", {"budget": budget, "parallel": 1})


def engine_loop(budget: int, seed: int, marks: list[float] | None = None) -> int:
    """ask/tell until the budget is spent; returns the number of candidates told.
    ``marks`` gets the process time after every candidate (for --chunks)."""
    from search_engine.evolution import Evolution

    evo = Evolution(config(budget), seed=seed)
    told = 0
    while (p := evo.ask()) is not None:
        evo.tell(p.key, fake_result(p.key))
        told += 1
        if marks is not None:
            marks.append(time.process_time())
    return told


def cpu_rate(fn, *args, repeat: int = 1) -> tuple[float, float, int]:  # noqa: ANN001
    """(candidates per CPU-second, CPU seconds, candidates) of the fastest of
    ``repeat`` calls of fn(*args)."""
    best = None
    for _ in range(repeat):
        start = time.process_time()
        n = fn(*args)
        cpu = time.process_time() - start
        best = (n / cpu, cpu, n) if best is None or n / cpu > best[0] else best
    return best


def runner_loop(budget: int, seed: int, marks: list[float] | None = None) -> int:
    from search_engine import runner

    runner.evaluate_document = fake_evaluate
    progress = None if marks is None else (lambda _: marks.append(time.process_time()))
    with tempfile.TemporaryDirectory() as tmp:
        doc = runner.run_search(config(budget), seed, out_path=Path(tmp) / "results.json",
                                probe=False, progress=progress)
        size = sum(f.stat().st_size for f in Path(tmp).iterdir())
        print(f"  results files: {size / 1e6:.1f} MB for {budget} candidates")
    return doc["counts"]["proposed"]


def chunk_rates(fn, budget: int, seed: int, chunks: int) -> list[float]:  # noqa: ANN001
    """Candidates per CPU-second in each of ``chunks`` equal stretches of one run
    of fn: flat when the cost per candidate does not grow with the search."""
    marks: list[float] = []
    start = time.process_time()
    fn(budget, seed, marks)
    size = len(marks) // chunks
    ends = [start] + [marks[(i + 1) * size - 1] for i in range(chunks)]
    return [size / (ends[i + 1] - ends[i]) for i in range(chunks)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=int, default=20_000)
    ap.add_argument("--runner-budget", type=int, default=None,
                    help="candidates for the runner figure (default: --budget)")
    ap.add_argument("--profile-budget", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--repeat", type=int, default=1, help="runs per figure; the best counts")
    ap.add_argument("--tree", help="measure the engine of another checkout (its search_engine; "
                    "ask/tell only)")
    ap.add_argument("--out", help="also write the report here")
    ap.add_argument("--chunks", type=int, default=0,
                    help="linearity: also print the rate in each of N equal stretches of one "
                    "run (ask/tell and runner); a rate that falls with the stretch means a "
                    "cost that grows with the search")
    args = ap.parse_args(argv)
    if args.tree:
        sys.path.insert(0, str(Path(args.tree).resolve()))
        import search_engine

        assert Path(search_engine.__file__).is_relative_to(Path(args.tree).resolve())

    engine_loop(200, args.seed + 1)  # imports (torch comes with the op table) and warm-up
    tree = Path(args.tree) if args.tree else Path(__file__).parent
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=tree).stdout.strip()
    lines = [f"# engine overhead, commit {commit}, population 100, tournament 25, "
             f"{len(ARCHS)} anchors, fake evaluator; one core, {os.cpu_count()} CPUs, "
             f"load average {os.getloadavg()[0]:.1f}"]
    rate, cpu, n = cpu_rate(engine_loop, args.budget, args.seed, repeat=args.repeat)
    lines.append(f"engine ask/tell: {rate:,.0f} candidates per CPU-second "
                 f"({n} candidates, {cpu:.2f} CPU-s, best of {args.repeat})")
    print(lines[-1], flush=True)
    if args.tree:
        return 0
    rbudget = args.runner_budget or args.budget
    rate, cpu, n = cpu_rate(runner_loop, rbudget, args.seed, repeat=args.repeat)
    lines.append(f"runner with results files: {rate:,.0f} candidates per CPU-second "
                 f"({n} candidates, {cpu:.2f} CPU-s)")
    print(lines[-1], flush=True)

    if args.chunks:
        for name, fn, budget in (("engine ask/tell", engine_loop, args.budget),
                                 ("runner with results files", runner_loop, rbudget)):
            rates = chunk_rates(fn, budget, args.seed, args.chunks)
            lines.append(f"linearity, {name}: candidates per CPU-second in each "
                         f"{budget // args.chunks}-candidate stretch: "
                         + ", ".join(f"{r:,.0f}" for r in rates))
            print(lines[-1], flush=True)

    profile = cProfile.Profile()
    profile.runcall(engine_loop, args.profile_budget, args.seed)
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(args.top)
    hot = [ln for ln in text.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(hot) if ln.lstrip().startswith("ncalls"))
    lines += ["", f"top {args.top} hotspots of the engine loop ({args.profile_budget} "
              "candidates, by own time):", *hot[start:]]
    report = "\n".join(lines)
    print("\n".join(lines[3 + (2 if args.chunks else 0):]))
    if args.out:
        Path(args.out).write_text(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

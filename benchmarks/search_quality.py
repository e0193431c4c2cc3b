"""Search quality: does evolution from random layers find layers that beat
BN-ReLU, and beat random search at equal budget?

For each seed and each strategy (``evolution``, ``random``) one search runs
from random layers only (no seed layers) under the preset, with the given
budget of trained candidates. Per seed, BN-ReLU is evaluated with the same
eval config and the same seed as the candidates (the runner evaluates every
candidate with the search's seed). The table gives per seed and strategy:

* the funnel (drawn > refused free > unstable > trained > survived) and the
  share of the budget (candidates that reached training) that survived;
* wall time and CPU-seconds (all processes) to the first survivor;
* the best layer's mean score / BN-ReLU's mean score, and whether the best
  is >= BN-ReLU on every anchor;
* whether evolution's best beat random search's best.

The best of hundreds of noisy scores flatters itself (selection bias), so
each strategy's best layer and BN-ReLU are evaluated again on
``--fresh-seeds`` seeds never used in the search, side by side: mean +- sd of
their mean scores.

Every run writes its files under ``--dir`` and a killed benchmark continues
where it stopped when started again with the same arguments (searches resume,
finished evaluations are reused). On a shared machine, the runs can go in
parallel processes, one per seed and strategy, each in its own ``--dir``
with ``--fresh-seeds 0`` (``--seeds 2, --strategies random``); copy their
files into one folder and run once more over all seeds there for the table. The real run (3 seeds x 2 strategies x
budget 200 on cpu-quick) takes hours on 2 cores:

    flock /work/wt/heavy.lock .venv/bin/python -m benchmarks.search_quality \\
        --dir benchmarks/results/search_quality --out benchmarks/results/search_quality.txt
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

STRATEGIES = ("evolution", "random")


def parse_sets(items: list[str]) -> dict:
    """``["eval.steps=20", "budget=6"]`` as nested overrides (values parsed as JSON)."""
    out: dict = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"--set {item!r}: expected KEY=VALUE")
        *parents, leaf = key.split(".")
        target = out
        for p in parents:
            target = target.setdefault(p, {})
        try:
            target[leaf] = json.loads(raw)
        except json.JSONDecodeError:
            target[leaf] = raw
    return out


def parse_seeds(text: str) -> list[int]:
    """``"3"`` -> [1, 2, 3]; ``"2,5"`` -> [2, 5] (one seed alone: ``"4,"``)."""
    try:
        if "," in text:
            return [int(s) for s in text.split(",") if s.strip()]
        return list(range(1, int(text) + 1))
    except ValueError:
        raise SystemExit(f"--seeds {text!r}: expected N or a comma-separated list") from None


def cached(path: Path, compute) -> dict:  # noqa: ANN001 - () -> dict
    """The JSON at ``path``, or ``compute()`` written there first."""
    if path.exists():
        return json.loads(path.read_text())
    value = compute()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=1))
    os.replace(tmp, path)
    return value


def evaluate_layer(document: dict, eval_dict: dict, seed: int) -> dict:
    """One evaluation as a plain dict: status, reason, scores, CPU-seconds (one torch
    thread, as the runner's evaluation processes use: on a busy machine more threads
    stall each other)."""
    import torch

    from search_engine.runner import evaluate_document

    torch.set_num_threads(1)

    r = evaluate_document(document, eval_dict, seed, None, None)
    return {"status": r["status"], "reason": r.get("rejection_reason"),
            "scores": r.get("scores") or {}, "cpu": r["timings"].get("cpu", 0.0)}


def mean(values) -> float:  # noqa: ANN001
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def searched_so_far(out: Path) -> dict:
    """A search's summary as far as its files go: the final document when it
    finished, else the last checkpoint with every candidate its event log holds
    (wall and CPU seconds as of the last result)."""
    from search_engine.results_file import load_candidates, load_results

    doc = load_results(out)
    if doc["finished"]:
        return doc
    cands = load_candidates(out)
    last = cands[-1] if cands else {"elapsed": 0.0, "cpu": 0.0}
    return {**doc, "candidates": cands, "elapsed_seconds": last["elapsed"], "cpu_seconds": last["cpu"]}


def run_summary(doc: dict, architectures: list[str]) -> dict:
    """What the table says about one finished search."""
    cands = doc["candidates"]
    alive = [c for c in cands if c["status"] == "evaluated"]
    first = alive[0] if alive else None
    best = max(alive, key=lambda c: (mean(c["scores"][a] for a in architectures), -c["index"]),
               default=None)
    # the budget: candidates that reached training (an unstable one spends no slot)
    unstable = sum(c.get("rejection_reason") == "unstable" for c in cands)
    trained = len(cands) - unstable
    return {
        "funnel": doc["funnel"],
        "unstable": unstable,
        "trained": trained,
        "survivors": len(alive),
        "survival": len(alive) / trained if trained else 0.0,
        "first_survivor": None if first is None else {
            "index": first["index"], "elapsed": first["elapsed"], "cpu": first["cpu"]},
        "best": None if best is None else {
            "key": best["key"], "document": best["document"],
            "formula": _formula(best["document"]), "scores": best["scores"],
            "mean": mean(best["scores"][a] for a in architectures)},
        "elapsed": doc["elapsed_seconds"],
        "cpu": doc["cpu_seconds"],
        "finished": bool(doc.get("finished", True)),
    }


def _formula(document: dict) -> str:
    from search_engine.graph import LayerGraph

    return LayerGraph.from_dict(document).formula()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="cpu-quick")
    ap.add_argument("--seeds", default="3",
                    help="N for search seeds 1..N, or a comma-separated list (e.g. 2 or 1,3)")
    ap.add_argument("--budget", type=int, default=200, help="trained candidates per search")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--fresh-seeds", type=int, default=3,
                    help="seeds (1001, 1002, ...) on which the best layers and BN-ReLU are "
                    "evaluated again")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a setting of the preset, e.g. eval.dataset=synthetic")
    ap.add_argument("--dir", default="benchmarks/results/search_quality",
                    help="where the runs are kept (resumable)")
    ap.add_argument("--out", help="also write the table here")
    ap.add_argument("--table-only", action="store_true",
                    help="run and resume nothing: tabulate the searches in --dir as far as they got "
                    "(a search stopped early is marked *); BN-ReLU is still evaluated if missing")
    args = ap.parse_args(argv)

    from search_engine.library import load_reference
    from search_engine.presets import build_config
    from search_engine.results_file import ResultsFileError, load_results
    from search_engine.runner import run_search

    strategies = [s for s in args.strategies.split(",") if s]
    overrides = parse_sets(args.set)
    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    bn_relu = load_reference("bn_relu").to_dict()
    seeds = parse_seeds(args.seeds)
    fresh = [1000 + k for k in range(1, args.fresh_seeds + 1)]
    rows: dict[tuple[int, str], dict] = {}
    baselines: dict[int, dict] = {}
    started = time.perf_counter()
    for seed in seeds:
        for strategy in strategies:
            config = build_config(args.preset, {**overrides, "budget": args.budget,
                                                "strategy": strategy})
            out = work / f"{strategy}_seed{seed}.json"
            resume = out.exists()
            if args.table_only:
                doc = searched_so_far(out)
            elif resume and load_results(out)["finished"]:
                doc = run_search(config, seed, out_path=out, resume=True, workers=1)
            else:
                print(f"{'resuming' if resume else 'running'} {strategy}, seed {seed}",
                      file=sys.stderr, flush=True)
                try:
                    doc = run_search(config, seed, out_path=out, resume=resume,
                                     workers=args.workers)
                except ResultsFileError as err:
                    raise SystemExit(f"{err} (another benchmark's run? use a new --dir)") from None
            archs = list(config.eval.architectures)
            rows[seed, strategy] = run_summary(doc, archs)
        eval_dict = config.eval.to_dict()
        baselines[seed] = cached(work / f"bn_relu_seed{seed}.json",
                                 lambda s=seed, e=eval_dict: evaluate_layer(bn_relu, e, s))

    # the best layers and BN-ReLU again, on seeds the searches never used
    again: dict[str, list[float]] = {}
    for seed in seeds:
        for strategy in strategies:
            best = rows[seed, strategy]["best"]
            if best is None:
                continue
            again[f"{strategy}:{seed}"] = [
                mean(cached(work / f"fresh_{best['key'][:16]}_seed{s}.json",
                            lambda s=s, d=best["document"]: evaluate_layer(d, eval_dict, s)
                            )["scores"].values() or [0.0]) for s in fresh]
    again["bn_relu"] = [mean(cached(work / f"fresh_bn_relu_seed{s}.json",
                                    lambda s=s: evaluate_layer(bn_relu, eval_dict, s)
                                    )["scores"].values() or [0.0]) for s in fresh]

    text = table(args, rows, baselines, again, archs, seeds, strategies, fresh, started)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


def _sd(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def table(args, rows, baselines, again, archs, seeds, strategies, fresh, started) -> str:  # noqa: ANN001
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip()
    lines = [
        f"# search quality: preset {args.preset}, overrides {json.dumps(parse_sets(args.set))}, "
        f"budget {args.budget}, seeds {seeds}, commit {commit}, {os.cpu_count()} CPUs",
        f"# anchors {', '.join(archs)}; from random layers only; BN-ReLU evaluated per seed "
        "with the same eval config and seed",
        "",
        f"{'seed':>4} {'strategy':<10} {'drawn':>6} {'refused':>8} {'unstable':>8} {'trained':>7} "
        f"{'survived':>14} {'1st: wall s':>11} {'cpu s':>7} {'best/BN':>8} "
        f"{'>=BN all':>8} {'wall s':>7} {'cpu s':>7}  best layer",
    ]
    for seed in seeds:
        for strategy in strategies:
            r = rows[seed, strategy]
            f = r["funnel"]
            base = baselines[seed]
            base_mean = mean(base["scores"].get(a, 0.0) for a in archs)
            best = r["best"]
            ratio = best["mean"] / base_mean if best and base_mean else float("nan")
            every = bool(best) and all(best["scores"][a] >= base["scores"].get(a, math.inf)
                                       for a in archs)
            first = r["first_survivor"]
            lines.append(
                f"{seed:>4} {strategy + ('' if r.get('finished', True) else '*'):<10} {f['drawn']:>6} "
                f"{f['refused_static'] + f['refused_probe']:>8} {r.get('unstable', 0):>8} {r['trained']:>7} "
                f"{r['survivors']:>4} ({100 * r['survival']:4.1f}%) "
                f"{(first['elapsed'] if first else float('nan')):>11.0f} "
                f"{(first['cpu'] if first else float('nan')):>7.0f} {ratio:>8.3f} "
                f"{'yes' if every else 'no':>8} {r['elapsed']:>7.0f} {r['cpu']:>7.0f}  "
                f"{best['formula'] if best else '-'}")
        lines.append(f"{'':>4} {'BN-ReLU':<10} " + " ".join(
            f"{a} {baselines[seed]['scores'].get(a, float('nan')):.3f}" for a in archs)
            + f" ({baselines[seed]['status']})")
    if set(strategies) >= set(STRATEGIES):
        wins = []
        for seed in seeds:
            e, r = rows[seed, "evolution"]["best"], rows[seed, "random"]["best"]
            wins.append(bool(e) and (r is None or e["mean"] > r["mean"]))
        lines += ["", "evolution's best beat random search's best: "
                  + ", ".join(f"seed {s} {'yes' if w else 'no'}" for s, w in zip(seeds, wins,
                                                                               strict=True))
                  + f" ({sum(wins)}/{len(seeds)})"]
    if not all(r.get("finished", True) for r in rows.values()):
        lines += ["", "* stopped before its budget was spent: figures as far as it got (--table-only); "
                  "the funnel is its last checkpoint's"]
    if fresh:
        lines += ["", f"re-evaluated on fresh seeds {fresh} (mean score over anchors, mean +- sd):"]
        for name, values in again.items():
            lines.append(f"  {name:<16} {mean(values):.3f} +- {_sd(values):.3f}")
    lines.append(f"\n# {time.perf_counter() - started:.0f} s in this invocation")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
